"""The fused dense layer with ELU, linear(x, W, b, activation="elu"): a recorded layer keeps
its pre-activation z (csrc/ops/matmul.c), takes y = elu(z) from it by the ELU epilogue's
arithmetic, and its derivatives alpha e^z from the same z, without another product."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad, fd_hessian

F = ag.nn.functional
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISAS = ["generic", "avx2", "avx512"]


def _elu(z, alpha):
    return np.where(z > 0, z, alpha * np.expm1(z))


def _elu_deriv(z, alpha):
    return np.where(z > 0, 1.0, alpha * np.exp(z))


def recorded_matches_unrecorded_and_numpy():
    """Run on one ISA: the recorded layer's output (z saved, elu in a separate pass) equals the
    unrecorded one's (elu in the product's epilogue) bit for bit, for shapes with edge tiles and
    vector tails; and elu of exact pre-activations (x a column, W = [[1]]) is numpy's
    alpha expm1(z) to 4 ulp."""
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        for (lead, k, n) in [((1,), 7, 13), ((33,), 65, 17), ((200,), 130, 70), ((3, 5), 9, 33),
                             ((4,), 0, 5)]:
            a = rng.standard_normal(lead + (k,)).astype(dt)
            w = rng.standard_normal((n, k)).astype(dt)
            b = rng.standard_normal(n).astype(dt)
            for bias in (b, None):
                bt = None if bias is None else ag.tensor(bias)
                with ag.no_grad():
                    fused = F.linear(ag.tensor(a), ag.tensor(w), bt, activation="elu", alpha=0.7)
                rec = F.linear(ag.tensor(a, requires_grad=True), ag.tensor(w), bt, activation="elu",
                               alpha=0.7)
                assert rec.requires_grad and not fused.requires_grad
                assert rec.shape == fused.shape == lead + (n,)
                assert rec.numpy().tobytes() == fused.numpy().tobytes(), (dt, lead, k, n, bias is None)
        z = np.concatenate([np.linspace(-30.0, 5.0, 1021), [0.0, -0.0, 1e-30, -1e-30, -1e-7]]).astype(dt)
        x = ag.tensor(z.reshape(-1, 1), requires_grad=True)
        y = F.linear(x, ag.tensor(np.ones((1, 1), dt)), activation="elu", alpha=0.7).numpy().ravel()
        want = _elu(z.astype(np.float64), 0.7)
        np.testing.assert_allclose(y, want.astype(dt), rtol=4 * np.finfo(dt).eps, atol=0)
    return ag._core.isa()


@pytest.mark.parametrize("isa", ISAS)
def test_recorded_elu_layer_matches_the_fused_product_on_every_isa(isa):
    order = {name: i for i, name in enumerate(ISAS)}
    if order[isa] > order[ag._core.best_isa()]:
        pytest.skip(f"this CPU has no {isa}")  # the best path is tested; lower ones always run
    code = ("import sys; sys.path.insert(0, 'tests'); import test_elu_fused as t; "
            "print(t.recorded_matches_unrecorded_and_numpy())")
    env = dict(os.environ, AUTOGRAD_C_ISA=isa, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [isa]


def _layer_case(rng, lead, bias):
    x = rng.standard_normal(lead + (4,)) * 2.0
    w = rng.standard_normal((3, 4))
    b = rng.standard_normal(3) if bias else None
    c = rng.standard_normal(lead + (3,))
    return x, w, b, c


def _numpy_loss(x, w, b, c, alpha, transpose):
    z = x @ w.T + (0.0 if b is None else b)
    y = _elu(z, alpha)
    return np.sum((np.swapaxes(y, -1, -2) * np.swapaxes(c, -1, -2)) if transpose else y * c)


@pytest.mark.parametrize("lead", [(5,), (2, 3)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cot", ["weighted", "sum", "transposed"])
def test_elu_layer_gradients_match_the_exact_formula_and_finite_differences(rng, lead, bias, cot):
    # the cotangent reaches the derivative pass contiguous (weighted), as one broadcast value
    # (sum) or strided (through a transpose)
    alpha = 0.7
    x, w, b, c = _layer_case(rng, lead, bias)
    if cot == "sum":
        c = np.ones_like(c)
    xt, wt = ag.tensor(x, requires_grad=True), ag.tensor(w, requires_grad=True)
    bt = ag.tensor(b, requires_grad=True) if bias else None
    y = F.linear(xt, wt, bt, activation="elu", alpha=alpha)
    if cot == "sum":
        loss = y.sum()
    elif cot == "transposed":
        loss = (ag.swapaxes(y, -1, -2) * ag.tensor(np.swapaxes(c, -1, -2).copy())).sum()
    else:
        loss = (y * ag.tensor(c)).sum()
    loss.backward()
    # exact: dz = c * elu'(z); x-bar = dz W, W-bar = dz^T x over all rows, b-bar = sum of dz
    z = x @ w.T + (0.0 if b is None else b)
    dz = c * _elu_deriv(z, alpha)
    np.testing.assert_allclose(xt.grad.numpy(), dz @ w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(wt.grad.numpy(), dz.reshape(-1, 3).T @ x.reshape(-1, 4), rtol=1e-12,
                               atol=1e-14)
    if bias:
        np.testing.assert_allclose(bt.grad.numpy(), dz.reshape(-1, 3).sum(0), rtol=1e-12, atol=1e-14)
    tr = cot == "transposed"
    np.testing.assert_allclose(xt.grad.numpy(), fd_grad(lambda v: _numpy_loss(v, w, b, c, alpha, tr), x),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(wt.grad.numpy(), fd_grad(lambda v: _numpy_loss(x, v, b, c, alpha, tr), w),
                               rtol=1e-6, atol=1e-8)
    if bias:
        np.testing.assert_allclose(bt.grad.numpy(), fd_grad(lambda v: _numpy_loss(x, w, v, c, alpha, tr), b),
                                   rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("bias", [True, False])
def test_elu_layer_jacobians_forward_and_reverse_agree_with_the_exact_one(rng, bias):
    # forward mode pushes all directions at once: the tangent has a leading batch axis, which
    # the derivative pass meets as a broadcast against the saved z
    x, w, b, _ = _layer_case(rng, (5,), bias)
    bt = ag.tensor(b) if bias else None
    f = lambda v: F.linear(v, ag.tensor(w), bt, activation="elu", alpha=1.3)  # noqa: E731
    z = x @ w.T + (0.0 if b is None else b)
    d = _elu_deriv(z, 1.3)                                       # (5, 3)
    exact = np.einsum("ij,jk,il->ijlk", d, w, np.eye(5))         # dy[i, j] / dx[l, k]
    for mode in ("forward", "reverse"):
        J = ag.jacobian(f, x, mode=mode).numpy()
        np.testing.assert_allclose(J, exact, rtol=1e-12, atol=1e-15, err_msg=mode)


def test_elu_layer_backward_twice_with_retain_graph_reads_the_same_saved_z(rng):
    x, w, b, c = _layer_case(rng, (6,), True)
    xt = ag.tensor(x, requires_grad=True)
    loss = (F.linear(xt, ag.tensor(w), ag.tensor(b), activation="elu") * ag.tensor(c)).sum()
    loss.backward(retain_graph=True)
    first = xt.grad.numpy().copy()
    loss.backward()
    np.testing.assert_array_equal(xt.grad.numpy(), 2 * first)
    z = x @ w.T + b
    np.testing.assert_allclose(first, (c * _elu_deriv(z, 1.0)) @ w, rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_elu_layer_hessian_matches_finite_differences(rng, bias):
    # second order rebuilds z from differentiable ops (the saved z is a constant)
    x, w, b, c = _layer_case(rng, (2,), bias)
    bt = ag.tensor(b) if bias else None
    f = lambda v: (F.linear(ag.reshape(v, (2, 4)), ag.tensor(w), bt, activation="elu", alpha=0.5)  # noqa: E731
                   * ag.tensor(c)).sum()
    H = ag.hessian(f, x.ravel()).numpy()
    # exact: rows do not mix; H[(i, k), (i, l)] = sum_j c_ij elu''(z_ij) w_jk w_jl, elu'' = alpha e^z
    # below 0
    z = x @ w.T + (0.0 if b is None else b)
    s = c * np.where(z > 0, 0.0, 0.5 * np.exp(z))
    exact = np.zeros((2, 4, 2, 4))
    for i in range(2):
        exact[i, :, i, :] = np.einsum("j,jk,jl->kl", s[i], w, w)
    np.testing.assert_allclose(H, exact.reshape(8, 8), rtol=1e-12, atol=1e-15)
    # second differences with step eps^(1/3) carry ~eps^(1/3) of f's scale
    ref = fd_hessian(lambda v: _numpy_loss(v.reshape(2, 4), w, b, c, 0.5, False), x.ravel())
    np.testing.assert_allclose(H, ref, rtol=0, atol=1e-4)
