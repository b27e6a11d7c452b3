"""Round 8: has_aux for vjp/jvp/jacobian/hessian (JAX's return conventions), argnums for hessian,
keyword arguments passed through to f.  Checked against central differences in float64 and
against the existing paths (has_aux=False, grad's has_aux)."""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad, fd_hessian, fd_jacobian

rs = np.random.RandomState(0)
A = rs.randn(3, 4)
X0 = rs.randn(4)
Y0 = rs.randn(2, 2)
V0 = rs.randn(4)


def _t(a):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype="float64")


def f_np(x, scale=1.0):
    return np.tanh(A @ x) * scale


def f_ag(x, scale=1.0):
    return ag.tanh(ag.matmul(_t(A), x)) * scale


def f_aux(x, scale=1.0):
    out = f_ag(x, scale)
    return out, {"sq": x * x, "n": 7}


def s_np(x, y, c=1.0):
    return np.sum(np.sin(x) * np.sum(y ** 2)) + c * np.sum(x ** 3) + np.prod(y)


def s_ag(x, y, c=1.0):
    yy = (y * y).sum()
    return (ag.sin(x) * yy).sum() + c * (x ** 3).sum() + y[0, 0] * y[0, 1] * y[1, 0] * y[1, 1]


def _np(t):
    return t.numpy() if isinstance(t, ag.Tensor) else np.asarray(t)


