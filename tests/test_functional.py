"""Forward mode, reverse mode, Jacobians, Hessians and higher order (issue 4)."""
import numpy as np
import pytest

import autograd_c as ag

EPS = np.finfo(np.float64).eps ** (1.0 / 3.0)


def fd_jacobian(f, x):
    """Central-difference Jacobian of f at x (float64), shape out.shape + x.shape."""
    x = np.array(x, dtype=np.float64)
    out0 = np.asarray(f(ag.tensor(x, dtype="float64")))
    J = np.zeros(out0.shape + x.shape)
    flat = x.reshape(-1)
    for i in range(flat.size):
        h = EPS * max(1.0, abs(flat[i]))
        xp, xm = flat.copy(), flat.copy()
        xp[i] += h
        xm[i] -= h
        fp = np.asarray(f(ag.tensor(xp.reshape(x.shape), dtype="float64")))
        fm = np.asarray(f(ag.tensor(xm.reshape(x.shape), dtype="float64")))
        J.reshape(out0.shape + (-1,))[..., i] = (fp - fm) / (2 * h)
    return J


rng = np.random.default_rng(42)
A34 = rng.standard_normal((3, 4))
W1, B1 = rng.standard_normal((5, 4)) * 0.5, rng.standard_normal(5) * 0.1
W2 = rng.standard_normal((3, 5)) * 0.5

