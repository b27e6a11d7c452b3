"""Audit of the function transforms (grad, vjp, jvp, jacobian, hessian, hvp) and gradcheck:
regressions for the bugs found, checked against central finite differences and closed forms."""
import gc

import numpy as np
import pytest

import autograd_c as ag

EPS = np.finfo(np.float64).eps ** (1.0 / 3.0)


def fd(h, x0):
    """Central-difference Jacobian of h at x0 (float64), shape out.shape + x0.shape."""
    x0 = np.asarray(x0, dtype=np.float64)
    cols = []
    for e in np.eye(x0.size):
        step = e.reshape(x0.shape) * EPS
        hp = np.asarray(h(ag.tensor(x0 + step, dtype="float64")))
        hm = np.asarray(h(ag.tensor(x0 - step, dtype="float64")))
        cols.append((hp - hm) / (2 * EPS))
    return np.stack(cols, -1).reshape(np.shape(cols[0]) + x0.shape)


X0 = np.array([0.5, -1.0, 2.0])
A = np.arange(9.0).reshape(3, 3) - 4.0


# ------------------------------------------------------------------ tuple / list outputs
@pytest.mark.parametrize("call", [
    lambda f: ag.jacobian(f, X0, mode="forward"),
    lambda f: ag.jacobian(f, X0, mode="reverse"),
    lambda f: ag.jacobian(f, X0),
    lambda f: ag.vjp(f, X0),
    lambda f: ag.jvp(f, (X0,), (np.ones(3),)),
    lambda f: ag.hessian(lambda x: (f(x)[0].sum(),), X0),
    lambda f: ag.grad(lambda x: [f(x)[0].sum()])(X0),
], ids=["jacf", "jacr", "jaca", "vjp", "jvp", "hessian", "grad"])
def test_a_tuple_output_is_refused_not_turned_into_a_constant(call):
    # regression: numpy stacked the returned tensors into a constant array, and every
    # derivative (Jacobian, vjp, jvp tangent, Hessian, gradient) came back as silent zeros
    f = lambda x: (x * x, 2 * x)  # noqa: E731
    with pytest.raises(TypeError, match="returned a (tuple|list) of"):
        call(f)


def test_grad_of_a_pair_without_has_aux_names_has_aux():
    with pytest.raises(TypeError, match="has_aux"):
        ag.grad(lambda x: ((x * x).sum(), x))(X0)


# ------------------------------------------------------------------ vjp_fn as a function of u
def test_vjp_fn_is_differentiable_in_the_cotangent():
    # regression: vjp_fn(u) = J^T u is linear in u, but a grad or a reverse-mode jacobian of
    # vjp_fn (created outside them) saw no dependence on u and returned zeros
    f = lambda t: ag.tensor(A, dtype="float64") @ (t * t)  # noqa: E731
    _, back = ag.vjp(f, X0)
    JT = (A * 2 * X0).T                      # J = A diag(2 x)
    u0 = np.array([0.3, -0.7, 1.1])
    for mode in ("reverse", "forward", "auto"):
        got = ag.jacobian(lambda u: back(u)[0], u0, mode=mode).numpy()
        np.testing.assert_allclose(got, JT, rtol=1e-14, err_msg=mode)
    g = ag.grad(lambda u: (back(u)[0] ** 2).sum())(u0).numpy()
    np.testing.assert_allclose(g, 2 * JT.T @ (JT @ u0), rtol=1e-13)
    np.testing.assert_allclose(g, fd(lambda u: (back(u)[0] ** 2).sum(), u0), rtol=1e-7)
    # and a cotangent that requires grad is differentiated by backward
    u = ag.tensor(u0, dtype="float64", requires_grad=True)
    back(u)[0].sum().backward()
    np.testing.assert_allclose(u.grad.numpy(), JT.sum(0), rtol=1e-14)


