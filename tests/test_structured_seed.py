"""Structured (diagonal) Jacobian seeds: the identity basis carries a hint that ops use to skip
dense work (csrc/diag.c).  Every Jacobian that can take the fast path is compared with dense
references that cannot (one ag.jvp per column, one ag.vjp per row: no batched tangent, so no
hint) and with central finite differences in float64; then the hint is checked to be dropped by
everything that could make it lie."""
import os
import sys

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import _core

sys.path.insert(0, os.path.dirname(__file__))
from test_functional import fd_jacobian  # noqa: E402  central differences (float64, eps^(1/3))

rng = np.random.default_rng(7)


def jac_by_columns(f, x):
    """Forward-mode reference: one unbatched jvp per input direction."""
    x = np.asarray(x)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size, dtype=x.dtype)
        e[k] = 1
        _, t = ag.jvp(f, (x,), (e.reshape(x.shape),))
        cols.append(np.array(t.numpy()).reshape(-1))
    out_shape = tuple(t.shape)
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


def jac_by_rows(f, x):
    """Reverse-mode reference: one unbatched vjp per output element."""
    x = np.asarray(x)
    out, back = ag.vjp(f, x)
    rows = []
    for i in range(out.size):
        e = np.zeros(out.size, dtype=x.dtype)
        e[i] = 1
        rows.append(np.array(back(e.reshape(out.shape))[0].numpy()).reshape(-1))
    return np.stack(rows).reshape(tuple(out.shape) + x.shape)


def _mats(dtype):
    r = np.random.default_rng(3)
    m = {
        "A": r.standard_normal((5, 4)) / 2,     # (m, d)
        "S": r.standard_normal((4, 4)) / 2,     # square
        "B": r.standard_normal((4, 3)) / 2,     # right factor
        "C": r.standard_normal((3, 5)) / 2,     # chain
        "c": r.uniform(0.5, 2.0, 4),            # elementwise scale
        "W": r.standard_normal((6, 4)) / 2,     # dense layer weight
        "b": r.standard_normal(6) / 4,
    }
    return {k: ag.tensor(v.astype(dtype), dtype=np.dtype(dtype).name) for k, v in m.items()}


