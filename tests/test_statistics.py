"""Statistics (autograd_c/statistics.py, autograd_c/moments.py) against numpy: values in float32
and float64 over axes, keepdims, ties and NaN; Jacobians in reverse and forward mode against
central finite differences of numpy's own function (float64, away from ties); the documented
subgradients at ties and exact formulas (cumprod with zeros); np.<name>(tensor) routing; errors.
"""
import warnings

import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_jacobian
from _numpy_compat import NUMPY, closest_observation_as_numpy_2

rng = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def _numpy_2_closest_observation(monkeypatch):
    closest_observation_as_numpy_2(monkeypatch)    # the numpy < 2.0.1 references


DTYPES = [np.float32, np.float64]
AXES = [None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2)]
METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf",
           "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
           "hazen", "weibull", "median_unbiased", "normal_unbiased"]


def close(got, want, dtype):
    """float64 results equal numpy's; float32 ones within a few float32 roundings of the data's
    scale (numpy interpolates some float32 quantiles in float64)."""
    got = got.numpy() if isinstance(got, ag.Tensor) else np.asarray(got)
    assert got.shape == np.shape(want)
    assert got.dtype == dtype
    if dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300, equal_nan=True)
    else:
        np.testing.assert_allclose(got, want, rtol=4e-7, atol=1e-6, equal_nan=True)


def data(kind, shape, dtype):
    if kind == "normal":
        return rng.standard_normal(shape).astype(dtype)
    if kind == "ties":
        return rng.integers(-2, 3, shape).astype(dtype)
    a = rng.standard_normal(shape).astype(dtype)       # NaN in some slices
    a[rng.random(shape) < 0.15] = np.nan
    return a


def check_jacobians(f, np_f, a, rtol=1e-6):
    """Reverse and forward Jacobians of f at a equal each other and the finite differences
    of numpy's np_f."""
    want = fd_jacobian(lambda v: np.asarray(np_f(v), dtype=np.float64), a)
    rev = ag.jacobian(f, ag.tensor(a), mode="reverse").numpy()
    fwd = ag.jacobian(f, ag.tensor(a), mode="forward").numpy()
    np.testing.assert_allclose(rev, want, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-13)
    # ag.jvp along a random direction: the Jacobian times it
    t = rng.standard_normal(a.shape)
    _, tangent = ag.jvp(f, (ag.tensor(a),), (ag.tensor(t),))
    np.testing.assert_allclose(tangent.numpy(), np.tensordot(rev, t, axes=a.ndim),
                               rtol=1e-10, atol=1e-12)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- order statistics: values

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "nan"])
def test_median_equals_numpy(dtype, kind):
    for shape in [(4, 5, 6), (3, 1, 2)]:
        a = data(kind, shape, dtype)
        for axis in AXES:
            for keepdims in (False, True):
                x = ag.tensor(a, requires_grad=True)
                close(ag.median(x, axis=axis, keepdims=keepdims),
                      np.median(a, axis=axis, keepdims=keepdims), dtype)
                close(quiet(ag.nanmedian, x, axis=axis, keepdims=keepdims),
                      quiet(np.nanmedian, a, axis=axis, keepdims=keepdims), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "nan"])