# ------------------------------------------------------------------ jacobian dtype
@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_dtype_does_not_depend_on_the_mode(mode):
    # regression: float32 input and float64 output gave a float64 Jacobian in forward mode and
    # a float32 one in reverse mode (and auto switched between them with the shapes); the
    # Jacobian now has the promoted dtype in every mode
    x32 = X0.astype(np.float32)
    J = ag.jacobian(lambda t: t.astype("float64") * 2, x32, mode=mode)
    assert J.dtype == np.float64
    np.testing.assert_array_equal(J.numpy(), 2 * np.eye(3))
    J = ag.jacobian(lambda t: t.astype("float32") * 2, X0, mode=mode)
    assert J.dtype == np.float64
    Ja, Jb = ag.jacobian(lambda a, b: a.astype("float64") * b, x32, X0, argnums=(0, 1), mode=mode)
    assert Ja.dtype == Jb.dtype == np.float64
    np.testing.assert_allclose(Ja.numpy(), np.diag(X0), rtol=1e-7)
    np.testing.assert_allclose(Jb.numpy(), np.diag(x32.astype(np.float64)), rtol=0)
    J = ag.jacobian(lambda t: t * t, x32, mode=mode)
    assert J.dtype == np.float32
    np.testing.assert_allclose(J.numpy(), np.diag(2 * X0), rtol=1e-6)


# ------------------------------------------------------------------ argnums and keywords
def test_argnums_accepts_numpy_integers_and_checks_its_type():
    # regression: argnums=np.int64(1) raised "'numpy.int64' object is not iterable"
    f = lambda a, b: (a * b * b).sum()  # noqa: E731
    a, b = np.array([1.0, 2.0]), np.array([3.0, -4.0])
    np.testing.assert_array_equal(ag.grad(f, argnums=np.int64(1))(a, b).numpy(), 2 * a * b)
    np.testing.assert_array_equal(ag.grad(f, argnums=-1)(a, b).numpy(), 2 * a * b)
    ga, gb = ag.grad(f, argnums=(np.int32(0), -1))(a, b)
    np.testing.assert_array_equal(ga.numpy(), b * b)
    np.testing.assert_array_equal(gb.numpy(), 2 * a * b)
    J = ag.jacobian(lambda a, b: a * b, a, b, argnums=np.int64(0))
    np.testing.assert_array_equal(J.numpy(), np.diag(b))
    with pytest.raises(TypeError, match="argnums must be an int or a tuple"):
        ag.grad(f, argnums=1.0)(a, b)
    with pytest.raises(ValueError, match="out of range"):
        ag.grad(f, argnums=(0, 2))(a, b)
    with pytest.raises(ValueError, match="out of range"):
        ag.grad(f, argnums=-3)(a, b)


def test_grad_passes_keyword_arguments_through():
    # regression: grad(f)(x, scale=2.0) raised "unexpected keyword argument" (JAX and
    # torch.func pass keywords to f, undifferentiated)
    f = lambda x, scale=1.0: (scale * x ** 3).sum()  # noqa: E731
    np.testing.assert_array_equal(ag.grad(f)(X0, scale=2.0).numpy(), 6 * X0 ** 2)
    (v, g) = ag.value_and_grad(f)(X0, scale=ag.tensor(0.5, dtype="float64"))
    assert v.item() == 0.5 * (X0 ** 3).sum()
    np.testing.assert_array_equal(g.numpy(), 1.5 * X0 ** 2)
    # a keyword tensor that an outer transform differentiates is seen through
    d = ag.grad(lambda s: ag.grad(f)(X0, scale=s).sum())(2.0)
    np.testing.assert_allclose(d.item(), (3 * X0 ** 2).sum(), rtol=1e-15)


