"""numpy's remaining elementwise math (sinh ... log10, rounding) and the scans (cumsum, diff).

The table-driven tests in test_ops.py check these against numpy and finite differences on
random inputs; here: derivatives against exact values from mpmath (to a few ulp), including
near the edges of each domain, the IEEE values at and beyond the edges, and rounding.
"""
import math
import os
import sys

import mpmath
import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_hessian  # noqa: E402

mpmath.mp.dps = 40

M = mpmath
# (name, f and f' in mpmath, points inside the domain, including near its edges)
SMOOTH = [
    ("sinh", M.sinh, M.cosh, [-20.0, -1.0, 1e-8, 0.5, 30.0]),
    ("cosh", M.cosh, M.sinh, [-20.0, -1e-8, 0.5, 30.0]),
    ("arcsin", M.asin, lambda x: 1 / M.sqrt(1 - x * x),
     [-1 + 2.0 ** -40, -0.5, 1e-9, 0.999999, 1 - 2.0 ** -40]),
    ("arccos", M.acos, lambda x: -1 / M.sqrt(1 - x * x),
     [-1 + 2.0 ** -40, -0.5, 1e-9, 0.999999, 1 - 2.0 ** -40]),
    ("arctan", M.atan, lambda x: 1 / (1 + x * x), [-1e10, -3.0, 1e-9, 0.7, 1e200]),
    ("arcsinh", M.asinh, lambda x: 1 / M.sqrt(1 + x * x), [-1e200, -3.0, 1e-9, 0.7, 1e10]),
    ("arccosh", M.acosh, lambda x: 1 / M.sqrt(x * x - 1), [1 + 2.0 ** -40, 1.5, 10.0, 1e200]),
    ("arctanh", M.atanh, lambda x: 1 / (1 - x * x),
     [-1 + 2.0 ** -40, -0.5, 1e-9, 0.999999, 1 - 2.0 ** -40]),
    ("expm1", M.expm1, M.exp, [-40.0, -1e-12, 1e-12, 0.5, 700.0]),
    ("exp2", lambda x: M.power(2, x), lambda x: M.power(2, x) * M.log(2),
     [-1000.0, -0.5, 0.0, 3.0, 1000.0]),
    ("log2", lambda x: M.log(x, 2), lambda x: 1 / (x * M.log(2)), [1e-300, 0.5, 1.0 + 2.0 ** -40, 1e300]),
    ("log10", lambda x: M.log(x, 10), lambda x: 1 / (x * M.log(10)),
     [1e-300, 0.5, 1.0 + 2.0 ** -40, 1e300]),
]


@pytest.mark.parametrize("name,ref,dref,points", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_value_and_derivative_against_mpmath(name, ref, dref, points):
    x = ag.tensor(np.array(points), dtype="float64", requires_grad=True)
    y = getattr(ag, name)(x)
    y.sum().backward()
    want_y = [float(ref(mpmath.mpf(p))) for p in points]
    want_d = [float(dref(mpmath.mpf(p))) for p in points]
    np.testing.assert_allclose(y.numpy(), want_y, rtol=4e-16, atol=0)
    # the derivative formulas add a few roundings: (1 - x)(1 + x) is exact near |x| = 1,
    # where 1 - x * x would lose every digit
    np.testing.assert_allclose(x.grad.numpy(), want_d, rtol=2e-15, atol=0)


@pytest.mark.parametrize("name,ref,dref,points", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_float32_value_and_derivative(name, ref, dref, points):
    with np.errstate(over="ignore"):
        pts = np.array(points).astype(np.float32).astype(np.float64)
    keep = [p for p in pts if math.isfinite(p) and abs(p) < 3e38 and p != 0.0 and abs(p) != 1.0]
    x = ag.tensor(np.array(keep, dtype=np.float32), requires_grad=True)
    y = getattr(ag, name)(x)
    y.sum().backward()
    with np.errstate(over="ignore"):
        want_y = np.array([float(ref(mpmath.mpf(p))) for p in keep]).astype(np.float32)
        want_d = np.array([float(dref(mpmath.mpf(p))) for p in keep]).astype(np.float32)
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), want_y, rtol=3e-7, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), want_d, rtol=1e-6, atol=0)