# (name, function of a float64 tensor, input)
JAC_CASES = [
    ("neg", lambda x: -x, rng.standard_normal(4)),
    ("abs", lambda x: ag.abs(x), np.array([0.5, -1.5, 2.0])),
    ("exp", ag.exp, rng.standard_normal(4)),
    ("log", ag.log, rng.uniform(0.5, 2, 4)),
    ("log1p", ag.log1p, rng.uniform(0.1, 2, 4)),
    ("sqrt", ag.sqrt, rng.uniform(0.5, 2, 4)),
    ("sin", ag.sin, rng.standard_normal(4)),
    ("cos", ag.cos, rng.standard_normal(4)),
    ("tan", ag.tan, rng.uniform(-1, 1, 4)),
    ("tanh", ag.tanh, rng.standard_normal(4)),
    ("sigmoid", ag.sigmoid, rng.standard_normal(4)),
    ("relu", ag.relu, np.array([0.5, -1.5, 2.0, -0.3])),
    ("leaky_relu", lambda x: ag.leaky_relu(x, 0.1), np.array([0.5, -1.5, 2.0])),
    ("elu", lambda x: ag.elu(x, 0.7), np.array([0.5, -1.5, 2.0])),
    ("softplus", ag.softplus, rng.standard_normal(4)),
    ("gelu", ag.gelu, rng.standard_normal(4)),
    ("silu", ag.silu, rng.standard_normal(4)),
    ("clip", lambda x: ag.clip(x, -0.5, 0.5), np.array([0.2, -1.0, 0.9, -0.1])),
    ("cumsum", lambda x: ag.cumsum(x, axis=1), rng.standard_normal((2, 3))),
    ("arctan2_hypot", lambda x: ag.arctan2(x[:2], x[2:]) * ag.hypot(x[2:], x[:2]),
     rng.uniform(0.5, 2, 4) * np.array([1, -1, -1, 1])),
    ("cumsum_flat_diff", lambda x: ag.diff(ag.cumsum(x * x)), rng.standard_normal((2, 3))),
    ("arcsin", ag.arcsin, rng.uniform(-0.9, 0.9, 4)),
    ("arccosh", ag.arccosh, rng.uniform(1.2, 3, 4)),
    ("arctanh", ag.arctanh, rng.uniform(-0.9, 0.9, 4)),
    ("sinh_cosh", lambda x: ag.sinh(x) * ag.cosh(x[::-1]), rng.standard_normal(4)),
    ("exp2_log2", lambda x: ag.exp2(x) + ag.log10(x * x + 1), rng.standard_normal(4)),
    ("add", lambda x: x + ag.tensor(A34[0], dtype="float64"), rng.standard_normal(4)),
    ("sub_bcast", lambda x: ag.tensor(A34, dtype="float64") - x, rng.standard_normal(4)),
    ("mul", lambda x: x * x[::-1], rng.standard_normal(4)),
    ("div", lambda x: x[:2] / x[2:], rng.uniform(0.5, 2, 4)),
    ("pow", lambda x: x[:2] ** x[2:], rng.uniform(0.5, 2, 4)),
    ("maximum", lambda x: ag.maximum(x[:2], x[2:]), np.array([1.0, -2.0, 0.5, 3.0])),
    ("minimum", lambda x: ag.minimum(x[:2], x[2:]), np.array([1.0, -2.0, 0.5, 3.0])),
    ("where", lambda x: ag.where(x > 0, x * 2, x * x), np.array([1.0, -2.0, 0.5, -3.0])),
    ("sum_axis", lambda x: ag.sum(x, axis=0), rng.standard_normal((3, 2))),
    ("mean", lambda x: ag.mean(x, axis=1, keepdims=True), rng.standard_normal((3, 2))),
    ("max", lambda x: ag.max(x, axis=1), rng.standard_normal((3, 4))),
    ("min", lambda x: ag.min(x, axis=0), rng.standard_normal((3, 4))),
    ("prod", lambda x: ag.prod(x, axis=1), rng.standard_normal((2, 3))),
    ("var", lambda x: ag.var(x, axis=1), rng.standard_normal((2, 4))),
    ("std", lambda x: ag.std(x), rng.standard_normal((2, 4))),
    ("logsumexp", lambda x: ag.logsumexp(x, axis=-1), rng.standard_normal((2, 4))),
    ("softmax", lambda x: ag.softmax(x, axis=-1), rng.standard_normal((2, 4))),
    ("log_softmax", lambda x: ag.log_softmax(x, axis=0), rng.standard_normal((3, 2))),
    ("matmul_mv", lambda x: ag.matmul(ag.tensor(A34, dtype="float64"), x), rng.standard_normal(4)),
    ("matmul_mm", lambda x: x @ x.T, rng.standard_normal((3, 2))),
    ("matmul_batched", lambda x: ag.matmul(x, x.swapaxes(-1, -2)), rng.standard_normal((2, 2, 3))),
    ("reshape", lambda x: x.reshape(3, 2) * 2, rng.standard_normal(6)),
    ("transpose", lambda x: x.T * 1.5, rng.standard_normal((2, 3))),
    ("broadcast_to", lambda x: ag.broadcast_to(x, (3, 2)) * ag.tensor(A34[:, :2], dtype="float64"), rng.standard_normal(2)),
    ("getitem_basic", lambda x: x[1:, ::-1][None], rng.standard_normal((3, 3))),
    ("getitem_adv", lambda x: x[[0, 2, 2], [1, 0, 1]], rng.standard_normal((3, 2))),
    ("getitem_mask", lambda x: x[x > 0], np.array([1.0, -2.0, 0.5, -3.0, 4.0])),
    ("concatenate", lambda x: ag.concatenate([x, x * x], axis=0), rng.standard_normal(3)),
    ("stack", lambda x: ag.stack([x, ag.sin(x)], axis=1), rng.standard_normal(3)),
    ("split", lambda x: ag.split(x, 2)[1] * 3, rng.standard_normal(4)),
    ("cross_entropy", lambda x: ag._core._cross_entropy_int(x, [1, 0]), rng.standard_normal((2, 3))),
    ("mlp", lambda x: ag.tanh(ag.matmul(ag.tensor(W2, dtype="float64"),
                                         ag.tanh(ag.matmul(ag.tensor(W1, dtype="float64"), x) + ag.tensor(B1, dtype="float64")))),
     rng.standard_normal(4)),
    ("linear_fused", lambda x: ag._core.linear(x, ag.tensor(W1, dtype="float64"), ag.tensor(B1, dtype="float64"),
                                                activation="tanh"), rng.standard_normal((2, 4))),
    ("inv", lambda x: ag.linalg.inv(x), rng.standard_normal((3, 3)) + 3 * np.eye(3)),
    ("solve", lambda x: ag.linalg.solve(x, ag.tensor(A34[:, 0], dtype="float64")), rng.standard_normal((3, 3)) + 3 * np.eye(3)),
    ("slogdet", lambda x: ag.linalg.slogdet(x)[1], rng.standard_normal((3, 3)) + 3 * np.eye(3)),
    ("cholesky", lambda x: ag.linalg.cholesky(x @ x.T + ag.tensor(np.eye(3), dtype="float64")), rng.standard_normal((3, 3))),
    ("einsum", lambda x: ag.einsum("ij,jk->ik", x, x), rng.standard_normal((3, 3))),
]