@pytest.mark.parametrize("method", METHODS)
def test_quantile_and_percentile_equal_numpy(dtype, kind, method):
    a = data(kind, (4, 5, 6), dtype)
    x = ag.tensor(a, requires_grad=True)
    for q in (0.0, 0.37, 1.0, [0.0, 0.1, 0.5, 0.9, 1.0]):
        for axis in AXES:
            for keepdims in (False, True):
                kw = dict(axis=axis, method=method, keepdims=keepdims)
                close(ag.quantile(x, q, **kw), np.quantile(a, q, **kw), dtype)
                p = np.multiply(q, 100)
                close(ag.percentile(x, p, **kw), np.percentile(a, p, **kw), dtype)
                close(quiet(ag.nanquantile, x, q, **kw), quiet(np.nanquantile, a, q, **kw),
                      dtype)
                close(quiet(ag.nanpercentile, x, p, **kw),
                      quiet(np.nanpercentile, a, p, **kw), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_order_statistics_of_small_and_special_inputs(dtype):
    cases = [np.array([2.5], dtype), np.array(3.0, dtype), np.array([np.inf, 1.0, -np.inf], dtype),
             np.array([1.0, np.inf], dtype), np.array([-0.0, 0.0, 0.0, -0.0], dtype),
             np.array([np.nan, np.nan], dtype), np.array([np.nan, 1.0, 2.0], dtype)]
    for a in cases:
        x = ag.tensor(a, requires_grad=True)
        close(ag.median(x), quiet(np.median, a), dtype)
        close(quiet(ag.nanmedian, x), quiet(np.nanmedian, a), dtype)
        for q in (0.0, 0.5, 1.0, [0.3, 0.8]):
            for method in ("linear", "midpoint", "nearest"):
                close(quiet(ag.quantile, x, q, method=method),
                      quiet(np.quantile, a, q, method=method), dtype)
                close(quiet(ag.nanquantile, x, q, method=method),
                      quiet(np.nanquantile, a, q, method=method), dtype)


def test_all_nan_and_empty_slices_warn_as_numpy():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    x = ag.tensor(a, requires_grad=True)
    for f in (ag.nanmedian, lambda t, axis: ag.nanquantile(t, 0.5, axis=axis),
              ag.nanmean, ag.nanmax, ag.nanmin, ag.nanvar):
        with pytest.warns(RuntimeWarning):
            y = f(x, axis=1)
        assert np.isnan(y.numpy()[1]) and not np.isnan(y.numpy()[0])
        y.sum().backward()
        assert np.all(x.grad.numpy()[1] == 0)            # no gradient out of an all-NaN slice
        x.grad = None
    with pytest.warns(RuntimeWarning):
        assert np.isnan(ag.median(ag.zeros(0)).item())
    with pytest.raises(ValueError, match="empty slice"):
        ag.quantile(ag.zeros(0), 0.5)


# ---------------------------------------------------------------- order statistics: gradients

@pytest.mark.parametrize("shape,axis", [((7,), None), ((6,), 0), ((3, 4), 1), ((4, 3, 2), (0, 2)),
                                        ((2, 5), None)])
def test_median_jacobians(shape, axis):
    a = rng.standard_normal(shape)
    check_jacobians(lambda t: ag.median(t, axis=axis), lambda v: np.median(v, axis=axis), a)
    check_jacobians(lambda t: ag.nanmedian(t, axis=axis, keepdims=True),
                    lambda v: np.nanmedian(v, axis=axis, keepdims=True), a)


@pytest.mark.parametrize("method", METHODS)
def test_quantile_jacobians(method):
    a = rng.standard_normal((3, 7))
    q = [0.1, 0.33, 0.5, 0.95]
    check_jacobians(lambda t: ag.quantile(t, q, axis=1, method=method),
                    lambda v: np.quantile(v, q, axis=1, method=method), a)
    check_jacobians(lambda t: ag.percentile(t, 40.0, axis=0, method=method, keepdims=True),
                    lambda v: np.percentile(v, 40.0, axis=0, method=method, keepdims=True), a)


def test_nan_order_statistics_jacobians_skip_the_nans():
    a = rng.standard_normal((3, 6))
    nan = np.zeros(a.shape, bool)
    nan[0, 1] = nan[2, [0, 4, 5]] = True
    a[nan] = np.nan
    for f, g in [(lambda t: ag.nanmedian(t, axis=1), lambda v: np.nanmedian(v, axis=1)),
                 (lambda t: ag.nanquantile(t, [0.3, 0.8], axis=1),
                  lambda v: np.nanquantile(v, [0.3, 0.8], axis=1)),
                 (lambda t: ag.nanpercentile(t, 70, axis=1, method="midpoint"),
                  lambda v: np.nanpercentile(v, 70, axis=1, method="midpoint"))]:
        rev = ag.jacobian(f, ag.tensor(a), mode="reverse").numpy()
        fwd = ag.jacobian(f, ag.tensor(a), mode="forward").numpy()
        assert np.all(rev[..., nan] == 0) and np.all(fwd[..., nan] == 0)
        # finite differences in the non-NaN entries

        def on_values(v):
            full = a.copy()
            full[~nan] = v
            return g(full)
        want = fd_jacobian(on_values, a[~nan])
        np.testing.assert_allclose(rev[..., ~nan], want, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-13)


def test_median_subgradient_at_ties_goes_to_the_stable_sort_place():
    # odd length: the whole gradient to the tied element the stable sort put in the middle
    x = ag.tensor([3.0, 1.0, 3.0, 3.0, 0.0], requires_grad=True)
    ag.median(x).backward()                # sorted: 0, 1, 3 (x0), 3 (x2), 3 (x3)
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 0, 0, 0])
    # even length: half to each of the two middle places, tied or not
    x = ag.tensor([2.0, 5.0, 2.0, 2.0], requires_grad=True)
    ag.median(x).backward()                # sorted: 2 (x0), 2 (x2), 2 (x3), 5
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0.5, 0.5])
    # linear quantile: (1 - t) to the lower place, t to the upper one (numpy's formula)
    x = ag.tensor([4.0, 1.0, 1.0, 7.0, 1.0], requires_grad=True)
    ag.quantile(x, 0.6).backward()         # index 2.4: sorted places 2 (x4) and 3 (x0)
    np.testing.assert_allclose(x.grad.numpy(), [0.4, 0, 0, 0, 0.6], rtol=1e-6)