# (name, builder of f given the matrices, input shape)
CASES = [
    ("tanh_Ax", lambda M: lambda x: ag.tanh(ag.matmul(M["A"], x)), (4,)),
    ("Ax", lambda M: lambda x: ag.matmul(M["A"], x), (4,)),
    ("sigmoid_Sx_plus_x", lambda M: lambda x: ag.sigmoid(ag.matmul(M["S"], x)) + x, (4,)),
    ("x_times_c_then_matmul", lambda M: lambda x: ag.matmul(M["A"], x * M["c"]), (4,)),
    ("c_times_x_then_matmul", lambda M: lambda x: ag.tanh(ag.matmul(M["A"], M["c"] * x)), (4,)),
    ("x_div_c_then_matmul", lambda M: lambda x: ag.matmul(M["A"], x / M["c"]), (4,)),
    ("x_left_of_matmul", lambda M: lambda x: ag.tanh(ag.matmul(x, M["B"])), (4,)),
    ("unary_chain", lambda M: lambda x: ag.tanh(ag.sin(x)) * M["c"], (4,)),
    ("chain_of_two_matmuls", lambda M: lambda x: ag.tanh(ag.matmul(M["C"], ag.tanh(ag.matmul(M["A"], x)))), (4,)),
    ("matrix_input_right", lambda M: lambda X: ag.tanh(ag.matmul(M["A"], X)), (4, 3)),
    ("matrix_input_left", lambda M: lambda X: ag.sigmoid(ag.matmul(X, M["B"])), (2, 4)),
    ("dense_layer", lambda M: lambda x: _core.linear(x, M["W"], M["b"], "tanh"), (4,)),
    ("dense_layer_batch", lambda M: lambda X: _core.linear(X, M["W"], M["b"], "sigmoid"), (2, 4)),
    # x reaches the output along two paths: cotangents (reverse) / tangents (forward) add up
    ("used_twice_tanh_Ax_plus_Bx", lambda M: lambda x: ag.tanh(ag.matmul(M["S"], x)) + ag.matmul(M["S"].T, x), (4,)),
    ("used_twice_x_times_tanh_x", lambda M: lambda x: x * ag.tanh(x), (4,)),
    ("used_twice_x_plus_x", lambda M: lambda x: ag.matmul(M["A"], x + x), (4,)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
@pytest.mark.parametrize("name,build,shape", CASES, ids=IDS)
def test_structured_jacobian_equals_dense_references(name, build, shape, mode, dtype):
    f = build(_mats(dtype))
    x = rng.standard_normal(shape).astype(dtype)
    J = ag.jacobian(f, ag.tensor(x, dtype=dtype), mode=mode).numpy()
    Jc, Jr = jac_by_columns(f, x), jac_by_rows(f, x)
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-13)
    assert J.dtype == np.dtype(dtype)
    np.testing.assert_allclose(J, Jc, **tol)
    np.testing.assert_allclose(J, Jr, **tol)
    if dtype == "float64":
        np.testing.assert_allclose(J, fd_jacobian(f, x), rtol=1e-6, atol=1e-8)


def test_tanh_Ax_matches_the_analytic_jacobian_at_benchmark_shape():
    A = (rng.standard_normal((60, 50)) / 8).astype(np.float32)
    x = rng.standard_normal(50).astype(np.float32)
    At = ag.tensor(A)
    y = np.tanh(A @ x)
    ref = (1 - y * y)[:, None] * A
    for mode in ("forward", "reverse", "auto"):
        J = ag.jacobian(lambda v: ag.tanh(ag.matmul(At, v)), ag.tensor(x), mode=mode).numpy()
        np.testing.assert_allclose(J, ref, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ the hint itself
def test_seed_is_the_identity_and_carries_the_hint():
    for shape in [(3,), (2, 3), ()]:
        x = ag.zeros(shape, dtype="float64")
        E = _core.eye_batched_like(x)
        n = int(np.prod(shape))
        assert E.shape == (n,) + shape and E.dtype == np.float64
        assert _core._has_diag_hint(E)
        np.testing.assert_array_equal(np.asarray(E).reshape(n, n), np.eye(n))


def test_fast_paths_produce_hinted_results():
    seen = []
    c = ag.tensor(np.array([1.0, 2.0, 3.0]))

    def f(v):
        seen.append(_core._has_diag_hint(v.tangent))
        u = ag.tanh(v)                      # unary derivative kernel
        seen.append(_core._has_diag_hint(u.tangent))
        w = u * c                           # mul by an operand without the batch axis
        seen.append(_core._has_diag_hint(w.tangent))
        return w

    ag.jacobian(f, np.array([0.1, 0.2, 0.3]), mode="forward")
    assert seen == [True, True, True]
    # reverse: the Jacobian of an elementwise function is the hinted tangent of the gradient
    J = ag.jacobian(lambda v: ag.tanh(v) * c, np.array([0.1, 0.2, 0.3]), mode="reverse")
    assert _core._has_diag_hint(J)
    np.testing.assert_allclose(np.diag(J.numpy()), (1 - np.tanh([0.1, 0.2, 0.3]) ** 2) * [1, 2, 3])
    assert not _core._has_diag_hint(J)      # exported to numpy: dropped for good


def test_reshape_views_share_the_hint_and_an_inplace_write_drops_it():
    A = rng.standard_normal((3, 4))
    At = ag.tensor(A)
    E = _core.eye_batched_like(ag.zeros((4,), dtype="float64"))
    E3 = ag.reshape(E, (4, 4, 1))
    assert _core._has_diag_hint(E3)
    E3.add_(ag.tensor(np.ones((4, 4, 1))))  # written through the view: the storage version moves
    assert not _core._has_diag_hint(E3) and not _core._has_diag_hint(E)
    got = ag.matmul(At, ag.reshape(E, (4, 4, 1))).numpy()
    expect = A @ (np.eye(4) + 1).reshape(4, 4, 1)
    np.testing.assert_allclose(got, expect, rtol=1e-12)


def test_a_numpy_write_cannot_make_the_hint_lie():
    A = rng.standard_normal((3, 4))
    E = _core.eye_batched_like(ag.zeros((4,), dtype="float64"))
    arr = np.asarray(E)                     # exported: numpy writes do not bump the version
    arr[0, 1] = 5.0
    assert not _core._has_diag_hint(E)
    dense = np.eye(4)
    dense[0, 1] = 5.0
    got = ag.matmul(ag.tensor(A), ag.reshape(E, (4, 4, 1))).numpy()
    np.testing.assert_allclose(got, A @ dense.reshape(4, 4, 1), rtol=1e-12)
    got = (E * ag.tensor(np.arange(1.0, 5.0))).numpy()
    np.testing.assert_allclose(got, dense * np.arange(1.0, 5.0), rtol=1e-12)


def test_setitem_drops_the_hint():
    E = _core.eye_batched_like(ag.zeros((3,), dtype="float64"))
    with ag.no_grad():
        E[1, 0] = 2.0
    assert not _core._has_diag_hint(E)
    dense = np.eye(3)
    dense[1, 0] = 2.0
    np.testing.assert_allclose(ag.tanh(ag.tensor(np.zeros(3))).numpy(), 0)
    got = (E * ag.tensor(np.array([1.0, 2.0, 3.0]))).numpy()
    np.testing.assert_allclose(got, dense * [1.0, 2.0, 3.0])


# ------------------------------------------------------------------ non-finite values
def test_nonfinite_operands_fall_back_to_the_dense_result():
    """0 * inf is nan: where the dense kernels would put nan off the diagonal, so must we."""
    c = np.array([np.inf, 1.0, 2.0])
    ct = ag.tensor(c)
    f = lambda v: v * ct  # noqa: E731
    x = np.array([0.5, 1.0, 1.5])
    J = ag.jacobian(f, x, mode="forward").numpy()
    np.testing.assert_array_equal(J, jac_by_columns(f, x))
    assert np.isnan(J[0, 1])
    A = np.array([[np.inf, 1.0, 0.0], [1.0, 2.0, 3.0]])
    At = ag.tensor(A)
    g = lambda v: ag.matmul(At, v)  # noqa: E731
    Jf = ag.jacobian(g, x, mode="forward").numpy()
    np.testing.assert_array_equal(Jf, jac_by_columns(g, x))
    assert np.isnan(Jf[0, 1])
    Jr = ag.jacobian(g, x, mode="reverse").numpy()
    np.testing.assert_array_equal(Jr, jac_by_rows(g, x))
    assert np.isnan(Jr[1, 0])
    B = np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, 4.0]])
    Bt = ag.tensor(B)
    k = lambda v: ag.matmul(v, Bt)  # noqa: E731  the diagonal batch on the left of the matmul
    Jf = ag.jacobian(k, x, mode="forward").numpy()
    np.testing.assert_array_equal(Jf, jac_by_columns(k, x))
    assert np.isnan(Jf[0, 0])
    Jr = ag.jacobian(k, x, mode="reverse").numpy()
    np.testing.assert_array_equal(Jr, jac_by_rows(k, x))
    assert np.isnan(Jr[0, 1]) and Jr[0, 0] == 1.0
    h = lambda v: ag.log(v) * 1.0  # noqa: E731  log'(0) = inf: the unary kernel falls back
    x0 = np.array([0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ag.jacobian(h, x0, mode="forward").numpy(), jac_by_columns(h, x0))


# ------------------------------------------------------------------ second order
def test_hessian_and_hvp_with_the_structured_seed():
    A = rng.standard_normal((5, 4)) / 2
    c = rng.uniform(0.5, 2, 4)
    At, ct = ag.tensor(A), ag.tensor(c)
    f = lambda x: ag.tanh(ag.matmul(At, x)).sum() + (x * x * ct).sum()  # noqa: E731
    x = rng.standard_normal(4)
    y = np.tanh(A @ x)
    H_exact = A.T @ np.diag(-2 * y * (1 - y * y)) @ A + 2 * np.diag(c)
    H = ag.hessian(f, x).numpy()
    np.testing.assert_allclose(H, H_exact, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H, fd_jacobian(lambda t: ag.grad(f)(t), x), rtol=1e-6, atol=1e-8)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(ag.hvp(f, x, v).numpy(), H_exact @ v, rtol=1e-10, atol=1e-12)


def test_no_leaks_from_the_hint():
    import gc
    gc.collect()
    before = (ag.live_tensors(), ag.live_storages())
    At = ag.tensor(rng.standard_normal((6, 5)))
    for mode in ("forward", "reverse"):
        J = ag.jacobian(lambda v: ag.tanh(ag.matmul(At, v)), np.ones(5), mode=mode)
        del J
    del At
    gc.collect()
    assert (ag.live_tensors(), ag.live_storages()) == before
