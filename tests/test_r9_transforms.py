"""Round 9: hvp with has_aux, keyword arguments and several primals; jacrev / jacfwd; edge cases
of the transforms (0-d, empty and integer inputs, outputs that do not depend on the input, nested
transforms).  Checked against central differences in float64 (tests/_fd.py, step
machine_eps^(1/3)), against hessian / jacobian, and against exact answers where known."""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad, fd_hessian, fd_jacobian

rs = np.random.RandomState(9)
X3 = rs.randn(3)
Y2 = rs.randn(2)


def _t(a):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype="float64")


def g_ag(x, scale=1.0):
    """A scalar function with a full, non-constant Hessian."""
    return ((ag.sin(x) * x * x).sum() + ag.exp(x.sum() * 0.3)) * scale


def g_np(x, scale=1.0):
    return (np.sum(np.sin(x) * x * x) + np.exp(np.sum(x) * 0.3)) * scale


def two_ag(x, y, scale=1.0):
    return ((ag.sin(x) * y.sum() * y.sum()).sum() + (x * x * x).sum() * y[0]) * scale


def two_np(x, y, scale=1.0):
    return (np.sum(np.sin(x) * y.sum() ** 2) + np.sum(x ** 3) * y[0]) * scale


def _np(t):
    return t.numpy() if isinstance(t, ag.Tensor) else np.asarray(t)


# ------------------------------------------------------------------------------------- hvp
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_hvp_matches_hessian_times_v_and_finite_differences_of_grad(shape):
    x, v = np.asarray(rs.randn(*shape)), np.asarray(rs.randn(*shape))
    hv = ag.hvp(g_ag, x, v)
    assert hv.shape == shape and hv.dtype == np.float64
    n = int(np.prod(shape))
    H = ag.hessian(g_ag, x).numpy().reshape(n, n)
    np.testing.assert_allclose(hv.numpy().reshape(-1), H @ v.reshape(-1), rtol=1e-12, atol=1e-12)
    # central differences of the reverse-mode gradient, along every input direction
    J = fd_jacobian(lambda a: ag.grad(g_ag)(a).numpy(), x).reshape(n, n)
    np.testing.assert_allclose(hv.numpy().reshape(-1), J @ v.reshape(-1), rtol=1e-7, atol=1e-7)
    # and central differences of central differences of f itself
    Hfd = fd_hessian(lambda a: g_np(a.reshape(shape)), x.reshape(-1))
    np.testing.assert_allclose(hv.numpy().reshape(-1), Hfd @ v.reshape(-1), rtol=1e-4, atol=1e-4)


def test_hvp_exact_for_a_cubic():
    # f = sum(x^3): H = diag(6 x), H v = 6 x v
    x, v = np.array([1.0, -2.0, 0.5]), np.array([0.25, 3.0, -1.0])
    np.testing.assert_array_equal(ag.hvp(lambda a: (a ** 3).sum(), x, v).numpy(), 6 * x * v)


def test_hvp_several_primals_are_the_blocks_of_h_times_v():
    vx, vy = rs.randn(3), rs.randn(2)
    hx, hy = ag.hvp(two_ag, (X3, Y2), (vx, vy))
    assert hx.shape == (3,) and hy.shape == (2,)
    (hxx, hxy), (hyx, hyy) = [[b.numpy() for b in row]
                              for row in ag.hessian(two_ag, X3, Y2, argnums=(0, 1))]
    np.testing.assert_allclose(hx.numpy(), hxx @ vx + hxy @ vy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hy.numpy(), hyx @ vx + hyy @ vy, rtol=1e-12, atol=1e-12)
    # finite differences of the gradient of f on the concatenated point
    flat = lambda z: ag.grad(lambda a: two_ag(a[:3], a[3:]))(z).numpy()  # noqa: E731
    J = fd_jacobian(flat, np.concatenate([X3, Y2]))
    ref = J @ np.concatenate([vx, vy])
    np.testing.assert_allclose(np.concatenate([hx.numpy(), hy.numpy()]), ref, rtol=1e-7, atol=1e-7)