def test_nan_slice_gradient_goes_to_the_nan_numpy_returns():
    x = ag.tensor([1.0, np.nan, 2.0], dtype="float64", requires_grad=True)
    y = ag.median(x)
    assert np.isnan(y.item())
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 0])


def test_q_is_not_differentiated_and_must_be_valid():
    x = ag.tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"quantile: q must be in the range \[0, 1\].*1\.5"):
        ag.quantile(x, 1.5)
    with pytest.raises(ValueError, match=r"percentile: q must be in the range \[0, 100\]"):
        ag.percentile(x, [-1, 50])
    with pytest.raises(ValueError, match="q must be in the range"):
        ag.quantile(x, np.nan)
    with pytest.raises(ValueError, match=r"q must be a scalar or 1-d.*\(2, 1\)"):
        ag.quantile(x, [[0.2], [0.5]])
    with pytest.raises(TypeError, match="q is not differentiated"):
        ag.quantile(x, ag.tensor(0.5, requires_grad=True))
    with pytest.raises(ValueError, match="method must be one of.*'cubic'"):
        ag.quantile(x, 0.5, method="cubic")
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        ag.median(x, axis=2)
    with pytest.raises(NotImplementedError, match="weights"):
        ag.quantile(x, 0.5, weights=[1, 1, 1])
    # through numpy: without a gradient numpy's own weighted answer, with one a TypeError
    w = np.array([1.0, 2.0, 1.0])
    if NUMPY < "2.0.0":       # numpy 2.0 added weights=; before, numpy's own TypeError
        with pytest.raises(TypeError, match="weights"):
            np.quantile(x, 0.5, method="inverted_cdf", weights=w)
        return
    assert np.quantile(x, 0.5, method="inverted_cdf", weights=w) == 2.0
    with pytest.raises(TypeError, match="numpy.quantile.*requires grad"):
        np.quantile(ag.tensor([1.0, 2.0], requires_grad=True), 0.5, method="inverted_cdf",
                    weights=[1.0, 1.0])


# ---------------------------------------------------------------- NaN-skipping reductions

