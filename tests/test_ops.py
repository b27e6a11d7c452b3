"""Every op against numpy: forward values and reverse gradients, driven by one table.

Each row of ``OPS`` names an op, calls it through autograd_c, calls the same thing in numpy,
and says which inputs to draw (shapes, domain, extra keyword arguments).  From each row the
tests check, for every shape case and memory layout (contiguous, transposed, sliced):

* the forward value against numpy (float64);
* the reverse gradient of the random projection ``(f(x) * w).sum()`` against
  ``ag.numerical_grad`` (central differences in float64);
* float32 results against float64 ones, to float32 precision.

Adding an op means adding a row.  Samplers keep inputs away from kinks (relu at 0, ties of
maximum, clip bounds) where the derivative is not defined.
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import pytest

import autograd_c as ag

# ----------------------------------------------------------------------------------------------
# samplers: (rng, shape) -> float64 array


def normal(rng, shape):
    return rng.standard_normal(shape)


def well_conditioned(rng, shape):
    """Square matrices (in the last two dims) dominated by their diagonal -- also after the
    'sliced' layout keeps every other column of a (n, 2n) sample."""
    a = rng.standard_normal(shape)
    n, m = shape[-2], shape[-1]
    step = m // n
    a[..., np.arange(n), np.arange(n) * step] += 3.0
    return a


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away0(rng, shape):
    """|x| in [0.2, 2], random sign: keeps kinks at 0 out of the finite differences."""
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def around1(rng, shape):
    """Entries of magnitude 0.5..1.5: products of them stay well scaled."""
    return rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def small(rng, shape):
    return rng.uniform(-1.2, 1.2, shape)


def above_m05(rng, shape):
    return rng.uniform(-0.5, 2.0, shape)


def inside1(rng, shape):
    """Inside (-1, 1), clear of the edges where arcsin / arctanh derivatives blow up."""
    return rng.uniform(-0.9, 0.9, shape)


def above1(rng, shape):
    return rng.uniform(1.2, 3.0, shape)


def coin(rng, shape):
    return (rng.random(shape) < 0.5).astype(np.float64)


def away_from(points, lo=-2.0, hi=2.0, gap=0.05):
    """Uniform on [lo, hi] but at least ``gap`` from each of ``points``."""
    def sample(rng, shape):
        x = rng.uniform(lo, hi, shape)
        for _ in range(100):
            bad = np.zeros(np.shape(x), dtype=bool)
            for p in points:
                bad |= np.abs(x - p) < gap
            if not bad.any():
                return x
            x = np.where(bad, rng.uniform(lo, hi, np.shape(x)), x)
        raise AssertionError("sampler did not converge")
    return sample


def _tensordot_ok(a, b, axes):
    try:
        np.tensordot(a, b, axes)
        return True
    except ValueError:
        return False


TAKE_IDX = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])   # repeated: gradients add


def _no_near_ties(x):
    """finite differences must not reorder the elements being sorted"""
    v = np.sort(np.ravel(x))
    return v.size < 2 or np.min(np.diff(v)) > 1e-3


def no_ties(*arrays):
    a, b = np.broadcast_arrays(*arrays[:2])
    return np.all(np.abs(a - b) > 0.05)


# ----------------------------------------------------------------------------------------------
# numpy references that numpy lacks

_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def np_gelu_grad(x):
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def ag_gelu_grad(x):
    """gelu'(x) as a differentiable tensor: the gelu_grad primitive that a create_graph
    backward of gelu records"""
    return ag.grad(lambda t: ag.gelu(t).sum())(x)


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        r = np.squeeze(r, axis=axis) if axis is not None else r.reshape(())
    return r


def np_softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    return x - np_logsumexp(x, axis=axis, keepdims=True)


# ----------------------------------------------------------------------------------------------
# the table


@dataclass
class Op:
    name: str
    fn: Callable                 # autograd_c version: fn(*tensors, **kwargs)
    ref: Callable                # numpy version:      ref(*arrays, **kwargs)
    shapes: list                 # list of tuples of input shapes
    domain: object = normal      # a sampler, or a tuple of samplers (one per input)
    kwargs: list = field(default_factory=lambda: [{}])
    nondiff: tuple = ()          # inputs passed as constants (e.g. where's condition)
    valid: Optional[Callable] = None   # valid(*arrays, **kwargs): the case exists (shapes/axes)
    accept: Optional[Callable] = None  # accept(*arrays): the sample is usable, else draw again
    layouts: bool = True         # also run transposed / sliced inputs
    f32_rtol: float = 2e-5


UNARY_SHAPES = [((),), ((1,),), ((5,),), ((2, 3),), ((3, 1, 4),)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((), (3,)), ((3,), ()), ((2, 1, 4), (3, 1)),
                 ((3, 1), (2, 3, 4)), ((1,), (2, 3)), ((1, 1), (1, 1))]
TERNARY_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4)), ((), (2, 3), (3,)),
                  ((2, 3), (), (1, 3))]


def unary(name, fn, ref, domain=normal, **kw):
    return Op(name, fn, ref, UNARY_SHAPES, domain, **kw)


def binary(name, fn, ref, domain=normal, **kw):
    return Op(name, fn, ref, BINARY_SHAPES, domain, **kw)


REDUCE_CASES = [
    ((2, 3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)),
    ((2, 3, 4), (-1, -2)), ((2, 3, 4), (0, 1, 2)), ((), None), ((1, 4), 0), ((1, 4), None),
    ((5,), 0),
]


def reduction(name, fn, ref, domain=normal, valid=None):
    rows = []
    for shape, axis in REDUCE_CASES:
        for keepdims in (False, True):
            rows.append(Op(name, fn, ref, [(shape,)], domain,
                           [dict(axis=axis, keepdims=keepdims)], valid=valid))
    return rows


def _reduced_count(x, axis=None, keepdims=False):
    if axis is None:
        return x.size
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([x.shape[a] for a in axes]))


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                 ((2, 1, 2, 3), (3, 3, 4)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))]

GETITEM_KEYS = [
    1, -1, (1, 2), (1, 2, 0), slice(1, 3), slice(None, None, -1), (slice(None, None, -2), 1),
    (slice(3, 0, -2), slice(None), slice(None, None, -1)), (None, Ellipsis, 0),
    (Ellipsis, slice(1, None)), (1, slice(None), -1), (slice(None), None, 2), Ellipsis, (),
    [0, 2, 2], np.array([[0, 1], [3, 0]]), (slice(None), [1, 1, 4]), ([0, 1], [2, 3]),
    (1, [0, 4], slice(None, 2)), np.array([True, False, True, True]),
    "mask",  # a boolean mask of the whole tensor (built per sample, see _getitem_key)
]


def _getitem_key(key, x):
    if isinstance(key, str):
        return np.abs(np.asarray(x)) > 0.4
    return key


def _key_id(key):
    if isinstance(key, np.ndarray):
        return f"array{key.tolist()}".replace(" ", "")
    return repr(key).replace(" ", "")


OPS = [
    # ---- arithmetic operators and their function forms
    binary("add", lambda a, b: a + b, np.add),
    binary("sub", lambda a, b: a - b, np.subtract),
    binary("mul", lambda a, b: a * b, np.multiply),
    binary("div", lambda a, b: a / b, np.divide, (normal, away0)),
    binary("pow", lambda a, b: a ** b, np.power, (positive, normal)),
    binary("ag.add", ag.add, np.add),
    binary("ag.subtract", ag.subtract, np.subtract),
    binary("ag.multiply", ag.multiply, np.multiply),
    binary("ag.divide", ag.divide, np.divide, (normal, away0)),
    binary("ag.power", ag.power, np.power, (positive, normal)),
    unary("pow_int_exponent", lambda x: x ** 3, lambda x: x ** 3),
    unary("pow_half_exponent", lambda x: x ** 0.5, np.sqrt, positive),
    unary("rpow_scalar_base", lambda x: 2.0 ** x, lambda x: 2.0 ** x),
    unary("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x),
    unary("rdiv_scalar", lambda x: 1.5 / x, lambda x: 1.5 / x, away0),
    unary("neg", lambda x: -x, np.negative),
    unary("ag.neg", ag.neg, np.negative),
    # ---- unary math
    unary("abs", ag.abs, np.abs, away0),
    unary("abs_builtin", lambda x: abs(x), np.abs, away0),
    unary("exp", ag.exp, np.exp),
    unary("log", ag.log, np.log, positive),
    unary("log1p", ag.log1p, np.log1p, above_m05),
    unary("sqrt", ag.sqrt, np.sqrt, positive),
    unary("sin", ag.sin, np.sin),
    unary("cos", ag.cos, np.cos),
    unary("tan", ag.tan, np.tan, small),
    unary("tanh", ag.tanh, np.tanh),
    unary("sigmoid", ag.sigmoid, np_sigmoid),
    unary("relu", ag.relu, lambda x: np.maximum(x, 0), away0),
    unary("leaky_relu", ag.leaky_relu, lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
          away0, kwargs=[{}, dict(negative_slope=0.2)]),
    unary("elu", ag.elu, np_elu, away0, kwargs=[{}, dict(alpha=1.7)]),
    unary("softplus", ag.softplus, lambda x: np.logaddexp(0, x)),
    unary("gelu", ag.gelu, np_gelu),
    unary("gelu_grad", ag_gelu_grad, np_gelu_grad),
    unary("silu", ag.silu, lambda x: x * np_sigmoid(x)),
    unary("erf", ag.erf, _erf),
    unary("sinh", ag.sinh, np.sinh),
    unary("cosh", ag.cosh, np.cosh),
    unary("arcsin", ag.arcsin, np.arcsin, inside1),
    unary("arccos", ag.arccos, np.arccos, inside1),
    unary("arctan", ag.arctan, np.arctan),
    unary("arcsinh", ag.arcsinh, np.arcsinh),
    unary("arccosh", ag.arccosh, np.arccosh, above1),
    unary("arctanh", ag.arctanh, np.arctanh, inside1),
    unary("expm1", ag.expm1, np.expm1),
    unary("exp2", ag.exp2, np.exp2),
    unary("log2", ag.log2, np.log2, positive),
    unary("log10", ag.log10, np.log10, positive),
    unary("square", ag.square, np.square),
    unary("reciprocal", ag.reciprocal, np.reciprocal, away0),
    unary("method_arctan", lambda x: x.arctan(), np.arctan),
    unary("method_square", lambda x: x.square(), np.square),
    unary("clip", ag.clip, lambda x, a_min=None, a_max=None: np.clip(x, a_min, a_max), away_from([-0.5, 0.7]),
          kwargs=[dict(a_min=-0.5, a_max=0.7), dict(a_min=-0.5), dict(a_max=0.7)]),
    binary("arctan2", ag.arctan2, np.arctan2, (away0, away0)),   # |a| >= 0.2: off the branch cut
    binary("hypot", ag.hypot, np.hypot, (away0, normal)),
    binary("maximum", ag.maximum, np.maximum, accept=no_ties),
    binary("minimum", ag.minimum, np.minimum, accept=no_ties),
    Op("where", lambda c, a, b: ag.where(c, a, b), np.where, TERNARY_SHAPES, (coin, normal, normal),
       nondiff=(0,)),
    Op("where_comparison_mask", lambda a, b: ag.where(a > b, a, b), lambda a, b: np.where(a > b, a, b),
       BINARY_SHAPES, accept=no_ties),
    # ---- contractions
    Op("matmul", ag.matmul, np.matmul, MATMUL_SHAPES),
    Op("matmul_operator", lambda a, b: a @ b, np.matmul, MATMUL_SHAPES),
    Op("dot", ag.dot, np.dot, [((3,), (3,)), ((2, 3), (3, 4)), ((2, 4, 3), (5, 3, 2)), ((), (2, 3)),
                               ((4, 2, 3), (3,)), ((3,), (2, 3, 4))]),
    Op("inner", ag.inner, np.inner, [((3,), (3,)), ((2, 3), (4, 3)), ((2, 1, 3), (3,)), ((2,), ())]),
    Op("tensordot", ag.tensordot, np.tensordot, [((2, 3, 4), (3, 4, 5)), ((3, 4), (4, 3))],
       kwargs=[dict(axes=2), dict(axes=1), dict(axes=0), dict(axes=([0, 1], [1, 0]))],
       valid=_tensordot_ok),
    # ---- linear algebra (the trailing two dims; leading dims batch)
    Op("inv", ag.linalg.inv, np.linalg.inv, [((3, 3),), ((2, 4, 4),)], domain=well_conditioned),
    Op("solve", ag.linalg.solve, np.linalg.solve, [((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1))],
       domain=(well_conditioned, normal)),
    Op("slogdet", lambda a: ag.linalg.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
       [((3, 3),), ((2, 3, 3),)], domain=well_conditioned),
    Op("det", ag.linalg.det, np.linalg.det, [((3, 3),), ((2, 3, 3),), ((2, 2),)]),
    Op("cofactor", ag._core._cofactor,
       lambda a: np.linalg.det(a)[..., None, None] * np.swapaxes(np.linalg.inv(a), -1, -2),
       [((3, 3),), ((2, 3, 3),), ((2, 2),)], domain=well_conditioned),
    Op("cholesky", lambda a: ag.linalg.cholesky(a @ ag.swapaxes(a, -1, -2) + 3.0),
       lambda a: np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 3.0), [((3, 3),), ((2, 3, 3),)],
       layouts=False),
    # ---- fused losses
    Op("cross_entropy", lambda x: ag._core._cross_entropy_int(x, [2, 0, 1, 2]),
       lambda x: (np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1)) + x.max(-1)
                  - x[np.arange(4), [2, 0, 1, 2]]),
       [((4, 3),)]),
    # ---- scans
    Op("cumsum", ag.cumsum, np.cumsum, [((2, 3, 4),), ((5,),), ((1, 3),)],
       kwargs=[dict(axis=None), dict(axis=0), dict(axis=1), dict(axis=-1)],
       valid=lambda x, axis: axis is None or -x.ndim <= axis < x.ndim),
    Op("cumsum_method", lambda x: x.cumsum(0), lambda x: np.cumsum(x, 0), [((4, 2),)]),
    Op("diff", ag.diff, np.diff, [((2, 5, 4),), ((6,),)],
       kwargs=[dict(), dict(n=2), dict(n=0), dict(axis=0), dict(n=3, axis=1)],
       valid=lambda x, n=1, axis=-1: -x.ndim <= axis < x.ndim),
    # ---- manipulation (views, selections and gathers by flat index)
    Op("flip", ag.flip, np.flip, [((2, 3, 4),)],
       kwargs=[dict(axis=None), dict(axis=0), dict(axis=(0, -1))]),
    Op("flip_1d", ag.flip, np.flip, [((5,),)]),
    Op("roll", ag.roll, np.roll, [((2, 3, 4),)],
       kwargs=[dict(shift=1), dict(shift=-2, axis=0), dict(shift=(1, 2), axis=(0, -1))]),
    Op("moveaxis", lambda x: ag.moveaxis(x, [0, 1], [-1, 0]),
       lambda x: np.moveaxis(x, [0, 1], [-1, 0]), [((2, 3, 4),)]),
    Op("tile", ag.tile, np.tile, [((2, 3),), ((3,),)], kwargs=[dict(reps=2), dict(reps=(2, 1, 2))]),
    Op("repeat", ag.repeat, np.repeat, [((2, 3),)],
       kwargs=[dict(repeats=2), dict(repeats=[1, 0, 3], axis=1), dict(repeats=2, axis=0)]),
    Op("tril", ag.tril, np.tril, [((3, 4),), ((2, 3, 3),)], kwargs=[dict(), dict(k=1), dict(k=-1)]),
    Op("triu", ag.triu, np.triu, [((3, 4),), ((2, 3, 3),)], kwargs=[dict(), dict(k=1), dict(k=-1)]),
    Op("diagonal", ag.diagonal, np.diagonal, [((3, 4),), ((2, 3, 3),)],
       kwargs=[dict(), dict(offset=1), dict(offset=-1, axis1=-2, axis2=-1)]),
    Op("take_along_axis", lambda x: ag.take_along_axis(x, TAKE_IDX, 1),
       lambda x: np.take_along_axis(x, TAKE_IDX, 1), [((3, 4),)]),
    Op("sort", ag.sort, np.sort, [((3, 4),), ((6,),)], kwargs=[dict(), dict(axis=0), dict(axis=None)],
       valid=lambda x, axis=-1: axis is None or x.ndim > 1 or axis == -1, accept=_no_near_ties),
    # ---- softmax family
    Op("softmax", ag.softmax, np_softmax, [((2, 3, 4),), ((5,),), ((1, 3),)],
       kwargs=[dict(axis=0), dict(axis=1), dict(axis=-1)],
       valid=lambda x, axis: -x.ndim <= axis < x.ndim),
    Op("log_softmax", ag.log_softmax, np_log_softmax, [((2, 3, 4),), ((5,),), ((1, 3),)],
       kwargs=[dict(axis=0), dict(axis=1), dict(axis=-1)],
       valid=lambda x, axis: -x.ndim <= axis < x.ndim),
    # ---- shapes
    Op("reshape", lambda x, shape: ag.reshape(x, shape), lambda x, shape: np.reshape(x, shape),
       [((3, 4),)], kwargs=[dict(shape=(2, 6)), dict(shape=(12,)), dict(shape=(4, -1)),
                            dict(shape=(2, 1, 3, 2))]),
    Op("reshape_0d", lambda x, shape: x.reshape(shape), lambda x, shape: np.reshape(x, shape),
       [((),), ((1, 1),)], kwargs=[dict(shape=(1,)), dict(shape=())],
       valid=lambda x, shape: x.size == 1),
    Op("reshape_method_varargs", lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6), [((2, 3, 4),)]),
    Op("transpose", ag.transpose, np.transpose, [((2, 3, 4),), ((3, 4),), ((5,),), ((),)]),
    Op("transpose_axes", lambda x: ag.transpose(x, (1, 0, 2)), lambda x: np.transpose(x, (1, 0, 2)),
       [((2, 3, 4),)]),
    Op("T", lambda x: x.T, lambda x: x.T, [((3, 4),), ((2, 3, 4),)]),
    Op("permute", lambda x: ag.permute(x, (2, 0, 1)), lambda x: np.transpose(x, (2, 0, 1)),
       [((2, 3, 4),)]),
    Op("permute_method", lambda x: x.permute(1, 2, 0), lambda x: np.transpose(x, (1, 2, 0)),
       [((2, 3, 4),)]),
    Op("swapaxes", ag.swapaxes, np.swapaxes, [((2, 3, 4),)],
       kwargs=[dict(axis1=0, axis2=2), dict(axis1=-1, axis2=1), dict(axis1=1, axis2=1)]),
    Op("squeeze", ag.squeeze, np.squeeze, [((1, 3, 1, 4),)],
       kwargs=[dict(axis=None), dict(axis=0), dict(axis=(0, 2)), dict(axis=-2)]),
    Op("unsqueeze", ag.unsqueeze, np.expand_dims, [((3, 4),), ((),)],
       kwargs=[dict(axis=0), dict(axis=-1), dict(axis=1)],
       valid=lambda x, axis: -x.ndim - 1 <= axis <= x.ndim),
    Op("expand_dims", ag.expand_dims, np.expand_dims, [((3, 4),)], kwargs=[dict(axis=2)]),
    Op("broadcast_to", ag.broadcast_to, np.broadcast_to, [((3, 1),), ((1,),), ((),), ((4,),)],
       kwargs=[dict(shape=(2, 3, 4)), dict(shape=(5, 3, 1))],
       valid=lambda x, shape: _broadcastable(x.shape, shape)),
    Op("expand", lambda x, shape: x.expand(*shape), np.broadcast_to, [((3, 1),)],
       kwargs=[dict(shape=(2, 3, 4))]),
    Op("flatten", ag.flatten, lambda x, start_dim=0: x.reshape(x.shape[:start_dim] + (-1,)),
       [((2, 3, 4),), ((3,),)], kwargs=[{}, dict(start_dim=1)],
       valid=lambda x, start_dim=0: start_dim < max(x.ndim, 1)),
    Op("flatten_0d", ag.flatten, lambda x: x.reshape(1), [((),)]),
    Op("getitem", lambda x, key: x[_getitem_key(key, x)],
       lambda x, key: x[_getitem_key(key, x)], [((4, 5, 3),)],
       kwargs=[dict(key=k) for k in GETITEM_KEYS]),
    Op("getitem_0d", lambda x: x[()], lambda x: x[()], [((),)]),
    Op("getitem_mask_tensor", lambda x: x[x > 0.3], lambda x: x[x > 0.3], [((3, 4),)],
       accept=lambda x: np.all(np.abs(x - 0.3) > 1e-3)),
    Op("concatenate", lambda *xs, axis: ag.concatenate(xs, axis=axis),
       lambda *xs, axis: np.concatenate(xs, axis=axis),
       [((2, 3), (4, 3)), ((2, 3), (2, 1), (2, 2)), ((3,), (2,))],
       kwargs=[dict(axis=0), dict(axis=-1)],
       valid=lambda *xs, axis: _concatenable(xs, axis)),
    Op("stack", lambda *xs, axis: ag.stack(xs, axis=axis), lambda *xs, axis: np.stack(xs, axis=axis),
       [((3,), (3,)), ((2, 3), (2, 3), (2, 3)), ((), ())],
       kwargs=[dict(axis=0), dict(axis=-1), dict(axis=1)],
       valid=lambda *xs, axis: -xs[0].ndim - 1 <= axis <= xs[0].ndim),
    Op("split", lambda x, sections, axis: ag.concatenate(
        [p * float(i + 1) for i, p in enumerate(ag.split(x, sections, axis=axis))], axis=axis),
       lambda x, sections, axis: np.concatenate(
        [p * float(i + 1) for i, p in enumerate(np.split(x, sections, axis=axis))], axis=axis),
       [((6, 4),)], kwargs=[dict(sections=3, axis=0), dict(sections=[1, 3], axis=1),
                            dict(sections=2, axis=-1), dict(sections=[2, 2, 5], axis=0)]),
    # ---- composite expressions (the README's seed example, repeated use, chains)
    Op("seed_example", lambda x1, x2, x3: x1 * x2 * ag.sin(x3) + ag.exp(x1 * x2),
       lambda x1, x2, x3: x1 * x2 * np.sin(x3) + np.exp(x1 * x2),
       [((), (), ()), ((3,), (3,), (3,)), ((2, 1), (3,), (2, 3))]),
    unary("repeated_use", lambda x: x * x + x * ag.sin(x) - x, lambda x: x * x + x * np.sin(x) - x),
]

for _name, _fn, _ref, _dom, _valid in [
        ("sum", ag.sum, np.sum, normal, None),
        ("mean", ag.mean, np.mean, normal, None),
        ("max", ag.max, np.max, normal, None),
        ("min", ag.min, np.min, normal, None),
        ("prod", ag.prod, np.prod, around1, None),
        ("var", ag.var, np.var, normal, None),
        ("std", ag.std, np.std, normal, lambda x, axis, keepdims: _reduced_count(x, axis) > 1),
        ("logsumexp", ag.logsumexp, np_logsumexp, normal, None),
        ("sum_method", lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), np.sum, normal, None),
        ("max_method", lambda x, axis, keepdims: x.max(axis, keepdims), np.max, normal, None)]:
    OPS.extend(reduction(_name, _fn, _ref, _dom, _valid))


def _broadcastable(src, dst):
    if len(src) > len(dst):
        return False
    return all(s in (1, d) for s, d in zip(src[::-1], dst[::-1]))


def _concatenable(xs, axis):
    nd = xs[0].ndim
    if not -nd <= axis < nd or any(x.ndim != nd for x in xs):
        return False
    ax = axis % nd
    return all(x.shape[:ax] + x.shape[ax + 1:] == xs[0].shape[:ax] + xs[0].shape[ax + 1:] for x in xs)


# ----------------------------------------------------------------------------------------------
# expanding the table into cases


def _layout_applies(shape, layout):
    if layout == "contiguous":
        return True
    if layout == "transposed":
        return sum(1 for d in shape if d > 1) >= 2   # else the transpose is still contiguous
    return len(shape) >= 1 and shape[-1] > 1       # sliced: every other element of the last axis


def _cases():
    seen = set()
    for op in OPS:
        for si, shapes in enumerate(op.shapes):
            for ki, kw in enumerate(op.kwargs):
                if op.valid is not None and not op.valid(*[np.zeros(s) for s in shapes], **kw):
                    continue  # e.g. axis 1 of a 1-d input: the case does not exist
                for layout in ("contiguous", "transposed", "sliced"):
                    if layout != "contiguous" and not op.layouts:
                        continue
                    if layout != "contiguous" and not any(_layout_applies(s, layout) for s in shapes):
                        continue
                    kid = ",".join(f"{k}={_key_id(v)}" for k, v in kw.items())
                    cid = f"{op.name}-{'x'.join(str(s) for s in shapes).replace(' ', '')}-{kid}-{layout}"
                    if cid in seen:
                        continue
                    seen.add(cid)
                    yield pytest.param(op, shapes, kw, layout, id=cid)


CASES = list(_cases())


def _sample(op, shapes, kw, layout, rng):
    """Draw float64 numpy inputs in the given layout."""
    doms = op.domain if isinstance(op.domain, tuple) else (op.domain,) * len(shapes)
    for _ in range(200):
        arrays = []
        for shape, dom in zip(shapes, doms):
            shape = tuple(shape)
            if layout == "transposed" and _layout_applies(shape, layout):
                a = dom(rng, shape[::-1]).T
            elif layout == "sliced" and _layout_applies(shape, layout):
                a = dom(rng, shape[:-1] + (2 * shape[-1],))[..., ::2]
            else:
                a = np.asarray(dom(rng, shape), dtype=np.float64)
            arrays.append(a)
        if op.accept is None or op.accept(*arrays):
            return arrays
    raise AssertionError(f"could not sample acceptable inputs for {op.name} {shapes}")


def _as_tensor(a, dtype, requires_grad):
    """A tensor sharing memory with numpy array `a` (keeping its strides), or a copy in float32."""
    if dtype == np.float64:
        t = ag.from_numpy(a) if a.ndim else ag.tensor(a, dtype="float64")
    else:
        t = ag.tensor(a, dtype="float32")
    if requires_grad:
        t.requires_grad = True
    return t


def _call(op, arrays, kw, dtype, requires_grad):
    ts = [_as_tensor(a, dtype, requires_grad and i not in op.nondiff) for i, a in enumerate(arrays)]
    return ts, op.fn(*ts, **kw)


@pytest.mark.parametrize("op,shapes,kw,layout", CASES)
def test_forward_and_gradient(op, shapes, kw, layout, rng):
    arrays = _sample(op, shapes, kw, layout, rng)
    if layout == "transposed" or layout == "sliced":
        assert any(not a.flags.c_contiguous for a in arrays if a.ndim)
    expected = np.asarray(op.ref(*arrays, **kw), dtype=np.float64)

    ts, out = _call(op, arrays, kw, np.float64, True)
    assert isinstance(out, ag.Tensor)
    assert out.dtype == np.float64
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)

    # reverse mode on the random projection (f(x) * w).sum()
    w = rng.standard_normal(expected.shape)
    diff = [i for i in range(len(arrays)) if i not in op.nondiff]
    (out * w).sum().backward()

    const = {i: ag.tensor(arrays[i], dtype="float64") for i in op.nondiff}

    def projected_t(*dts):
        xs = []
        it = iter(dts)
        for i in range(len(arrays)):
            xs.append(const[i] if i in op.nondiff else next(it))
        return (op.fn(*xs, **kw) * w).sum()

    num = ag.numerical_grad(projected_t, *[arrays[i] for i in diff])
    if len(diff) == 1:
        num = [num]
    for i, n in zip(diff, num):
        g = ts[i].grad
        assert g is not None, f"input {i} got no gradient"
        assert g.shape == arrays[i].shape and g.dtype == np.float64
        np.testing.assert_allclose(g.numpy(), n, rtol=1e-6, atol=1e-8,
                                   err_msg=f"{op.name}: gradient of input {i}")
    for i in op.nondiff:
        assert ts[i].grad is None


JVP_CASES = [c for c in CASES if c.values[3] in ("contiguous", "transposed")]


@pytest.mark.parametrize("op,shapes,kw,layout", JVP_CASES)
def test_forward_mode_agrees_with_reverse_mode(op, shapes, kw, layout, rng):
    """Every row's JVP against its VJP: <w, J t> = <J^T w, t> for random w and t."""
    arrays = _sample(op, shapes, kw, layout, rng)
    diff = [i for i in range(len(arrays)) if i not in op.nondiff]
    const = {i: ag.tensor(arrays[i], dtype="float64") for i in op.nondiff}

    def f(*dts):
        it = iter(dts)
        return op.fn(*[const[i] if i in op.nondiff else next(it) for i in range(len(arrays))], **kw)

    tangents = [rng.standard_normal(np.shape(arrays[i])) for i in diff]
    primals = tuple(_as_tensor(arrays[i], np.float64, False) for i in diff)
    out, jt = ag.jvp(f, primals, tuple(ag.tensor(t, dtype="float64") for t in tangents))
    assert jt.shape == out.shape and jt.dtype == np.float64
    w = rng.standard_normal(out.shape)
    xs = [_as_tensor(arrays[i], np.float64, True) for i in diff]
    (f(*xs) * ag.tensor(w)).sum().backward()
    lhs = float((jt.numpy() * w).sum())
    rhs = sum(float((x.grad.numpy() * t).sum()) for x, t in zip(xs, tangents))
    scale = max(1.0, float(np.abs(jt.numpy() * w).sum()))
    assert abs(lhs - rhs) <= 1e-11 * scale, f"{op.name}: <w, J t> = {lhs}, <J^T w, t> = {rhs}"


