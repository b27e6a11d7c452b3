# _nn.pxi -- bindings of the core's fused neural-network ops (included at the end of _core.pyx).

def _cross_entropy_int(logits, labels):
    """Per-sample cross-entropy of (N, C) logits with integer labels (fused log-softmax + NLL)."""
    cdef Tensor tx = _coerce(logits, -1)
    cdef cnp.ndarray y = np.ascontiguousarray(labels, dtype=np.int64).reshape(-1)
    cdef ag_tensor *r
    cdef const int64_t *yp = <const int64_t *>cnp.PyArray_DATA(y)
    cdef int64_t n = y.shape[0]
    with nogil:
        r = ag_cross_entropy(tx.t, yp, n)
    return _wrap(r)