# ------------------------------------------------------------------ tensors that require grad
def _penalties(x):
    f = lambda u: (u ** 3).sum()  # noqa: E731
    v = np.array([1.0, 0.5, -2.0])
    return {
        "grad": (lambda: ag.grad(f)(x).sum(), 6 * X0),
        "hessian": (lambda: ag.hessian(f, x).sum(), np.full(3, 6.0)),
        "hvp": (lambda: ag.hvp(f, x, v).sum(), 6 * v),
        "jacobian_reverse": (lambda: ag.jacobian(lambda u: u ** 3, x, mode="reverse").sum(), 6 * X0),
        "jacobian_forward": (lambda: ag.jacobian(lambda u: u ** 3, x, mode="forward").sum(), 6 * X0),
        "jacobian_auto": (lambda: ag.jacobian(lambda u: u ** 3, x).sum(), 6 * X0),
        "jvp": (lambda: ag.jvp(lambda u: u ** 3, (x,), (v,))[1].sum(), 6 * X0 * v),
        "jvp_value": (lambda: ag.jvp(lambda u: u ** 3, (x,), (v,))[0].sum(), 3 * X0 ** 2),
        "vjp": (lambda: ag.vjp(lambda u: u ** 3, x)[1](v)[0].sum(), 6 * X0 * v),
    }


@pytest.mark.parametrize("name", sorted(_penalties(None)))
def test_transforms_of_a_tensor_that_requires_grad_stay_in_its_graph(name):
    # regression: grad and vjp of a tensor that requires grad returned results that backward
    # differentiates (as torch.func does), but hessian, hvp, jacobian and jvp returned
    # detached results: backward raised, or a loss adding them silently lost their gradient
    x = ag.tensor(X0, dtype="float64", requires_grad=True)
    call, exact = _penalties(x)[name]
    out = call()
    assert out.requires_grad
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), exact, rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), fd(lambda t: _penalties(t)[name][0](), X0),
                               rtol=1e-6, atol=1e-8)


def test_transforms_leave_the_grad_of_their_inputs_alone():
    x = ag.tensor(X0, dtype="float64", requires_grad=True)
    x.grad = ag.tensor([7.0, 7.0, 7.0], dtype="float64")
    for call, _ in _penalties(x).values():
        call()
    ag.gradcheck(lambda t: (t ** 3).sum(), (x,))
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0, 7.0])


# ------------------------------------------------------------------ leaks
def test_transforms_leave_no_live_tensors_or_nodes():
    V = np.array([1.0, -2.0, 0.5])
    nf = lambda x: (x ** 3).sum() * x[0] + ag.sin(x[0] * x[1])  # noqa: E731
    ng = lambda x: ag.stack([x[0] * x[1] ** 2, ag.sin(x[0]) * x[1] ** 2])  # noqa: E731
    lin = ag.nn.Linear(3, 2, activation="tanh", dtype="float64")
    calls = [
        lambda: ag.grad(nf)(X0),
        lambda: ag.vjp(ng, X0)[1](np.ones(2)),
        lambda: ag.jvp(ng, (X0,), (V,)),
        lambda: ag.jacobian(ng, X0, mode="forward"),
        lambda: ag.jacobian(ng, X0, mode="reverse"),
        lambda: ag.hessian(nf, X0),
        lambda: ag.hvp(nf, X0, V),
        lambda: ag.jacobian(lambda t: ag.hessian(nf, t), X0),
        lambda: ag.jvp(lambda t: ag.jvp(ag.grad(nf), (t,), (V,))[1], (X0,), (V,)),
        lambda: ag.hessian(lambda t: lin(t).sum(), X0),
        lambda: ag.jacobian(lambda u: ag.vjp(ng, X0)[1](u)[0], np.ones(2)),
        lambda: ag.gradcheck(nf, (X0,)),
    ]
    for k, call in enumerate(calls):
        gc.collect()
        before = ag.live_tensors(), ag.live_nodes()
        for _ in range(2):
            call()
        gc.collect()
        assert (ag.live_tensors(), ag.live_nodes()) == before, k