F32_CASES = [c for c in CASES if c.values[3] == "contiguous"]


@pytest.mark.parametrize("op,shapes,kw,layout", F32_CASES)
def test_float32_matches_float64(op, shapes, kw, layout, rng):
    arrays = _sample(op, shapes, kw, layout, rng)
    arrays = [a.astype(np.float32).astype(np.float64) for a in arrays]  # exactly representable
    ts64, out64 = _call(op, arrays, kw, np.float64, True)
    ts32, out32 = _call(op, arrays, kw, np.float32, True)
    assert out32.dtype == np.float32
    scale = max(1.0, float(np.max(np.abs(out64.numpy()), initial=0.0)))
    np.testing.assert_allclose(out32.numpy(), out64.numpy(), rtol=op.f32_rtol, atol=2e-6 * scale)
    w = rng.standard_normal(out64.shape)
    (out64 * w).sum().backward()
    (out32 * w).sum().backward()
    for i in range(len(arrays)):
        if i in op.nondiff:
            continue
        g64, g32 = ts64[i].grad.numpy(), ts32[i].grad.numpy()
        assert g32.dtype == np.float32
        gscale = max(1.0, float(np.max(np.abs(g64), initial=0.0)))
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5 * gscale)


def test_table_covers_every_primitive():
    """Every differentiable primitive of the core's op table is exercised by some row."""
    tested = {op.name.split("_")[0].replace("ag.", "") for op in OPS} | {op.name for op in OPS}
    aliases = {"neg": "neg", "sub": "sub", "div": "div", "pow": "pow", "concat": "concatenate",
               "slice": "getitem", "take": "getitem", "expand": "broadcast_to",
               "permute": "permute", "copy": None, "astype": None, "linear": None,
               "slice_backward": None, "take_backward": None, "sign": None, "step": None,
               "floor": None, "ceil": None, "rint": None, "trunc": None,
               "eq": None, "ne": None, "lt": None, "le": None, "gt": None, "ge": None}
    missing = []
    for name, nin, flags in ag._core.op_table():
        target = aliases.get(name, name)
        if target is not None and target not in tested:
            missing.append(name)
    assert not missing, f"ops without a row in the test table: {missing}"


