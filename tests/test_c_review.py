"""Checks from a review of the day's C changes (radix argsort, the Adam-family loops, det and
its cofactor primitive, forward-mode sessions) where the existing tests left a path unexercised:
the optimizers' OpenMP path (parameters above OPT_PAR_N = 65536 elements) and the cofactor
matrix at rank-deficient matrices that make the LU pivot and meet zero pivots mid-way.

References are computed independently: first optimizer steps in closed form in numpy, cofactor
matrices from exact integer minors (fractions), first derivatives against central finite
differences in float64 (step eps^(1/3)).
"""
import os
import sys
from fractions import Fraction

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import optim

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_jacobian  # noqa: E402

rng = np.random.default_rng(20261204)


# ------------------------------------------------------------ Adam family on the parallel path
BIG = 70_000          # above the C loops' OpenMP threshold (OPT_PAR_N = 65536)
B1, B2, EPS, LR = 0.9, 0.999, 1e-8, 0.01


def _first_step(name, g):
    """The parameter change of the first step from zero state, in closed form (PyTorch's rules:
    m = (1 - b1) g, v = (1 - b2) g^2, bias corrections at t = 1)."""
    adam_like = LR * g / (np.abs(g) + EPS)          # m/bc1 / (sqrt(v/bc2) + eps)
    if name == "Adamax":                            # u = max(0, |g| + eps); lr/bc1 m / u
        return adam_like
    if name == "NAdam":                             # mu_t = b1 (1 - 0.96^(0.004 t) / 2)
        mu1, mu2 = (B1 * (1 - 0.5 * 0.96 ** (0.004 * t)) for t in (1, 2))
        denom = np.sqrt((1 - B2) * g * g / (1 - B2)) + EPS
        m1 = (1 - B1) * g
        return LR * (1 - mu1) / (1 - mu1) * g / denom + LR * mu2 / (1 - mu1 * mu2) * m1 / denom
    if name == "RAdam":                             # rho_1 = 1 <= 5: plain momentum, m / bc1
        return LR * g
    if name == "Adadelta":                          # delta = sqrt(0 + eps) / sqrt(v + eps) g
        return LR * np.sqrt(1e-6) / np.sqrt(0.1 * g * g + 1e-6) * g
    raise AssertionError(name)


def _make(name, params):
    if name == "Adadelta":
        return optim.Adadelta(params, lr=LR)
    return getattr(optim, name)(params, lr=LR, betas=(B1, B2), eps=EPS)


def _run(name, p0, c, steps, threads):
    old = ag.get_num_threads()
    ag.set_num_threads(threads)
    try:
        w = ag.tensor(p0.copy(), dtype="float64", requires_grad=True)
        opt = _make(name, [w])
        for _ in range(steps):
            opt.zero_grad()
            (w * ag.tensor(c, dtype="float64")).sum().backward()     # grad = c
            opt.step()
        return w.numpy().copy()
    finally:
        ag.set_num_threads(old)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Adadelta"])
def test_parallel_loop_first_step_is_the_closed_form_and_thread_count_free(name):
    p0 = rng.standard_normal(BIG)
    c = rng.standard_normal(BIG) * np.exp(rng.uniform(-6, 3, BIG))    # gradients over 4 decades
    got = _run(name, p0, c, 1, 2)
    np.testing.assert_allclose(p0 - got, _first_step(name, c), rtol=1e-12, atol=1e-15)
    # several steps (RAdam stays unrectified until t = 6, so go past it): 1 and 2 threads agree
    # to the bit, each element updated by the same arithmetic whichever thread runs it
    one, two = _run(name, p0, c, 7, 1), _run(name, p0, c, 7, 2)
    assert one.tobytes() == two.tobytes()
    assert np.abs(two - got).max() > 1e-4                              # the later steps moved it


# ------------------------------------------------------------ cofactor at rank-deficient matrices
def _det_exact(m):
    """The determinant of an integer matrix in exact rational arithmetic."""
    m = [[Fraction(int(v)) for v in row] for row in m]
    n, d = len(m), Fraction(1)
    for k in range(n):
        p = next((i for i in range(k, n) if m[i][k] != 0), None)
        if p is None:
            return Fraction(0)
        if p != k:
            m[k], m[p] = m[p], m[k]
            d = -d
        d *= m[k][k]
        for i in range(k + 1, n):
            f = m[i][k] / m[k][k]
            for j in range(k, n):
                m[i][j] -= f * m[k][j]
    return d


def _cofactor_exact(a):
    n = a.shape[0]
    c = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            c[i, j] = (-1) ** (i + j) * float(_det_exact(minor)) if n > 1 else 1.0
    return c


def _low_rank_integer(n, r):
    """An n x n integer matrix of rank <= r, rows shuffled so the LU pivots, some columns
    repeated so that a zero pivot comes mid-way rather than only at the end."""
    a = rng.integers(-3, 4, (n, r)) @ rng.integers(-3, 4, (r, n))
    a = a[rng.permutation(n)]
    if n > 2 and rng.random() < 0.5:
        a[:, 1] = a[:, 0]
    return a.astype(np.float64)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_det_gradient_at_rank_deficient_matrices_is_the_exact_cofactor_matrix(n):
    for r in (n - 1, n - 1, n - 2, n - 2, 1):
        a = _low_rank_integer(n, r)
        exact = _cofactor_exact(a)
        scale = 1.0 + np.abs(a).max() ** (n - 1)   # size of a minor: LU rounding is relative to it
        g = ag.grad(ag.linalg.det)(ag.tensor(a, dtype="float64")).numpy()
        np.testing.assert_allclose(g, exact, rtol=0, atol=1e-13 * scale)
        t = rng.standard_normal((n, n))
        _, tan = ag.jvp(ag.linalg.det, (ag.tensor(a, dtype="float64"),),
                        (ag.tensor(t, dtype="float64"),))
        np.testing.assert_allclose(tan.item(), np.sum(exact * t), rtol=0,
                                   atol=1e-13 * scale * n * n)
    # and against finite differences of numpy's det at the last one
    np.testing.assert_allclose(g, fd_jacobian(np.linalg.det, a), rtol=1e-6, atol=1e-6 * scale)