def test_edges_of_the_domains_give_numpy_ieee_values():
    cases = [("arcsin", [1.0, -1.0, 1.5]), ("arccos", [1.0, -1.0, -1.5]),
             ("arctanh", [1.0, -1.0, 2.0]), ("arccosh", [1.0, 0.5]), ("log2", [0.0, -1.0, np.inf]),
             ("log10", [0.0, -1.0, np.inf]), ("exp2", [-np.inf, np.inf, 2000.0]),
             ("expm1", [-np.inf, np.inf]), ("sinh", [-np.inf, 1000.0]), ("cosh", [np.inf, -1000.0]),
             ("arctan", [np.inf, -np.inf]), ("arcsinh", [np.inf, -np.inf])]
    for name, pts in cases:
        a = np.array(pts)
        with np.errstate(all="ignore"):
            want = getattr(np, name)(a)
        got = getattr(ag, name)(ag.tensor(a, dtype="float64")).numpy()
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_derivative_is_infinite_at_the_edges():
    for name, pt in [("arcsin", 1.0), ("arcsin", -1.0), ("arctanh", 1.0), ("arccosh", 1.0)]:
        x = ag.tensor([pt], dtype="float64", requires_grad=True)
        getattr(ag, name)(x).sum().backward()
        assert np.isinf(x.grad.numpy()[0]), name
    x = ag.tensor([1.0], dtype="float64", requires_grad=True)
    ag.arccos(x).sum().backward()
    assert x.grad.numpy()[0] == -np.inf


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rounding_matches_numpy_and_has_no_gradient(dtype):
    a = np.array([-2.5, -1.5, -0.5, -0.49999997, -0.0, 0.0, 0.5, 1.5, 2.5, 2.7, -3.2, 1e20,
                  np.inf, -np.inf, np.nan, 2.0 ** 52 + 1, 8388609.0], dtype=dtype)
    x = ag.tensor(a, requires_grad=True)
    for name, ref in [("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
                      ("round", np.round)]:
        y = getattr(ag, name)(x)
        assert y.dtype == np.dtype(dtype) and not y.requires_grad
        got = y.numpy()
        np.testing.assert_array_equal(got, ref(a), err_msg=name)
        # the sign of zero is numpy's too (floor(-0.0) = -0.0, ceil(-0.5) = -0.0)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref(a)), err_msg=name)
    assert ag.Tensor.round(x).tolist()[:3] == [-2.0, -2.0, -0.0]
    y = ag.round(x, decimals=2)            # numpy's decimals (was NotImplementedError)
    assert not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), np.round(a, 2))


def test_square_and_reciprocal_gradients():
    a = np.array([-3.0, 0.5, 7.0])
    x = ag.tensor(a, requires_grad=True)
    ag.square(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * a)
    x.grad = None
    ag.reciprocal(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -1 / (a * a), rtol=3e-16)


def test_forward_mode_and_hessian_of_the_new_functions():
    a = np.array([0.3, -0.6, 0.8])

    def f(x):
        return (ag.arcsin(x) * ag.cosh(x) + ag.arctanh(x) ** 2 + ag.log2(x * x + 1)).sum()

    def f_np(x):
        return float((np.arcsin(x) * np.cosh(x) + np.arctanh(x) ** 2 + np.log2(x * x + 1)).sum())

    h = ag.hessian(f, ag.tensor(a)).numpy()
    num = fd_hessian(f_np, a)
    np.testing.assert_allclose(h, num, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h, h.T, rtol=1e-12)
    v = np.array([1.0, -2.0, 0.5])
    _, t = ag.jvp(f, (ag.tensor(a),), (ag.tensor(v),))
    g = ag.grad(f)(ag.tensor(a)).numpy()
    np.testing.assert_allclose(float(t), g @ v, rtol=1e-13)


# ------------------------------------------------------------------ cumsum and diff

def test_cumsum_gradient_is_the_reversed_running_sum_exactly():
    rng = np.random.default_rng(3)
    a, w = rng.standard_normal((3, 7)), rng.standard_normal((3, 7))
    for axis in (0, 1, -1):
        x = ag.tensor(a, requires_grad=True)
        (ag.cumsum(x, axis=axis) * ag.tensor(w)).sum().backward()
        want = np.flip(np.cumsum(np.flip(w, axis), axis), axis)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-15, atol=1e-15)
    # the Jacobian is the lower-triangular ones matrix, in both modes
    for mode in ("forward", "reverse"):
        j = ag.jacobian(lambda t: ag.cumsum(t, axis=0), ag.tensor(a[0]), mode=mode).numpy()
        np.testing.assert_array_equal(j, np.tril(np.ones((7, 7))))


def test_cumsum_float32_accumulates_in_double():
    # 1 + 2^-24 * k: a float32 running sum would stay at 1.0 for every k
    a = np.full(4097, 2.0 ** -24, dtype=np.float32)
    a[0] = 1.0
    got = ag.cumsum(ag.tensor(a)).numpy()
    assert got.dtype == np.float32
    want = (1.0 + 2.0 ** -24 * np.arange(4097)).astype(np.float32)
    np.testing.assert_array_equal(got, want)


