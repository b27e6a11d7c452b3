"""Differential fuzzing (hypothesis): autograd_c against numpy.

- forward values of every elementwise op, reduction, softmax and matmul over random shapes,
  broadcasts, strides (transposed / sliced / stepped views), both dtypes and hostile values
  (0, -0, negative, huge, tiny, subnormal, inf, nan), compared with numpy evaluated in float64;
- random op graphs in float64 where the function is smooth at the sample: reverse-mode gradients
  and forward-mode tangents against central finite differences (eps = machine_eps^(1/3)).

Profiles (env AUTOGRAD_C_FUZZ): "ci" (default, 500 examples per test, ~15 s on 2 cores), "nightly" (20x the
examples), "sanitize" (25 examples; tools/sanitize.sh).  Shrunk failures become regression tests
at the bottom of this file.
"""
import math
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import autograd_c as ag  # noqa: E402

_COMMON = dict(deadline=None, derandomize=False, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.filter_too_much])
settings.register_profile("ci", max_examples=500, **_COMMON)
settings.register_profile("nightly", max_examples=10000, **_COMMON)
settings.register_profile("sanitize", max_examples=25, **_COMMON)
PROFILE = os.environ.get("AUTOGRAD_C_FUZZ", "ci")
FUZZ = settings(settings.get_profile(PROFILE))

EPS = np.finfo(np.float64).eps ** (1.0 / 3.0)
_erf = np.vectorize(math.erf, otypes=[np.float64])

# ------------------------------------------------------------------ strategies
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-310, -1e-310, 1e-30, 1e30, -1e30, 3e38, 1e300,
            -1e300, np.inf, -np.inf, np.nan, 88.0, -88.0, 710.0, -745.0, 20.0, -20.0]


def values(dtype, hostile=True):
    fin = st.floats(-50, 50, width=32 if dtype == np.float32 else 64)
    if not hostile:
        return fin
    wide = st.floats(allow_nan=True, allow_infinity=True, width=32 if dtype == np.float32 else 64)
    # the specials as the dtype holds them (1e300 -> inf, 1e-310 -> 0 in float32): hypothesis
    # refuses, under numpy 1.26, a drawn value that the array would store as another one
    with np.errstate(over="ignore"):
        specials = [float(v) for v in np.array(SPECIALS).astype(dtype)]
    return st.one_of(fin, fin, wide, st.sampled_from(specials))


@st.composite
def shapes(draw, min_dims=0, max_dims=4, max_side=4):
    return tuple(draw(st.lists(st.integers(0 if draw(st.booleans()) else 1, max_side),
                               min_size=min_dims, max_size=max_dims)))


@st.composite
def strided(draw, dtype, shape, hostile=True, elements=None):
    """(tensor, numpy array of the same values): the tensor is often a non-contiguous view --
    transposed, sliced with steps, or offset -- of a larger tensor."""
    kind = draw(st.sampled_from(["plain", "transposed", "stepped", "offset"]))
    el = elements if elements is not None else values(dtype, hostile)
    if kind == "plain" or len(shape) == 0:
        a = draw(hnp.arrays(dtype, shape, elements=el))
        return ag.tensor(a, dtype=dtype), a
    if kind == "transposed":
        a = draw(hnp.arrays(dtype, shape[::-1], elements=el))
        t = ag.tensor(a, dtype=dtype)
        return t.permute(*reversed(range(len(shape)))), a.transpose()
    if kind == "stepped":
        big_shape = tuple(2 * s for s in shape)
        a = draw(hnp.arrays(dtype, big_shape, elements=el))
        t = ag.tensor(a, dtype=dtype)
        key = tuple(slice(None, None, 2) if i % 2 else slice(None, None, -2) for i in range(len(shape)))
        key_np = tuple(slice(None, None, 2) if i % 2 else slice(None, None, -2) for i in range(len(shape)))
        try:
            v = t[key]
        except ValueError:        # negative steps unsupported: fall back to positive
            key_np = tuple(slice(None, None, 2) for _ in shape)
            v = t[key_np]
        return v, a[key_np]
    big_shape = tuple(s + 1 for s in shape)
    a = draw(hnp.arrays(dtype, big_shape, elements=el))
    key = tuple(slice(1, None) for _ in shape)
    return ag.tensor(a, dtype=dtype)[key], a[key]


