# _ops_elementwise.pxi -- op plumbing and the elementwise functions (included by _core.pyx).

# ---------------------------------------------------------------------------------------------
# op plumbing

cdef inline int _code_of(object x):
    if isinstance(x, Tensor):
        return (<Tensor>x).t.dtype
    return -1


cdef inline bint _is_python_scalar(object x):
    return isinstance(x, (float, int)) and not isinstance(x, np.generic)


cdef tuple _operands(object a, object b):
    """(a, b) as tensors for a binary op: a Python scalar or an array takes the tensor
    operand's dtype."""
    cdef Tensor ta, tb
    if isinstance(a, Tensor):
        ta = <Tensor>a
        tb = _coerce(b, ta.t.dtype)
    elif isinstance(b, Tensor) or _is_python_scalar(a):
        # a Python scalar takes the other operand's dtype, on either side (add(1.0, f64 array)
        # is float64 as add(f64 array, 1.0) is)
        tb = _coerce(b, -1)
        ta = _coerce(a, tb.t.dtype)
    else:
        ta = _coerce(a, -1)
        tb = _coerce(b, ta.t.dtype)
    return ta, tb


cdef Tensor _binop(int op, object a, object b):
    cdef Tensor ta, tb
    cdef ag_tensor *r
    ta, tb = _operands(a, b)
    if ta.t.size + tb.t.size >= NOGIL_N:
        with nogil:
            r = ag_binary(op, ta.t, tb.t)
    else:
        r = ag_binary(op, ta.t, tb.t)
    return _wrap(r)


cdef Tensor _unary(int op, object x):
    cdef Tensor tx = _coerce(x, -1)
    cdef ag_tensor *r
    if tx.t.size >= NOGIL_N:
        with nogil:
            r = ag_unary(op, tx.t)
    else:
        r = ag_unary(op, tx.t)
    return _wrap(r)


cdef Tensor _unary_p(int op, object x, double param):
    cdef Tensor tx = _coerce(x, -1)
    cdef ag_tensor *r
    with nogil:
        r = ag_unary_p(op, tx.t, param)
    return _wrap(r)


cdef int _axis_int(object a, int ndim, str name=None) except? -1:
    try:
        i = operator.index(a)
    except TypeError:
        # operator.index alone says "'str' object cannot be interpreted as an integer",
        # naming neither the argument nor the value
        raise TypeError(f"{name + ': ' if name else ''}axis must be an integer (or, where the "
                        f"function takes several, a tuple of integers), got "
                        f"{type(a).__name__} {a!r}") from None
    if not -(1 << 31) <= i < (1 << 31):
        # the core names the op for the other out-of-bounds axes; this one does not fit its int
        raise ValueError(f"{name + ': ' if name else ''}axis {i} is out of bounds for a tensor "
                         f"of dimension {ndim}")
    return i


cdef int _fill_dims(int64_t *out, object shape, str name=None) except -1:
    """Copy a shape's sizes into a C array, refusing (ValueError naming ``name`` and the shape)
    a size that does not fit int64, where the bare conversion raised an OverflowError that named
    neither; the caller has checked the length."""
    for i, s in enumerate(shape):
        s = operator.index(s)
        if not -(1 << 63) <= s < (1 << 63):
            raise ValueError(f"{name + ': ' if name else ''}dimension {s} in shape {tuple(shape)} "
                             "is too large")
        out[i] = s
    return 0


cdef int _axes(object axis, int ndim, int *out, str name=None) except -2:
    """None -> -1 (all axes); an int or a sequence of ints -> their count."""
    cdef int n = 0
    if axis is None:
        return -1
    if isinstance(axis, (tuple, list)):
        if len(axis) > AG_MAXDIM:
            raise ValueError(f"{name + ': ' if name else ''}too many axes: {axis}")
        for a in axis:
            out[n] = _axis_int(a, ndim, name)
            n += 1
        return n
    out[0] = _axis_int(axis, ndim, name)
    return 1


cdef object _dim_alias(str who, object axis, object default, object dim):
    """PyTorch's ``dim=`` for numpy's ``axis=``: ``dim`` when given, with ``axis`` left at its
    default (a call passing both raises).  Callers test ``dim is not None`` first, so the plain
    call pays nothing."""
    if dim is None:
        return axis
    # an _AxisDefault default is only ever itself; a plain default (a Tensor method's, which
    # cannot tell) also accepts an equal value
    if not (axis is default or (type(axis) is int and type(default) is int and axis == default)):
        raise TypeError(f"{who}: got both axis={axis!r} and dim={dim!r}; pass one of them "
                        "(dim is PyTorch's name for axis)")
    return dim