# ----------------------------------------------------------------------------------------------
# comparisons: values, dtype, and no gradient

def _sum_to(arr, shape):
    """Sum a broadcast result back down to `shape` (numpy reference for gradient reduction)."""
    lead = arr.ndim - len(shape)
    arr = arr.sum(axis=tuple(range(lead))) if lead else arr
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and arr.shape[i] != 1)
    return arr.sum(axis=axes, keepdims=True) if axes else arr


COMPARISONS = [
    ("<", lambda a, b: a < b, np.less), ("<=", lambda a, b: a <= b, np.less_equal),
    (">", lambda a, b: a > b, np.greater), (">=", lambda a, b: a >= b, np.greater_equal),
    ("==", lambda a, b: a == b, np.equal), ("!=", lambda a, b: a != b, np.not_equal),
    ("less", ag.less, np.less), ("less_equal", ag.less_equal, np.less_equal),
    ("greater", ag.greater, np.greater), ("greater_equal", ag.greater_equal, np.greater_equal),
    ("equal", ag.equal, np.equal), ("not_equal", ag.not_equal, np.not_equal),
]


@pytest.mark.parametrize("name,fn,ref", COMPARISONS, ids=[c[0] for c in COMPARISONS])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_comparisons(name, fn, ref, shapes, dtype, rng):
    a = rng.integers(-2, 3, shapes[0]).astype(dtype)  # small integers: many exact ties
    b = rng.integers(-2, 3, shapes[1]).astype(dtype)
    ta = ag.tensor(a, dtype=dtype, requires_grad=True)
    tb = ag.tensor(b, dtype=dtype, requires_grad=True)
    c = fn(ta, tb)
    assert c.dtype == np.dtype(dtype)
    assert not c.requires_grad
    np.testing.assert_array_equal(c.numpy(), ref(a, b).astype(dtype))
    # against scalars and numpy arrays on either side
    np.testing.assert_array_equal(fn(ta, 0.0).numpy(), ref(a, 0.0).astype(dtype))
    np.testing.assert_array_equal(fn(1.0, ta).numpy(), ref(1.0, a).astype(dtype))
    np.testing.assert_array_equal(fn(ta, b).numpy(), ref(a, b).astype(dtype))
    # the mask contributes nothing to the gradient: d/da sum(mask * a) = mask, summed to a's shape
    (c * ta).sum().backward()
    np.testing.assert_array_equal(ta.grad.numpy(), _sum_to(ref(a, b).astype(dtype), a.shape))
    assert tb.grad is None