def broadcast_partner(draw, shape):
    """A shape that broadcasts against `shape`: some dims set to 1, some leading dims dropped."""
    drop = draw(st.integers(0, len(shape)))
    sub = list(shape[drop:])
    for i in range(len(sub)):
        if draw(st.booleans()):
            sub[i] = 1
    return tuple(sub)


def _sigmoid(x):
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


UNARY = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "sigmoid": _sigmoid, "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2.0))),
    "silu": lambda x: x * _sigmoid(x), "erf": _erf, "sign": np.sign,
    "sinh": np.sinh, "cosh": np.cosh, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh,
    "expm1": np.expm1, "exp2": np.exp2, "log2": np.log2, "log10": np.log10, "floor": np.floor,
    "ceil": np.ceil, "trunc": np.trunc, "round": np.round, "square": np.square,
    "reciprocal": np.reciprocal,
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "power": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "arctan2": np.arctan2, "hypot": np.hypot,
    "equal": lambda a, b: (a == b).astype(np.float64), "not_equal": lambda a, b: (a != b).astype(np.float64),
    "less": lambda a, b: (a < b).astype(np.float64), "greater_equal": lambda a, b: (a >= b).astype(np.float64),
}


def _tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)


def assert_matches(got, want, dtype, rtol=None, atol=None):
    """Compare got (computed in `dtype`) with a float64 reference, NaN == NaN, inf exact."""
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(all="ignore"):
        want = np.asarray(want, dtype=np.float64).astype(dtype).astype(np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    tol = _tol(dtype)
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    np.testing.assert_allclose(got, want, equal_nan=True, **tol)


dtypes = st.sampled_from([np.float32, np.float64])

# ------------------------------------------------------------------ forward: elementwise


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(UNARY)), dtype=dtypes)
def test_unary_forward_matches_numpy(data, name, dtype):
    shape = data.draw(shapes())
    t, a = data.draw(strided(dtype, shape))
    with np.errstate(all="ignore"):
        got = getattr(ag, name)(t).numpy()
        want = UNARY[name](a.astype(np.float64))
    # transcendental functions of huge float32 arguments: compare relative to 1 ulp of the input
    rtol = 5e-5 if dtype == np.float32 and name in ("tan", "sin", "cos") else None
    atol = None
    if name in ("sin", "cos", "tan"):
        big = np.abs(a.astype(np.float64))
        with np.errstate(all="ignore"):
            ok = np.isfinite(big) & (big < 1e4)
        got, want = np.where(ok, got, 0.0), np.where(ok, want, 0.0)
        if name == "tan":
            # near the poles, tan amplifies the last-bit error of the argument reduction
            ok2 = np.abs(np.cos(np.where(ok, a.astype(np.float64), 0.0))) > 1e-3
            got, want = np.where(ok2, got, 0.0), np.where(ok2, want, 0.0)
        atol = 1e-5 if dtype == np.float32 else 1e-11
    assert_matches(got, want, dtype, rtol=rtol, atol=atol)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(BINARY)), dtype=dtypes, swap=st.booleans())
def test_binary_forward_with_broadcast_matches_numpy(data, name, dtype, swap):
    shape = data.draw(shapes(max_dims=3))
    other = broadcast_partner(data.draw, shape)
    ta, a = data.draw(strided(dtype, shape))
    tb, b = data.draw(strided(dtype, other))
    if swap:
        ta, a, tb, b = tb, b, ta, a
    with np.errstate(all="ignore"):
        got = getattr(ag, name)(ta, tb).numpy()
        if name == "power" and dtype == np.float32:
            want = BINARY[name](a, b).astype(np.float64)   # float32 pow overflows like numpy's
        else:
            want = BINARY[name](a.astype(np.float64), b.astype(np.float64))
    rtol = 1e-4 if name == "power" and dtype == np.float32 else (1e-10 if name == "power" else None)
    assert_matches(got, want, dtype, rtol=rtol)