# ------------------------------------------------------------------ tensors the function closes over
def _closure_raw(w, x=X0):
    """name -> (the transform's raw result, a scalar reduction of it)"""
    v = np.array([1.0, 0.5, -2.0])
    f = lambda u: (w * u ** 3).sum() + ag.sin(u[0] * w[1])  # noqa: E731
    g = lambda u: ag.stack([(w * u ** 2).sum(), ag.sin(w[0] * u[2])])  # noqa: E731
    total = lambda r: r.sum()  # noqa: E731
    square = lambda r: (r ** 2).sum()  # noqa: E731
    return {
        "grad": (lambda: ag.grad(f)(x), total),
        "value_and_grad_value": (lambda: ag.value_and_grad(f)(x)[0], total),
        "hessian": (lambda: ag.hessian(f, x),
                    lambda r: (r * ag.tensor(np.outer(v, X0), dtype="float64")).sum()),
        "hvp": (lambda: ag.hvp(f, x, v), total),
        "jacobian_reverse": (lambda: ag.jacobian(g, x, mode="reverse"), square),
        "jacobian_forward": (lambda: ag.jacobian(g, x, mode="forward"), square),
        "jacobian_auto": (lambda: ag.jacobian(g, x), square),
        "jvp": (lambda: ag.jvp(g, (x,), (v,))[1], total),
        "jvp_value": (lambda: ag.jvp(g, (x,), (v,))[0], total),
        "vjp": (lambda: ag.vjp(g, x)[1](np.array([0.3, -1.2]))[0], total),
        "vjp_value": (lambda: ag.vjp(g, x)[0], total),
    }


def _closure_calls(w, x=X0):
    return {k: (lambda c=c, r=r: r(c())) for k, (c, r) in _closure_raw(w, x).items()}


@pytest.mark.parametrize("name", sorted(_closure_calls(None)))
def test_transforms_of_a_function_closing_over_a_tensor_that_requires_grad(name):
    # regression: every transform returned a result detached from the tensors that f closes
    # over (a module's parameters): a gradient penalty such as (grad(D)(x) ** 2).sum() added to
    # a loss contributed nothing to the parameters' gradients, silently.  As in torch.func, the
    # result now stays in their graph.
    w0 = np.array([0.7, -1.3, 0.4])
    w = ag.tensor(w0, dtype="float64", requires_grad=True)
    out = _closure_calls(w)[name]()
    assert out.requires_grad
    out.backward()
    ref = fd(lambda t: _closure_calls(t)[name](), w0)
    np.testing.assert_allclose(w.grad.numpy(), ref, rtol=1e-6, atol=1e-8)


def test_gradient_penalty_through_an_nn_linear_reaches_its_parameters():
    r = np.random.default_rng(5)
    x = r.standard_normal((4, 3))
    for act in ("tanh", "gelu", "elu", "sigmoid"):
        lin = ag.nn.Linear(3, 2, activation=act, dtype="float64")
        b0 = lin.bias.numpy().copy()
        penalty = (ag.grad(lambda u: lin(u).sum())(x) ** 2).sum()
        penalty.backward()
        act_fn = {"tanh": ag.tanh, "gelu": ag.gelu, "elu": ag.elu, "sigmoid": ag.sigmoid}[act]

        def ref_penalty(W):
            f = lambda u: act_fn(u @ W.T + ag.tensor(b0, dtype="float64")).sum()  # noqa: E731
            return (ag.grad(f)(x) ** 2).sum()
        np.testing.assert_allclose(lin.weight.grad.numpy(), fd(ref_penalty, lin.weight.numpy()),
                                   rtol=1e-6, atol=1e-8, err_msg=act)