# ----------------------------------------------------------------------------------------------
# scalars and numpy arrays on either side of operators

OPERATORS = [
    ("+", lambda a, b: a + b), ("-", lambda a, b: a - b), ("*", lambda a, b: a * b),
    ("/", lambda a, b: a / b), ("**", lambda a, b: a ** b),
]


@pytest.mark.parametrize("sym,op", OPERATORS, ids=[o[0] for o in OPERATORS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("other_kind", ["int", "float", "ndarray64", "ndarray32", "0d-ndarray"])
def test_operators_mix_with_scalars_and_arrays(sym, op, dtype, other_kind, rng):
    x = rng.uniform(0.5, 2.0, (2, 3)).astype(dtype)
    other = {"int": 2, "float": 1.5, "ndarray64": rng.uniform(0.5, 2.0, (3,)),
             "ndarray32": rng.uniform(0.5, 2.0, (3,)).astype(np.float32),
             "0d-ndarray": np.array(1.25)}[other_kind]
    t = ag.tensor(x, dtype=dtype, requires_grad=True)
    tol = dict(rtol=1e-6 if dtype == "float32" else 1e-13)
    right = op(t, other)
    left = op(other, t)
    for r in (right, left):
        assert isinstance(r, ag.Tensor), f"{type(r)} returned for {sym} with {other_kind}"
        assert r.dtype == np.dtype(dtype), "scalars and arrays adopt the tensor's dtype"
    o = np.asarray(other).astype(dtype)
    np.testing.assert_allclose(right.numpy(), op(x, o), **tol)
    np.testing.assert_allclose(left.numpy(), op(o, x), **tol)
    # gradient of both orders through the same leaf
    (right.sum() + left.sum()).backward()
    x64, o64 = x.astype(np.float64), o.astype(np.float64)
    num = ag.numerical_grad(lambda v: (op(v, o64).sum() + op(o64, v).sum()), x64)
    np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-4 if dtype == "float32" else 1e-6, atol=1e-6)


def test_matmul_with_numpy_array_on_either_side(rng):
    a = rng.standard_normal((2, 3))
    b = rng.standard_normal((3, 4))
    ta = ag.tensor(a, requires_grad=True)
    r1 = ta @ b
    r2 = b.T @ ta.T
    assert isinstance(r1, ag.Tensor) and isinstance(r2, ag.Tensor)
    np.testing.assert_allclose(r1.numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose(r2.numpy(), b.T @ a.T, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# accumulation: repeated use and broadcasting, against exact answers


def test_gradient_summed_over_repeated_use():
    x0 = np.array([0.5, -1.5, 2.0])
    x = ag.tensor(x0, requires_grad=True)
    y = x * x * x + x + x * 3.0 - x / 2.0   # d/dx = 3x^2 + 1 + 3 - 0.5
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x0 ** 2 + 3.5, rtol=1e-14)


def test_gradient_accumulates_across_backward_calls():
    x0 = np.array([0.5, -1.5, 2.0])
    x = ag.tensor(x0, requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x0 + 3.0, rtol=1e-14)


def test_gradient_reduced_over_broadcast_axes():
    a = ag.tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    b = ag.tensor(np.arange(4.0).reshape(1, 4) + 1, requires_grad=True)
    c = ag.tensor(np.array(2.0), requires_grad=True)
    d = ag.tensor(np.arange(4.0), requires_grad=True)
    y = (a * b + c) * d            # shape (3, 4)
    y.sum().backward()
    A, B, D = np.arange(3.0).reshape(3, 1), np.arange(4.0).reshape(1, 4) + 1, np.arange(4.0)
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == () and d.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to((B * D).sum(), (3, 1)))
    np.testing.assert_allclose(b.grad.numpy(), (A * D).sum(axis=0, keepdims=True))
    np.testing.assert_allclose(c.grad.numpy(), D.sum() * 3)
    np.testing.assert_allclose(d.grad.numpy(), (A * B + 2.0).sum(axis=0))


def test_gradient_through_diamond_and_views():
    x0 = np.arange(6.0).reshape(2, 3) / 7.0
    x = ag.tensor(x0, requires_grad=True)
    y = x.T[1:] * x.T[:-1] + ag.exp(x)[:, 1:].T   # several views of x meeting again
    y.sum().backward()
    num = ag.numerical_grad(lambda v: (v.T[1:] * v.T[:-1] + ag.exp(v)[:, 1:].T).sum(), x0)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------------------------
# numerical stability of the softmax family

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_family_stable_for_large_inputs(dtype):
    big = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0], [-1e4, -1e4 + 2.0, -1e4, -1e4]])
    x = ag.tensor(big, dtype=dtype, requires_grad=True)
    ref = np_softmax(big, axis=-1)
    sm = ag.softmax(x, axis=-1)
    lsm = ag.log_softmax(x, axis=-1)
    lse = ag.logsumexp(x, axis=-1)
    for r in (sm, lsm, lse):
        assert np.all(np.isfinite(r.numpy()))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sm.numpy(), ref, **tol)
    finite = ref > 0
    np.testing.assert_allclose(lsm.numpy()[finite], np.log(ref[finite]), **tol)
    # the entries exp(-2e4) underflow in softmax but log_softmax stays exact: -2e4 - log(1+e^-1)
    np.testing.assert_allclose(lsm.numpy()[0, 1], -2e4 - np.log1p(np.exp(-1.0)), rtol=1e-6)
    np.testing.assert_allclose(lse.numpy(), [1e4 + np.log1p(np.exp(-1.0)),
                                             -1e4 + np.log(3.0 + np.exp(2.0))], rtol=1e-6)
    np.testing.assert_allclose(ag.logsumexp(ag.tensor([1e4, 1e4], dtype=dtype)).item(),
                               1e4 + np.log(2.0), rtol=1e-7)
    np.testing.assert_allclose(ag.logsumexp(ag.tensor([-1e4, -1e4], dtype=dtype)).item(),
                               -1e4 + np.log(2.0), rtol=1e-7)
    # gradients are finite and exact: d lse / dx = softmax, d sum(log_softmax) / dx = 1 - n*softmax
    (lse.sum() + lsm.sum()).backward()
    g = x.grad.numpy()
    assert np.all(np.isfinite(g))
    # inputs of 1e4 are known to ~1e4 * eps only; the gradient is accurate to that level
    gtol = 1e4 * np.finfo(dtype).eps
    np.testing.assert_allclose(g, ref + 1.0 - 4 * ref, rtol=0, atol=4 * gtol)