@FUZZ
@given(data=st.data(), dtype=dtypes)
def test_scalar_and_array_operands_adopt_the_tensor_dtype(data, dtype):
    shape = data.draw(shapes(max_dims=3))
    t, a = data.draw(strided(dtype, shape, hostile=False))
    s = data.draw(st.floats(-10, 10))
    for got, want in ((t + s, a + dtype(s)), (s - t, dtype(s) - a), (t * s, a * dtype(s)),
                      (a.astype(np.float64) * t, a * a)):
        assert got.dtype == dtype
        assert_matches(got.numpy(), want, dtype)


# ------------------------------------------------------------------ forward: reductions
REDUCE = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
          "var": np.var, "std": np.std}


def _np_logsumexp(a, axis, keepdims):
    with np.errstate(all="ignore"):
        m = np.max(a, axis=axis, keepdims=True) if a.size else np.zeros([1] * a.ndim)
        m = np.where(np.isfinite(m), m, 0.0)
        r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis if axis is not None else tuple(range(a.ndim)))


@st.composite
def axes_for(draw, ndim):
    if ndim == 0 or draw(st.booleans()):
        return None
    ax = draw(st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim,
                       unique_by=lambda i: i % ndim))
    return ax[0] if len(ax) == 1 and draw(st.booleans()) else tuple(ax)


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(REDUCE) + ["logsumexp"]), dtype=dtypes,
       keepdims=st.booleans(), hostile=st.booleans())
def test_reductions_match_numpy(data, name, dtype, keepdims, hostile):
    shape = data.draw(shapes(min_dims=0, max_dims=4))
    t, a = data.draw(strided(dtype, shape, hostile=hostile))
    axis = data.draw(axes_for(len(shape)))
    a64 = a.astype(np.float64)
    empty = a.size == 0 if axis is None else any(
        a.shape[i] == 0 for i in ((axis,) if isinstance(axis, int) else axis))
    if name in ("max", "min") and empty:
        with pytest.raises(ValueError, match="zero-size"):
            getattr(ag, name)(t, axis=axis, keepdims=keepdims)
        return
    got = getattr(ag, name)(t, axis=axis, keepdims=keepdims).numpy()
    with np.errstate(all="ignore"), _nowarn():
        if name == "logsumexp":
            want = _np_logsumexp(a64, axis, keepdims)
        else:
            want = REDUCE[name](a64, axis=axis, keepdims=keepdims)
    n = max(1, a.size)
    if hostile:
        # sums of values spanning 1e300 cancel differently in another summation order: compare
        # only where the float64 reference is well-conditioned or non-finite
        big = np.abs(a64[np.isfinite(a64)]).max() if np.isfinite(a64).any() else 0.0
        assume(big < 1e15 or name in ("max", "min"))
    if name == "prod":
        # a partial product that overflows meets a later zero as inf * 0 = nan, in any order;
        # keep to samples where no partial product can overflow in `dtype`
        with np.errstate(all="ignore"):
            bound = np.prod(np.maximum(np.abs(a64[np.isfinite(a64)]), 1.0))
        assume(bound < np.finfo(dtype).max / 16)
        # and the mirror case: a partial product that underflows to 0 meets an inf as 0 * inf =
        # nan in one order (ours, sequential) and inf in another (numpy's, unrolled)
        if np.isinf(a64).any():
            fin = np.abs(a64[np.isfinite(a64) & (a64 != 0)])
            with np.errstate(all="ignore"):
                low = np.prod(np.minimum(fin, 1.0)) if fin.size else 1.0
            assume(low > np.finfo(dtype).tiny * 16)
    rtol = (1e-4 if dtype == np.float32 else 1e-10) * (4 if name in ("var", "std", "prod") else 1)
    atol = (1e-4 if dtype == np.float32 else 1e-10) * n
    if name in ("var", "std"):
        atol *= max(1.0, float(np.nanmax(np.abs(a64[np.isfinite(a64)]), initial=0.0)) ** (2 if name == "var" else 1))
    assert_matches(got, want, dtype, rtol=rtol, atol=atol)


class _nowarn:
    def __enter__(self):
        import warnings
        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._c.__exit__(*exc)