def test_hvp_one_primal_in_a_tuple_gives_a_tuple_and_numbers_stay_one_array():
    v = rs.randn(3)
    (h,) = ag.hvp(g_ag, (X3,), (v,))
    np.testing.assert_allclose(h.numpy(), ag.hvp(g_ag, X3, v).numpy(), rtol=1e-14)
    # the old call form: a tuple of plain numbers is one 1-D point
    h = ag.hvp(lambda a: (a ** 3).sum(), (1.0, 2.0), (1.0, 0.0))
    np.testing.assert_array_equal(h.numpy(), [6.0, 0.0])
    # and hvp's own arguments by keyword
    h = ag.hvp(f=lambda a: (a ** 3).sum(), x=np.array([1.0, 2.0]), v=np.array([0.0, 1.0]))
    np.testing.assert_array_equal(h.numpy(), [0.0, 12.0])


def test_hvp_has_aux_and_keyword_arguments():
    v = rs.randn(3)
    hv, aux = ag.hvp(lambda a, scale: (g_ag(a, scale), a * 2), X3, v, has_aux=True, scale=3.0)
    np.testing.assert_allclose(hv.numpy(), 3 * ag.hvp(g_ag, X3, v).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(aux.numpy(), X3 * 2)
    assert not aux.requires_grad
    (hx, hy), aux = ag.hvp(lambda x, y, scale: (two_ag(x, y, scale), "tag"), (X3, Y2),
                           (np.ones(3), np.zeros(2)), has_aux=True, scale=-1.0)
    ref = ag.hvp(two_ag, (X3, Y2), (np.ones(3), np.zeros(2)))
    assert aux == "tag"
    np.testing.assert_allclose(hx.numpy(), -ref[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(hy.numpy(), -ref[1].numpy(), rtol=1e-12)


def test_hvp_nested_stays_differentiable_in_x_and_v():
    v = rs.randn(3)
    # d/dx sum(H(x) v), against central differences of the same function
    outer = ag.grad(lambda a: ag.hvp(g_ag, a, v).sum())(X3).numpy()
    ref = fd_grad(lambda a: ag.hvp(g_ag, a, v).numpy().sum(), X3)
    np.testing.assert_allclose(outer, ref, rtol=1e-6, atol=1e-6)
    # d/dv sum(H v) = H^T 1 = H 1 (linear in v: exact)
    dv = ag.grad(lambda u: ag.hvp(g_ag, X3, u).sum())(v).numpy()
    np.testing.assert_allclose(dv, ag.hessian(g_ag, X3).numpy().sum(axis=0), rtol=1e-12)
    # several primals, nested: d/dx sum((H v)_y)
    vx, vy = rs.randn(3), rs.randn(2)
    outer = ag.grad(lambda a: ag.hvp(two_ag, (a, Y2), (vx, vy))[1].sum())(X3).numpy()
    ref = fd_grad(lambda a: ag.hvp(two_ag, (a, Y2), (vx, vy))[1].numpy().sum(), X3)
    np.testing.assert_allclose(outer, ref, rtol=1e-6, atol=1e-6)


def test_hvp_mixed_float32_and_float64_primals():
    f = lambda x, y: (x.astype("float64") * y * y).sum()  # noqa: E731
    x32, vx32 = np.array([1.5, -2.0], np.float32), np.array([1.0, 2.0], np.float32)
    vy = np.array([-1.0, 0.5])
    hx, hy = ag.hvp(f, (x32, Y2), (vx32, vy))
    assert hx.dtype == np.float32 and hy.dtype == np.float64
    # f = sum(x y^2): (H v)_x = 2 y vy, (H v)_y = 2 y vx + 2 x vy
    np.testing.assert_allclose(hx.numpy(), 2 * Y2 * vy, rtol=1e-6)
    np.testing.assert_allclose(hy.numpy(), 2 * Y2 * vx32 + 2 * x32 * vy, rtol=1e-12)
    # nested (reverse over reverse), the same dtypes: d/dx sum((H v)_y) = 2 vy
    d = ag.grad(lambda a: ag.hvp(f, (a, Y2), (vx32, vy))[1].sum())(x32)
    np.testing.assert_allclose(d.numpy(), 2 * vy, rtol=1e-6)


def test_hvp_of_a_closed_over_parameter_reaches_backward():
    w = ag.tensor(np.array([0.5, 2.0, -1.0]), requires_grad=True)
    v = rs.randn(3)
    hx, hy = ag.hvp(lambda x, y: (w * x * x * x).sum() + (y * y).sum(), (X3, Y2), (v, np.ones(2)))
    np.testing.assert_allclose(hy.numpy(), 2 * np.ones(2), rtol=1e-14)
    hx.sum().backward()  # d/dw sum(6 w x v) = 6 x v
    np.testing.assert_allclose(w.grad.numpy(), 6 * X3 * v, rtol=1e-12)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: ag.hvp(two_ag, (X3, Y2), np.ones(3)), TypeError, ["hvp", "tuple", "ndarray"]),
    (lambda: ag.hvp(two_ag, (X3, Y2), (np.ones(3),)), ValueError, ["hvp", "2 primals", "1 tangents"]),
    (lambda: ag.hvp(two_ag, (X3, Y2), (np.ones(3), np.ones(3))), ValueError, ["v[1]", "(3,)", "(2,)"]),
    (lambda: ag.hvp(g_ag, X3, np.ones(2)), ValueError, ["hvp", "v", "(2,)", "(3,)"]),
    (lambda: ag.hvp(lambda a: a * 2, X3, np.ones(3)), ValueError, ["hvp", "scalar", "(3,)"]),
    (lambda: ag.hvp(g_ag, X3, np.ones(3), has_aux=True), ValueError, ["hvp", "has_aux"]),
    (lambda: ag.hvp(3, X3, np.ones(3)), TypeError, ["hvp", "callable", "int"]),
    # hvp takes has_aux now: the hint to use it holds for hvp too
    (lambda: ag.hvp(lambda a: ((a * a).sum(), a), X3, np.ones(3)), TypeError,
     ["hvp", "tuple of 2 items", "has_aux=True"]),
])
def test_hvp_bad_input_raises_a_clear_error(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value)