# ----------------------------------------------------------------------------------------------
# second derivatives (create_graph=True) against finite differences of the first derivative

SECOND_ORDER = [
    ("tanh", ag.tanh, normal), ("sin", ag.sin, normal), ("exp", ag.exp, normal),
    ("sigmoid", ag.sigmoid, normal), ("log", ag.log, positive), ("sqrt", ag.sqrt, positive),
    ("cube", lambda x: x ** 3, normal), ("softplus", ag.softplus, normal), ("gelu", ag.gelu, normal),
    ("silu", ag.silu, normal), ("elu", ag.elu, away0), ("div", lambda x: 1.0 / x, away0),
    ("mul_chain", lambda x: x * ag.sin(x) * ag.exp(-x * x), normal),
    ("softmax", lambda x: ag.softmax(x, axis=-1), normal),
    ("log_softmax", lambda x: ag.log_softmax(x, axis=0), normal),
    ("logsumexp", lambda x: ag.logsumexp(x, axis=1, keepdims=True), normal),
    ("prod", lambda x: ag.prod(x, axis=0), around1),
    ("std", lambda x: ag.std(x, axis=-1), normal),
    ("matmul_self", lambda x: x @ x.T, normal),
    ("max", lambda x: ag.max(x, axis=1) * ag.max(x, axis=1), normal),
    ("getitem_sq", lambda x: x[::-1, [0, 2, 2]] ** 2, normal),
    ("sinh", ag.sinh, normal), ("cosh", ag.cosh, normal), ("arcsin", ag.arcsin, inside1),
    ("arccos", ag.arccos, inside1), ("arctan", ag.arctan, normal), ("arcsinh", ag.arcsinh, normal),
    ("arccosh", ag.arccosh, above1), ("arctanh", ag.arctanh, inside1), ("expm1", ag.expm1, normal),
    ("exp2", ag.exp2, normal), ("log2", ag.log2, positive), ("log10", ag.log10, positive),
    ("cumsum_sq", lambda x: ag.cumsum(x, axis=0) ** 2 + ag.cumsum(x * x, axis=1), normal),
    ("arctan2", lambda x: ag.arctan2(x, x.T + 0.5), away0),
    ("hypot", lambda x: ag.hypot(x, x.T), away0),
]