# ------------------------------------------------------------------ gradcheck and numerical_grad
def test_gradcheck_reports_a_function_that_cuts_the_graph_as_a_mismatch():
    # regression: an output that does not depend on the inputs in the graph (computed through
    # numpy here) made gradcheck raise the sweep's RuntimeError "output 0 does not require
    # grad" instead of reporting the wrong (zero) gradient; a truly constant function passes
    x = np.array([0.3, -1.2])
    through_numpy = lambda t: ag.tensor(np.sin(np.asarray(t)), dtype="float64").sum()  # noqa: E731
    with pytest.raises(ag.GradcheckError, match=r"analytic gradient 0.0 != numerical 0.955.*"
                                                r"does not depend on this input"):
        ag.gradcheck(through_numpy, (x,))
    assert ag.gradcheck(lambda t: ag.tensor(2.5, dtype="float64"), (x,))
    # a wrong custom rule (half of the gradient cut by detach) fails, naming input and index
    with pytest.raises(ag.GradcheckError, match=r"input 1, index \(0,\): analytic gradient 0.09 != numerical 0.1799"):
        ag.gradcheck(lambda a, b: (a * b * b.detach()).sum(), (x, x))
    assert ag.gradcheck(lambda a, b: (a * b * b).sum(), (x, x))


def test_gradcheck_errors_name_what_f_returned_and_explain_float32():
    x = np.array([1.0, 2.0])
    # a tensor output of any shape is checked element by element (round 8, as torch)
    assert ag.gradcheck(lambda t: t * 2, (x,))
    with pytest.raises(TypeError, match="must return a tensor, got int"):
        ag.gradcheck(lambda t: 3, (x,))
    # float32 inputs are checked in float64 (the documented behaviour, with a warning) ...
    with pytest.warns(UserWarning, match="float32"):
        assert ag.gradcheck(lambda t: (t ** 3).sum(), (x.astype(np.float32),))
    # ... but a function that computes in float32 cannot pass: the message says why
    with pytest.raises(ag.GradcheckError, match="f returns float32"):
        ag.gradcheck(lambda t: (t.astype("float32") ** 3).sum(), (x,))


def test_numerical_grad_refuses_a_function_that_returns_none():
    # regression: None became NaN, and the "gradient" was silently [nan, nan]
    with pytest.raises(TypeError, match="must return a scalar, got NoneType"):
        ag.numerical_grad(lambda t: None, np.array([1.0, 2.0]))
    g = ag.numerical_grad(lambda a, b: (a * b * b).sum(), np.array([1.0, 2.0]), np.array([3, -1]))
    np.testing.assert_allclose(g[0], [9.0, 1.0], rtol=1e-9)
    np.testing.assert_allclose(g[1], [6.0, -4.0], rtol=1e-9)


def test_has_aux_tensors_come_back_outside_the_graph():
    # regression: the aux tensors kept the graph of the evaluation alive (value was detached,
    # aux was not): logits kept for a metric held every step's graph
    x = np.array([1.0, -2.0, 0.5])
    f = lambda t: ((t ** 2).sum(), {"pair": (t * 3, ag.sin(t)), "n": 4})  # noqa: E731
    gc.collect()
    nodes = ag.live_nodes()
    kept = [ag.value_and_grad(f, has_aux=True)(x) for _ in range(3)]
    gc.collect()
    assert ag.live_nodes() == nodes
    (v, aux), g = kept[-1]
    assert aux["n"] == 4 and not aux["pair"][0].requires_grad and not aux["pair"][1].requires_grad
    np.testing.assert_array_equal(aux["pair"][0].numpy(), 3 * x)
    np.testing.assert_array_equal(g.numpy(), 2 * x)
    g2, aux2 = ag.grad(f, has_aux=True)(x)
    assert not aux2["pair"][0].requires_grad
    # nested in another transform, aux stays differentiable (its own derivative is exact)
    d = ag.grad(lambda t: ag.grad(f, has_aux=True)(t)[1]["pair"][0].sum())(x)
    np.testing.assert_array_equal(d.numpy(), [3.0, 3.0, 3.0])


def test_gradcheck_compares_at_the_given_point_when_f_modifies_its_argument():
    # regression: the finite differences were taken at the arguments after f had run, so a
    # function that shifts its argument in place (under no_grad) failed a correct gradient
    def f(t):
        with ag.no_grad():
            t += 1.0
        return (t * t).sum()
    x = np.array([1.0, 2.0])
    assert ag.gradcheck(f, (x,))
    np.testing.assert_array_equal(x, [1.0, 2.0])
    np.testing.assert_allclose(ag.numerical_grad(f, x), 2 * (x + 1), rtol=1e-9)