# ------------------------------------------------------------------------------ jacrev / jacfwd
def _f1(x):
    return ag.tanh(x) * x.sum()


def _f1_np(x):
    return np.tanh(x) * x.sum()


@pytest.mark.parametrize("shape", [(), (1,), (4,), (2, 3)])
def test_jacrev_and_jacfwd_agree_with_jacobian_and_finite_differences(shape):
    x = np.asarray(rs.randn(*shape))
    jr, jf = ag.jacrev(_f1)(x), ag.jacfwd(_f1)(x)
    assert jr.shape == jf.shape == shape + shape
    ref = fd_jacobian(_f1_np, x)
    for j in (jr, jf):
        np.testing.assert_allclose(j.numpy(), ref, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(jr.numpy(), jf.numpy(), rtol=1e-13, atol=1e-14)
    for mode in ("auto", "forward", "reverse"):
        np.testing.assert_allclose(ag.jacobian(_f1, x, mode=mode).numpy(), jr.numpy(),
                                   rtol=1e-13, atol=1e-14)


def test_jacrev_and_jacfwd_wide_and_tall_outputs():
    A = rs.randn(5, 2)
    tall = lambda x: ag.sin(ag.matmul(_t(A), x))  # noqa: E731  R^2 -> R^5
    wide = lambda x: ag.matmul(_t(A.T), x * x)  # noqa: E731  R^5 -> R^2
    x2, x5 = rs.randn(2), rs.randn(5)
    for f, fn, x in ((tall, lambda a: np.sin(A @ a), x2), (wide, lambda a: A.T @ (a * a), x5)):
        ref = fd_jacobian(fn, x)
        np.testing.assert_allclose(ag.jacrev(f)(x).numpy(), ref, rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(ag.jacfwd(f)(x).numpy(), ref, rtol=1e-7, atol=1e-8)
    # wide is exactly A.T diag(2x)
    np.testing.assert_allclose(ag.jacfwd(wide)(x5).numpy(), A.T * (2 * x5), rtol=1e-14)


@pytest.mark.parametrize("transform", [ag.jacrev, ag.jacfwd])
def test_jacrev_jacfwd_argnums_has_aux_and_kwargs(transform):
    f = lambda x, y, scale=1.0: (ag.sin(x) * y.sum() * scale, x * 2)  # noqa: E731
    (jx, jy), aux = transform(f, argnums=(0, 1), has_aux=True)(X3, Y2, scale=2.0)
    np.testing.assert_allclose(jx.numpy(), np.diag(np.cos(X3)) * Y2.sum() * 2.0, rtol=1e-14)
    np.testing.assert_allclose(jy.numpy(), np.outer(np.sin(X3), np.ones(2)) * 2.0, rtol=1e-14)
    np.testing.assert_array_equal(aux.numpy(), X3 * 2)
    assert not aux.requires_grad
    # an int argnums gives one Jacobian; a negative one counts from the end
    jy1, _ = transform(f, argnums=-1, has_aux=True)(X3, Y2)
    np.testing.assert_allclose(jy1.numpy(), jy.numpy() / 2.0, rtol=1e-14)
    ref = fd_jacobian(lambda b: np.sin(X3) * b.sum(), Y2)
    np.testing.assert_allclose(jy1.numpy(), ref, rtol=1e-7, atol=1e-8)
    # a repeated argnum gives equal Jacobians in separate memory
    ja, jb = transform(lambda x, y: x * y, argnums=(1, 1))(X3, X3)
    np.testing.assert_array_equal(ja.numpy(), jb.numpy())
    ja.numpy()[...] = 0
    assert np.any(jb.numpy() != 0)
    # every keyword reaches f, jacobian's own names included
    j = transform(lambda x, mode, argnums: x * mode * argnums)(X3, mode=2.0, argnums=3.0)
    np.testing.assert_allclose(j.numpy(), np.eye(3) * 6.0, rtol=1e-14)


@pytest.mark.parametrize("transform, name", [(ag.jacrev, "jacrev"), (ag.jacfwd, "jacfwd")])
def test_jacrev_jacfwd_bad_arguments_name_the_function(transform, name):
    with pytest.raises(TypeError, match=f"{name}: f must be callable, got int"):
        transform(3)
    for bad in ("0", 1.5, (0, "1"), None):
        with pytest.raises(TypeError, match=f"{name}: argnums must be an int or a tuple of ints"):
            transform(_f1, argnums=bad)
    with pytest.raises(ValueError, match=f"{name}: argnums must not be empty"):
        transform(_f1, argnums=())
    with pytest.raises(ValueError, match=f"{name}: argnums 2 out of range for 1 positional"):
        transform(_f1, argnums=2)(X3)
    with pytest.raises(TypeError, match=f"{name}: needs at least one argument"):
        transform(_f1)()
    with pytest.raises(TypeError, match=f"{name}: the function returned a tuple"):
        transform(lambda x: (x, x))(X3)
    with pytest.raises(TypeError, match=f"{name}: argument 0 must be a real numeric"):
        transform(_f1)("abc")
    assert transform(_f1).__name__ == f"{name}(_f1)"


def test_the_transforms_name_themselves_when_f_is_not_callable():
    for call, name in ((lambda: ag.grad(None), "grad"), (lambda: ag.value_and_grad(1.0), "grad"),
                       (lambda: ag.vjp(3, X3), "vjp"), (lambda: ag.jvp(3, (X3,), (X3,)), "jvp"),
                       (lambda: ag.jacobian(3, X3), "jacobian"),
                       (lambda: ag.hessian("f", X3), "hessian")):
        with pytest.raises(TypeError, match=f"^{name}: f must be callable"):
            call()


# ------------------------------------------------------------------------------ nested, edges
@pytest.mark.parametrize("outer", [ag.jacfwd, ag.jacrev])
@pytest.mark.parametrize("inner", [ag.jacfwd, ag.jacrev])
def test_jacobian_of_jacobian_is_the_hessian(outer, inner):
    H = outer(inner(g_ag))(X3).numpy()
    np.testing.assert_allclose(H, ag.hessian(g_ag, X3).numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(H, fd_hessian(g_np, X3), rtol=1e-4, atol=1e-4)
    # and of the gradient
    np.testing.assert_allclose(outer(ag.grad(g_ag))(X3).numpy(), H, rtol=1e-13, atol=1e-13)


def test_nested_jacobian_of_a_function_that_ignores_its_input_is_zeros():
    # the inner (nested) jacobian used to raise "output 0 does not require grad"
    const = lambda x: _t(np.ones(2))  # noqa: E731
    for outer in (ag.jacfwd, ag.jacrev):
        for inner in (ag.jacfwd, ag.jacrev):
            J = outer(inner(const))(X3)
            assert J.shape == (2, 3, 3)
            np.testing.assert_array_equal(J.numpy(), 0)
    g = ag.grad(lambda x: ag.jacobian(const, x).sum())(X3)
    np.testing.assert_array_equal(g.numpy(), np.zeros(3))
    out, tan = ag.jvp(lambda x: ag.jacobian(const, x), (X3,), (np.ones(3),))
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(tan.numpy(), np.zeros((2, 3)))
    # only part of the output depends on x: that part's rows are not lost
    part = lambda x: ag.stack([x[0] * x[1], _t(1.0)])  # noqa: E731
    H = ag.jacfwd(ag.jacrev(part))(np.array([2.0, 3.0])).numpy()
    np.testing.assert_array_equal(H, [[[0.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])


def test_edge_inputs_0d_empty_and_integer():
    cube = lambda x: x ** 3  # noqa: E731
    for t in (ag.jacrev, ag.jacfwd):
        assert float(t(cube)(2.0)) == 12.0          # 0-d: exact 3 x^2
        assert float(t(t(cube))(2.0)) == 12.0       # exact 6 x
        e = t(lambda x: x * 2)(np.zeros((0, 2)))
        assert e.shape == (0, 2, 0, 2)
        j = t(lambda x: x * x)(np.array([1, 2]))   # integers differentiate as float64
        assert j.dtype == np.float64
        np.testing.assert_array_equal(j.numpy(), [[2.0, 0.0], [0.0, 4.0]])
    assert float(ag.hvp(cube, 2.0, 1.0)) == 12.0
    assert ag.hvp(lambda x: (x * x).sum(), np.zeros(0), np.zeros(0)).shape == (0,)
    np.testing.assert_array_equal(ag.hvp(lambda x: (x ** 3).sum(), np.array([1, 2]),
                                         np.array([1, 1])).numpy(), [6.0, 12.0])


def test_second_order_stays_importable_where_it_was():
    import autograd_c.functional as F
    from autograd_c import _second_order
    assert F.hessian is ag.hessian is _second_order.hessian
    assert F.hvp is ag.hvp is _second_order.hvp
    assert F.jacrev is ag.jacrev and F.jacfwd is ag.jacfwd
    assert {"jacrev", "jacfwd", "hessian", "hvp"} <= set(F.__all__) and "jacrev" in ag.__all__