def _first_derivative(fn, w):
    """x -> d/dx (fn(x) * w).sum(), computed by reverse mode with create_graph=True."""
    def grad_of(xt):
        with ag.enable_grad():
            xt.requires_grad = True
            (fn(xt) * w).sum().backward(create_graph=True)
            g = xt.grad
            xt.grad = None   # break the leaf -> grad -> graph -> leaf cycle (as in PyTorch)
            return g
    return grad_of


@pytest.mark.parametrize("name,fn,dom", SECOND_ORDER, ids=[s[0] for s in SECOND_ORDER])
def test_second_derivative_create_graph(name, fn, dom, rng):
    x0 = dom(rng, (3, 3))
    w = rng.standard_normal(np.shape(fn(ag.tensor(x0)).numpy()))
    v = rng.standard_normal((3, 3))
    first = _first_derivative(fn, w)

    x = ag.tensor(x0, requires_grad=True)
    g = first(x)
    assert g.requires_grad, "with create_graph=True the gradient is itself differentiable"
    g_value = g.numpy().copy()
    x.grad = None
    (g * v).sum().backward()
    hv = x.grad.numpy()

    # the first derivative also matches finite differences of f
    num1 = ag.numerical_grad(lambda t: (fn(t) * w).sum(), x0)
    np.testing.assert_allclose(g_value, num1, rtol=1e-6, atol=1e-8)
    # Hessian-vector product vs central differences of the (reverse-mode) first derivative
    num2 = ag.numerical_grad(lambda t: (first(t) * v).sum(), x0)
    np.testing.assert_allclose(hv, num2, rtol=1e-5, atol=1e-7)