NAN_REDUCTIONS = ["nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAN_REDUCTIONS)
def test_nan_reductions_equal_numpy(dtype, name):
    a = data("nan", (4, 5, 6), dtype)
    a[1, :, 2] = np.nan                                # an all-NaN slice along axis 1
    f, g = getattr(ag, name), getattr(np, name)
    for axis in AXES:
        for keepdims in (False, True):
            got = quiet(f, ag.tensor(a, requires_grad=True), axis=axis, keepdims=keepdims)
            want = quiet(g, a, axis=axis, keepdims=keepdims)
            assert got.shape == np.shape(want) and got.dtype == dtype
            np.testing.assert_allclose(got.numpy(), want, equal_nan=True,
                                       **(dict(rtol=2e-6, atol=1e-6) if dtype == np.float32
                                          else dict(rtol=1e-12, atol=1e-14)))
    if name in ("nanvar", "nanstd"):
        for ddof in (1, 3, 5):      # 5: more than some slices' counts, NaN there
            np.testing.assert_allclose(quiet(f, ag.tensor(a), axis=1, ddof=ddof).numpy(),
                                       quiet(g, a, axis=1, ddof=ddof), rtol=2e-6, equal_nan=True)


@pytest.mark.parametrize("name", NAN_REDUCTIONS + ["nancumsum", "nancumprod"])
def test_nan_reductions_jacobians(name):
    a = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    nan = np.zeros(a.shape, bool)
    nan[0, 2] = nan[2, 0] = True
    a[nan] = np.nan
    f, g = getattr(ag, name), getattr(np, name)
    for axis in (None, 0, 1):
        rev = ag.jacobian(lambda t: f(t, axis=axis), ag.tensor(a), mode="reverse").numpy()
        fwd = ag.jacobian(lambda t: f(t, axis=axis), ag.tensor(a), mode="forward").numpy()
        assert np.all(rev[..., nan] == 0) and np.all(fwd[..., nan] == 0)

        def on_values(v):
            full = a.copy()
            full[~nan] = v
            return g(full, axis=axis)
        np.testing.assert_allclose(rev[..., ~nan], fd_jacobian(on_values, a[~nan]), rtol=1e-6,
                                   atol=1e-8)
        np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-13)


def test_nanmax_ties_split_the_gradient_as_max():
    x = ag.tensor([3.0, np.nan, 3.0, 1.0], dtype="float64", requires_grad=True)
    ag.nanmax(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0, 0.5, 0])


# ---------------------------------------------------------------- cumprod

@pytest.mark.parametrize("dtype", DTYPES)
def test_cumprod_equals_numpy(dtype):
    for shape in [(0,), (1,), (5,), (17,), (3, 9), (2, 3, 33)]:
        a = (rng.uniform(0.8, 1.25, shape) * rng.choice([-1, 1], shape)).astype(dtype)
        if a.size > 3:
            a.flat[3] = 0
        for axis in [None] + list(range(-a.ndim, a.ndim)):
            got = ag.cumprod(ag.tensor(a, requires_grad=True), axis=axis)
            assert got.dtype == dtype
            np.testing.assert_allclose(got.numpy(), np.cumprod(a, axis=axis),
                                       rtol=2e-6 if dtype == np.float32 else 1e-14, atol=0)
    assert ag.cumprod(ag.tensor(2.0)).shape == (1,)            # numpy flattens a 0-d input
    with pytest.raises(TypeError, match="cumprod: axis must be an integer"):
        ag.cumprod(ag.ones(2, 2), axis=(0, 1))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        ag.cumprod(ag.ones(2, 2), axis=2)


def cumprod_jacobian(x):
    """d y_i / d x_j = prod of x_k for k <= i, k != j (j <= i), exact with zeros."""
    n = x.size
    J = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            J[i, j] = np.prod([x[k] for k in range(i + 1) if k != j])
    return J


