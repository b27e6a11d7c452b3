# _ops_scan.pxi -- running sums and differences along an axis (included by _core.pyx).

def cumsum(x, axis=None, *, dim=None):
    """Running sum along ``axis``, as numpy.cumsum (``axis=None``: over the flattened tensor).

    Linear, so its gradient is the running sum of the upstream gradient taken from the end.
    float32 sums accumulate in double.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.cumsum(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([[1., 2.],
            [4., 6.]])
    >>> ag.cumsum(ag.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([ 1.,  3.,  6., 10.])
    """
    if dim is not None:
        axis = _dim_alias("cumsum", axis, None, dim)
    cdef Tensor tx = _coerce(x, -1)
    if axis is None:
        tx = _reshape(tx, (-1,))
        axis = 0
    return _wrap(ag_cumsum(tx.t, _axis_int(axis, tx.t.ndim, "cumsum"), 0))

@cython.embedsignature(False)
def diff(x, n=1, axis=_AXIS_LAST, prepend=None, append=None, *, dim=None):
    """diff(x, n=1, axis=-1, prepend=None, append=None, *, dim=None)

    n-th forward difference along ``axis``, as numpy.diff: ``x[1:] - x[:-1]`` applied ``n``
    times (each time the axis gets one shorter).  ``prepend`` / ``append`` are joined to x
    along ``axis`` first, a scalar as one slice of x's shape (numpy's rule; they may require
    grad too).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.diff(ag.tensor([1.0, 4.0, 9.0, 16.0]))
    tensor([3., 5., 7.])
    >>> ag.diff(ag.tensor([1.0, 4.0, 9.0, 16.0]), n=2)
    tensor([2., 2.])
    """
    if dim is not None:
        axis = _dim_alias("diff", axis, _AXIS_LAST, dim)
    cdef Tensor tx = _coerce(x, -1)
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    nd = tx.t.ndim
    if nd == 0:
        raise ValueError("diff: needs at least one dimension (got a 0-d tensor)")
    axis = operator.index(axis)
    if not -nd <= axis < nd:
        raise ValueError(f"diff: axis {axis} is out of bounds for a tensor of dimension {nd}")
    axis %= nd
    if n == 0:
        return tx
    if prepend is not None or append is not None:
        slice_shape = tx.shape[:axis] + (1,) + tx.shape[axis + 1:]
        pads = []
        for v in (prepend, append):
            tv = None if v is None else _coerce_public(v, tx)
            if tv is not None and tv.ndim == 0:
                tv = broadcast_to(tv, slice_shape)
            pads.append([] if tv is None else [tv])
        tx = concatenate(pads[0] + [tx] + pads[1], axis)
    head = (slice(None),) * axis
    # each difference shortens the axis by one: after its length in steps the axis is empty and
    # stays so (numpy loops all n times, which for a huge n never ends)
    for _ in range(n if n <= tx.shape[axis] else tx.shape[axis] + 1):
        tx = tx[head + (slice(1, None),)] - tx[head + (slice(None, -1),)]
    return tx