@FUZZ
@given(data=st.data(), dtype=dtypes, log=st.booleans(), hostile=st.booleans())
def test_softmax_matches_numpy(data, dtype, log, hostile):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    t, a = data.draw(strided(dtype, shape, hostile=hostile))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    a64 = a.astype(np.float64)
    with np.errstate(all="ignore"):
        m = np.max(a64, axis=axis, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0.0)
        z = a64 - m                     # shift first: a - logsumexp(a) loses digits for huge a
        want = z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True)) if log else \
            np.exp(z) / np.sum(np.exp(z), axis=axis, keepdims=True)
        got = (ag.log_softmax if log else ag.softmax)(t, axis=axis).numpy()
    if hostile:
        # rows holding inf or nan: a NaN anywhere in a row makes the row NaN in both; +inf rows are
        # ill-defined (inf - inf) -- require only that no finite garbage appears where numpy has nan
        rows_ok = np.all(np.isfinite(a64), axis=axis, keepdims=True)
        mask = np.broadcast_to(rows_ok, a64.shape)
        assert_matches(np.where(mask, got, 0.0), np.where(mask, want, 0.0), dtype,
                       atol=1e-5 if dtype == np.float32 else 1e-11)
    else:
        assert_matches(got, want, dtype, atol=1e-5 if dtype == np.float32 else 1e-11)


# ------------------------------------------------------------------ forward: matmul
@FUZZ
@given(data=st.data(), dtype=dtypes)
def test_matmul_matches_numpy(data, dtype):
    m, k, n = (data.draw(st.integers(0, 9)) for _ in range(3))
    kind = data.draw(st.sampled_from(["mm", "mv", "vm", "vv", "batched", "bcast"]))
    batch = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    sa = {"mm": (m, k), "mv": (m, k), "vm": (k,), "vv": (k,), "batched": batch + (m, k),
          "bcast": (m, k)}[kind]
    sb = {"mm": (k, n), "mv": (k,), "vm": (k, n), "vv": (k,), "batched": batch + (k, n),
          "bcast": batch + (k, n)}[kind]
    ta, a = data.draw(strided(dtype, sa, hostile=False, elements=st.floats(-4, 4, width=32)))
    tb, b = data.draw(strided(dtype, sb, hostile=False, elements=st.floats(-4, 4, width=32)))
    got = (ta @ tb).numpy()
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert_matches(got, want, dtype, rtol=1e-4 if dtype == np.float32 else 1e-11,
                   atol=(1e-4 if dtype == np.float32 else 1e-11) * max(k, 1) * 16)


@FUZZ
@given(data=st.data(), dtype=dtypes)
def test_matmul_propagates_nonfinite_like_numpy(data, dtype):
    m, k, n = (data.draw(st.integers(1, 6)) for _ in range(3))
    a = data.draw(hnp.arrays(dtype, (m, k), elements=st.sampled_from([0.0, 1.0, -2.0, np.inf, np.nan])))
    b = data.draw(hnp.arrays(dtype, (k, n), elements=st.sampled_from([0.0, 1.0, -2.0, np.inf])))
    got = (ag.tensor(a, dtype=dtype) @ ag.tensor(b, dtype=dtype)).numpy()
    with np.errstate(all="ignore"):
        want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-5)
    np.testing.assert_array_equal(got[~fin & ~np.isnan(want)], want[~fin & ~np.isnan(want)])


# ------------------------------------------------------------------ random op graphs: derivatives
# (name, arity, autograd_c fn, numpy fn, kink: a function of the operands whose zeros are kinks)
def _k_none(*xs):
    return None