@pytest.mark.parametrize("name,f,x", JAC_CASES, ids=[c[0] for c in JAC_CASES])
def test_forward_and_reverse_jacobians_agree_with_finite_differences(name, f, x):
    Jf = ag.jacobian(f, x, mode="forward").numpy()
    Jr = ag.jacobian(f, x, mode="reverse").numpy()
    Ja = ag.jacobian(f, x, mode="auto").numpy()
    Jn = fd_jacobian(f, x)
    assert Jf.shape == Jn.shape == Jr.shape
    np.testing.assert_allclose(Jf, Jr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Ja, Jr, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(Jr, Jn, rtol=1e-5, atol=1e-7)


def seed_f(x):
    return x[0] * x[1] * ag.sin(x[2]) + ag.exp(x[0] * x[1])


def test_seed_example_forward_and_reverse_equal_analytic_gradient():
    x0 = np.array([0.8, -0.4, 1.3])
    x1, x2, x3 = x0
    e = np.exp(x1 * x2)
    exact = np.array([x2 * np.sin(x3) + x2 * e, x1 * np.sin(x3) + x1 * e, x1 * x2 * np.cos(x3)])
    fwd = np.array([ag.jvp(seed_f, (x0,), (np.eye(3)[i],))[1].item() for i in range(3)])
    rev = ag.grad(seed_f)(x0).numpy()
    np.testing.assert_allclose(fwd, exact, rtol=1e-13)
    np.testing.assert_allclose(rev, exact, rtol=1e-13)


def test_value_and_grad_argnums_and_aux():
    def f(a, b):
        return (a * b).sum(), a + b
    (v, aux), (ga, gb) = ag.value_and_grad(f, argnums=(0, 1), has_aux=True)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    assert v.item() == 11.0
    np.testing.assert_array_equal(aux.numpy(), [4.0, 6.0])
    np.testing.assert_array_equal(ga.numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(gb.numpy(), [1.0, 2.0])
    assert ag.grad(lambda x: x * x)(3.0).item() == 6.0


def test_vjp_callable_repeatedly_and_matches_jacobian():
    x0 = rng.standard_normal(4)
    f = lambda x: ag.tanh(ag.matmul(ag.tensor(A34, dtype="float64"), x))  # noqa: E731
    out, back = ag.vjp(f, x0)
    J = ag.jacobian(f, x0).numpy()
    for _ in range(3):
        u = rng.standard_normal(3)
        (g,) = back(u)
        np.testing.assert_allclose(g.numpy(), u @ J, rtol=1e-12)


def test_jacobian_multiple_argnums():
    f = lambda a, b: a * b.sum()  # noqa: E731
    a, b = rng.standard_normal(3), rng.standard_normal(2)
    for mode in ("forward", "reverse"):
        Ja, Jb = ag.jacobian(f, a, b, argnums=(0, 1), mode=mode)
        np.testing.assert_allclose(Ja.numpy(), np.eye(3) * b.sum(), rtol=1e-12)
        np.testing.assert_allclose(Jb.numpy(), np.outer(a, np.ones(2)), rtol=1e-12)


def test_jacobian_auto_picks_the_cheaper_mode_shapes():
    A = rng.standard_normal((10, 2))
    f = lambda x: ag.tanh(ag.matmul(ag.tensor(A, dtype="float64"), x))  # noqa: E731
    x = rng.standard_normal(2)
    for _ in range(2):  # second call uses the remembered output size
        np.testing.assert_allclose(ag.jacobian(f, x).numpy(), ag.jacobian(f, x, mode="reverse").numpy(), rtol=1e-12)


# ------------------------------------------------------------------ closed forms (lecture notes)
def test_gradient_of_trace_A_Xt_B_is_BA():
    A, X, B = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 3))
    g = ag.grad(lambda X: ag.trace(ag.tensor(A, dtype="float64") @ X.T @ ag.tensor(B, dtype="float64")))(X)
    np.testing.assert_allclose(g.numpy(), B @ A, rtol=1e-12)


def test_gradient_of_trace_A_Xinv_B():
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    X = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    g = ag.grad(lambda X: ag.trace(ag.tensor(A, dtype="float64") @ ag.linalg.inv(X) @ ag.tensor(B, dtype="float64")))(X)
    Xit = np.linalg.inv(X).T
    np.testing.assert_allclose(g.numpy(), -Xit @ A.T @ B.T @ Xit, rtol=1e-10)