cdef tuple _dims_alias(str who, object axis, object default, object keepdims, object dim,
                       object keepdim):
    """(axis, keepdims) from a reduction's PyTorch spellings ``dim=`` / ``keepdim=``."""
    if keepdim is not None:
        if keepdims is not False:
            raise TypeError(f"{who}: got both keepdims={keepdims!r} and keepdim={keepdim!r}; pass "
                            "one of them (keepdim is PyTorch's name for keepdims)")
        keepdims = bool(keepdim)
    return _dim_alias(who, axis, default, dim), keepdims


cdef Tensor _method_input(Tensor x, str name, object dtype, object out):
    """x (cast to dtype) for a reduction method called with numpy's dtype= / out= arguments."""
    if out is not None:
        raise TypeError(f"{name}: out= is not supported (autograd_c returns a new tensor)")
    return x if dtype is None else x.astype(dtype)


cdef Tensor _reduce(int op, object x, object axis, bint keepdims):
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax
    if axis is None or type(axis) is int:
        nax = _axes(axis, tx.t.ndim, axes)
    else:
        nax = _axes(axis, tx.t.ndim, axes, ag_op_name(op).decode())
    cdef ag_tensor *r
    with nogil:
        r = ag_reduce(op, tx.t, nax, axes, keepdims)
    return _wrap(r)


# ---- elementwise functions
def neg(x):
    """-x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.neg(ag.tensor([1.0, -2.0]))
    tensor([-1.,  2.])
    """
    return _unary(AG_OP_neg, x)

def abs(x):
    """|x|, elementwise (gradient 0 at 0).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.abs(ag.tensor([-1.5, 2.0]))
    tensor([1.5, 2. ])
    """
    return _unary(AG_OP_abs, x)

def exp(x):
    """e**x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.exp(ag.tensor([0.0, 1.0]))
    tensor([1.    , 2.7183])
    """
    return _unary(AG_OP_exp, x)

def log(x):
    """Natural logarithm, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.log(ag.tensor([1.0, 4.0]))
    tensor([0.    , 1.3863])
    """
    return _unary(AG_OP_log, x)

def log1p(x):
    """log(1 + x), accurate for small x.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.log1p(ag.tensor([0.0, 1e-10], dtype='float64')).tolist()
    [0.0, 9.999999999500001e-11]
    """
    return _unary(AG_OP_log1p, x)

def sqrt(x):
    """Square root, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sqrt(ag.tensor([4.0, 9.0]))
    tensor([2., 3.])
    """
    return _unary(AG_OP_sqrt, x)

def sin(x):
    """Sine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sin(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_sin, x)

def cos(x):
    """Cosine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.cos(ag.tensor([0.0]))
    tensor([1.])
    """
    return _unary(AG_OP_cos, x)

def tan(x):
    """Tangent, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tan(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_tan, x)

def tanh(x):
    """Hyperbolic tangent, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tanh(ag.tensor([0.0, 100.0]))
    tensor([0., 1.])
    """
    return _unary(AG_OP_tanh, x)