def test_non_real_inputs_errors_name_the_transform_and_the_argument():
    # regression: "expected a numeric array, tensor or float, got ndarray" (no transform, no
    # argument, no dtype), or the core's "tensor: complex data is not supported"
    c, x = np.ones(3, dtype=complex), np.ones(3)
    cases = [
        (lambda: ag.grad(lambda a, b: b.sum(), argnums=1)(x, c), r"grad: argument 1 .* complex128"),
        (lambda: ag.vjp(lambda a: a, x)[1](c), r"vjp: the cotangent .* complex128"),
        (lambda: ag.vjp(lambda a, b: a, x, "ab"), r"vjp: primal 1 .* got str"),
        (lambda: ag.jvp(lambda a: a, (x,), (c,)), r"jvp: tangent 0 .* complex128"),
        (lambda: ag.jvp(lambda a: a, (None,), (x,)), r"jvp: primal 0 .* got NoneType"),
        (lambda: ag.jacobian(lambda a, b: b, x, c, argnums=1, mode="forward"), r"jacobian: argument 1 .* complex"),
        (lambda: ag.jacobian(lambda a: a, c, mode="reverse"), r"jacobian: argument 0 .* complex"),
        (lambda: ag.hessian(lambda a: a.sum(), c), r"hessian: argument 0 .* complex128"),
        (lambda: ag.hvp(lambda a: a.sum(), x, c), r"hvp: v .* complex128"),
    ]
    for call, msg in cases:
        with pytest.raises(TypeError, match=msg):
            call()
    # an argument that is not differentiated is passed through as it is
    assert ag.grad(lambda a, name: a.sum() if name == "s" else None)(x, "s").numpy().tolist() == [1.0] * 3


@pytest.mark.parametrize("name", sorted(_closure_raw(None)))
def test_under_no_grad_the_closure_case_gives_the_same_values_outside_the_graph(name):
    # the caller's no_grad() does not change a transform's values, but (as for any op) the
    # result is not linked to the tensors f closes over (or to x), and keeps no graph alive
    w0 = np.array([0.7, -1.3, 0.4])
    w = ag.tensor(w0, dtype="float64", requires_grad=True)
    x = ag.tensor(X0, dtype="float64", requires_grad=True)
    ref = _closure_raw(ag.tensor(w0, dtype="float64"))[name][0]().numpy()
    gc.collect()
    nodes = ag.live_nodes()
    with ag.no_grad():
        out = _closure_raw(w, x)[name][0]()
    gc.collect()
    assert not out.requires_grad and ag.live_nodes() == nodes
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-13)


def test_a_jacobian_with_too_many_axes_names_the_shapes():
    # regression: "reshape: at most 8 dimensions" / "tensors have at most 8 dimensions, got
    # 10", naming neither the transform nor the shapes
    x = np.ones((1, 2, 1, 1, 2))
    for mode in ("forward", "reverse", "auto"):
        with pytest.raises(ValueError, match=r"jacobian: the result would have shape .*"
                                             r"\(1, 2, 1, 1, 2\) \+ \(1, 2, 1, 1, 2\)\), 10 dim"):
            ag.jacobian(lambda t: t * 2, x, mode=mode)
    with pytest.raises(ValueError, match=r"hessian: the result would have shape"):
        ag.hessian(lambda t: (t ** 3).sum(), x)
    with pytest.raises(ValueError, match=r"\(2, 2, 2, 2, 2, 2\) \+ \(2, 2, 2\)\), 9 dim"):
        ag.jacobian(lambda t: ag.jacobian(lambda u: u ** 3, t), np.ones((2, 2, 2)))
    # eight axes are fine
    J = ag.jacobian(lambda t: t * 2, np.ones((1, 2, 1, 2)))
    np.testing.assert_array_equal(J.numpy().reshape(4, 4), 2 * np.eye(4))