GRAPH_OPS = [
    ("add", 2, lambda a, b: a + b, lambda a, b: a + b, _k_none),
    ("sub", 2, lambda a, b: a - b, lambda a, b: a - b, _k_none),
    ("mul", 2, lambda a, b: a * b, lambda a, b: a * b, _k_none),
    ("div", 2, lambda a, b: a / (1.5 + b * b), lambda a, b: a / (1.5 + b * b), _k_none),
    ("pow", 2, lambda a, b: (1.0 + a * a) ** (0.5 * ag.tanh(b)),
     lambda a, b: (1.0 + a * a) ** (0.5 * np.tanh(b)), _k_none),
    ("max", 2, ag.maximum, np.maximum, lambda a, b: a - b),
    ("min", 2, ag.minimum, np.minimum, lambda a, b: a - b),
    ("tanh", 1, ag.tanh, np.tanh, _k_none),
    ("sin", 1, ag.sin, np.sin, _k_none),
    ("cos", 1, ag.cos, np.cos, _k_none),
    ("exp", 1, lambda a: ag.exp(ag.tanh(a)), lambda a: np.exp(np.tanh(a)), _k_none),
    ("log", 1, lambda a: ag.log(1.0 + a * a), lambda a: np.log(1.0 + a * a), _k_none),
    ("log1p", 1, lambda a: ag.log1p(a * a), lambda a: np.log1p(a * a), _k_none),
    ("sqrt", 1, lambda a: ag.sqrt(0.5 + a * a), lambda a: np.sqrt(0.5 + a * a), _k_none),
    ("sigmoid", 1, ag.sigmoid, _sigmoid, _k_none),
    ("softplus", 1, ag.softplus, lambda a: np.logaddexp(0.0, a), _k_none),
    ("gelu", 1, ag.gelu, UNARY["gelu"], _k_none),
    ("silu", 1, ag.silu, UNARY["silu"], _k_none),
    ("erf", 1, ag.erf, _erf, _k_none),
    ("elu", 1, ag.elu, UNARY["elu"], lambda a: a),
    ("relu", 1, ag.relu, UNARY["relu"], lambda a: a),
    ("abs", 1, ag.abs, np.abs, lambda a: a),
    ("leaky", 1, ag.leaky_relu, UNARY["leaky_relu"], lambda a: a),
    ("square", 1, lambda a: a ** 2, lambda a: a ** 2, _k_none),
    ("neg", 1, lambda a: -a, np.negative, _k_none),
]


def _np_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@st.composite
def programs(draw):
    """A random program over 1-3 float64 inputs whose shapes all broadcast against one shape S."""
    S = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=3)))
    n_in = draw(st.integers(1, 3))
    in_shapes = [S] + [broadcast_partner(draw, S) for _ in range(n_in - 1)]
    steps = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["op"] * 6 + ["reduce", "softmax", "matmul", "view"]))
        if kind == "op":
            steps.append(("op", draw(st.integers(0, len(GRAPH_OPS) - 1)),
                          draw(st.integers(0, 99)), draw(st.integers(0, 99))))
        else:
            steps.append((kind, draw(st.integers(0, 99)), draw(st.integers(0, 99)),
                          draw(st.integers(0, 3))))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    return in_shapes, steps, seed


def run_program(prog, xs, lib):
    """Evaluate a program with lib "ag" (tensors) or "np" (float64 arrays).  Returns the scalar
    loss and the smallest |kink argument| seen (for the smoothness test)."""
    in_shapes, steps, seed = prog
    rng = np.random.default_rng(seed)
    pool = list(xs)
    kink = np.inf
    for st_ in steps:
        if st_[0] == "op":
            _, k, i, j = st_
            name, arity, fa, fn, kf = GRAPH_OPS[k]
            args = [pool[i % len(pool)]] + ([pool[j % len(pool)]] if arity == 2 else [])
            f = fa if lib == "ag" else fn
            if lib == "np":
                kv = kf(*args)
                if kv is not None:
                    kink = min(kink, float(np.min(np.abs(kv))) if np.size(kv) else np.inf)
            pool.append(f(*args))
        elif st_[0] == "reduce":
            _, i, ax, which = st_
            x = pool[i % len(pool)]
            if np.ndim(x) == 0:
                continue
            axis = ax % np.ndim(x)
            if which % 2:
                y = x.sum(axis=axis, keepdims=True) if lib == "ag" else np.sum(x, axis=axis, keepdims=True)
            else:
                y = ag.logsumexp(x, axis=axis, keepdims=True) if lib == "ag" else _np_logsumexp(x, axis, True)
            pool.append(y)
        elif st_[0] == "softmax":
            _, i, ax, which = st_
            x = pool[i % len(pool)]
            if np.ndim(x) == 0:
                continue
            axis = ax % np.ndim(x)
            if lib == "ag":
                y = ag.softmax(x, axis=axis) if which % 2 else ag.log_softmax(x, axis=axis)
            else:
                y = _np_softmax(x, axis) if which % 2 else np.log(_np_softmax(x, axis))
            pool.append(y)
        elif st_[0] == "matmul":
            _, i, _, _ = st_
            x = pool[i % len(pool)]
            if np.ndim(x) == 0:
                continue
            n = np.shape(x)[-1]
            M = np.random.default_rng(seed + n).standard_normal((n, n)) / np.sqrt(n)
            pool.append(x @ (ag.tensor(M, dtype="float64") if lib == "ag" else M))
        else:  # view: a transposed / flipped-free stepped view of an operand, then back to shape
            _, i, _, _ = st_
            x = pool[i % len(pool)]
            if np.ndim(x) < 2:
                continue
            pool.append((x.T if lib == "ag" else x.T).T * 1.0 + (x.T if lib == "ag" else x.T).T)
    w = np.random.default_rng(seed + 1)
    loss = 0.0
    for y in pool[len(xs):] or pool:
        c = w.standard_normal(np.shape(y))
        term = (y * (ag.tensor(c, dtype="float64") if lib == "ag" else c)).sum()
        loss = loss + term
    return loss, kink