def test_second_derivative_exact_values():
    x0 = np.array([0.3, -1.2, 2.0])
    x = ag.tensor(x0, requires_grad=True)
    y = (x ** 3).sum() + ag.sin(x).sum()
    y.backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.numpy(), 3 * x0 ** 2 + np.cos(x0), rtol=1e-14)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x0 - np.sin(x0), rtol=1e-13)
    x.grad = None


def test_mixed_second_derivative_two_inputs(rng):
    a0, b0 = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 3)
    a = ag.tensor(a0, requires_grad=True)
    b = ag.tensor(b0, requires_grad=True)
    (a ** b).sum().backward(create_graph=True)    # da = b a^(b-1)
    ga = a.grad
    a.grad = None
    b.grad = None
    ga.sum().backward()
    # d/da (b a^(b-1)) = b (b-1) a^(b-2);  d/db (b a^(b-1)) = a^(b-1) (1 + b log a)
    np.testing.assert_allclose(a.grad.numpy(), b0 * (b0 - 1) * a0 ** (b0 - 2), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), a0 ** (b0 - 1) * (1 + b0 * np.log(a0)), rtol=1e-12)
    a.grad = b.grad = None


def test_large_tensors_through_parallel_kernels(rng):
    """Above the threading threshold (32768 elements) the kernels run in an OpenMP team."""
    a0, b0 = rng.standard_normal((300, 200)), rng.standard_normal((300, 200))
    a = ag.tensor(a0, requires_grad=True)
    b = ag.tensor(b0, requires_grad=True)
    y = ag.softmax(ag.tanh(a * b + a) - b / 3.0, axis=0)
    np.testing.assert_allclose(y.numpy(), np_softmax(np.tanh(a0 * b0 + a0) - b0 / 3.0, axis=0), rtol=1e-12)
    w = rng.standard_normal((300, 200))
    (y * w).sum().backward()
    # the exact VJP, written out in numpy
    s = y.numpy()
    gz = s * (w - (w * s).sum(axis=0, keepdims=True))
    gt = gz * (1 - np.tanh(a0 * b0 + a0) ** 2)
    np.testing.assert_allclose(a.grad.numpy(), gt * (b0 + 1), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(b.grad.numpy(), gt * a0 - gz / 3.0, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_power_by_2_1_and_minus_1_is_exact_and_other_exponents_match_numpy(dtype):
    # x**2, x**1 and x**-1 are computed as x*x, x and 1/x (correctly rounded, like numpy's
    # square and reciprocal); any other exponent goes through pow.  Special values included, as
    # a large parallel array, a small one and per-element exponents.
    rng = np.random.default_rng(11)
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-30, -3.5, 1e20], dtype=dtype)
    for n in (7, 70_001):
        x = np.concatenate([sp, (rng.standard_normal(n) * 10).astype(dtype)])
        t = ag.tensor(x)
        with np.errstate(all="ignore"):
            for e, want in ((2, np.square(x)), (1, x.copy()), (-1, np.reciprocal(x))):
                got = (t ** e).numpy()
                assert got.dtype == dtype
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
            for e in (3.0, 2.5, -2.0, 1.5):  # (numpy takes sqrt for 0.5: -0 and -inf differ from pow)
                np.testing.assert_allclose((t ** e).numpy(), np.power(x.astype(np.float64), e).astype(dtype),
                                           rtol=4 * np.finfo(dtype).eps, atol=0)
            ex = rng.choice([2.0, 1.0, -1.0, 3.0], x.size).astype(dtype)
            got = (t ** ag.tensor(ex)).numpy()
            np.testing.assert_allclose(got, np.power(x.astype(np.float64), ex).astype(dtype),
                                       rtol=4 * np.finfo(dtype).eps, atol=0)
    # the gradient of a mean of squares (the MSE pattern: a broadcast upstream gradient)
    x = rng.standard_normal((300, 200))
    xt = ag.tensor(x, requires_grad=True)
    ((xt - 1.0) ** 2).mean().backward()
    np.testing.assert_allclose(xt.grad.numpy(), 2 * (x - 1.0) / x.size, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 70_001])
def test_unary_gradient_of_a_sum_or_mean_equals_the_dense_upstream_case(dtype, n):
    # sum() / mean() hand back a broadcast (stride-0) upstream gradient; the derivative kernels
    # have a path for it, which must give what a dense upstream gradient of the same value gives
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(n) * 2).astype(dtype)
    x[:3] = [0.0, -1.5, 2.0]
    ops = [ag.relu, ag.tanh, ag.sigmoid, ag.exp, ag.abs, ag.softplus, ag.gelu, ag.sin,
           lambda t: ag.log(ag.abs(t) + 1), lambda t: ag.leaky_relu(t, 0.1), lambda t: ag.elu(t, 1.0)]
    for op in ops:
        for reduce_, scale in (("sum", 1.0), ("mean", 1.0 / n)):
            a = ag.tensor(x, requires_grad=True)
            getattr(op(a), reduce_)().backward()
            b = ag.tensor(x, requires_grad=True)
            op(b).backward(ag.tensor(np.full(n, scale, dtype=dtype)))
            np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