def test_cumsum_large_is_bitwise_the_same_on_one_and_two_threads():
    a = np.random.default_rng(5).standard_normal((300, 257)).astype(np.float32)
    t = ag.tensor(a[:, ::-1])   # a negatively strided, non-contiguous view
    n = ag.get_num_threads()
    try:
        ag.set_num_threads(1)
        one = ag.cumsum(t, axis=0).numpy().copy()
        ag.set_num_threads(2)
        two = ag.cumsum(t, axis=0).numpy()
    finally:
        ag.set_num_threads(n)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(one, np.cumsum(a[:, ::-1].astype(np.float64), axis=0), rtol=1e-5,
                               atol=1e-4)


def test_cumsum_and_diff_zero_size_and_errors():
    x = ag.zeros(0, 3, dtype="float64", requires_grad=True)
    y = ag.cumsum(x, axis=0)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    assert ag.diff(ag.zeros(1, 3), axis=0).shape == (0, 3)
    assert ag.cumsum(ag.tensor(2.0)).shape == (1,)   # axis=None flattens, as numpy
    with pytest.raises(ValueError, match="axis 2 is out of bounds for a tensor of dimension 2"):
        ag.cumsum(ag.zeros(2, 3), axis=2)
    with pytest.raises(ValueError, match="dimension 0"):
        ag.cumsum(ag.tensor(2.0), axis=0)
    with pytest.raises(ValueError, match="non-negative"):
        ag.diff(ag.zeros(3), n=-1)
    with pytest.raises(ValueError, match="0-d"):
        ag.diff(ag.tensor(1.0))
    with pytest.raises(ValueError, match="axis -3"):
        ag.diff(ag.zeros(2, 3), axis=-3)


def test_cumsum_second_derivative_of_a_quadratic():
    # f(x) = sum(cumsum(x)^2) = x^T L^T L x, so the Hessian is 2 L^T L exactly
    a = np.array([0.5, -1.0, 2.0, 0.25])
    h = ag.hessian(lambda t: (ag.cumsum(t) ** 2).sum(), ag.tensor(a)).numpy()
    lo = np.tril(np.ones((4, 4)))
    np.testing.assert_allclose(h, 2 * lo.T @ lo, rtol=1e-14)


# ------------------------------------------------------------------ arctan2 and hypot

def test_arctan2_and_hypot_derivatives_at_extreme_scales():
    # the exact derivatives: d atan2(a, b) = (b, -a) / r^2 and d hypot = (a, b) / r, finite
    # and representable here though r^2 overflows (1e200) or underflows (1e-200)
    for s in (1e200, 1.0, 1e-200):
        a = ag.tensor([3.0 * s], dtype="float64", requires_grad=True)
        b = ag.tensor([-4.0 * s], dtype="float64", requires_grad=True)
        ag.arctan2(a, b).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), [-4.0 / 25.0 / s], rtol=1e-15)
        np.testing.assert_allclose(b.grad.numpy(), [-3.0 / 25.0 / s], rtol=1e-15)
        a.grad = b.grad = None
        ag.hypot(a, b).sum().backward()
        np.testing.assert_allclose([a.grad.numpy()[0], b.grad.numpy()[0]], [0.6, -0.8], rtol=1e-15)
        np.testing.assert_allclose(ag.hypot(a, b).numpy(), [5.0 * s], rtol=1e-15)


def test_arctan2_quadrants_signed_zeros_and_broadcast_gradients():
    a = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, np.inf, np.nan])
    b = np.array([0.0, 0.0, -0.0, -0.0, -np.inf, np.inf, 2.0, 1.0])
    np.testing.assert_array_equal(ag.arctan2(ag.tensor(a), ag.tensor(b)).numpy(), np.arctan2(a, b))
    # a (2, 1) against b (3,): gradients summed back to each operand's shape
    av, bv = np.array([[0.5], [-2.0]]), np.array([1.0, -3.0, 0.25])
    x = ag.tensor(av, requires_grad=True)
    y = ag.tensor(bv, requires_grad=True)
    ag.arctan2(x, y).sum().backward()
    r2 = av ** 2 + bv ** 2
    np.testing.assert_allclose(x.grad.numpy(), (bv / r2).sum(1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(y.grad.numpy(), (-av / r2).sum(0), rtol=1e-14)
    # float32 stays float32
    assert ag.hypot(ag.tensor([3.0]), 4.0).dtype == np.float32
