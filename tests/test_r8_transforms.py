"""Round 8 review of the function transforms, gradcheck and linalg (regressions for what it found)."""
import warnings

import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_jacobian

L = ag.linalg


def _t(a):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype="float64")


def _spd(rs, *batch, n=3):
    a = rs.randn(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# ------------------------------------------------------------------ cholesky: both modes agree
@pytest.mark.parametrize("batch", [(), (2,)])
def test_cholesky_forward_and_reverse_jacobians_agree(batch):
    # regression: the JVP pushed the raw tangent through while the VJP symmetrised the
    # gradient, so jacobian(cholesky) depended on the mode (max difference 0.36 here) and
    # "auto" gave one or the other depending on sizes
    s = _spd(np.random.RandomState(3), *batch)
    jf = ag.jacobian(L.cholesky, s, mode="forward").numpy()
    jr = ag.jacobian(L.cholesky, s, mode="reverse").numpy()
    np.testing.assert_allclose(jf, jr, rtol=1e-10, atol=1e-12)
    # both are the derivative along symmetric directions (the function of a symmetric matrix),
    # checked against central differences of numpy's cholesky
    n = s.shape[-1]
    for i, j in [(0, 0), (2, 0), (1, 2)]:
        e = np.zeros((n, n))
        e[i, j] = e[j, i] = 1.0
        e = np.broadcast_to(e, s.shape)
        fd = fd_jacobian(lambda h: np.linalg.cholesky(s + h * e), 0.0)
        got = np.tensordot(jf, e, axes=s.ndim)
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_cholesky_jvp_of_an_upper_triangle_tangent_is_half_the_symmetric_one():
    # the forward reads the lower triangle; a tangent on the upper triangle alone used to move L
    # as if the lower one had moved (it gave the full symmetric derivative to each half)
    s = _spd(np.random.RandomState(4))
    up = np.zeros((3, 3))
    up[0, 2] = 1.0
    both = up + up.T
    _, t_up = ag.jvp(L.cholesky, (s,), (up,))
    _, t_both = ag.jvp(L.cholesky, (s,), (both,))
    np.testing.assert_allclose(t_up.numpy(), 0.5 * t_both.numpy(), rtol=1e-12, atol=1e-14)
    # and the VJP is the adjoint of the JVP: <G, J t> == <J^T G, t> for any t
    g = np.random.RandomState(5).randn(3, 3)
    t = np.random.RandomState(6).randn(3, 3)
    _, jt = ag.jvp(L.cholesky, (s,), (t,))
    _, back = ag.vjp(L.cholesky, s)
    (jtg,) = back(g)
    assert abs(np.sum(g * jt.numpy()) - np.sum(jtg.numpy() * t)) < 1e-10


def test_cholesky_hessian_matches_finite_differences_of_its_gradient():
    s = _spd(np.random.RandomState(7))
    f = lambda a: (L.cholesky(a) ** 3).sum()  # noqa: E731
    h = ag.hessian(f, s).numpy()
    # forward-over-reverse (the hessian) and reverse-over-reverse (jacobian of grad) agree
    hr = ag.jacobian(ag.grad(f), s, mode="reverse").numpy()
    np.testing.assert_allclose(h, hr, rtol=1e-9, atol=1e-10)
    ref = fd_jacobian(lambda a: ag.grad(f)(a).numpy(), s)
    # symmetric directions only: contract both sides with a symmetric perturbation
    e = np.zeros((3, 3))
    e[1, 0] = e[0, 1] = 1.0
    np.testing.assert_allclose(np.tensordot(h, e, 2), np.tensordot(ref, e, 2), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ slogdet: one factorisation
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_slogdet_sign_and_log_come_from_one_factorisation(dtype):
    rs = np.random.RandomState(8)
    a = rs.randn(2, 3, 4, 4).astype(dtype)
    a[0, 1] = 0.0                     # singular: (0, -inf)
    a[1, 2, :, 0] = np.nan            # NaN: (nan, nan)
    s, l = L.slogdet(a)
    with np.errstate(invalid="ignore"):
        ns, nl = np.linalg.slogdet(a.astype(np.float64))
    assert s.dtype == dtype and l.dtype == dtype and s.shape == l.shape == (2, 3)
    # NaN in: (nan, nan), as documented (numpy's sign there depends on its LAPACK)
    assert np.isnan(s.numpy()[1, 2]) and np.isnan(l.numpy()[1, 2])
    ns[1, 2] = nl[1, 2] = np.nan
    np.testing.assert_array_equal(s.numpy(), ns.astype(dtype))
    np.testing.assert_allclose(l.numpy(), nl.astype(dtype), rtol=1e-5 if dtype == np.float32 else 1e-12)
    # the sign is outside the graph; log|det| differentiates to inv(a)^T
    x = ag.tensor(np.eye(3) * [2.0, -1.0, 0.5], dtype="float64", requires_grad=True)
    s, l = L.slogdet(x)
    assert not s.requires_grad and l.requires_grad and float(s) == -1.0
    l.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.diag([0.5, -1.0, 2.0]), rtol=1e-14)


def test_slogdet_sign_of_a_recorded_and_forward_mode_call():
    a = np.array([[0.0, 2.0], [3.0, 1.0]])
    s, l = L.slogdet(ag.tensor(a, dtype="float64", requires_grad=True))
    assert float(s) == -1.0 and abs(float(l) - np.log(6.0)) < 1e-14
    # inside jvp (the tangent is computed after the forward) the sign is still the forward's
    out, t = ag.jvp(lambda m: L.slogdet(m)[0] * L.slogdet(m)[1], (a,), (np.eye(2),))
    assert abs(float(out) + np.log(6.0)) < 1e-14
    # d log|det| along I is tr(inv(a)); the sign has zero derivative
    assert abs(float(t) + np.trace(np.linalg.inv(a))) < 1e-14


def test_slogdet_errors_still_name_the_shape():
    with pytest.raises(ValueError, match=r"slogdet: expected a square matrix.*\(2, 3\)"):
        L.slogdet(np.ones((2, 3)))


# ------------------------------------------------------------------ argnums
@pytest.mark.parametrize("transform", ["grad", "jacobian"])
@pytest.mark.parametrize("bad", ["0", (0.0,), [1.5], ("a", 0)])
def test_argnums_of_a_wrong_type_is_a_type_error(transform, bad):
    # regression: a string or float argnums was reported as "out of range" (ValueError)
    x = np.array([1.0, 2.0])
    f = lambda a: (a * a).sum()  # noqa: E731
    with pytest.raises(TypeError, match="argnums must be an int or a tuple of ints"):
        if transform == "grad":
            ag.grad(f, argnums=bad)(x)
        else:
            ag.jacobian(f, x, argnums=bad)


def test_argnums_negative_tuple_and_out_of_range():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    f = lambda a, b: (a * b ** 2).sum()  # noqa: E731
    np.testing.assert_array_equal(ag.grad(f, argnums=-1)(x, y).numpy(), 2 * x * y)
    ga, gb = ag.grad(f, argnums=(1, -2))(x, y)
    np.testing.assert_array_equal(ga.numpy(), 2 * x * y)
    np.testing.assert_array_equal(gb.numpy(), y ** 2)
    with pytest.raises(ValueError, match="argnums -3 out of range for 2 positional arguments"):
        ag.grad(f, argnums=-3)(x, y)


# ------------------------------------------------------------------ gradcheck
def _doubled_second_input(a, b):
    """(a * b^2).sum() whose gradient for b[1, 1] is scaled by 1.5 by a hook (a wrong rule)."""
    y = b * 1.0
    if y.requires_grad:
        y.register_hook(lambda g: g * np.array([[1.0, 1.0], [1.0, 1.5]]))
    return (a * y * y)


def test_gradcheck_checks_every_output_element_of_a_non_scalar_function():
    # as torch.autograd.gradcheck: a function with a tensor output is checked Jacobian-wise
    x = np.array([[0.1, -0.4], [0.3, 0.7]])
    assert ag.gradcheck(lambda t: ag.tanh(t) * t, (x,))
    assert ag.gradcheck(lambda a, b: L.solve(a, b), (x + 2 * np.eye(2), x))
    with pytest.raises(ag.GradcheckError,
                       match=r"output \(1, 1\), input 1, index \(1, 1\): analytic gradient "):
        ag.gradcheck(_doubled_second_input, (x, x + 1))


def test_gradcheck_scalar_wrong_gradient_names_input_and_index():
    x = np.array([[0.1, -0.4], [0.3, 0.7]])
    with pytest.raises(ag.GradcheckError, match=r"^gradcheck: input 1, index \(1, 1\): analytic "
                                                r"gradient 3.57 != numerical 2.37999"):
        ag.gradcheck(lambda a, b: _doubled_second_input(a, b).sum(), (x, x + 1))


def test_gradcheck_raise_exception_false_returns_false():
    x = np.array([[0.1, -0.4], [0.3, 0.7]])
    assert ag.gradcheck(lambda a, b: _doubled_second_input(a, b).sum(), (x, x + 1),
                        raise_exception=False) is False
    assert ag.gradcheck(lambda a: (a ** 3).sum(), (x,), raise_exception=False) is True


def test_gradcheck_warns_that_float32_inputs_are_checked_in_float64():
    x = np.array([1.0, 2.0], dtype=np.float32)
    with pytest.warns(UserWarning, match="input 0 is float32.*float64 copy"):
        assert ag.gradcheck(lambda t: (t ** 3).sum(), (x,))
    with pytest.warns(UserWarning, match="input 1 is float32"):
        assert ag.gradcheck(lambda a, b: (a * b).sum(), (x.astype(np.float64), ag.tensor(x, dtype="float32")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # float64, integer and list inputs: nothing to say
        assert ag.gradcheck(lambda a, b, c: (a * b * c).sum(), (x.astype(np.float64), [1, 2], np.array([3, 4])))


def test_gradcheck_non_scalar_output_errors():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="gradcheck: f must return a tensor, got NoneType"):
        ag.gradcheck(lambda t: None, (x,))
    # a constant output has a zero Jacobian on both sides
    assert ag.gradcheck(lambda t: _t(np.ones(3)), (x,))
    with pytest.raises(ag.GradcheckError, match=r"output \(0,\), input 0, index \(0,\).*does not "
                                                "depend on this input in the graph"):
        ag.gradcheck(lambda t: _t(t.numpy() * 2), (x,))


# ------------------------------------------------------------------ linalg Jacobians vs FD
_rs = np.random.RandomState(11)
_A = _rs.randn(2, 3, 3) + 3 * np.eye(3)
_B = _rs.randn(3, 2)


@pytest.mark.parametrize("name,f,x", [
    ("inv", L.inv, _A),
    ("det", L.det, _A),
    ("slogdet", lambda a: L.slogdet(a)[1], _A),
    ("solve_a", lambda a: L.solve(a, _t(_B)), _A),
    ("solve_b", lambda b: L.solve(_t(_A), b), _B),
    ("solve_vec", lambda b: L.solve(_t(_A), b), _B[:, 0]),
])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_linalg_batched_jacobians_match_finite_differences(name, f, x, mode):
    ref = fd_jacobian(lambda v: f(_t(v)).numpy(), x)
    got = ag.jacobian(f, x, mode=mode).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