def _numerical_grad(prog, arrays):
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            h = EPS * max(1.0, abs(a[idx]))
            ap, am = a.copy(), a.copy()
            ap[idx] += h
            am[idx] -= h
            fp = run_program(prog, arrays[:k] + [ap] + arrays[k + 1:], "np")[0]
            fm = run_program(prog, arrays[:k] + [am] + arrays[k + 1:], "np")[0]
            g[idx] = (fp - fm) / (2 * h)
        grads.append(g)
    return grads


@FUZZ
@given(prog=programs(), data=st.data())
def test_random_graph_forward_reverse_and_forward_mode(prog, data):
    in_shapes = prog[0]
    arrays = [data.draw(hnp.arrays(np.float64, s, elements=st.floats(-2.5, 2.5))) for s in in_shapes]
    want, kink = run_program(prog, arrays, "np")
    assume(np.isfinite(want))
    xs = [ag.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    loss, _ = run_program(prog, xs, "ag")
    np.testing.assert_allclose(float(loss), want, rtol=1e-10, atol=1e-10)
    assume(kink > 1e-3)        # only check derivatives where the function is smooth at the sample
    loss.backward()
    num = _numerical_grad(prog, arrays)
    for x, g in zip(xs, num):
        got = x.grad.numpy() if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(got, g, rtol=1e-5, atol=1e-6)
    # forward mode: J v against the finite-difference directional derivative
    vs = [np.random.default_rng(prog[2] + 7 + i).standard_normal(a.shape) for i, a in enumerate(arrays)]
    _, tangent = ag.jvp(lambda *t: run_program(prog, list(t), "ag")[0], tuple(arrays), tuple(vs))
    fd = sum(float(np.sum(g * v)) for g, v in zip(num, vs))
    np.testing.assert_allclose(float(tangent.numpy()), fd, rtol=1e-5, atol=1e-6 * (1 + sum(np.abs(v).sum() for v in vs)))


@FUZZ
@given(prog=programs(), data=st.data())
def test_random_graph_second_order_grad_of_grad(prog, data):
    """grad of (grad . v) against finite differences of the reverse-mode gradient."""
    in_shapes = prog[0]
    arrays = [data.draw(hnp.arrays(np.float64, s, elements=st.floats(-2.0, 2.0))) for s in in_shapes[:1]]
    want, kink = run_program((in_shapes[:1],) + prog[1:], arrays, "np")
    assume(np.isfinite(want) and kink > 1e-2)
    p1 = (in_shapes[:1],) + prog[1:]
    v = np.random.default_rng(prog[2] + 3).standard_normal(arrays[0].shape)

    def gdotv(x):
        return (ag.grad(lambda y: run_program(p1, [y], "ag")[0])(x) * ag.tensor(v, dtype="float64")).sum()

    h2 = ag.grad(gdotv)(arrays[0]).numpy()   # H v
    g = ag.grad(lambda y: run_program(p1, [y], "ag")[0])
    h = EPS
    fd = (g(arrays[0] + h * v).numpy() - g(arrays[0] - h * v).numpy()) / (2 * h)
    np.testing.assert_allclose(h2, fd, rtol=1e-4, atol=1e-5 * (1 + np.abs(fd).max(initial=0)))


# ------------------------------------------------------------------ regression tests (shrunk)