# ------------------------------------------------------------------------------ vjp
def test_vjp_has_aux_returns_out_fn_aux_and_matches_plain_vjp():
    u = rs.randn(3)
    out, back, aux = ag.vjp(f_aux, X0, has_aux=True)
    out0, back0 = ag.vjp(f_ag, X0)
    np.testing.assert_array_equal(out.numpy(), out0.numpy())
    np.testing.assert_array_equal(back(u)[0].numpy(), back0(u)[0].numpy())
    np.testing.assert_allclose(back(u)[0].numpy(), u @ fd_jacobian(f_np, X0), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(aux["sq"].numpy(), X0 * X0)
    assert aux["n"] == 7
    # at the top level aux is detached, as grad's is
    assert not aux["sq"].requires_grad and not out.requires_grad


def test_vjp_passes_keyword_arguments_through():
    u = rs.randn(3)
    out, back = ag.vjp(f_ag, X0, scale=2.5)
    np.testing.assert_allclose(out.numpy(), f_np(X0, 2.5), rtol=1e-14)
    fd = u @ fd_jacobian(lambda x: f_np(x, 2.5), X0)
    np.testing.assert_allclose(back(u)[0].numpy(), fd, rtol=1e-7, atol=1e-9)
    out, back, aux = ag.vjp(f_aux, X0, has_aux=True, scale=2.5)
    np.testing.assert_allclose(back(u)[0].numpy(), fd, rtol=1e-7, atol=1e-9)


def test_vjp_aux_stays_differentiable_when_nested():
    # d/dx sum(aux) with aux = x*x through a vjp inside grad: 2x, as grad(has_aux) nested does
    g = ag.grad(lambda x: ag.vjp(f_aux, x, has_aux=True)[2]["sq"].sum())(X0)
    np.testing.assert_allclose(g.numpy(), fd_grad(lambda x: np.sum(x * x), X0), rtol=1e-7)


# ------------------------------------------------------------------------------ jvp
def test_jvp_has_aux_returns_out_tangent_aux():
    out, tan, aux = ag.jvp(f_aux, (X0,), (V0,), has_aux=True)
    out0, tan0 = ag.jvp(f_ag, (X0,), (V0,))
    np.testing.assert_array_equal(out.numpy(), out0.numpy())
    np.testing.assert_array_equal(tan.numpy(), tan0.numpy())
    np.testing.assert_allclose(tan.numpy(), fd_jacobian(f_np, X0) @ V0, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(aux["sq"].numpy(), X0 * X0)
    assert aux["n"] == 7
    assert not aux["sq"].requires_grad
    # the aux tensor does not carry jvp's tangent out of the transform
    assert aux["sq"].tangent is None


def test_jvp_passes_keyword_arguments_through():
    fd = fd_jacobian(lambda x: f_np(x, -1.5), X0) @ V0
    out, tan = ag.jvp(f_ag, (X0,), (V0,), scale=-1.5)
    np.testing.assert_allclose(out.numpy(), f_np(X0, -1.5), rtol=1e-14)
    np.testing.assert_allclose(tan.numpy(), fd, rtol=1e-7, atol=1e-9)
    out, tan, _ = ag.jvp(f_aux, (X0,), (V0,), has_aux=True, scale=-1.5)
    np.testing.assert_allclose(tan.numpy(), fd, rtol=1e-7, atol=1e-9)


def test_jvp_nested_has_aux_and_kwargs():
    # inside grad, jvp runs by reverse passes: the tangent and the aux stay differentiable
    def outer(x):
        _, tan, aux = ag.jvp(f_aux, (x,), (V0,), has_aux=True, scale=2.0)
        return tan.sum() + aux["sq"].sum()

    def outer_np(x):
        return np.sum(fd_jacobian(lambda z: f_np(z, 2.0), x) @ V0) + np.sum(x * x)

    g = ag.grad(outer)(X0)
    ref = 2 * X0 + ag.grad(lambda x: ag.jvp(f_ag, (x,), (V0,), scale=2.0)[1].sum())(X0).numpy()
    np.testing.assert_allclose(g.numpy(), ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.numpy(), fd_grad(outer_np, X0), rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------ jacobian
@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_jacobian_has_aux_matches_plain_jacobian(mode):
    J, aux = ag.jacobian(f_aux, X0, mode=mode, has_aux=True)
    J0 = ag.jacobian(f_ag, X0, mode=mode)
    np.testing.assert_array_equal(J.numpy(), J0.numpy())
    np.testing.assert_allclose(J.numpy(), fd_jacobian(f_np, X0), rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(aux["sq"].numpy(), X0 * X0)
    assert aux["n"] == 7
    assert not aux["sq"].requires_grad and aux["sq"].tangent is None


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_jacobian_has_aux_tuple_argnums(mode):
    def g(x, y):
        return ag.sin(x) * (y * y).sum(), x + 1.0

    (Jx, Jy), aux = ag.jacobian(g, X0, Y0, argnums=(0, 1), mode=mode, has_aux=True)
    fdx = fd_jacobian(lambda x: np.sin(x) * np.sum(Y0 ** 2), X0)
    fdy = fd_jacobian(lambda y: np.sin(X0) * np.sum(y ** 2), Y0)
    np.testing.assert_allclose(Jx.numpy(), fdx, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(Jy.numpy(), fdy, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(aux.numpy(), X0 + 1.0)


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_jacobian_passes_keyword_arguments_through(mode):
    J = ag.jacobian(f_ag, X0, mode=mode, scale=3.0)
    np.testing.assert_allclose(J.numpy(), fd_jacobian(lambda x: f_np(x, 3.0), X0),
                               rtol=1e-7, atol=1e-9)
    J, aux = ag.jacobian(f_aux, X0, mode=mode, has_aux=True, scale=3.0)
    np.testing.assert_allclose(J.numpy(), fd_jacobian(lambda x: f_np(x, 3.0), X0),
                               rtol=1e-7, atol=1e-9)


def test_jacobian_auto_with_a_keyword_that_changes_the_output_size():
    # "auto" remembers the output size per function and input signature; a keyword that changes
    # the size must not break the result (either mode is right, only the speed differs)
    def rep(x, k=1):
        return ag.concatenate([ag.sin(x)] * k)

    for k in (1, 5, 1, 5):
        J = ag.jacobian(rep, X0, k=k)
        np.testing.assert_allclose(J.numpy(), fd_jacobian(lambda x: np.concatenate([np.sin(x)] * k), X0),
                                   rtol=1e-7, atol=1e-9)


def test_jacobian_aux_stays_differentiable_when_nested():
    def outer(x):
        J, aux = ag.jacobian(f_aux, x, has_aux=True)
        return J.sum() + aux["sq"].sum()

    g = ag.grad(outer)(X0)
    ref = ag.grad(lambda x: ag.jacobian(f_ag, x).sum())(X0).numpy() + 2 * X0
    np.testing.assert_allclose(g.numpy(), ref, rtol=1e-12, atol=1e-14)
    fd = fd_grad(lambda x: np.sum(fd_jacobian(f_np, x)) + np.sum(x * x), X0)
    np.testing.assert_allclose(g.numpy(), fd, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------ hessian
def _scalar_aux(x):
    return (ag.sin(x) * x).sum() + (x ** 4).sum(), (x.sum(), "tag")


def _scalar_np(x):
    return np.sum(np.sin(x) * x) + np.sum(x ** 4)


def test_hessian_has_aux_matches_plain_hessian():
    H, (aux, tag) = ag.hessian(_scalar_aux, X0, has_aux=True)
    H0 = ag.hessian(lambda x: _scalar_aux(x)[0], X0)
    np.testing.assert_array_equal(H.numpy(), H0.numpy())
    np.testing.assert_allclose(H.numpy(), fd_hessian(_scalar_np, X0), rtol=1e-5, atol=1e-5)
    assert aux.item() == pytest.approx(X0.sum(), rel=1e-15) and tag == "tag"
    assert not aux.requires_grad and aux.tangent is None


def test_hessian_int_argnums():
    H = ag.hessian(s_ag, X0, Y0, argnums=1)
    assert H.shape == (2, 2, 2, 2)
    fd = fd_hessian(lambda y: s_np(X0, y.reshape(2, 2)), Y0.reshape(-1)).reshape(2, 2, 2, 2)
    np.testing.assert_allclose(H.numpy(), fd, rtol=1e-5, atol=1e-5)
    H0 = ag.hessian(s_ag, X0, Y0, argnums=0)
    np.testing.assert_allclose(H0.numpy(), fd_hessian(lambda x: s_np(x, Y0), X0), rtol=1e-5, atol=1e-5)
    # a negative argnum counts from the end, as in jacobian
    np.testing.assert_array_equal(ag.hessian(s_ag, X0, Y0, argnums=-1).numpy(), H.numpy())


def _full_hessian_blocks(x, y, c=1.0):
    """The four blocks of the Hessian of s_np in (x, y), from the finite-difference Hessian of
    the flattened pair."""
    z = np.concatenate([x.ravel(), y.ravel()])
    H = fd_hessian(lambda z: s_np(z[:4], z[4:].reshape(2, 2), c), z)
    sx, sy = slice(0, 4), slice(4, 8)
    return ((H[sx, sx], H[sx, sy].reshape(4, 2, 2)),
            (H[sy, sx].reshape(2, 2, 4), H[sy, sy].reshape(2, 2, 2, 2)))


def test_hessian_tuple_argnums_gives_blocks_as_jax():
    H = ag.hessian(s_ag, X0, Y0, argnums=(0, 1))
    assert isinstance(H, tuple) and len(H) == 2 and all(len(r) == 2 for r in H)
    ref = _full_hessian_blocks(X0, Y0)
    shapes = (((4, 4), (4, 2, 2)), ((2, 2, 4), (2, 2, 2, 2)))
    for i in range(2):
        for j in range(2):
            assert H[i][j].shape == shapes[i][j]
            np.testing.assert_allclose(H[i][j].numpy(), ref[i][j], rtol=1e-5, atol=1e-5)
    # the blocks agree with the int-argnums diagonal and with jacobian of grad off the diagonal
    np.testing.assert_allclose(H[0][0].numpy(), ag.hessian(s_ag, X0, Y0, argnums=0).numpy(),
                               rtol=1e-13, atol=1e-13)
    Jxy = ag.jacobian(lambda x, y: ag.grad(s_ag, argnums=0)(x, y), X0, Y0, argnums=1)
    np.testing.assert_allclose(H[0][1].numpy(), Jxy.numpy(), rtol=1e-12, atol=1e-12)
    # one-element tuple: still nested ((H,),)
    (h,), = ag.hessian(s_ag, X0, Y0, argnums=(1,))
    np.testing.assert_allclose(h.numpy(), H[1][1].numpy(), rtol=1e-13, atol=1e-13)


def test_hessian_tuple_argnums_with_has_aux_and_kwargs():
    def s_aux(x, y, c=1.0):
        return s_ag(x, y, c), y * 2.0

    H, aux = ag.hessian(s_aux, X0, Y0, argnums=(0, 1), has_aux=True, c=-2.0)
    ref = _full_hessian_blocks(X0, Y0, -2.0)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(H[i][j].numpy(), ref[i][j], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(aux.numpy(), Y0 * 2.0)
    # a keyword-only argument of f is passed through and not differentiated
    Hk = ag.hessian(lambda x, *, y, c: s_ag(x, y, c), X0, y=Y0, c=-2.0)
    np.testing.assert_allclose(Hk.numpy(), ref[0][0], rtol=1e-5, atol=1e-5)


def test_hessian_nested_tuple_argnums_is_differentiable():
    # third derivative: d/dy sum(H_xy) with H from the reverse-over-reverse nested path
    def outer(y):
        H = ag.hessian(s_ag, X0, y, argnums=(0, 1))
        return H[0][1].sum()

    g = ag.grad(outer)(Y0)
    # exact: H_xy[i, k, l] = cos(x_i) * 2 y_kl, so the sum's gradient is 2 * sum(cos(x))
    np.testing.assert_allclose(g.numpy(), np.full((2, 2), 2 * np.cos(X0).sum()), rtol=1e-12)


def test_hessian_aux_stays_differentiable_when_nested():
    g = ag.grad(lambda x: ag.hessian(_scalar_aux, x, has_aux=True)[1][0])(X0)
    np.testing.assert_allclose(g.numpy(), np.ones(4), rtol=1e-15)


def test_hessian_tuple_argnums_closing_over_a_parameter():
    # f closes over a tensor that requires grad: the blocks stay in its graph (a penalty)
    w = ag.tensor(np.array([0.5, -1.0, 2.0, 0.25]), requires_grad=True)

    def f(x, y):
        return (w * x * x * x).sum() * (y * y).sum()

    H = ag.hessian(f, X0, Y0, argnums=(0, 1))
    ysq = np.sum(Y0 ** 2)
    np.testing.assert_allclose(H[0][0].numpy(), np.diag(6 * w.numpy() * X0) * ysq, rtol=1e-12)
    np.testing.assert_allclose(H[0][1].numpy(), (3 * w.numpy() * X0 ** 2)[:, None, None] * 2 * Y0,
                               rtol=1e-12)
    H[0][0].sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 6 * X0 * ysq, rtol=1e-12)


def test_hessian_mixed_float32_float64_blocks():
    x32 = X0.astype(np.float32)
    H = ag.hessian(lambda x, y: (x * x).sum().astype("float64") * (y * y).sum(), x32, Y0, argnums=(0, 1))
    assert H[0][0].dtype == np.float32 and H[1][1].dtype == np.float64
    assert H[0][1].dtype == np.float64
    np.testing.assert_allclose(H[0][1].numpy(), 4 * x32.astype(float)[:, None, None] * Y0,
                               rtol=1e-6)


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("call", [
    lambda: ag.vjp(f_ag, X0, has_aux=True),
    lambda: ag.jvp(f_ag, (X0,), (V0,), has_aux=True),
    lambda: ag.jacobian(f_ag, X0, has_aux=True),
    lambda: ag.hessian(lambda x: (x * x).sum(), X0, has_aux=True),
])
def test_has_aux_without_a_pair_is_a_value_error(call):
    with pytest.raises(ValueError, match=r"has_aux=True .*\(output, aux\)"):
        call()


@pytest.mark.parametrize("who,call", [
    ("vjp", lambda: ag.vjp(lambda x: (x, x), X0)),
    ("jvp", lambda: ag.jvp(lambda x: (x, x), (X0,), (V0,))),
    ("jacobian", lambda: ag.jacobian(lambda x: (x, x), X0)),
    ("hessian", lambda: ag.hessian(lambda x: (x.sum(), x), X0)),
])
def test_a_pair_without_has_aux_suggests_it(who, call):
    with pytest.raises(TypeError, match=rf"{who}: .*has_aux=True"):
        call()


def test_hessian_argnums_errors():
    with pytest.raises(ValueError, match="hessian: argnums 2 out of range for 2"):
        ag.hessian(s_ag, X0, Y0, argnums=2)
    with pytest.raises(TypeError, match="hessian: argnums must be an int or a tuple"):
        ag.hessian(s_ag, X0, Y0, argnums="0")
    with pytest.raises(TypeError, match="hessian: needs at least one"):
        ag.hessian(s_ag)
    with pytest.raises(ValueError, match="hessian: the function must return a scalar"):
        ag.hessian(lambda x, y: x * y, X0, X0, argnums=(0, 1))


def test_a_keyword_named_f_reaches_the_function():
    # f is positional-only in the transforms: a keyword argument of that name is f's own
    def g(x, f=1.0):
        return (x * x).sum() * f

    np.testing.assert_allclose(ag.jacobian(g, X0, f=3.0).numpy(), 6 * X0, rtol=1e-15)
    np.testing.assert_allclose(ag.hessian(g, X0, f=3.0).numpy(), 6 * np.eye(4), rtol=1e-15)
    _, back = ag.vjp(g, X0, f=3.0)
    np.testing.assert_allclose(back(1.0)[0].numpy(), 6 * X0, rtol=1e-15)
    _, tan = ag.jvp(g, (X0,), (V0,), f=3.0)
    assert tan.item() == pytest.approx(6 * X0 @ V0, rel=1e-14)


def test_a_keyword_tensor_that_requires_grad_keeps_the_result_in_its_graph():
    # kwargs are not differentiated by the transform, but an outer backward reaches them
    w = ag.tensor(np.array([2.0, -1.0, 0.5, 3.0]), requires_grad=True)
    J = ag.jacobian(lambda x, w: ag.sin(x) * w, X0, w=w)
    np.testing.assert_allclose(J.numpy(), np.diag(np.cos(X0) * w.numpy()), rtol=1e-14)
    J.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.cos(X0), rtol=1e-14)
    w.grad = None
    H = ag.hessian(lambda x, w: (ag.sin(x) * w).sum(), X0, w=w)
    H.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), -np.sin(X0), rtol=1e-14)


def test_under_no_grad_results_and_aux_are_outside_the_graph():
    w = ag.tensor(np.array([2.0, -1.0, 0.5, 3.0]), requires_grad=True)
    with ag.no_grad():
        J, aux = ag.jacobian(lambda x: (ag.sin(x) * w, x * w), X0, has_aux=True)
        H, haux = ag.hessian(lambda x: ((ag.sin(x) * w).sum(), x * w), X0, has_aux=True)
    assert not J.requires_grad and not aux.requires_grad
    assert not H.requires_grad and not haux.requires_grad
    np.testing.assert_allclose(H.numpy(), np.diag(-np.sin(X0) * w.numpy()), rtol=1e-14)


def test_hessian_blocks_of_an_empty_argument():
    def g(x, y):
        return (x * x).sum() + (y * y * y).sum()

    H = ag.hessian(g, np.zeros(0), X0, argnums=(0, 1))
    assert [[b.shape for b in r] for r in H] == [[(0, 0), (0, 4)], [(4, 0), (4, 4)]]
    np.testing.assert_allclose(H[1][1].numpy(), np.diag(6 * X0), rtol=1e-14)
    assert ag.hessian(g, np.zeros(0), X0).shape == (0, 0)