def test_gradient_of_logdet_is_inverse_transpose():
    M = rng.standard_normal((4, 4))
    X = M @ M.T + np.eye(4)
    g = ag.grad(lambda X: ag.linalg.slogdet(X)[1])(X)
    np.testing.assert_allclose(g.numpy(), np.linalg.inv(X).T, rtol=1e-10)


def test_affine_layer_gradients():
    W, x, b = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    target = rng.standard_normal(3)

    def loss(W, x, b):
        z = ag.matmul(W, x) + b
        return ((z - ag.tensor(target, dtype="float64")) ** 2).sum()
    gW, gx, gb = ag.grad(loss, argnums=(0, 1, 2))(W, x, b)
    dz = 2 * (W @ x + b - target)
    np.testing.assert_allclose(gW.numpy(), np.outer(dz, x), rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), W.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), dz, rtol=1e-12)


def test_hessian_of_quadratic_form_is_A_plus_At():
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    H = ag.hessian(lambda x: x @ ag.tensor(A, dtype="float64") @ x, x)
    np.testing.assert_allclose(H.numpy(), A + A.T, rtol=1e-12, atol=1e-13)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(ag.hvp(lambda x: x @ ag.tensor(A, dtype="float64") @ x, x, v).numpy(),
                               (A + A.T) @ v, rtol=1e-12)


