# _ops_shape.pxi -- reductions, contractions and shape functions (included by _core.pyx).

# ---- reductions
def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (None: all axes; an int or a tuple).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sum(ag.ones(2, 3), axis=1)
    tensor([3., 3.])
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("sum", axis, None, keepdims, dim, keepdim)
    return _reduce(AG_OP_sum, x, axis, keepdims)

def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Maximum over ``axis``; tied maxima share the gradient.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.max(ag.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=0)
    tensor([3., 5.])
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("max", axis, None, keepdims, dim, keepdim)
    return _reduce(AG_OP_max, x, axis, keepdims)

def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Minimum over ``axis``; tied minima share the gradient.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.min(ag.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
    tensor([1., 2.])
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("min", axis, None, keepdims, dim, keepdim)
    return _reduce(AG_OP_min, x, axis, keepdims)

def prod(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Product over ``axis`` (exact gradient also where entries are zero).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.prod(ag.tensor([2.0, 3.0, 4.0]))
    tensor(24.)
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("prod", axis, None, keepdims, dim, keepdim)
    return _reduce(AG_OP_prod, x, axis, keepdims)

def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log(sum(exp(x))) over ``axis``, max-shifted for stability.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> bool(ag.logsumexp(ag.tensor([0.0, 0.0], dtype='float64')).item() == np.log(2.0))
    True
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("logsumexp", axis, None, keepdims, dim, keepdim)
    return _reduce(AG_OP_logsumexp, x, axis, keepdims)

def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Arithmetic mean over ``axis``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.mean(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([2., 3.])
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("mean", axis, None, keepdims, dim, keepdim)
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes, "mean")
    return _wrap(ag_mean(tx.t, nax, axes, keepdims))

def var(x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None):
    """Variance over ``axis`` with numpy's convention (``ddof=0``: divide by n).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.var(ag.tensor([1.0, 3.0]))
    tensor(1.)
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("var", axis, None, keepdims, dim, keepdim)
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes, "var")
    return _wrap(ag_var(tx.t, nax, axes, keepdims, ddof))

def std(x, axis=None, keepdims=False, ddof=0, *, dim=None, keepdim=None):
    """Standard deviation over ``axis`` (numpy's ``ddof`` convention).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.std(ag.tensor([1.0, 3.0]))
    tensor(1.)
    """
    if dim is not None or keepdim is not None:
        axis, keepdims = _dims_alias("std", axis, None, keepdims, dim, keepdim)
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes, "std")
    return _wrap(ag_std(tx.t, nax, axes, keepdims, ddof))

@cython.embedsignature(False)
def softmax(x, axis=_AXIS_LAST, *, dim=None):
    """softmax(x, axis=-1, *, dim=None)

    exp(x) / sum(exp(x)) along ``axis`` (max-shifted, stable for large inputs).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.softmax(ag.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    if dim is not None:
        axis = _dim_alias("softmax", axis, _AXIS_LAST, dim)
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_softmax(tx.t, _axis_int(axis, tx.t.ndim, "softmax"), 0))

@cython.embedsignature(False)
def log_softmax(x, axis=_AXIS_LAST, *, dim=None):
    """log_softmax(x, axis=-1, *, dim=None)

    x - logsumexp(x) along ``axis`` (stable).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.log_softmax(ag.tensor([1.0, 1.0], dtype='float64')).tolist() == [-np.log(2.0)] * 2
    True
    """
    if dim is not None:
        axis = _dim_alias("log_softmax", axis, _AXIS_LAST, dim)
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_softmax(tx.t, _axis_int(axis, tx.t.ndim, "log_softmax"), 1))


# ---- contractions
def matmul(a, b):
    """Matrix product with numpy's rules: 1-D operands, 2-D, and broadcast batches.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.matmul(ag.ones(2, 3), ag.ones(3, 4)).shape
    (2, 4)
    """
    cdef Tensor ta, tb
    cdef ag_tensor *r
    code = _code_of(a)
    if code < 0:
        code = _code_of(b)
    ta = _coerce(a, code)
    tb = _coerce(b, ta.t.dtype)
    with nogil:
        r = ag_matmul(ta.t, tb.t)
    return _wrap(r)

_ACTS = {None: 0, "none": 0, "identity": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4,
         "gelu": 5, "elu": 6}

def linear(x, weight, bias=None, activation=None, negative_slope=0.01, alpha=1.0):
    """Fused dense layer ``activation(x @ weight.T + bias)``: one GEMM with the bias and the
    activation applied in its epilogue, one node on the tape.

    ``weight`` has shape (out_features, in_features) as in PyTorch.  ``activation`` is one of
    None, "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu".

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag._core.linear(ag.ones(2, 3), ag.ones(4, 3), ag.zeros(4), 'relu')
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    """
    cdef Tensor tx, tw, tb = None
    cdef ag_tensor *r
    cdef double prm = 0.0
    if activation not in _ACTS:
        raise ValueError(f"linear: unknown activation {activation!r}; expected one of "
                         "None, 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu', 'elu'")
    cdef int act = _ACTS[activation]
    if act == 2:
        prm = negative_slope
    elif act == 6:
        prm = alpha
    tx = _coerce(x, _code_of(weight))
    tw = _coerce(weight, tx.t.dtype)
    if bias is not None:
        tb = _coerce(bias, tx.t.dtype)
    with nogil:
        r = ag_linear(tx.t, tw.t, tb.t if tb is not None else NULL, act, prm)
    return _wrap(r)


# ---- shapes
cdef object _new_view(Tensor x, ag_tensor *r):
    """Wrap r, a shape op's result on x.  The core gives back x itself for an identity (a
    reshape to x's own shape, a 1-D transpose, an expand to the same shape); the user gets a
    view of its own instead, as in PyTorch and numpy, so that requires_grad_(), .grad,
    retain_grad() or a hook on it do not reach x."""
    if r == x.t:
        ag_tensor_decref(r)
        r = ag_view_alias(x.t)
    return _wrap(r)


cdef object _shape_arg(tuple shape):
    if len(shape) == 1 and not isinstance(shape[0], int):
        try:
            operator.index(shape[0])
        except TypeError:
            shape = tuple(shape[0])  # one sequence (a tuple, list or 1-d integer array)
    return tuple(operator.index(s) for s in shape)


def reshape(x, *shape):
    """A tensor with the same data and a new shape (-1 infers one dimension); a view when the
    strides allow it.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.reshape(ag.arange(6), (2, 3)).shape
    (2, 3)
    """
    cdef Tensor tx = _coerce(x, -1)
    return _new_view(tx, _reshape_c(tx, _shape_arg(shape)))


cdef ag_tensor *_reshape_c(Tensor tx, tuple shp) except? NULL:
    cdef int64_t sh[8]
    if len(shp) > AG_MAXDIM:
        raise ValueError(f"reshape: at most {AG_MAXDIM} dimensions")
    _fill_dims(sh, shp, "reshape")
    return ag_reshape(tx.t, len(shp), sh)  # NULL: _wrap raises the core's error


def _reshape(x, shape):
    """reshape for the library's own intermediates: an identity gives back x itself (no view
    and no node on the tape), which the public reshape does not, so that a user's result has
    flags and hooks of its own."""
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(_reshape_c(tx, _shape_arg((shape,))))


cdef Tensor _view(Tensor x, tuple shape):
    """Tensor.view: reshape that refuses to copy (PyTorch's rule), so writes reach ``x``."""
    cdef Tensor r = reshape(x, *shape)
    if r.t.storage != x.t.storage and r.t.size:
        strides = tuple(x.t.strides[i] for i in range(x.t.ndim))
        raise RuntimeError(f"view: a tensor of shape {x.shape} with strides {strides} "
                           f"cannot be viewed as shape {r.shape} without a copy; use reshape "
                           "(or .contiguous().view)")
    return r


def permute(x, *dims):
    """Reorder the dimensions (a view).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.permute(ag.zeros(2, 3, 4), (2, 0, 1)).shape
    (4, 2, 3)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int perm[8]
    d = _shape_arg(dims)
    if len(d) != tx.t.ndim:
        raise ValueError(f"permute: expected {tx.t.ndim} dimensions, got {len(d)}")
    for i, a in enumerate(d):
        if not -(1 << 31) <= a < (1 << 31):
            raise ValueError(f"permute: {a} is not a valid permutation entry for {tx.t.ndim} dimensions")
        perm[i] = a
    return _new_view(tx, ag_permute(tx.t, perm))


def transpose(x, axes=None):
    """Permute the dimensions; by default reverse them (numpy's rule).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.transpose(ag.zeros(2, 3)).shape
    (3, 2)
    """
    cdef Tensor tx = _coerce(x, -1)
    if axes is None:
        axes = tuple(range(tx.t.ndim))[::-1]
    return permute(tx, tuple(axes))


def swapaxes(x, axis1, axis2):
    """Exchange two dimensions (a view).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.swapaxes(ag.zeros(2, 3, 4), 0, 2).shape
    (4, 3, 2)
    """
    cdef Tensor tx = _coerce(x, -1)
    n = tx.t.ndim
    a1, a2 = operator.index(axis1), operator.index(axis2)
    if not (-n <= a1 < n and -n <= a2 < n):
        raise ValueError(f"swapaxes: axes ({axis1}, {axis2}) out of bounds for dimension {n}")
    p = list(range(n))
    p[a1], p[a2] = p[a2], p[a1]
    return permute(tx, tuple(p))


def squeeze(x, axis=None, *, dim=None):
    """Remove size-1 dimensions (all of them, or those in ``axis``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.squeeze(ag.zeros(1, 3, 1)).shape
    (3,)
    """
    if dim is not None:
        axis = _dim_alias("squeeze", axis, None, dim)
    cdef Tensor tx = _coerce(x, -1)
    shape = tx.shape
    n = len(shape)
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axs = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        norm = set()
        for a in axs:
            a = operator.index(a)
            if not -n <= a < n:
                raise ValueError(f"squeeze: axis {a} is out of bounds for dimension {n}")
            a = a % n
            if a in norm:
                raise ValueError(f"squeeze: repeated axis {a} in {axis!r}")
            if shape[a] != 1:
                raise ValueError(f"squeeze: cannot select axis {a} of size {shape[a]} (must be 1)")
            norm.add(a)
        new = tuple(s for i, s in enumerate(shape) if i not in norm)
    return reshape(tx, new)


def unsqueeze(x, axis=None, *, dim=None):
    """Insert a size-1 dimension at ``axis`` (numpy's expand_dims).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.unsqueeze(ag.zeros(3), 0).shape
    (1, 3)
    """
    if dim is not None:
        axis = _dim_alias("unsqueeze", axis, None, dim)
    if axis is None:
        raise TypeError("unsqueeze: missing the axis (or dim) argument")
    cdef Tensor tx = _coerce(x, -1)
    n = tx.t.ndim
    a = operator.index(axis)
    if not -n - 1 <= a <= n:
        raise ValueError(f"unsqueeze: axis {a} is out of bounds for a result of dimension {n + 1}")
    if a < 0:
        a += n + 1
    shape = list(tx.shape)
    shape.insert(a, 1)
    return reshape(tx, tuple(shape))

expand_dims = unsqueeze


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.flatten(ag.zeros(2, 3, 4), 1).shape
    (2, 12)
    """
    cdef Tensor tx = _coerce(x, -1)
    shape = tx.shape
    n = len(shape)
    start_dim, end_dim = operator.index(start_dim), operator.index(end_dim)
    if n == 0:
        if start_dim not in (0, -1) or end_dim not in (0, -1):
            raise ValueError(f"flatten: start_dim {start_dim} / end_dim {end_dim} out of bounds for a 0-d "
                             "tensor (only 0 or -1)")
        return reshape(tx, (1,))
    if not (-n <= start_dim < n and -n <= end_dim < n):
        raise ValueError(f"flatten: start_dim {start_dim} / end_dim {end_dim} out of bounds for dimension {n}")
    s, e = start_dim % n, end_dim % n
    if s > e:
        raise ValueError("flatten: start_dim must not come after end_dim")
    mid = 1
    for d in shape[s:e + 1]:
        mid *= d
    return reshape(tx, shape[:s] + (mid,) + shape[e + 1:])


def broadcast_to(x, shape):
    """View ``x`` broadcast to ``shape`` (stride 0 along broadcast axes).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.broadcast_to(ag.tensor([1.0, 2.0]), (3, 2)).shape
    (3, 2)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int64_t sh[8]
    shp = _shape_arg((shape,) if not isinstance(shape, int) else ((shape,),))
    if len(shp) > AG_MAXDIM:
        raise ValueError(f"broadcast_to: at most {AG_MAXDIM} dimensions")
    lead = len(shp) - tx.t.ndim
    for i, s in enumerate(shp):
        if s == -1 and i >= lead:
            s = tx.t.shape[i - lead]  # PyTorch's expand: -1 keeps that dimension's size
        elif s < 0:
            raise ValueError(f"broadcast_to: negative dimension {s} in shape {shp} for a tensor of "
                             f"shape {tx.shape} (-1 keeps an existing dimension)")
        elif s >= (1 << 63):
            raise ValueError(f"broadcast_to: dimension {s} in shape {shp} is too large")
        sh[i] = s
    return _new_view(tx, ag_expand(tx.t, len(shp), sh))

expand = broadcast_to


@cython.embedsignature(False)
def concatenate(tensors, axis=_AXIS_0, *, dim=None):
    """concatenate(tensors, axis=0, *, dim=None)

    Join tensors along an existing axis.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.concatenate([ag.ones(2), ag.zeros(1)])
    tensor([1., 1., 0.])
    """
    if dim is not None:
        axis = _dim_alias("concatenate", axis, _AXIS_0, dim)
    seq = list(tensors)
    if not seq:
        raise ValueError("concatenate: need at least one tensor")
    code = -1
    for s in seq:
        code = _code_of(s)
        if code >= 0:
            break
    ts = [_coerce(s, code) for s in seq]
    cdef int n = len(ts), i
    cdef int ax = _axis_int(axis, (<Tensor>ts[0]).t.ndim, "concatenate")
    cdef ag_tensor **arr = <ag_tensor **>malloc(sizeof(ag_tensor *) * n)
    cdef ag_tensor *r
    if arr == NULL:
        raise MemoryError()
    for i in range(n):
        arr[i] = (<Tensor>ts[i]).t
    r = ag_concat(n, arr, ax)
    free(arr)
    return _wrap(r)

cat = concatenate


def _roll_axis(x, int axis, int64_t shift):
    """x rolled by ``shift`` along ``axis`` (numpy.roll for one axis; manipulation.roll checks
    the arguments): one copy, whose transpose is the roll back."""
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_roll(tx.t, axis, shift))


@cython.embedsignature(False)
def stack(tensors, axis=_AXIS_0, *, dim=None):
    """stack(tensors, axis=0, *, dim=None)

    Join tensors along a new axis.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.stack([ag.ones(2), ag.zeros(2)]).shape
    (2, 2)
    """
    if dim is not None:
        axis = _dim_alias("stack", axis, _AXIS_0, dim)
    seq = list(tensors)
    if not seq:
        raise ValueError("stack: need at least one tensor")
    code = -1
    for s in seq:
        code = _code_of(s)
        if code >= 0:
            break
    ts = [_coerce(s, code) for s in seq]
    shape0 = ts[0].shape
    for i, t in enumerate(ts):
        if t.shape != shape0:
            raise ValueError(f"stack: all tensors must have the same shape; tensor 0 has {shape0}, "
                             f"tensor {i} has {t.shape}")
        if t.dtype != ts[0].dtype:
            raise TypeError(f"stack: dtype mismatch, tensor 0 is {ts[0].dtype} and tensor {i} is {t.dtype}")
    n = len(shape0)
    ax = operator.index(axis)
    if not -n - 1 <= ax <= n:
        raise ValueError(f"stack: axis {ax} is out of bounds for a result of dimension {n + 1}")
    return concatenate([unsqueeze(t, ax) for t in ts], ax)


@cython.embedsignature(False)
def split(x, indices_or_sections, axis=_AXIS_0, *, dim=None):
    """split(x, indices_or_sections, axis=0, *, dim=None)

    Split along ``axis`` into equal sections (an int) or at the given indices (numpy's rule).

    Examples
    --------
    >>> import autograd_c as ag
    >>> [t.tolist() for t in ag.split(ag.arange(4), 2)]
    [[0.0, 1.0], [2.0, 3.0]]
    """
    if dim is not None:
        axis = _dim_alias("split", axis, _AXIS_0, dim)
    cdef Tensor tx = _coerce(x, -1)
    n = tx.t.ndim
    if n == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    ax = operator.index(axis)
    if not -n <= ax < n:
        raise ValueError(f"split: axis {axis} is out of bounds for dimension {n}")
    ax %= n
    length = tx.shape[ax]
    try:
        k = operator.index(indices_or_sections)  # an int, numpy integer or 0-d integer array
    except TypeError:
        k = None
    if k is not None:
        if k <= 0 or length % k:
            raise ValueError(f"split: an axis of length {length} cannot be split into {k} equal sections")
        if k > length + (1 << 20):
            # only an empty axis gets here (k divides length): k empty tensors, which a huge k
            # (2**62) would spend hours building; numpy runs out of memory too
            raise MemoryError(f"split: {k} sections of an axis of length {length} would make {k} tensors")
        bounds = [i * (length // k) for i in range(k + 1)]
    else:
        # numpy's rule: a negative index counts from the end, then clipped to [0, length]
        idx = [operator.index(i) for i in indices_or_sections]
        bounds = [0] + [builtins_min(builtins_max(i + length if i < 0 else i, 0), length)
                        for i in idx] + [length]
    pre = (slice(None),) * ax
    return [tx[pre + (slice(bounds[i], builtins_max(bounds[i], bounds[i + 1])),)]
            for i in range(len(bounds) - 1)]

import builtins as _builtins
builtins_min = _builtins.min
builtins_max = _builtins.max
