"""Regression tests for the engine and transform bugs found in the round-5 audit: each case
used to give a silently wrong answer (zeros, garbage, NaN, a wrong shape) or to raise on valid
input."""
import numpy as np
import pytest

import autograd_c as ag

X0 = np.array([0.3, -1.2, 2.0])
Y0 = np.array([1.5, 0.5, -0.7])
E0 = np.array([1.0, 0.0, 0.0])


def _f(x, y):
    return (ag.sin(x) * y ** 2).sum()


NESTED = {
    # the outer variable reaches the inner transform through a closure
    "grad of grad via closure": (lambda: ag.grad(lambda y: ag.grad(lambda x: _f(x, y))(X0).sum())(Y0),
                                 2 * Y0 * np.cos(X0)),
    "jacobian (reverse) of grad, other argument": (
        lambda: ag.jacobian(ag.grad(_f), X0, Y0, argnums=1, mode="reverse"), np.diag(2 * Y0 * np.cos(X0))),
    "jacobian (forward) of grad, other argument": (
        lambda: ag.jacobian(ag.grad(_f), X0, Y0, argnums=1, mode="forward"), np.diag(2 * Y0 * np.cos(X0))),
    "grad of jvp": (lambda: ag.grad(lambda x: ag.jvp(lambda z: _f(z, Y0), (x,), (E0,))[1])(X0),
                    -np.sin(X0) * Y0 ** 2 * E0),
    "grad of hessian": (lambda: ag.grad(lambda x: ag.hessian(lambda z: (z ** 4).sum(), x).sum())(X0), 24 * X0),
    "grad of hvp": (lambda: ag.grad(lambda x: ag.hvp(lambda z: (z ** 4).sum(), x, E0).sum())(X0), 24 * X0 * E0),
    "grad of jacobian (reverse)": (
        lambda: ag.grad(lambda x: ag.jacobian(lambda z: z ** 3, x, mode="reverse").sum())(X0), 6 * X0),
    "grad of jacobian (forward)": (
        lambda: ag.grad(lambda x: ag.jacobian(lambda z: z ** 3, x, mode="forward").sum())(X0), 6 * X0),
    "grad of vjp via closure": (
        lambda: ag.grad(lambda y: ag.vjp(lambda x: ag.sin(x) * y, X0)[1](np.ones(3))[0].sum())(Y0), np.cos(X0)),
    "jvp of grad": (lambda: ag.jvp(ag.grad(lambda z: (z ** 4).sum()), (X0,), (E0,))[1], 12 * X0 ** 2 * E0),
    "hessian of a function that takes a grad inside": (
        lambda: ag.hessian(lambda x: ag.grad(lambda z: (z ** 4).sum())(x).sum(), X0), np.diag(24 * X0)),
    "jacobian of jacobian": (
        lambda: ag.jacobian(lambda x: ag.jacobian(lambda z: z ** 3, x), X0),
        np.einsum("ij,jk->ijk", np.eye(3), np.diag(6 * X0))),
    "third derivative": (lambda: ag.grad(ag.grad(ag.grad(lambda z: z ** 4)))(2.0), 48.0),
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_transforms_are_differentiable(name):
    call, want = NESTED[name]
    np.testing.assert_allclose(call().numpy(), want, rtol=1e-12, atol=1e-12)


def test_nested_transforms_match_finite_differences():
    # d/dy of the inner gradient of sin(x) y^2 in x: central differences in float64
    inner = lambda y: ag.grad(lambda x: _f(x, y))(X0).numpy().sum()  # noqa: E731
    got = ag.grad(lambda y: ag.grad(lambda x: _f(x, y))(X0).sum())(Y0).numpy()
    h = np.finfo(float).eps ** (1 / 3)
    fd = np.array([(inner(Y0 + h * e) - inner(Y0 - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(got, fd, rtol=1e-8)


def test_function_returning_none_raises():
    with pytest.raises(TypeError, match="returned NoneType"):
        ag.grad(lambda x: None)(np.ones(3))
    with pytest.raises(TypeError, match="returned NoneType"):
        ag.jacobian(lambda x: None, np.ones(3))
    # a constant is still a valid function: its gradient is zero
    np.testing.assert_array_equal(ag.grad(lambda x: 3.0)(np.ones(2)).numpy(), [0.0, 0.0])


@pytest.mark.parametrize("a_shape,b_shape,wrt", [
    ((2, 3, 2), (2, 1), 1), ((2, 3, 4), (4, 5), 1), ((3, 4), (2, 4, 5), 0), ((2, 3, 4), (4,), 1),
    ((4,), (2, 4, 3), 0), ((5, 1, 2, 3), (4, 3, 2), 1), ((5, 1, 2, 3), (4, 3, 2), 0)])
def test_matmul_forward_jacobian_with_batched_operands(a_shape, b_shape, wrt):
    # the tangent's own batch axis used to be broadcast against the other operand's batch axes
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    f = (lambda t: ag.matmul(t, b)) if wrt == 0 else (lambda t: ag.matmul(a, t))
    x = a if wrt == 0 else b
    fwd = ag.jacobian(f, x, mode="forward").numpy()
    rev = ag.jacobian(f, x, mode="reverse").numpy()
    np.testing.assert_allclose(fwd, rev, rtol=1e-13, atol=1e-14)


def test_hessian_through_a_batched_matmul_is_symmetric_and_matches_hvp():
    A = np.arange(12.0).reshape(2, 3, 2) / 10
    b = np.array([[1.0], [2.0]])
    f = lambda y: (ag.matmul(A, y) ** 3).sum()  # noqa: E731
    H = ag.hessian(f, b).numpy().reshape(2, 2)
    np.testing.assert_allclose(H, H.T, rtol=1e-14)
    for k in range(2):
        e = np.zeros((2, 1))
        e[k] = 1
        np.testing.assert_allclose(ag.hvp(f, b, e).numpy().ravel(), H[:, k], rtol=1e-13)


@pytest.mark.parametrize("act", [None, "relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu"])
def test_linear_forward_mode_with_a_bias_tangent(act):
    # a tangent on the bias alone used to fail to spread over the rows (reshape error)
    rng = np.random.default_rng(3)
    x, W, b = rng.standard_normal((3, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    for shape in [(3, 3), (2, 3, 3)]:
        xs = rng.standard_normal(shape)
        f = lambda q: ag.nn.functional.linear(xs, W, q, activation=act)  # noqa: E731
        np.testing.assert_allclose(ag.jacobian(f, b, mode="forward").numpy(),
                                   ag.jacobian(f, b, mode="reverse").numpy(), rtol=1e-13, atol=1e-14)
        _, t = ag.jvp(f, (b,), (np.ones(4),))
        assert t.shape == xs.shape[:-1] + (4,)
    del x


@pytest.mark.parametrize("dtype,xs", [("float32", [-17.0, -20.0, -30.0]), ("float64", [-30.0, -40.0, -60.0])])
def test_elu_gradient_keeps_its_digits_for_large_negative_inputs(dtype, xs):
    # elu'(x) = alpha e^x; y + alpha cancelled (float32: 44% off at -17, 0 from -20).  (The
    # fused linear layer keeps its pre-activation when recorded and takes alpha e^z from it; see
    # matmul.c and tests/test_elu_fused.py.)
    x = ag.tensor(np.array(xs), dtype=dtype, requires_grad=True)
    (ag.elu(x, 1.5).sum() * 2.0).backward()
    want = 3.0 * np.exp(np.array(xs))
    np.testing.assert_allclose(x.grad.numpy(), want.astype(dtype), rtol=4 * np.finfo(dtype).eps)
    _, t = ag.jvp(lambda z: ag.elu(z, 1.5), (np.array(xs, dtype=dtype),), (np.full(3, 2.0, dtype=dtype),))
    np.testing.assert_allclose(t.numpy(), want.astype(dtype), rtol=4 * np.finfo(dtype).eps)
    # the fused layer's derivative agrees with the op's
    rng = np.random.default_rng(5)
    xa, wa = rng.standard_normal((6, 4)), rng.standard_normal((3, 4))
    for fuse in (True, False):
        xt = ag.tensor(xa, dtype=dtype, requires_grad=True)
        if fuse:
            y = ag.nn.functional.linear(xt, ag.tensor(wa, dtype=dtype), activation="elu")
        else:
            y = ag.elu(ag.nn.functional.linear(xt, ag.tensor(wa, dtype=dtype)))
        y.sum().backward()
        if fuse:
            g_fused = xt.grad.numpy()
    np.testing.assert_allclose(g_fused, xt.grad.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12)


def test_zero_exponent_has_zero_derivative_at_zero():
    x = ag.tensor(np.array([0.0, 2.0]), dtype="float64", requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    poly = lambda z: sum(c * z ** k for k, c in enumerate([1.0, 2.0, 3.0]))  # noqa: E731
    assert float(ag.grad(poly)(0.0)) == 2.0
    assert float(ag.jvp(poly, (0.0,), (1.0,))[1]) == 2.0
    # a tensor exponent: d/da a^b at b = 0 is 0, d/db is a^b log a (log 0 treated as 0)
    a = ag.tensor(np.array([0.0, 0.0, 3.0]), requires_grad=True, dtype="float64")
    b = ag.tensor(np.array([0.0, 2.0, 0.0]), requires_grad=True, dtype="float64")
    (a ** b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 0.0, np.log(3.0)])


def test_solve_with_a_batch_of_matrices_and_one_vector():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal(3)
    got = ag.linalg.solve(A, b).numpy()
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, np.stack([np.linalg.solve(A[i], b) for i in range(2)]), rtol=1e-13)


def test_forward_jacobian_of_a_scalar_is_0d():
    for mode in ("forward", "reverse", "auto"):
        J = ag.jacobian(lambda x: x * x, np.array(3.0), mode=mode)
        assert J.shape == () and float(J) == 6.0, mode


def test_linear_with_no_input_features_gives_the_bias():
    junk = ag.full((256, 64), 123.0)  # leave a dirty block in the allocator's cache
    del junk
    lin = ag.nn.Linear(0, 64)
    y = lin(ag.ones(256, 0))
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(lin.bias.numpy(), (256, 64)))
    np.testing.assert_array_equal(ag.nn.functional.linear(ag.ones(2, 0), ag.zeros(3, 0)).numpy(), np.zeros((2, 3)))
    y.sum().backward()
    np.testing.assert_array_equal(lin.bias.grad.numpy(), np.full(64, 256.0))
    assert lin.weight.grad.shape == (64, 0)
    for act in ("relu", "tanh", "gelu"):
        np.testing.assert_allclose(
            ag.nn.functional.linear(ag.ones(2, 0), ag.zeros(3, 0), ag.tensor([-1.0, 0.5, 2.0]), activation=act).numpy(),
            np.broadcast_to({"relu": np.maximum, "tanh": lambda v, _: np.tanh(v),
                             "gelu": lambda v, _: ag.gelu(ag.tensor(v)).numpy()}[act](np.array([-1.0, 0.5, 2.0], np.float32), 0), (2, 3)),
            rtol=1e-6)


# ---------------------------------------------------------------- second audit (accuracy, linalg)
def test_division_gradient_does_not_overflow_through_b_squared():
    for a, b, dtype in [(1e300, 1e200, "float64"), (1e-300, 1e-200, "float64"), (1e20, 1e20, "float32"),
                        (1e-30, 1e-25, "float32"), (1e-20, 1e-20, "float32")]:
        ga, gb = ag.grad(lambda x, y: (x / y).sum(), argnums=(0, 1))(
            ag.tensor(np.array([a]), dtype=dtype), ag.tensor(np.array([b]), dtype=dtype))
        a64, b64 = (float(np.array([v], dtype=dtype)[0]) for v in (a, b))
        want = -(a64 / b64) / b64  # exact to rounding in float64 for these inputs
        np.testing.assert_allclose(gb.numpy(), [want], rtol=4 * np.finfo(dtype).eps)


def test_float32_reductions_over_a_leading_axis_accumulate_in_double():
    # the strided branch summed in float32: std of 1e4 + N(0, 1) over 1e5 rows came out 7.49
    v = (1e4 + np.random.default_rng(0).standard_normal(100_000)).astype(np.float32)
    two = ag.tensor(np.stack([v, v], 1))
    ref = v.astype(np.float64)
    np.testing.assert_allclose(ag.std(two, axis=0).numpy(), [ref.std()] * 2, rtol=1e-5)
    np.testing.assert_allclose(ag.mean(two, axis=0).numpy(), [ref.mean()] * 2, rtol=1e-7)
    np.testing.assert_allclose(ag.sum(two, axis=0).numpy(), [ref.sum()] * 2, rtol=1e-7)
    # the same value whichever axis is reduced
    np.testing.assert_array_equal(ag.sum(two, axis=0).numpy(), ag.sum(ag.tensor(np.stack([v, v])), axis=1).numpy())
    p = (1 + 1e-4 * np.random.default_rng(1).standard_normal((20000, 2))).astype(np.float32)
    np.testing.assert_allclose(ag.prod(ag.tensor(p), axis=0).numpy(), np.prod(p.astype(np.float64), axis=0), rtol=1e-6)


def test_split_with_negative_indices_follows_numpy():
    X = np.arange(24.0).reshape(2, 3, 4)
    for idx, axis in [([-1], 1), ([1, -1], -1), ([-3, 2], 2), ([-10], 0)]:
        got = ag.split(ag.tensor(X), idx, axis=axis)
        want = np.split(X, idx, axis=axis)
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.astype(np.float32))


def test_load_of_a_deeply_nested_crafted_manifest_raises_valueerror(tmp_path):
    import json  # noqa: F401
    p = tmp_path / "crafted.npz"
    text = '{"format": "autograd_c.save/1", "root": ' + "[" * 5000 + "]" * 5000 + "}"
    np.savez(p, __autograd_c_manifest__=np.frombuffer(text.encode(), np.uint8))
    with pytest.raises(ValueError, match="not a valid autograd_c save file"):
        ag.load(str(p))


def test_det_slogdet_inv_solve_only_call_exactly_singular_matrices_singular():
    # a tolerance of n eps max|A| called diag(1, 1e-20) singular: det 0, slogdet (0, -inf)
    M = np.diag([1.0, 1e-20])
    np.testing.assert_allclose(ag.linalg.det(M).item(), 1e-20, rtol=1e-14)
    s, l = ag.linalg.slogdet(M)
    assert s.item() == 1.0 and abs(l.item() - np.log(1e-20)) < 1e-12
    np.testing.assert_allclose(ag.linalg.inv(np.diag([1.0, 1e-17])).numpy(), np.diag([1.0, 1e17]))
    np.testing.assert_allclose(ag.linalg.solve(np.diag([1.0, 1e-17]), np.array([1.0, 1.0])).numpy(), [1.0, 1e17])
    near = np.array([[1.0, 2.0], [1.0, 2.0 + 1e-15]])
    assert ag.linalg.det(near).item() == np.linalg.det(near)
    # exactly singular: still (0, -inf) and LinAlgError
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert ag.linalg.det(S).item() == 0.0
    for fn in (lambda: ag.linalg.inv(S), lambda: ag.linalg.solve(S, np.ones(2))):
        with pytest.raises(ag.LinAlgError):
            fn()
    # no gradient of log|det| at a singular matrix: a clear error, not one without a message
    # (det's gradient there is the cofactor matrix: tests/test_leftovers.py)
    with pytest.raises(Exception, match="singular matrix"):
        ag.grad(lambda a: ag.linalg.slogdet(a)[1])(S)


def test_linalg_propagates_nan_and_inf_instead_of_calling_them_singular():
    N = np.array([[np.nan, 1.0], [1.0, 1.0]])
    assert np.isnan(ag.linalg.det(N).item())
    assert np.isnan(ag.linalg.inv(N).numpy()).all()
    assert np.isnan(ag.linalg.solve(N, np.ones(2)).numpy()).all()
    s, l = ag.linalg.slogdet(np.array([[np.inf, 1.0], [1.0, 1.0]]))
    assert l.item() == np.inf


def test_norm_gradient_at_zero_and_for_tiny_or_huge_entries():
    g = lambda x: ag.grad(lambda t: ag.linalg.norm(t))(x).numpy()  # noqa: E731
    np.testing.assert_array_equal(g(np.zeros(3)), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(g(np.array([3e-200, 4e-200])), [0.6, 0.8], rtol=1e-15)
    np.testing.assert_allclose(g(np.array([3e200, 4e200])), [0.6, 0.8], rtol=1e-15)
    assert float(ag.linalg.norm(np.array([3e200, 4e200]))) == pytest.approx(5e200, rel=1e-15)
    x = np.random.default_rng(6).standard_normal((3, 4))
    for axis in (None, 0, 1, (0, 1)):
        for keepdims in (False, True):
            got = ag.linalg.norm(x, axis=axis, keepdims=keepdims).numpy()
            np.testing.assert_allclose(got, np.linalg.norm(x, axis=axis, keepdims=keepdims), rtol=1e-15)
    assert ag.gradcheck(lambda t: ag.linalg.norm(t, axis=1).sum(), (x,))
    H = ag.hessian(lambda t: ag.linalg.norm(t), np.array([3.0, 4.0])).numpy()
    np.testing.assert_allclose(H, (np.eye(2) - np.outer([0.6, 0.8], [0.6, 0.8])) / 5, rtol=1e-15)


def test_pow_zero_exponent_mask_keeps_higher_derivatives():
    # masking d(a^b)/da where b == 0 alone made d/db (d/da a^b) at b = 0 equal 1 instead of 1/a
    # (a fuzz test found it); only a == 0 and b == 0 together are masked now
    d_da = lambda a, b: ag.grad(lambda x: (x ** b).sum())(a)  # noqa: E731
    mixed = ag.grad(lambda b: d_da(np.array([2.0, 4.0]), b).sum())(np.array([0.0, 0.0]))
    np.testing.assert_allclose(mixed.numpy(), [0.5, 0.25], rtol=1e-15)
    h = np.finfo(float).eps ** (1 / 3)
    fd = (d_da(np.array([2.0]), np.array([h])).numpy() - d_da(np.array([2.0]), np.array([-h])).numpy()) / (2 * h)
    np.testing.assert_allclose(mixed.numpy()[:1], fd, rtol=1e-8)