@pytest.mark.parametrize("zeros", [(), (3,), (2, 5), (0, 6)])
def test_cumprod_jacobian_is_exact_with_zeros(zeros):
    x = rng.uniform(0.5, 2.0, 7) * rng.choice([-1, 1], 7)
    x[list(zeros)] = 0.0
    want = cumprod_jacobian(x)
    for mode in ("reverse", "forward"):
        got = ag.jacobian(ag.cumprod, ag.tensor(x), mode=mode).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(want, fd_jacobian(np.cumprod, x), rtol=1e-6, atol=1e-8)
    # second order: the Hessian of sum(cumprod) also has no 0/0
    h = ag.hessian(lambda t: ag.cumprod(t).sum(), ag.tensor(x)).numpy()
    assert np.all(np.isfinite(h))
    i, j = 6, 1         # d2 y_6 / dx_i dx_j summed over outputs: prod of the others
    want_h = sum(np.prod([x[k] for k in range(m + 1) if k not in (i, j)])
                 for m in range(max(i, j), x.size))
    assert h[i, j] == pytest.approx(want_h, abs=1e-12)


def test_cumprod_jacobians_along_axes():
    a = rng.uniform(0.5, 1.5, (3, 4))
    for axis in (None, 0, 1):
        check_jacobians(lambda t: ag.cumprod(t, axis=axis), lambda v: np.cumprod(v, axis=axis), a)


# ---------------------------------------------------------------- logaddexp

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_equals_numpy_and_is_stable(dtype, name):
    f, g = getattr(ag, name), getattr(np, name)
    big = np.finfo(dtype).max / 4
    a = np.array([0.0, 1.0, -3.0, 800.0, -800.0, big, -np.inf, -np.inf, np.inf, np.inf, 5.0,
                  np.nan, 2.0], dtype)
    b = np.array([0.0, -2.0, 4.0, 800.0, -801.0, big, -np.inf, 3.0, np.inf, -np.inf, 5.0,
                  1.0, np.nan], dtype)
    got = f(ag.tensor(a, requires_grad=True), ag.tensor(b))
    np.testing.assert_allclose(got.numpy(), quiet(g, a, b),
                               rtol=2e-7 if dtype == np.float32 else 1e-15,
                               equal_nan=True)
    # broadcasting, scalars, numpy's ufunc on a tensor
    m = rng.standard_normal((3, 1)).astype(dtype)
    n = rng.standard_normal(4).astype(dtype)
    np.testing.assert_allclose(g(ag.tensor(m, requires_grad=True), n).numpy(), g(m, n),
                               rtol=1e-6)
    np.testing.assert_allclose(f(1.5, ag.tensor(n)).numpy(), g(dtype(1.5), n), rtol=1e-6)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_gradients(name):
    f, g = getattr(ag, name), getattr(np, name)
    a = rng.standard_normal(6) * 3
    b = np.array([0.3, -2.0, 800.0, -900.0, 1.0, 2.0])
    check_jacobians(lambda t: f(t, ag.tensor(b)), lambda v: g(v, b), a)
    # exactly the softmax weights 1 / (1 + b**(y - x)), also far from the origin, a half each
    # at a tie, and no NaN from equal infinities
    x = ag.tensor([1000.0, 0.0, 7.0, -np.inf], dtype="float64", requires_grad=True)
    y = ag.tensor([1000.0, 30.0, 7.0, -np.inf], dtype="float64", requires_grad=True)
    f(x, y).sum().backward()
    b = 2.0 if name == "logaddexp2" else np.e
    np.testing.assert_allclose(x.grad.numpy()[:3], [0.5, 1 / (1 + b ** 30), 0.5], rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy()[:3], [0.5, 1 / (1 + b ** -30), 0.5], rtol=1e-12)
    assert np.all(np.isfinite(x.grad.numpy())) and np.all(np.isfinite(y.grad.numpy()))


# ---------------------------------------------------------------- moments