def test_hessian_matches_finite_differences_of_gradient():
    f = lambda x: ag.logsumexp(ag.matmul(ag.tensor(A34, dtype="float64"), ag.tanh(x)))  # noqa: E731
    x = rng.standard_normal(4)
    H = ag.hessian(f, x).numpy()
    Hn = fd_jacobian(lambda t: ag.grad(f)(t), x)
    np.testing.assert_allclose(H, Hn, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


# ------------------------------------------------------------------ higher order
THIRD = {
    "tanh": (ag.tanh, lambda x: [np.tanh(x), 1 - np.tanh(x) ** 2, -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
                                 -2 * (1 - np.tanh(x) ** 2) ** 2 + 4 * np.tanh(x) ** 2 * (1 - np.tanh(x) ** 2)]),
    "sigmoid": (ag.sigmoid, None),
    "exp": (ag.exp, lambda x: [np.exp(x)] * 4),
    "log": (ag.log, lambda x: [np.log(x), 1 / x, -1 / x ** 2, 2 / x ** 3]),
    "sin": (ag.sin, lambda x: [np.sin(x), np.cos(x), -np.sin(x), -np.cos(x)]),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_order_derivatives(name):
    fn, exact = THIRD[name]
    x0 = 0.7
    f = lambda x: fn(x)  # noqa: E731
    d1, d2, d3 = ag.grad(f), ag.grad(ag.grad(f)), ag.grad(ag.grad(ag.grad(f)))
    got = [d1(x0).item(), d2(x0).item(), d3(x0).item()]
    if exact is not None:
        np.testing.assert_allclose(got, exact(x0)[1:], rtol=1e-12)
    # each order against central differences of the previous one
    for k, (lo, hi) in enumerate(zip([f, d1, d2], [d1, d2, d3])):
        h = EPS
        xp, xm = ag.tensor(x0 + h, dtype="float64"), ag.tensor(x0 - h, dtype="float64")
        num = (float(np.asarray(lo(xp))) - float(np.asarray(lo(xm)))) / (2 * h)
        np.testing.assert_allclose(hi(x0).item(), num, rtol=1e-6, atol=1e-8)


def test_third_order_through_matmul_chain():
    A = rng.standard_normal((3, 3)) * 0.5
    At = ag.tensor(A, dtype="float64")
    v = ag.tensor(rng.standard_normal(3), dtype="float64")

    def f(s):
        x = v * s
        return ag.tanh(At @ ag.tanh(At @ x)).sum()
    d3 = ag.grad(ag.grad(ag.grad(f)))
    d2 = ag.grad(ag.grad(f))
    h = EPS
    num = (d2(0.3 + h).item() - d2(0.3 - h).item()) / (2 * h)
    np.testing.assert_allclose(d3(0.3).item(), num, rtol=1e-6, atol=1e-8)


def test_jvp_of_grad_is_hessian_vector_product():
    A = rng.standard_normal((3, 3))
    f = lambda x: (ag.tanh(ag.tensor(A, dtype="float64") @ x) ** 2).sum()  # noqa: E731
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    _, t = ag.jvp(ag.grad(f), (x,), (v,))
    np.testing.assert_allclose(t.numpy(), ag.hvp(f, x, v).numpy(), rtol=1e-10)


# ------------------------------------------------------------------ vanishing gradients
def test_vanishing_gradient_bound_for_deep_sigmoid_mlp():
    """||dL/da_i|| <= prod_{j>i} ||W_j|| max|sigma'| * ||dL/da_L||, shrinking with depth."""
    r = np.random.default_rng(3)
    depth, width = 12, 8
    Ws = [r.standard_normal((width, width)) / np.sqrt(width) for _ in range(depth)]
    x = r.standard_normal(width)
    acts = []
    a = ag.tensor(x, dtype="float64", requires_grad=True)
    for W in Ws:
        a = ag.sigmoid(ag.tensor(W, dtype="float64") @ a)
        a.retain_grad()
        acts.append(a)
    loss = (acts[-1] ** 2).sum()
    loss.backward()
    norms = [np.linalg.norm(t.grad.numpy()) for t in acts]
    out_norm = norms[-1]
    for i in range(depth - 1):
        bound = out_norm
        for W in Ws[i + 1:]:
            bound *= np.linalg.norm(W, 2) * 0.25
        assert norms[i] <= bound * (1 + 1e-12)
    assert norms[0] < norms[-1] * 1e-3


# ------------------------------------------------------------------ bad input
def test_bad_input_errors():
    with pytest.raises(ValueError, match="square"):
        ag.linalg.inv(np.ones((2, 3)))
    with pytest.raises(ValueError, match="tangent 0 has shape"):
        ag.jvp(ag.sin, (np.ones(3),), (np.ones(2),))
    with pytest.raises(ValueError, match="must return a scalar"):
        ag.grad(lambda x: x * 2)(np.ones(3))
    with pytest.raises(ValueError, match="unknown mode"):
        ag.jacobian(ag.sin, np.ones(2), mode="sideways")
    with pytest.raises(ValueError, match="same length|primals but"):
        ag.jvp(ag.sin, (np.ones(2),), ())
    with pytest.raises(ValueError, match="argnums"):
        ag.grad(lambda x: x.sum(), argnums=3)(np.ones(2))


def test_tangents_with_different_batch_sizes_are_refused():
    a = ag.tensor(np.ones(3), dtype="float64")
    b = ag.tensor(np.ones(3), dtype="float64")
    a._set_tangent(np.ones((2, 3)))
    b._set_tangent(np.ones((4, 3)))
    with pytest.raises(ValueError, match="tangents have different batch sizes"):
        a + b


def test_transforms_ignore_an_outer_no_grad_and_respect_an_inner_one():
    # a function transform's result must not depend on a no_grad() around the call: under one,
    # the reverse-mode transforms used to return zeros (and gradcheck of a function that takes
    # a grad inside gave a numerical gradient of 0).  A no_grad() inside f still cuts the
    # gradient (torch.func semantics), and the caller's mode is restored afterwards.
    f = lambda x: (x ** 3).sum()  # noqa: E731
    x = np.array([1.0, -2.0, 0.5])
    v = np.array([1.0, 0.5, -2.0])
    calls = {
        "grad": lambda: ag.grad(f)(x),
        "value_and_grad": lambda: ag.value_and_grad(f)(x)[1],
        "vjp": lambda: ag.vjp(lambda t: t ** 3, x)[1](v)[0],
        "jvp": lambda: ag.jvp(lambda t: t ** 3, (x,), (v,))[1],
        "jacobian reverse": lambda: ag.jacobian(lambda t: t ** 3, x, mode="reverse"),
        "jacobian forward": lambda: ag.jacobian(lambda t: t ** 3, x, mode="forward"),
        "hessian": lambda: ag.hessian(f, x),
        "hvp": lambda: ag.hvp(f, x, v),
        "grad of grad": lambda: ag.grad(lambda t: ag.grad(f)(t).sum())(x),
    }
    exact = {"grad": 3 * x ** 2, "value_and_grad": 3 * x ** 2, "vjp": 3 * x ** 2 * v,
             "jvp": 3 * x ** 2 * v, "jacobian reverse": np.diag(3 * x ** 2),
             "jacobian forward": np.diag(3 * x ** 2), "hessian": np.diag(6 * x), "hvp": 6 * x * v,
             "grad of grad": 6 * x}
    for name, call in calls.items():
        with ag.no_grad():
            got = call().numpy()
            assert not ag.is_grad_enabled(), name
        np.testing.assert_allclose(got, exact[name], rtol=1e-15, err_msg=name)
        np.testing.assert_allclose(call().numpy(), exact[name], rtol=1e-15, err_msg=name)
    with ag.no_grad():
        assert ag.gradcheck(lambda t: ag.grad(f)(t).sum(), (x,))
    # inner no_grad: the cubic term is a constant to the transform
    g = ag.grad(lambda t: (t * t).sum() + ag.no_grad()(lambda: (t * t * t).sum())())(x)
    np.testing.assert_array_equal(g.numpy(), 2 * x)


# ------------------------------------------------------------------ every transform inside every other
def _nf(x):
    return (x ** 3).sum() + ag.sin(x[0] * x[1]) + ag.exp(x[1] - x[0])


def _ng(x):
    return ag.stack([x[0] * x[1], ag.sin(x[0]) + x[1] ** 2])


_NV = np.array([1.0, -2.0])
_INNER = {
    "grad": lambda x: ag.grad(_nf)(x),
    "hessian": lambda x: ag.hessian(_nf, x),
    "hvp": lambda x: ag.hvp(_nf, x, _NV),
    "jvp": lambda x: ag.jvp(_ng, (x,), (ag.tensor(_NV),))[1],
    "jacobian_forward": lambda x: ag.jacobian(_ng, x, mode="forward"),
    "jacobian_reverse": lambda x: ag.jacobian(_ng, x, mode="reverse"),
}


@pytest.mark.parametrize("inner", sorted(_INNER))
@pytest.mark.parametrize("outer", ["jacobian_forward", "jacobian_auto", "jacobian_reverse", "jvp",
                                   "grad"])
def test_every_transform_nested_in_every_other_matches_finite_differences(inner, outer):
    # regression: a hessian, hvp or jvp inside a forward-mode jacobian or a jvp dropped the
    # outer tangent and returned zeros (or the inner tangent's product)
    h = _INNER[inner]
    x0 = np.array([0.7, -0.4])
    eps = np.finfo(float).eps ** (1 / 3)
    ref = np.stack([(h(ag.tensor(x0 + e)).numpy() - h(ag.tensor(x0 - e)).numpy()) / (2 * eps)
                    for e in np.eye(2) * eps], -1)
    if outer.startswith("jacobian"):
        got = ag.jacobian(h, ag.tensor(x0), mode=outer.split("_")[1]).numpy()
    elif outer == "jvp":
        got, ref = ag.jvp(h, (ag.tensor(x0),), (ag.tensor(_NV),))[1].numpy(), ref @ _NV
    else:
        w = np.linspace(-1.0, 1.5, ref[..., 0].size).reshape(ref.shape[:-1])
        got = ag.grad(lambda x: (h(x) * ag.tensor(w)).sum())(ag.tensor(x0)).numpy()
        ref = np.tensordot(w, ref, w.ndim)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("outer", ["grad", "jacobian_forward", "jacobian_reverse", "jvp", "hessian"])
@pytest.mark.parametrize("inner", ["grad", "jvp"])
def test_nested_transforms_of_plain_inputs_return_results_outside_the_graph(outer, inner):
    # regression: jvp(grad(f)) and jvp(jvp(f)) returned results with requires_grad=True and a
    # graph (the inner transform's own input leaf was taken for a tensor f closes over)
    x0, v = np.array([0.7, -0.4]), np.array([1.0, -2.0])
    h = _INNER[inner]
    s = (lambda x: (h(x) ** 2).sum())
    if outer == "grad":
        r = ag.grad(s)(x0)
    elif outer == "jvp":
        r = ag.jvp(h, (x0,), (v,))[1]
    elif outer == "hessian":
        r = ag.hessian(s, x0)
    else:
        r = ag.jacobian(h, x0, mode=outer.split("_")[1])
    assert not r.requires_grad and r.grad_fn is None
    from autograd_c import functional
    assert not getattr(functional._state, "private", [])   # released when the transform returns
    # while a tensor the function closes over keeps it in the graph
    w = ag.tensor(np.array([0.5, 2.0]), requires_grad=True)
    r2 = ag.jvp(lambda x: h(x * w), (x0,), (v,))[1]
    assert r2.requires_grad
    r2.sum().backward()
    assert w.grad is not None and np.all(np.isfinite(w.grad.numpy()))