def test_transform_results_own_their_memory():
    # regression: the gradient of a sum (or a mean, or a reverse Jacobian of a broadcast) came
    # back as a broadcast view of one value: g += 1 raised, and a write through g.numpy()
    # changed every element
    x = np.array([1.0, 2.0, 3.0])
    xt = ag.tensor(x, dtype="float64", requires_grad=True)
    ones = ag.ones(3, dtype="float64")
    results = {
        "grad sum": ag.grad(lambda t: t.sum())(x),
        "grad mean": ag.grad(lambda t: t.mean())(x),
        "vjp sum": ag.vjp(lambda t: t.sum(), x)[1](1.0)[0],
        "jacobian reverse": ag.jacobian(lambda t: t.sum() * ones, x, mode="reverse"),
        "grad of a tensor that requires grad": ag.grad(lambda t: t.sum())(xt),
        "jvp of a tensor that requires grad": ag.jvp(lambda t: t.sum() * ones, (xt,), (x,))[1],
        "hvp of a tensor that requires grad": ag.hvp(lambda t: t.sum() ** 2, xt, x),
    }
    for name, g in results.items():
        ref = g.numpy().copy()
        a = g.numpy()
        a[(0,) * a.ndim] += 10.0
        expect = ref.copy()
        expect.flat[0] += 10.0
        np.testing.assert_array_equal(g.numpy(), expect, err_msg=name)
    g = ag.grad(lambda t: t.sum())(x)
    with ag.no_grad():
        g *= 0.5
    np.testing.assert_array_equal(g.numpy(), [0.5, 0.5, 0.5])


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_with_a_repeated_argnum(mode):
    # regression: in forward mode argnums=(0, 0) gave zeros for the first copy (both blocks
    # of the identity were set as the one input's tangent, the second replacing the first)
    x = np.array([1.0, 2.0])
    Ja, Jb, Jc = ag.jacobian(lambda t, u: t ** 2 * u, x, 3.0, argnums=(0, 1, 0), mode=mode)
    np.testing.assert_array_equal(Ja.numpy(), np.diag(6 * x))
    np.testing.assert_array_equal(Jb.numpy(), x ** 2)
    np.testing.assert_array_equal(Jc.numpy(), np.diag(6 * x))
    assert Ja is not Jc


def test_a_function_returning_a_closed_over_leaf_keeps_it_in_the_graph():
    w = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    out, back = ag.vjp(lambda x: w, np.ones(2))
    np.testing.assert_array_equal(back(np.ones(2))[0].numpy(), [0.0, 0.0])
    (out * ag.tensor([3.0, 4.0], dtype="float64")).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])
    value, tangent = ag.jvp(lambda x: w * 1.0 + x, (np.ones(2),), (np.ones(2),))
    assert value.requires_grad
    np.testing.assert_array_equal(tangent.numpy(), [1.0, 1.0])


# ------------------------------------------------------------------ grad-mode decorators
def test_grad_mode_decorators():
    # regression: @ag.set_grad_enabled(False) turned recording off for the whole program at
    # the def, and calling the function raised TypeError (a fresh instance without its mode);
    # bare @ag.no_grad raised "no_grad() takes no arguments" (PyTorch accepts both)
    @ag.set_grad_enabled(False)
    def off():
        return ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert off() is False and ag.is_grad_enabled()

    @ag.no_grad
    def bare(w):
        return w * 2
    w = ag.tensor([1.0], requires_grad=True)
    assert not bare(w).requires_grad and ag.is_grad_enabled() and bare.__name__ == "bare"
    with ag.no_grad():
        assert ag.enable_grad(lambda: ag.is_grad_enabled())() is True
        assert not ag.is_grad_enabled()
    with ag.set_grad_enabled(False):
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    # the mode is restored when the decorated function raises
    with pytest.raises(ZeroDivisionError):
        ag.no_grad()(lambda: 1 / 0)()
    assert ag.is_grad_enabled()