def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), computed stably.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sigmoid(ag.tensor([0.0, -1000.0]))
    tensor([0.5, 0. ])
    """
    return _unary(AG_OP_sigmoid, x)

def relu(x):
    """max(x, 0), elementwise (gradient 0 at 0).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.relu(ag.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _unary(AG_OP_relu, x)

def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.leaky_relu(ag.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    return _unary_p(AG_OP_leaky_relu, x, negative_slope)

def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.elu(ag.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return _unary_p(AG_OP_elu, x, alpha)

def softplus(x):
    """log(1 + exp(x)), computed stably.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> bool(ag.softplus(ag.tensor([0.0], dtype='float64')).item() == np.log(2.0))
    True
    """
    return _unary(AG_OP_softplus, x)

def gelu(x):
    """Exact GELU: x * Phi(x) with Phi the standard normal CDF.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.gelu(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_gelu, x)

def silu(x):
    """x * sigmoid(x) (also called swish).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.silu(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_silu, x)

def erf(x):
    """The error function, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.erf(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_erf, x)

def sign(x):
    """-1, 0 or 1 by the sign of x (no gradient).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sign(ag.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return _unary(AG_OP_sign, x)

def sinh(x):
    """Hyperbolic sine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sinh(ag.tensor([0.0, 1.0]))
    tensor([0.    , 1.1752])
    """
    return _unary(AG_OP_sinh, x)

def cosh(x):
    """Hyperbolic cosine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.cosh(ag.tensor([0.0, 1.0]))
    tensor([1.    , 1.5431])
    """
    return _unary(AG_OP_cosh, x)

def arcsin(x):
    """Inverse sine, elementwise (nan outside [-1, 1]); the gradient is infinite at +-1.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arcsin(ag.tensor([0.0, 1.0]))
    tensor([0.    , 1.5708])
    """
    return _unary(AG_OP_arcsin, x)

def arccos(x):
    """Inverse cosine, elementwise (nan outside [-1, 1]); the gradient is infinite at +-1.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arccos(ag.tensor([1.0, 0.0]))
    tensor([0.    , 1.5708])
    """
    return _unary(AG_OP_arccos, x)

def arctan(x):
    """Inverse tangent, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arctan(ag.tensor([0.0, 1.0]))
    tensor([0.    , 0.7854])
    """
    return _unary(AG_OP_arctan, x)

def arcsinh(x):
    """Inverse hyperbolic sine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arcsinh(ag.tensor([0.0, 1.0]))
    tensor([0.    , 0.8814])
    """
    return _unary(AG_OP_arcsinh, x)

def arccosh(x):
    """Inverse hyperbolic cosine, elementwise (nan below 1).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arccosh(ag.tensor([1.0, 2.0]))
    tensor([0.   , 1.317])
    """
    return _unary(AG_OP_arccosh, x)

def arctanh(x):
    """Inverse hyperbolic tangent, elementwise (+-inf at +-1, nan outside).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arctanh(ag.tensor([0.0, 0.5]))
    tensor([0.    , 0.5493])
    """
    return _unary(AG_OP_arctanh, x)

def expm1(x):
    """e**x - 1, accurate for small x.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.expm1(ag.tensor([0.0, 1e-10], dtype='float64')).tolist()
    [0.0, 1.00000000005e-10]
    """
    return _unary(AG_OP_expm1, x)

def exp2(x):
    """2**x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.exp2(ag.tensor([0.0, 3.0]))
    tensor([1., 8.])
    """
    return _unary(AG_OP_exp2, x)

def log2(x):
    """Base-2 logarithm, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.log2(ag.tensor([1.0, 8.0]))
    tensor([0., 3.])
    """
    return _unary(AG_OP_log2, x)

def log10(x):
    """Base-10 logarithm, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.log10(ag.tensor([1.0, 1000.0]))
    tensor([0., 3.])
    """
    return _unary(AG_OP_log10, x)

def floor(x):
    """The largest integer <= x, elementwise (no gradient, like sign).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.floor(ag.tensor([-1.5, 2.5]))
    tensor([-2.,  2.])
    """
    return _unary(AG_OP_floor, x)

def ceil(x):
    """The smallest integer >= x, elementwise (no gradient, like sign).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.ceil(ag.tensor([-1.5, 2.5]))
    tensor([-1.,  3.])
    """
    return _unary(AG_OP_ceil, x)

def trunc(x):
    """x rounded towards zero, elementwise (no gradient, like sign).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.trunc(ag.tensor([-1.5, 2.5]))
    tensor([-1.,  2.])
    """
    return _unary(AG_OP_trunc, x)

def round(x, decimals=0):
    """x rounded to ``decimals`` decimal places (negative: to tens, hundreds...), halves to even,
    like numpy.round (no gradient, like sign).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.round(ag.tensor([0.5, 1.5, -2.5]))
    tensor([ 0.,  2., -2.])
    """
    cdef int d = operator.index(decimals)
    cdef Tensor tx
    if d == 0:
        return _unary(AG_OP_rint, x)
    # numpy's scaled rounding (x * 10^d, rint, / 10^d), on the values: there is no gradient
    tx = _coerce(x, -1)
    return _from_array_copy(np.round(np.asarray(tx), d), tx.t.dtype)

def square(x):
    """x * x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.square(ag.tensor([-3.0, 2.0]))
    tensor([9., 4.])
    """
    cdef Tensor tx = _coerce(x, -1)
    return _binop(AG_OP_mul, tx, tx)

def reciprocal(x):
    """1 / x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.reciprocal(ag.tensor([2.0, -4.0]))
    tensor([ 0.5 , -0.25])
    """
    cdef Tensor tx = _coerce(x, -1)
    return _binop(AG_OP_div, 1.0, tx)

def arctan2(a, b):
    """The angle of the point (b, a) in (-pi, pi], elementwise with broadcasting, as
    numpy.arctan2.  Its gradient is (b, -a) / (a^2 + b^2), taken as 0 at (0, 0), where none
    exists (a nan there would spread to other elements' gradients through 0 * nan).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arctan2(ag.tensor([1.0, -1.0]), ag.tensor([0.0, -1.0]))
    tensor([ 1.5708, -2.3562])
    """
    return _binop(AG_OP_arctan2, a, b)

def hypot(a, b):
    """sqrt(a^2 + b^2) without overflow or underflow, elementwise with broadcasting.  Its
    gradient (a, b) / hypot(a, b) is 0 at (0, 0) (the subgradient, as for linalg.norm).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.hypot(ag.tensor([3.0, 3e30]), ag.tensor([4.0, 4e30]))
    tensor([5.e+00, 5.e+30])
    """
    return _binop(AG_OP_hypot, a, b)

cdef tuple _floor_divmod(str name, object a, object b, bint want_q, bint want_r):
    """(floor(a / b), a - b * floor(a / b)) with numpy's float semantics (computed by numpy: the
    remainder has the sign of b, 1 // 0.1 is 9, 5 % inf is 5), None for the one not wanted.
    The quotient has no gradient (as floor); the remainder's is da - floor(a / b) db."""
    cdef Tensor ta, tb, r
    ta, tb = _operands(a, b)
    if ta.t.dtype != tb.t.dtype:
        raise TypeError(f"{name}: dtype mismatch, {ta.dtype} and {tb.dtype} (convert one with "
                        ".astype())")
    try:
        np.broadcast_shapes(ta.shape, tb.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {ta.shape} and {tb.shape} cannot be broadcast "
                         "together") from None
    va, vb = np.asarray(ta), np.asarray(tb)
    with np.errstate(all="ignore"):
        q = np.floor_divide(va, vb)
        rv = np.remainder(va, vb) if want_r else None
    tq = _from_array_copy(q, ta.t.dtype)
    if not want_r:
        return tq, None
    # recorded as a - b * q (q constant), then given numpy's exact values (a - b * q rounds, and
    # is NaN at b = inf); the sub node saves nothing, so the derivative is unchanged
    r = _binop(AG_OP_sub, ta, _binop(AG_OP_mul, tb, tq))
    if rv.size:                 # (an empty output may have zero strides: nothing to write)
        np.asarray(r)[...] = rv
    return (tq if want_q else None), r


def floor_divide(a, b):
    """floor(a / b), elementwise, as numpy's ``a // b`` for floats (no gradient, like floor).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tensor([7.0, -7.0]) // 2.0
    tensor([ 3., -4.])
    """
    return _floor_divmod("floor_divide", a, b, True, False)[0]

def remainder(a, b):
    """a - b * floor(a / b), elementwise, as numpy's ``a % b`` for floats: the result has the
    sign of b.  Gradient: 1 for a, -floor(a / b) for b.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tensor([7.0, -7.0]) % 3.0
    tensor([1., 2.])
    """
    return _floor_divmod("remainder", a, b, False, True)[1]

def _divmod(a, b):
    """(floor_divide(a, b), remainder(a, b)), as numpy's divmod."""
    return _floor_divmod("divmod", a, b, True, True)

def add(a, b):
    """a + b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.add(ag.ones(2, 2), ag.tensor([1.0, 2.0]))
    tensor([[2., 3.],
            [2., 3.]])
    """
    return _binop(AG_OP_add, a, b)

def subtract(a, b):
    """a - b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.subtract(ag.tensor([3.0]), 1.0)
    tensor([2.])
    """
    return _binop(AG_OP_sub, a, b)

def multiply(a, b):
    """a * b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.multiply(ag.tensor([2.0, 3.0]), ag.tensor([4.0, 5.0]))
    tensor([ 8., 15.])
    """
    return _binop(AG_OP_mul, a, b)

def divide(a, b):
    """a / b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.divide(ag.tensor([1.0, 3.0]), 2.0)
    tensor([0.5, 1.5])
    """
    return _binop(AG_OP_div, a, b)

def power(a, b):
    """a ** b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.power(ag.tensor([2.0, 3.0]), 2.0)
    tensor([4., 9.])
    """
    return _binop(AG_OP_pow, a, b)

def maximum(a, b):
    """Elementwise maximum; at ties the gradient is split equally.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.maximum(ag.tensor([1.0, 5.0]), ag.tensor([3.0, 2.0]))
    tensor([3., 5.])
    """
    return _binop(AG_OP_maximum, a, b)

def minimum(a, b):
    """Elementwise minimum; at ties the gradient is split equally.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.minimum(ag.tensor([1.0, 5.0]), ag.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    return _binop(AG_OP_minimum, a, b)

def equal(a, b):
    """a == b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 3.0]))
    tensor([1., 0.])
    """
    return _binop(AG_OP_eq, a, b)

def not_equal(a, b):
    """a != b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.not_equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 3.0]))
    tensor([0., 1.])
    """
    return _binop(AG_OP_ne, a, b)

def less(a, b):
    """a < b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.less(ag.tensor([1.0, 2.0]), ag.tensor([1.5, 1.5]))
    tensor([1., 0.])
    """
    return _binop(AG_OP_lt, a, b)

def less_equal(a, b):
    """a <= b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.less_equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 1.0]))
    tensor([1., 0.])
    """
    return _binop(AG_OP_le, a, b)

def greater(a, b):
    """a > b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.greater(ag.tensor([1.0, 2.0]), ag.tensor([1.5, 1.5]))
    tensor([0., 1.])
    """
    return _binop(AG_OP_gt, a, b)

def greater_equal(a, b):
    """a >= b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.greater_equal(ag.tensor([1.0, 2.0]), ag.tensor([2.0, 2.0]))
    tensor([0., 1.])
    """
    return _binop(AG_OP_ge, a, b)

def where(condition, a, b):
    """Elementwise ``a if condition else b`` (condition: nonzero is true; it gets no gradient).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.where(ag.tensor([1.0, 0.0]), ag.tensor([1.0, 2.0]), ag.tensor([9.0, 9.0]))
    tensor([1., 9.])
    """
    cdef Tensor ta, tb, tc
    code = _code_of(a)
    if code < 0:
        code = _code_of(b)
    if code < 0 and _is_python_scalar(a):
        code = _coerce(b, -1).t.dtype    # a Python scalar takes the other branch's dtype
    ta = _coerce(a, code)
    tb = _coerce(b, ta.t.dtype)
    if isinstance(condition, Tensor) and (<Tensor>condition).t.dtype == ta.t.dtype:
        tc = <Tensor>condition
    else:
        tc = _coerce(np.asarray(condition, dtype=_DTYPES[ta.t.dtype]) if not isinstance(condition, Tensor)
                     else condition.astype(_DTYPES[ta.t.dtype]), ta.t.dtype)
    return _wrap(ag_where(tc.t, ta.t, tb.t))

cdef bint _differentiable_bound(object bound):
    """A clip bound that is a Tensor requiring grad (or carrying a tangent) while recording."""
    if not isinstance(bound, Tensor):
        return False
    return bool(((<Tensor>bound).t.requires_grad and ag_grad_enabled()) or
                (ag_tangent_of((<Tensor>bound).t) != NULL and ag_fwd_enabled()))


cdef Tensor _clamp_recorded(Tensor x, object lo, object hi):
    """x limited to [lo, hi] with the bounds' gradients (PyTorch's): a bound gets the gradient
    where it replaces x (hi also where lo > hi), x elsewhere; NaN stays NaN."""
    cdef Tensor y = x
    if lo is not None:
        y = where(_binop(AG_OP_lt, y, lo), lo, y)
    if hi is not None:
        y = where(_binop(AG_OP_gt, y, hi), hi, y)
    return y


def clip(x, a_min=None, a_max=None):
    """Limit x to [a_min, a_max] (either may be None); gradient 1 inside, 0 outside.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.clip(ag.tensor([-2.0, 0.5, 2.0]), -1.0, 1.0)
    tensor([-1. ,  0.5,  1. ])
    """
    cdef Tensor tx = _coerce(x, -1)
    if a_min is None and a_max is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    for name, bound in (("a_min", a_min), ("a_max", a_max)):
        if bound is not None and np.size(bound) != 1:
            raise TypeError(f"clip: {name} must be a scalar, got shape {np.shape(bound)}; "
                            "use ag.maximum / ag.minimum for elementwise bounds")
    if _differentiable_bound(a_min) or _differentiable_bound(a_max):
        if a_min is not None and a_max is not None and float(a_min) > float(a_max):
            raise ValueError(f"clip: lower bound {float(a_min):g} is greater than upper bound "
                             f"{float(a_max):g}")
        return _clamp_recorded(tx, a_min, a_max)
    return _wrap(ag_clip(tx.t, 0.0 if a_min is None else float(a_min),
                         0.0 if a_max is None else float(a_max), a_min is not None, a_max is not None))
