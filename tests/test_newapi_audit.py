"""Audit of the numpy protocols, the numpy-named manipulation functions, cumsum/diff,
tensordot/dot/inner and the new elementwise ops: each test is a bug found and fixed, or a
behaviour checked against numpy and finite differences."""
import inspect

import numpy as np
import pytest

import autograd_c as ag

EPS = np.finfo(float).eps ** (1 / 3)
rng = np.random.default_rng(2024)


def fd_grad(f, a):
    """Central differences of the scalar numpy function f at a (float64)."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        e = np.zeros_like(a)
        e[i] = EPS
        g[i] = (f(a + e) - f(a - e)) / (2 * EPS)
    return g


def grad_of(f, a):
    x = ag.tensor(a, requires_grad=True)
    f(x).backward()
    return x.grad.numpy()


# ---- positional arguments in numpy's order ---------------------------------------------------
# numpy's reductions take (a, axis, dtype, out, keepdims, ...) but autograd_c's (x, axis,
# keepdims): np.sum(t, 0, np.float64) passed the dtype as keepdims and kept the axis.
@pytest.mark.parametrize("call", [
    lambda m, a: m.sum(a, 0, np.float64),
    lambda m, a: m.mean(a, 1, None, None, True),
    lambda m, a: m.max(a, 0, None, True),
    lambda m, a: m.min(a, -1, None, False),
    lambda m, a: m.prod(a, 0, np.float64, None, True),
    lambda m, a: m.var(a, 0, None, None, 1),
    lambda m, a: m.std(a, 1, None, None, 0, True),
    lambda m, a: m.cumsum(a, 0, None),
    lambda m, a: m.diff(a, 1, 0),
    lambda m, a: m.roll(a, 2, 1),
    lambda m, a: m.sort(a, 0, None),
    lambda m, a: m.repeat(a, 2, 0),
], ids=["sum", "mean", "max", "min", "prod", "var", "std", "cumsum", "diff", "roll", "sort",
        "repeat"])
def test_numpy_positional_arguments_follow_numpys_order(call):
    a = rng.standard_normal((3, 4))
    x = ag.tensor(a, requires_grad=True)
    y = call(np, x)
    want = call(np, a)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    assert y.shape == np.shape(want)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-13, atol=1e-14)
    w = rng.standard_normal(np.shape(want))
    (y * ag.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: np.sum(call(np, v) * w), a),
                               rtol=1e-6, atol=1e-7)


# ---- numpy 2 keyword names and defaults ------------------------------------------------------
def test_numpy2_keyword_names_run_the_counterpart():
    a = np.array([[3.0, -1.0, 0.5], [2.0, 0.25, -4.0]])
    cases = [
        (lambda m, v: m.clip(v, min=-1.5, max=1.0), lambda v: (np.abs(v) < 1.0) * 1.0 + 0.0),
        (lambda m, v: m.var(v, axis=1, correction=1), None),
        (lambda m, v: m.std(v, correction=1), None),
        (lambda m, v: m.sort(v, kind="stable"), None),
        (lambda m, v: m.sort(v, axis=0, stable=True), None),
        (lambda m, v: m.take_along_axis(v, np.array([[2, 0], [1, 1]])), None),   # axis=-1
    ]
    for call, _ in cases:
        x = ag.tensor(a, requires_grad=True)
        try:
            want = call(np, a)
        except TypeError:           # a name this numpy lacks (1.26: all but kind=): as numpy
            with pytest.raises(TypeError):
                call(np, x)
            continue
        y = call(np, x)
        assert isinstance(y, ag.Tensor) and y.requires_grad
        np.testing.assert_allclose(y.numpy(), want, rtol=1e-14)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: np.sum(call(np, v)), a),
                                   rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="kind must be one of"):
        ag.sort(ag.tensor(a), kind="bogo")


def test_concatenate_axis_none_and_expand_dims_with_axis_tuple():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(4)
    x = ag.tensor(a, requires_grad=True)
    y = np.concatenate([x, b], axis=None)           # was: TypeError on int(None)
    np.testing.assert_array_equal(y.numpy(), np.concatenate([a, b], axis=None))
    (y * ag.tensor(np.arange(10.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0).reshape(2, 3))
    e = np.expand_dims(ag.tensor(a, requires_grad=True), (0, -1))   # was: TypeError on a tuple
    assert e.shape == np.expand_dims(a, (0, -1)).shape == (1, 2, 3, 1) and e.requires_grad
    np.testing.assert_array_equal(e.numpy(), np.expand_dims(a, (0, -1)))
    with pytest.raises(ValueError):
        np.expand_dims(ag.tensor(a), (0, 0))        # numpy's own check: repeated axis


def test_common_numpy_helpers_keep_the_graph_or_carry_no_derivative():
    a = rng.standard_normal((2, 3))
    x = ag.tensor(a, requires_grad=True)
    r = np.ravel(x)
    assert r.shape == (6,) and r.requires_grad
    c = np.copy(x)
    assert c.requires_grad and np.array_equal(c.numpy(), a)
    (r * ag.tensor(np.arange(6.0))).sum().backward()
    (c * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(6.0).reshape(2, 3) + 2)
    for y, want in ((np.zeros_like(x), np.zeros_like(a)), (np.ones_like(x), np.ones_like(a)),
                    (np.full_like(x, 7.0), np.full_like(a, 7.0))):
        assert not y.requires_grad and y.dtype == x.dtype
        np.testing.assert_array_equal(np.asarray(y), want)
    # np.where(condition) alone is np.nonzero: indices, whatever the grad mode
    got = np.where(ag.tensor(np.array([0.0, 2.0, 0.0, -1.0]), requires_grad=True))
    np.testing.assert_array_equal(got[0], [1, 3])


# numpy 2.1 names clip's bounds min= / max= as well
CLIP_BOUNDS = {"min": 1, "max": 2} if "min" in inspect.signature(np.clip).parameters else \
    {"a_min": 1, "a_max": 2}


def test_float32_stays_float32_through_the_new_paths():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), dtype="float32", requires_grad=True)
    for y in (np.sum(x, 0, None, None, True), np.concatenate([x, np.ones(2)], axis=None),
              np.ravel(x), np.clip(x, **CLIP_BOUNDS), np.sort(x, kind="stable"),
              np.roll(x, 10 ** 15 + 1, axis=-1), np.tensordot(np.ones((4, 2, 3)), x, 2)):
        assert isinstance(y, ag.Tensor) and y.dtype == np.float32


# ---- 0-d tensors through the gathers ---------------------------------------------------------
def test_roll_and_tile_of_a_0d_tensor_stay_0d():
    # the gather returned shape (1,) for a 0-d index (np.ascontiguousarray makes it 1-d)
    x = ag.tensor(2.5, dtype="float64", requires_grad=True)
    for f, g in ((lambda v: ag.roll(v, 3), lambda v: np.roll(v, 3)),
                 (lambda v: np.roll(v, -(10 ** 12)), lambda v: np.roll(v, -(10 ** 12))),
                 (lambda v: ag.tile(v, ()), lambda v: np.tile(v, ()))):
        y = f(x)
        assert y.shape == np.shape(g(np.array(2.5))) == ()
        assert float(y) == 2.5
    (ag.roll(x, 1) * 3.0).backward()
    assert float(x.grad) == 3.0


# ---- out= into a numpy array ----------------------------------------------------------------
def test_out_into_an_ndarray_with_a_gradient_says_why():
    t = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    arr = np.array([10.0, 20.0])
    for call in (lambda: np.add(arr, t, out=arr), lambda: arr.__iadd__(t),
                 lambda: np.sin(t, out=(arr,))):
        with pytest.raises(TypeError, match=r"out=<ndarray>.*cannot hold the gradient"):
            call()
        assert arr.tolist() == [10.0, 20.0]
    arr += t.detach()            # without a gradient to lose: numpy's own in-place add
    assert arr.tolist() == [11.0, 22.0]


def test_refusals_name_the_keyword_that_has_no_counterpart():
    t = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.exp.*\['dtype'\]"):
        np.exp(t, dtype=np.float32)
    with pytest.raises(TypeError, match=r"numpy\.add\.reduce.*\['dtype'\]"):
        # through the protocol method: numpy 2.x's ufunc.reduce keeps a reference to an operand
        # whose override raises (a leak of t in numpy, not here)
        t.__array_ufunc__(np.add, "reduce", t, axis=1, dtype=np.float32)
    with pytest.raises(TypeError, match=r"numpy\.trace.*\['dtype'\]"):
        np.trace(t, 1, dtype=np.float32)       # (offset is supported since round 8)
    with pytest.raises(TypeError, match=r"numpy\.cumsum.*\['dtype'\]"):
        np.cumsum(t, 0, np.float32)


def test_cached_ufunc_fast_path_keeps_keyword_handling():
    a = np.array([1.0, 2.0])
    t = ag.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    for _ in range(2):                        # the second call takes the cached path
        y = np.multiply(a, t)
        assert isinstance(y, ag.Tensor) and y.requires_grad
    y.sum().backward()
    assert t.grad.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="cannot write into a Tensor"):
        np.multiply(a, 2.0, out=t)
    with pytest.raises(TypeError, match=r"\['where'\]"):
        np.multiply(a, t, where=np.array([True, False]))


# ---- hypot at the origin ---------------------------------------------------------------------
def test_hypot_gradient_at_the_origin_is_zero_not_nan():
    # d hypot = (a/r) da + (b/r) db was 0/0 at a = b = 0; the subgradient 0 is what
    # linalg.norm gives there (and JAX's hypot)
    a = ag.tensor(np.zeros(3), requires_grad=True)
    b = ag.tensor(np.array([0.0, 3.0, -0.0]), requires_grad=True)
    ag.hypot(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 1.0, 0.0])
    _, t = ag.jvp(lambda u, v: ag.hypot(u, v), (ag.tensor(np.zeros(2)), ag.tensor(np.zeros(2))),
                  (ag.tensor(np.ones(2)), ag.tensor(np.ones(2))))
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0])
    # away from the origin unchanged: the Hessian of hypot is (r^2 I - p p^T) / r^3
    p = np.array([3.0, -4.0])
    h = ag.hessian(lambda v: ag.hypot(v[0], v[1]), ag.tensor(p)).numpy()
    np.testing.assert_allclose(h, (25 * np.eye(2) - np.outer(p, p)) / 125, rtol=1e-14)


# ---- numpy-style code through the new functions, in every mode ------------------------------
def test_numpy_style_code_through_the_new_functions_matches_finite_differences():
    B = rng.standard_normal((3, 4))

    def f(x, m):
        s = m.sort(x, axis=0)
        r = m.roll(s, 5, axis=None)
        c = m.cumsum(m.flip(r, 1), axis=1)
        d = m.diff(m.tril(c, 1), axis=0)
        e = m.tensordot(B, m.moveaxis(m.tile(d, (1, 2)), 0, 1), axes=([0], [1]))
        return m.sum(m.sinh(e)[:3, :3] * m.arctan(m.repeat(x, [1, 0, 2], axis=1)[:3, :3]))

    a = rng.standard_normal((4, 3)) * 0.5
    g = ag.grad(lambda v: f(v, np))(ag.tensor(a)).numpy()
    np.testing.assert_allclose(g, fd_grad(lambda v: f(v, np), a), rtol=1e-6, atol=1e-8)
    u = rng.standard_normal(a.shape)
    _, jt = ag.jvp(lambda v: f(v, np), (ag.tensor(a),), (ag.tensor(u),))
    np.testing.assert_allclose(float(jt), np.sum(g * u), rtol=1e-12)
    h = ag.hessian(lambda v: f(v.reshape(4, 3), np), ag.tensor(a.ravel())).numpy()
    gf = lambda v: ag.grad(lambda w: f(w.reshape(4, 3), np))(ag.tensor(v)).numpy()  # noqa: E731
    num = np.stack([(gf(a.ravel() + e) - gf(a.ravel() - e)) / (2 * EPS)
                    for e in np.eye(12) * EPS], axis=1)
    np.testing.assert_allclose(h, num, rtol=1e-5, atol=1e-7)


def test_ufunc_accumulate_axis_none_is_refused_for_nd_input_as_numpy_does():
    # cumsum(axis=None) flattens, but numpy's ufunc.accumulate refuses several axes
    t = ag.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError):
        np.add.accumulate(np.ones((2, 3)), axis=None)
    with pytest.raises(ValueError, match=r"accumulate: axis=None.*\(2, 3\)"):
        t.__array_ufunc__(np.add, "accumulate", t, axis=None)   # (numpy's leak: see above)
    v = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = np.add.accumulate(v, axis=None)
    np.testing.assert_array_equal(y.numpy(), [1.0, 3.0, 6.0])
    y.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [3.0, 2.0, 1.0])


@pytest.mark.parametrize("dtype,xs", [("float64", [1e200, -1e170, 3.0, -0.5]),
                                      ("float32", [1e20, -3e25, 3.0, -0.5])])
def test_arcsinh_first_derivative_with_create_graph_does_not_underflow(dtype, xs):
    # the differentiable derivative (x^2 + 1)^(-1/2) gave 0 where x^2 overflows; it is
    # 1 / hypot(x, 1), as the plain backward has it
    a = np.array(xs)
    x = ag.tensor(a, dtype=dtype, requires_grad=True)
    ag.arcsinh(x).sum().backward(create_graph=True)
    want = 1 / np.hypot(a, 1.0)
    np.testing.assert_allclose(x.grad.numpy(), want.astype(dtype), rtol=1e-6 if dtype == "float32" else 1e-15)
    # and the second derivative stays -x / (1 + x^2)^(3/2)
    b = np.array([-2.0, 0.3, 5.0])
    x.grad = None   # break the leaf -> grad -> graph -> leaf cycle of create_graph (as in PyTorch)
    h = ag.hessian(lambda t: ag.arcsinh(t).sum(), ag.tensor(b)).numpy()
    np.testing.assert_allclose(h, np.diag(-b / (1 + b * b) ** 1.5), rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize("call", [
    lambda m, x: m.clip(x, np.array([-0.5, 0.1, -2.0]), 0.7),    # array bound
    lambda m, x: m.clip(x, 0.6, -0.3),                           # lo > hi: hi everywhere
    lambda m, x: m.clip(x, None, None),                          # numpy 2: a copy
    lambda m, x: m.clip(0.3 * np.ones((2, 3)), x, None),         # the Tensor as the bound
], ids=["array-bound", "lo>hi", "no-bound", "tensor-bound"])
def test_clip_follows_numpy_where_the_scalar_clip_refused(call):
    # these raised TypeError / ValueError even without a gradient to lose
    a = np.array([[0.25, -1.3, 0.9], [-0.45, 0.35, 1.7]])
    x = ag.tensor(a, requires_grad=True)
    y = call(np, x)

    def want(v):
        try:
            return call(np, v)
        except ValueError:      # numpy < 2.1 refuses clip(v, None, None); 2.1 gives a copy
            return v.copy()
    np.testing.assert_array_equal(y.numpy(), want(a))
    w = rng.standard_normal((2, 3))
    (y * ag.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: np.sum(want(v) * w), a),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kw", [dict(prepend=0.0), dict(append=[[1.0], [2.0], [3.0]]),
                                dict(prepend=1.5, append=-2.0, axis=0),
                                dict(n=2, prepend=np.ones((3, 2))), dict(n=0, prepend=5.0)])
def test_diff_takes_numpys_prepend_and_append(kw):
    # np.diff(t, prepend=...) raised TypeError (no counterpart) with a gradient to keep
    a = rng.standard_normal((3, 4))
    x = ag.tensor(a, requires_grad=True)
    y = np.diff(x, **kw)
    want = np.diff(a, **kw)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-15)
    w = rng.standard_normal(want.shape)
    (y * ag.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: np.sum(np.diff(v, **kw) * w), a),
                               rtol=1e-6, atol=1e-8)


def test_diff_prepend_may_require_grad_and_keeps_float32():
    p = ag.tensor(np.array([[0.5], [-1.0]]), requires_grad=True)
    x = ag.tensor(np.array([[1.0, 4.0], [2.0, 8.0]]), requires_grad=True)
    ag.diff(x, prepend=p).sum().backward()          # sum of diffs = last - first
    np.testing.assert_array_equal(p.grad.numpy(), [[-1.0], [-1.0]])
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0], [0.0, 1.0]])
    y = ag.diff(ag.tensor(np.ones((2, 3)), dtype="float32"), prepend=np.float64(0.5))
    assert y.dtype == np.float32 and y.shape == (2, 3)


def test_an_option_the_counterpart_lacks_gives_numpys_answer_without_a_gradient():
    a = np.array([0.123, -2.567, 1.005])
    m = np.array([[0.5, 1.5, -2.0], [1.0, 0.25, 3.0]])
    got = np.cov(ag.tensor(m, dtype="float64"), fweights=[1, 2, 1])   # raised NotImplementedError
    np.testing.assert_array_equal(np.asarray(got), np.cov(m, fweights=[1, 2, 1]))
    with pytest.raises(TypeError, match=r"numpy\.cov.*fweights"):
        np.cov(ag.tensor(m, requires_grad=True), fweights=[1, 2, 1])
    r = np.round(ag.tensor(a, requires_grad=True))          # decimals=0: the counterpart
    assert isinstance(r, ag.Tensor) and r.tolist() == [0.0, -3.0, 1.0]



@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", ["hypot", "arctan2"])
def test_a_point_at_the_origin_does_not_poison_the_other_elements_jacobian(name, mode):
    # arctan2's derivative at (0, 0) was 0/0 = NaN; with b broadcast, b[1]'s gradient sums
    # 0 * NaN from the origin element into the Jacobian rows of the other elements (reverse),
    # and the forward tangent 0 * NaN filled the origin's row
    a = rng.standard_normal((2, 3))
    b = rng.standard_normal(3)
    a[0, 1] = b[1] = 0.0
    v = np.concatenate([a.ravel(), b])
    f, g = getattr(ag, name), getattr(np, name)
    jac = ag.jacobian(lambda t: f(t[:6].reshape(2, 3), t[6:]), ag.tensor(v), mode=mode)
    jac = jac.numpy().reshape(6, 9)
    num = np.stack([((g((v + e)[:6].reshape(2, 3), (v + e)[6:])
                      - g((v - e)[:6].reshape(2, 3), (v - e)[6:])) / (2 * EPS)).ravel()
                    for e in np.eye(9) * EPS], axis=1)
    others = [0, 2, 3, 4, 5]
    np.testing.assert_allclose(jac[others], num[others], rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(jac[1], np.zeros(9))     # the convention at the origin: 0


@pytest.mark.parametrize("call", [lambda x: np.convolve(x, x), lambda x: np.unwrap(x),
                                  lambda x: np.i0(ag.sin(x) * 2),
                                  lambda x: np.add(x, 1.0, out=np.zeros(3))],
                         ids=["convolve", "unwrap", "i0-of-intermediate", "out-ndarray"])
def test_forward_mode_tangents_are_not_dropped_by_numpy_on_the_values(call):
    # inside ag.jvp / a forward-mode jacobian the input carries a tangent but does not require
    # grad: numpy ran on the values and the tangent came back as zeros, silently
    a = np.array([0.5, -1.0, 2.0])
    with pytest.raises(TypeError, match="forward-mode tangent|cannot hold the gradient"):
        ag.jvp(call, (ag.tensor(a),), (ag.tensor(np.ones(3)),))
    with pytest.raises(TypeError):
        ag.jacobian(call, ag.tensor(a), mode="forward")
    # a function with a counterpart still runs in forward mode, with the right tangent
    _, t = ag.jvp(lambda x: np.sum(np.sin(x) ** 2), (ag.tensor(a),), (ag.tensor(np.ones(3)),))
    assert float(t) == pytest.approx(np.sum(2 * np.sin(a) * np.cos(a)), rel=1e-14)


def test_numpy_parameters_are_not_matched_to_unrelated_ones_by_position():
    # order='F' of np.ravel / np.zeros_like went to flatten's start_dim / zeros_like's
    # requires_grad, the parameters at the same position
    a = np.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError, match=r"\['order'\]"):
        np.ravel(ag.tensor(a, requires_grad=True), "F")
    with pytest.raises(TypeError, match=r"\['order'\]"):
        np.zeros_like(ag.tensor(a, requires_grad=True), order="F")
    got = np.ravel(ag.tensor(a), "F")            # no gradient to lose: numpy's answer
    np.testing.assert_array_equal(np.asarray(got), np.ravel(a, "F"))
    z = np.zeros_like(ag.tensor(a), order="F")
    assert not getattr(z, "requires_grad", False)
