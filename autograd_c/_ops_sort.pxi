# _ops_sort.pxi -- the sort kernel's binding (included by _core.pyx): stable sorting along the
# last axis.  The public functions (ag.sort, ag.argsort) choose the axis in manipulation.py.

def _argsort_last(x):
    """The stable order of tensor x along its last axis, as ``np.argsort(kind="stable")``: an
    int64 array of x's shape (not recorded: a permutation has no derivative)."""
    cdef Tensor tx = _coerce(x, -1)
    cdef cnp.ndarray out = np.empty(tx.shape, dtype=np.int64)
    cdef int64_t *order = <int64_t *>cnp.PyArray_DATA(out)
    cdef int rc
    if tx.t.size >= NOGIL_N:
        with nogil:
            rc = ag_argsort(tx.t, order)
    else:
        rc = ag_argsort(tx.t, order)
    if rc:
        _raise()
    return out


def _sort_last(x):
    """Tensor x sorted along its last axis in the stable order, recorded as a gather: each
    output element's gradient goes to the input element that landed there."""
    cdef Tensor tx = _coerce(x, -1)
    cdef ag_tensor *r
    if tx.t.size >= NOGIL_N:
        with nogil:
            r = ag_sort(tx.t)
    else:
        r = ag_sort(tx.t)
    return _wrap(r)