@pytest.mark.parametrize("dtype", DTYPES)
def test_ptp_average_amax_amin_equal_numpy(dtype):
    a = data("ties", (4, 5, 6), dtype)
    x = ag.tensor(a, requires_grad=True)
    w = rng.uniform(0.1, 2.0, a.shape)
    for axis in AXES:
        for keepdims in (False, True):
            close(ag.ptp(x, axis=axis, keepdims=keepdims), np.ptp(a, axis=axis, keepdims=keepdims),
                  dtype)
            close(ag.amax(x, axis=axis, keepdims=keepdims), np.amax(a, axis=axis,
                                                                     keepdims=keepdims), dtype)
            close(ag.amin(x, axis=axis, keepdims=keepdims), np.amin(a, axis=axis,
                                                                     keepdims=keepdims), dtype)
            np.testing.assert_allclose(
                ag.average(x, axis=axis, weights=w, keepdims=keepdims).numpy(),
                np.average(a, axis=axis, weights=w, keepdims=keepdims), rtol=2e-6)
            avg, scl = ag.average(x, axis=axis, returned=True, keepdims=keepdims)
            wavg, wscl = np.average(a, axis=axis, returned=True, keepdims=keepdims)
            np.testing.assert_allclose(avg.numpy(), wavg, rtol=2e-6)
            np.testing.assert_allclose(scl.numpy(), wscl, rtol=1e-12)
    # weights along the axes only, in the order of axis
    for axis in (1, (2, 0)):
        axes = (axis,) if isinstance(axis, int) else axis
        wa = rng.uniform(0.1, 2.0, tuple(a.shape[d] for d in axes))
        avg, scl = ag.average(x, axis=axis, weights=wa, returned=True)
        # numpy < 2.0 takes weights of a's shape only, when axis is a tuple
        full = np.broadcast_to(np.transpose(wa, np.argsort(axes)).reshape(
            [a.shape[d] if d in axes else 1 for d in range(a.ndim)]), a.shape)
        wavg, wscl = np.average(a, axis=axis, weights=full, returned=True)
        np.testing.assert_allclose(avg.numpy(), wavg, rtol=2e-6)
        np.testing.assert_allclose(scl.numpy(), wscl, rtol=2e-6)


def test_average_gradients_in_a_and_the_weights():
    a = rng.standard_normal((3, 4))
    w = rng.uniform(0.5, 2.0, 4)
    check_jacobians(lambda t: ag.average(t, axis=1, weights=w),
                    lambda v: np.average(v, axis=1, weights=w), a)
    check_jacobians(lambda t: ag.average(ag.tensor(a), axis=1, weights=t),
                    lambda v: np.average(a, axis=1, weights=v), w)


