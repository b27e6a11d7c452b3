# _indexing.pxi -- __getitem__: basic indexing as strided views, advanced indexing as take;
# __setitem__ (in place, outside the graph)
# (included by _core.pyx).

# ---- indexing
cdef object _numpy_key(object key):
    """Index key for numpy: tensors become boolean masks."""
    if isinstance(key, tuple):
        return tuple(_numpy_key(k) for k in key)
    if isinstance(key, Tensor):
        a = np.asarray(key)
        if a.size and not np.all((a == 0) | (a == 1)):
            raise IndexError("tensors used as indices must be boolean masks (0/1, e.g. from a "
                             "comparison); pass integer indices as a list or a numpy integer array")
        return a != 0
    return key


cdef object _flat_index(tuple shape, int64_t size, object nk):
    """The flat C-order indices of the elements numpy's ``a[nk]`` selects from an array of this
    shape.  A small array indexes ``arange(size)``; a large one indexes each axis's coordinate
    (a broadcast view, no memory) and sums them times the axis strides, so that ``x[[0, 5]]``
    of a big tensor costs the result's size, not an index per element of x."""
    cdef int k, n = len(shape)
    if size <= 65536:
        return np.arange(size, dtype=np.int64).reshape(shape)[nk]
    flat = None
    stride = 1
    for k in range(n - 1, -1, -1):
        axis = np.arange(shape[k], dtype=np.int64).reshape((-1,) + (1,) * (n - 1 - k))
        coord = np.broadcast_to(axis, shape)[nk]
        flat = coord * stride if flat is None else flat + coord * stride
        stride *= shape[k]
    return flat


cdef Tensor _getitem(Tensor x, object key):
    cdef int64_t starts[8]
    cdef int64_t steps[8]
    cdef int64_t lens[8]
    cdef int src[8]
    cdef int nd = x.t.ndim, d = 0, k = 0, i
    if not isinstance(key, tuple):
        key = (key,)
    basic = True
    for kk in key:
        if not (kk is None or kk is Ellipsis or isinstance(kk, slice)
                or (isinstance(kk, (int, np.integer)) and not isinstance(kk, (bool, np.bool_)))):
            basic = False
            break
    if not basic:
        nk = _numpy_key(key)
        try:
            idx = _flat_index(x.shape, x.t.size, nk)
        except IndexError:
            raise
        except Exception as e:
            raise IndexError(f"invalid index {key!r}: {e}")
        idx = np.asarray(idx, dtype=np.int64, order="C")
        if idx.ndim > AG_MAXDIM:
            raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
        return _take(x, idx)
    n_ell = 0
    n_consume = 0
    for kk in key:
        if kk is Ellipsis:
            n_ell += 1
        elif kk is not None:
            n_consume += 1
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_consume > nd:
        raise IndexError(f"too many indices for tensor: tensor is {nd}-dimensional, but {n_consume} were indexed")
    if n_ell == 0:
        key = key + (Ellipsis,)
    for i in range(nd):
        starts[i] = 0
    for kk in key:
        if kk is Ellipsis:
            for i in range(nd - n_consume):
                if k >= AG_MAXDIM:
                    raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
                src[k] = d
                steps[k] = 1
                lens[k] = x.t.shape[d]
                k += 1
                d += 1
        elif kk is None:
            if k >= AG_MAXDIM:
                raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
            src[k] = -1
            steps[k] = 1
            lens[k] = 1
            k += 1
        elif isinstance(kk, slice):
            if k >= AG_MAXDIM:
                raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
            size = x.t.shape[d]
            start, stop, step = kk.indices(size)
            length = len(range(start, stop, step))
            if length <= 1:
                step = 1  # one element or none: any step selects the same (a huge one would overflow)
            src[k] = d
            steps[k] = step
            lens[k] = length
            starts[d] = start if length > 0 else 0
            k += 1
            d += 1
        else:
            size = x.t.shape[d]
            j = operator.index(kk)
            if j < -size or j >= size:
                raise IndexError(f"index {j} is out of bounds for axis {d} with size {size}")
            starts[d] = j + size if j < 0 else j
            d += 1
    return _wrap(ag_slice(x.t, starts, k, src, steps, lens))


cdef Tensor _take(Tensor x, cnp.ndarray idx, int core=-1):
    """x gathered by idx (C-contiguous int64): flat indices into x's trailing ``core`` dims (all
    of them by default), the leading ones a batch; the result has idx's shape after them."""
    cdef int64_t shape[8]
    cdef int i
    if idx.ndim > AG_MAXDIM:
        raise ValueError(f"take: an index of {idx.ndim} dimensions (at most {AG_MAXDIM})")
    for i in range(idx.ndim):
        shape[i] = idx.shape[i]
    return _wrap(ag_take_core(x.t, x.t.ndim if core < 0 else core,
                              <const int64_t *>cnp.PyArray_DATA(idx), idx.size, idx.ndim, shape))


def _take_trailing(x, idx, int core):
    """Gather x's trailing ``core`` dims by flat C-order indices (an integer numpy array giving
    the shape that replaces them); the leading dims are a batch, gathered alike."""
    cdef Tensor tx = _coerce(x, -1)
    return _take(tx, np.ascontiguousarray(idx, dtype=np.int64), core)


cdef int _refuse_grad_source(object src, str opname) except -1:
    """In-place writes are not recorded, so a source that requires grad would lose its gradient
    (and one carrying a forward-mode tangent, its tangent)."""
    if not isinstance(src, Tensor):
        return 0
    if (<Tensor>src).t.requires_grad and ag_grad_enabled():
        raise RuntimeError(
            f"{opname}: the value written in place requires grad, but in-place writes are not "
            "recorded on the graph, so its gradient would be lost; build the result out of place "
            "(e.g. with ag.where or ag.concatenate), or write value.detach() / under ag.no_grad()")
    if ag_tangent_of((<Tensor>src).t) != NULL and ag_fwd_enabled():
        raise RuntimeError(
            f"{opname}: the value written in place carries a forward-mode tangent (from ag.jvp or "
            "a forward-mode jacobian), which in-place writes do not propagate, so the derivative "
            "would be lost; build the result out of place (e.g. with ag.where or ag.concatenate), "
            "or write value.detach()")
    return 0


def _numpy_write(Tensor x, str opname, call, args, kwargs):
    """``call(*args, **kwargs)``, a numpy function writing into x's values (np.copyto, np.put,
    ufunc.at...), as an in-place op on x: refused where one would be, and x's version bumped."""
    if ag_inplace_check(x.t, opname.encode()):
        _raise()
    try:
        return call(*args, **kwargs)
    finally:
        ag_bump_version(x.t)     # numpy may have written part of it before raising


cdef _setitem(Tensor x, object key, object value):
    cdef Tensor v
    if ag_inplace_check(x.t, b"setitem"):
        _raise()
    _refuse_grad_source(value, "setitem")
    for kk in (key if isinstance(key, tuple) else (key,)):
        # an int beyond int64 is out of bounds for any axis (numpy's OverflowError named neither)
        if (isinstance(kk, (int, np.integer)) and not isinstance(kk, (bool, np.bool_))
                and not -(1 << 63) <= kk < (1 << 63)):
            raise IndexError(f"setitem: index {kk} is out of bounds for a tensor of shape {x.shape}")
    arr = np.asarray(x)
    if isinstance(value, Tensor):
        v = <Tensor>value
        value = np.array(value) if v.t.storage == x.t.storage else np.asarray(value)
    arr[_numpy_key(key)] = value
    ag_bump_version(x.t)
