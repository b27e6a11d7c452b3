# _linalg.pxi -- bindings of the core's linear algebra (included at the end of _core.pyx).

def _inv(a):
    cdef Tensor ta = _coerce(a, -1)
    cdef ag_tensor *r
    with nogil:
        r = ag_inv(ta.t)
    return _wrap(r)


def _solve(a, b):
    cdef Tensor ta = _coerce(a, _code_of(b))
    cdef Tensor tb = _coerce(b, ta.t.dtype)
    cdef ag_tensor *r
    with nogil:
        r = ag_solve(ta.t, tb.t)
    return _wrap(r)


def _slogdet(a):
    cdef Tensor ta = _coerce(a, -1)
    cdef ag_tensor *sgn = NULL
    cdef ag_tensor *r
    with nogil:
        r = ag_slogdet(ta.t, &sgn)
    logabs = _wrap(r)
    return _wrap(sgn), logabs


def _det(a):
    cdef Tensor ta = _coerce(a, -1)
    cdef ag_tensor *r
    with nogil:
        r = ag_det(ta.t)
    return _wrap(r)


def _cofactor(a):
    """adj(a)^T, det's gradient (exact at singular matrices too)."""
    cdef Tensor ta = _coerce(a, -1)
    cdef ag_tensor *r
    with nogil:
        r = ag_cofactor(ta.t)
    return _wrap(r)


def _cholesky(a):
    cdef Tensor ta = _coerce(a, -1)
    cdef ag_tensor *r
    with nogil:
        r = ag_cholesky(ta.t)
    return _wrap(r)


def _coerce_public(x, like):
    """x as a Tensor, adopting the dtype of `like` (a Tensor) for Python / numpy input."""
    return _coerce(x, _code_of(like) if like is not None else -1)


def _take_flat(x, idx):
    """Gather by flat C-order indices (an int64 numpy array giving the result's shape)."""
    cdef Tensor tx = _coerce(x, -1)
    return _take(tx, np.ascontiguousarray(idx, dtype=np.int64))


def _full_tensor(tuple shape, double value, object dtype):
    """A new float32/float64 leaf of ``shape`` filled with ``value``, made in C (creation's
    zeros/ones/full: no numpy array to build and convert)."""
    cdef int64_t sh[8]
    cdef int code = AG_F64 if dtype == float64 else AG_F32
    if len(shape) > AG_MAXDIM:
        raise ValueError(f"tensors have at most {AG_MAXDIM} dimensions, got {len(shape)}")
    _fill_dims(sh, shape)
    return _wrap(ag_tensor_full(code, len(shape), sh, value))


def zeros_like_tensor(x):
    """Zeros with the shape and dtype of tensor x (outside the graph)."""
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_tensor_zeros(tx.t.dtype, tx.t.ndim, tx.t.shape))


def eye_batched_like(x):
    """The batched identity of shape (x.size,) + x.shape in x's dtype (outside the graph): the
    seed of a Jacobian, carrying the diagonal hint that lets ops skip dense work."""
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_tensor_eye_batched(tx.t.dtype, tx.t.ndim, tx.t.shape))


def _has_diag_hint(Tensor x):
    """Whether x's values are known to be diag(v) through a valid structural hint (for tests;
    does not export the memory, so it does not drop the hint)."""
    return ag_tensor_has_diag(x.t) != 0