def test_ptp_gradient_at_ties():
    x = ag.tensor([2.0, 5.0, 5.0, 1.0, 1.0, 1.0], dtype="float64", requires_grad=True)
    ag.ptp(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 0.5, 0.5, -1 / 3, -1 / 3, -1 / 3])
    check_jacobians(lambda t: ag.ptp(t, axis=0), lambda v: np.ptp(v, axis=0),
                    rng.standard_normal((4, 3)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cov_and_corrcoef_equal_numpy(dtype):
    m = rng.standard_normal((3, 7)).astype(dtype)
    y = rng.standard_normal((2, 7)).astype(dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for args in [(m,), (m[0],), (m, y), (m[1], y[0])]:
        for rowvar in (True, False):
            targs = [ag.tensor(v if rowvar else v.T.copy()) for v in args]
            nargs = [v if rowvar else v.T for v in args]
            for kw in ({}, {"bias": True}, {"ddof": 3}, {"ddof": 0, "bias": False}):
                got = ag.cov(*targs, rowvar=rowvar, **kw)
                assert got.dtype == dtype
                np.testing.assert_allclose(got.numpy(), np.cov(*nargs, rowvar=rowvar, **kw), **tol)
            got = ag.corrcoef(*targs, rowvar=rowvar)
            np.testing.assert_allclose(got.numpy(), np.corrcoef(*nargs, rowvar=rowvar), **tol)
    # one row with rowvar=False: numpy (2.2+; before, a scalar) reads it as one observation of
    # many variables, as np.cov(row.T) does
    row = m[:1]
    np.testing.assert_allclose(quiet(ag.cov, ag.tensor(row), rowvar=False, ddof=0).numpy(),
                               quiet(np.cov, row.T, ddof=0), **tol)
    assert ag.cov(ag.zeros(0, 3)).shape == (0, 0)


def test_cov_and_corrcoef_gradients():
    m = rng.standard_normal((3, 6))
    y = rng.standard_normal(6)
    check_jacobians(lambda t: ag.cov(t), np.cov, m)
    check_jacobians(lambda t: ag.cov(t, ag.tensor(y), bias=True),
                    lambda v: np.cov(v, y, bias=True), m)
    check_jacobians(lambda t: ag.cov(t, rowvar=False, ddof=2),
                    lambda v: np.cov(v, rowvar=False, ddof=2), m.T.copy())
    off = ~np.eye(3, dtype=bool)        # the diagonal is the constant 1 (clipped by numpy)
    check_jacobians(lambda t: ag.corrcoef(t)[ag.tensor(off.astype(float)) > 0],
                    lambda v: np.corrcoef(v)[off], m)


def test_moments_errors():
    x = ag.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"average: weights of shape \(3,\).*axis"):
        ag.average(x, weights=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"average: weights of shape \(2,\).*along axis 1"):
        ag.average(x, axis=1, weights=[1.0, 1.0])
    with pytest.raises(ZeroDivisionError, match="sum to zero"):
        ag.average(x, axis=1, weights=[1.0, -1.0, 0.0])
    with pytest.raises(ValueError, match=r"cov: m must be 1-d or 2-d.*\(2, 2, 2\)"):
        ag.cov(ag.ones(2, 2, 2))
    with pytest.raises(ValueError, match="cov: ddof must be an integer"):
        ag.cov(x, ddof=0.5)
    with pytest.raises(NotImplementedError, match="fweights"):
        ag.cov(x, fweights=[1, 2, 1])
    with pytest.warns(RuntimeWarning, match="degrees of freedom"):
        c = ag.cov(ag.tensor([1.0]))
    assert np.isnan(c.item())


# ---------------------------------------------------------------- numpy's functions on tensors

ROUTED = [
    (lambda v: np.median(v, axis=1), None),
    (lambda v: np.quantile(v, [0.2, 0.9], axis=0, method="midpoint"), None),
    (lambda v: np.percentile(v, 30, keepdims=True), None),
    (lambda v: np.nanmedian(v), None), (lambda v: np.nanquantile(v, 0.4, axis=1), None),
    (lambda v: np.nanpercentile(v, 60), None),
    (lambda v: np.nansum(v, axis=0), None), (lambda v: np.nanprod(v, 1), None),
    (lambda v: np.nanmean(v, axis=1, keepdims=True), None),
    (lambda v: np.nanvar(v, axis=1, ddof=1), None), (lambda v: np.nanstd(v, correction=1) if NUMPY >= "2.0.0"    # numpy 2's name
     else np.nanstd(v, ddof=1), None),
    (lambda v: np.nanmax(v, axis=0), None), (lambda v: np.nanmin(v), None),
    (lambda v: np.cumprod(v, axis=1), None), (lambda v: np.nancumsum(v), None),
    (lambda v: np.nancumprod(v, 0), None), (lambda v: np.multiply.accumulate(v, axis=1), None),
    (lambda v: np.ptp(v, axis=1), None), (lambda v: np.average(v, 0, [1.0, 2.0, 3.0]), None),
    (lambda v: np.cov(v), None), (lambda v: np.corrcoef(v, rowvar=False), None),
    (lambda v: np.logaddexp(v, 0.5), None), (lambda v: np.logaddexp2(1.0, v), None),
    (lambda v: np.amax(v, axis=1), None),
]


@pytest.mark.parametrize("call", [c for c, _ in ROUTED])
def test_numpy_functions_on_a_tensor_run_autograd_c(call):
    a = rng.uniform(0.5, 2.0, (3, 4))
    x = ag.tensor(a, requires_grad=True)
    y = call(x)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    np.testing.assert_allclose(y.numpy(), call(a), rtol=1e-12)
    # the gradient equals finite differences of numpy's function
    w = rng.standard_normal(np.shape(call(a)))
    (y * ag.tensor(w)).sum().backward()
    want = fd_jacobian(lambda v: np.sum(np.asarray(call(v)) * w), a)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6, atol=1e-8)
