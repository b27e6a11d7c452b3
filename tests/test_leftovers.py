"""Rough edges left from earlier rounds: det's derivative at singular matrices, tangents after
jvp, identity shape ops, grad-mode decorators on generators, in-place writes through no_grad
views, and the fused dense layer's ELU backward.  Each test failed before its fix.

Derivatives are checked against central finite differences in float64 (step eps^(1/3)) and
against exact answers computed independently in numpy.
"""
import os
import sys

import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_hessian, fd_jacobian  # noqa: E402

rng = np.random.default_rng(20260611)


def T(a, requires_grad=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype="float64", requires_grad=requires_grad)


# --------------------------------------------------------------- 1. det's derivative at singular matrices
def cofactor_by_minors(a):
    """The cofactor matrix C[i, j] = (-1)^(i+j) det(a without row i and column j) = adj(a)^T."""
    n = a.shape[-1]
    c = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            c[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return c


def singular_matrices():
    """Exactly singular matrices of rank n-1 and n-2 (integer entries, so they are singular in
    floating point too), with their ranks."""
    r1 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])     # rank 2 of 3
    r2 = np.outer([1.0, 2.0, -1.0], [3.0, 1.0, 2.0])                        # rank 1 of 3
    z = np.zeros((3, 3))                                                    # rank 0
    r3 = np.array([[2.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0],
                   [3.0, 2.0, 1.0, 1.0], [0.0, 1.0, 2.0, -1.0]])            # rank 2 of 4
    r4 = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 0.0, 1.0, 2.0],
                   [0.0, 0.0, 0.0, 0.0], [4.0, 1.0, 0.0, 1.0]])             # rank 3 of 4 (zero row)
    col = np.array([[1.0, 0.0, 2.0], [3.0, 0.0, 1.0], [2.0, 0.0, 5.0]])     # rank 2: zero column
    return [np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((2, 2)), r1, r2, z, r3, r4, col]


@pytest.mark.parametrize("a", singular_matrices(), ids=lambda a: f"n{a.shape[0]}")
def test_det_first_derivatives_at_singular_matrices_are_the_cofactor_matrix(a):
    # raised "slogdet/det: no derivative at a singular matrix" (the rule was det * inv(A)^T)
    exact = cofactor_by_minors(a)
    assert np.linalg.matrix_rank(a) < a.shape[0]
    g = ag.grad(ag.linalg.det)(T(a)).numpy()
    np.testing.assert_allclose(g, exact, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(g, fd_jacobian(np.linalg.det, a), rtol=1e-7, atol=1e-8)
    # forward mode: d det = <cof(A), dA> in a random direction, and the forward Jacobian
    t = rng.standard_normal(a.shape)
    _, tan = ag.jvp(ag.linalg.det, (T(a),), (T(t),))
    np.testing.assert_allclose(tan.item(), np.sum(exact * t), rtol=1e-12, atol=1e-12)
    J = ag.functional.jacobian(ag.linalg.det, T(a), mode="forward").numpy()
    np.testing.assert_allclose(J, exact, rtol=1e-13, atol=1e-13)
    # backward() into .grad, scaled by the output cotangent
    x = T(a, requires_grad=True)
    (3.0 * ag.linalg.det(x)).backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * exact, rtol=1e-13, atol=1e-13)


def test_det_gradient_batched_mixes_singular_and_regular_matrices():
    mats = singular_matrices()
    a = np.stack([m for m in mats if m.shape == (3, 3)] + [rng.standard_normal((3, 3))])
    a = np.stack([a, a[::-1]])                                   # (2, 5, 3, 3)
    w = rng.standard_normal(a.shape[:-2])
    f = lambda m: (ag.linalg.det(m) * T(w)).sum()  # noqa: E731
    g = ag.grad(f)(T(a)).numpy()
    np.testing.assert_allclose(g, w[..., None, None] * cofactor_by_minors(a), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, fd_jacobian(lambda m: np.sum(np.linalg.det(m) * w), a),
                               rtol=1e-7, atol=1e-8)
    t = rng.standard_normal(a.shape)
    _, tan = ag.jvp(ag.linalg.det, (T(a),), (T(t),))
    np.testing.assert_allclose(tan.numpy(), np.sum(cofactor_by_minors(a) * t, axis=(-2, -1)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_det_gradient_of_regular_and_near_singular_matrices(dtype):
    # the cofactor matrix is accurate away from singular matrices too (float32 rounds a float64
    # computation), and continuous as a matrix approaches a singular one
    a = rng.standard_normal((4, 5, 5))
    near = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0 + 1e-9], [1.0, 0.0, 1.0]])
    for m in (a, near):
        tol = 1e-5 if dtype == "float32" else 1e-12
        g = ag.grad(lambda x: ag.linalg.det(x).sum())(ag.tensor(m, dtype=dtype))
        assert g.dtype == dtype
        np.testing.assert_allclose(g.numpy(), cofactor_by_minors(m.astype(dtype).astype(np.float64)),
                                   rtol=tol * 10, atol=tol)
    # det's value: numpy's sign * exp(logabsdet) (the LU's rounding differs from LAPACK's)
    np.testing.assert_allclose(ag.linalg.det(T(a)).numpy(), np.linalg.det(a), rtol=1e-13)
    assert ag.linalg.det(T(singular_matrices()[2])).item() == 0.0


def test_det_second_derivatives():
    # regular 3x3 (the composed rule) and every 2x2, singular or not (the cofactor is linear there)
    a = rng.standard_normal((3, 3))
    for m in (a, np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((2, 2))):
        flat = lambda v, n=m.shape[0]: ag.linalg.det(v.reshape((n, n)))  # noqa: E731
        H = ag.functional.hessian(flat, T(m.ravel())).numpy()
        Hfd = fd_hessian(lambda v, n=m.shape[0]: np.linalg.det(v.reshape(n, n)), m.ravel())
        np.testing.assert_allclose(H, Hfd, rtol=1e-5, atol=1e-5)
        if m.shape == (2, 2):   # det = a d - b c: exactly this Hessian
            np.testing.assert_array_equal(H, [[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]])
    # forward over reverse agrees
    t = rng.standard_normal((3, 3))
    _, hv = ag.jvp(ag.grad(ag.linalg.det), (T(a),), (T(t),))
    Hfd = fd_hessian(lambda v: np.linalg.det(v.reshape(3, 3)), a.ravel())
    np.testing.assert_allclose(hv.numpy().ravel(), Hfd @ t.ravel(), rtol=1e-5, atol=1e-5)
    # the second derivative at a singular 3x3 is not implemented: a clear error, not a NaN
    with pytest.raises(ag.LinAlgError, match=r"det: .*second derivative .*singular"):
        ag.functional.hessian(lambda v: ag.linalg.det(v.reshape((3, 3))), T(singular_matrices()[2].ravel()))


def test_slogdet_gradient_at_a_singular_matrix_still_raises():
    # log|det A| goes to -inf at a singular A and its gradient A^-T is unbounded near it; torch
    # gives inf/NaN there, we raise, naming slogdet and pointing at det
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    for fn in (lambda: ag.grad(lambda a: ag.linalg.slogdet(a)[1])(T(s)),
               lambda: ag.jvp(lambda a: ag.linalg.slogdet(a)[1], (T(s),), (T(np.eye(2)),))):
        with pytest.raises(ag.LinAlgError, match=r"slogdet: no derivative at a singular matrix"):
            fn()
    # away from singular: A^-T
    a = rng.standard_normal((3, 3))
    g = ag.grad(lambda m: ag.linalg.slogdet(m)[1])(T(a)).numpy()
    np.testing.assert_allclose(g, np.linalg.inv(a).T, rtol=1e-12)


# --------------------------------------------------------------- 2. no tangent outlives its transform
def _escaping(store):
    """f for the transforms below: it stashes an intermediate (a cache, a logging list) that
    carries the transform's tangent while f runs."""
    def f(v):
        y = v * 2.0
        store.append(y)
        return (y * y).sum()
    return f


@pytest.mark.parametrize("transform", ["jvp", "jacobian_forward", "hessian", "hvp", "jvp_raises"])
def test_no_tangent_outlives_the_transform_that_set_it(transform):
    # the stashed intermediate kept its tangent after the transform returned: a later op on it
    # got a tangent (z below had z.tangent == 12), a later jvp added the stale tangent to its
    # own, and an in-place update of it was refused ("carries a forward-mode tangent")
    x = T([1.0, 2.0])
    store = []
    f = _escaping(store)
    if transform == "jvp":
        ag.jvp(f, (x,), (T([1.0, 1.0]),))
    elif transform == "jacobian_forward":
        ag.functional.jacobian(f, x, mode="forward")
    elif transform == "hessian":
        ag.functional.hessian(f, x)
    elif transform == "hvp":
        ag.functional.hvp(f, x, T([1.0, 0.0]))
    else:
        def bad(v):
            f(v)
            raise KeyError("inside f")
        with pytest.raises(KeyError):
            ag.jvp(bad, (x,), (T([1.0, 1.0]),))
    y = store[0]
    assert y.tangent is None and x.tangent is None
    assert (y * 3.0).sum().tangent is None
    # a later jvp sees y as the constant it now is: d/dv sum(v * y) . t = sum(t * y)
    t = np.array([0.5, -1.0])
    _, tan = ag.jvp(lambda v: (v * y).sum(), (x,), (T(t),))
    assert tan.item() == pytest.approx(float(np.sum(t * y.numpy())), rel=1e-15)
    with ag.no_grad():                         # (hessian's y is in a graph)
        y += 1.0                               # an in-place update is allowed again
    np.testing.assert_array_equal(y.numpy(), [3.0, 5.0])


def test_tangents_still_flow_through_nested_transforms_and_set_by_hand():
    # the fix ends tangents when the outermost transform returns, not earlier: forward over
    # reverse (hessian of a function that calls grad) still sees its tangents
    a = rng.standard_normal(3)
    f = lambda v: (ag.sin(v) * v).sum()  # noqa: E731
    H = ag.functional.hessian(lambda v: (ag.grad(f)(v) * v).sum(), T(a)).numpy()
    g = lambda v: np.sum((np.sin(v) + v * np.cos(v)) * v)  # noqa: E731
    np.testing.assert_allclose(H, fd_hessian(g, a), rtol=1e-5, atol=1e-5)
    _, hv = ag.jvp(ag.grad(f), (T(a),), (T(np.ones(3)),))
    np.testing.assert_allclose(hv.numpy(), fd_hessian(lambda v: np.sum(np.sin(v) * v), a).sum(1),
                               rtol=1e-5, atol=1e-5)
    # a tangent set by hand outside any transform (the engine's own tests do) still works
    u = T([1.0, 2.0])
    u._set_tangent(T([1.0, 0.0]))
    assert (u * u).tangent.numpy().tolist() == [2.0, 0.0]


def test_a_tangent_is_seen_only_by_the_thread_whose_transform_set_it():
    # tangents are per thread (README): another thread computing with a tensor that carries a
    # running jvp's tangent sees a constant
    import threading
    seen = {}

    def other(y):
        seen["tangent"] = (y * 2.0).tangent
        seen["own"] = y.tangent

    def f(v):
        y = v * 3.0
        th = threading.Thread(target=other, args=(y,))
        th.start()
        th.join()
        seen["here"] = y.tangent
        return y.sum()

    _, tan = ag.jvp(f, (T([1.0, 2.0]),), (T([1.0, 1.0]),))
    assert tan.item() == 6.0
    assert seen["here"].numpy().tolist() == [3.0, 3.0]
    assert seen["tangent"] is None and seen["own"] is None


# --------------------------------------------------------------- 3. identity shape ops make a tensor of their own
# name: (shape of x, the op, giving a result of x's shape)
IDENTITY_SHAPE_OPS = {
    "reshape": ((2, 3), lambda x: x.reshape(x.shape)),
    "reshape_-1": ((2, 3), lambda x: x.reshape(2, -1)),
    "ag.reshape": ((2, 3), lambda x: ag.reshape(x, (2, 3))),
    "np.reshape": ((2, 3), lambda x: np.reshape(x, (2, 3))),
    "view": ((2, 3), lambda x: x.view(x.shape)),
    "squeeze_nothing": ((2, 3), lambda x: x.squeeze()),
    "np.squeeze": ((2, 3), lambda x: np.squeeze(x)),
    "flatten_1d": ((3,), lambda x: x.flatten()),
    "transpose_1d": ((3,), lambda x: x.T),
    "np.transpose_1d": ((3,), lambda x: np.transpose(x)),
    "permute_identity": ((2, 3), lambda x: x.permute(0, 1)),
    "swapaxes_same": ((2, 3), lambda x: ag.swapaxes(x, 1, 1)),
    "moveaxis_same": ((2, 3), lambda x: ag.moveaxis(x, 0, 0)),
    "expand_same": ((2, 3), lambda x: x.expand(2, 3)),
    "expand_minus1": ((2, 3), lambda x: x.expand(-1, -1)),
    "broadcast_to_same": ((2, 3), lambda x: ag.broadcast_to(x, (2, 3))),
}


@pytest.mark.parametrize("name", list(IDENTITY_SHAPE_OPS))
def test_identity_shape_ops_return_a_tensor_of_their_own(name):
    # they returned x's own C tensor, so y.requires_grad_() made x require grad, y.grad was
    # x.grad, and a hook or retain_grad on y was one on x
    shape, op = IDENTITY_SHAPE_OPS[name]
    base = np.arange(float(np.prod(shape))).reshape(shape)
    x = T(base)
    y = op(x)
    assert tuple(y.shape) == shape
    y.requires_grad_()
    assert y.requires_grad and not x.requires_grad
    with ag.no_grad():
        y.fill_(7.0)                          # a view: the memory is x's, as in PyTorch and numpy
    np.testing.assert_array_equal(x.numpy(), np.full(shape, 7.0))

    # of a leaf that requires grad: a recorded view; gradients reach x through it, while its
    # hook and retained grad stay y's
    x = T(base, requires_grad=True)
    y = op(x)
    assert not y.is_leaf and x.is_leaf
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.retain_grad()
    (y * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 2.0))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(shape, 2.0))
    assert len(seen) == 1
    x.grad = None
    (x * 3.0).sum().backward()                # a backward that does not pass through y
    assert len(seen) == 1
    np.testing.assert_array_equal(y.grad.numpy(), np.full(shape, 2.0))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 3.0))


# --------------------------------------------------------------- 4. grad-mode decorators on generator functions
def _records(t):
    return t.requires_grad


@pytest.mark.parametrize("deco", ["no_grad()", "no_grad_bare", "set_grad_enabled(False)"])
def test_grad_mode_decorator_on_a_generator_holds_inside_each_resumption(deco):
    # the decorator set the mode only while the generator object was created (nothing of its
    # body ran then): the body recorded, and the caller's mode was never touched
    d = {"no_grad()": lambda: ag.no_grad(), "no_grad_bare": lambda: ag.no_grad,
         "set_grad_enabled(False)": lambda: ag.set_grad_enabled(False)}[deco]
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    inside = []

    def body(n):
        for i in range(n):
            inside.append(ag.is_grad_enabled())
            yield w * float(i)
        return "done"

    gen = d()(body)
    assert ag.is_grad_enabled()         # set_grad_enabled(False) as a decorator leaves it here
    g = gen(3)
    assert ag.is_grad_enabled()
    outs = []
    for y in g:
        outs.append(_records(y))
        assert ag.is_grad_enabled()            # the caller's mode between resumptions
        assert _records(w * 3.0)
    assert inside == [False, False, False] and outs == [False, False, False]
    # under the caller's no_grad the body still runs under its own mode, and the caller's
    # mode comes back after each resumption; the return value passes through (yield from)
    with ag.no_grad():
        def outer():
            r = yield from gen(1)
            return r
        it = outer()
        next(it)
        assert not ag.is_grad_enabled()
        with pytest.raises(StopIteration) as stop:
            next(it)
        assert stop.value.value == "done"


def test_enable_grad_decorator_on_a_generator_and_send_throw_close():
    w = ag.tensor([1.0], requires_grad=True)
    modes = []

    @ag.enable_grad()
    def gen():
        x = yield w * 2.0
        modes.append(ag.is_grad_enabled())
        try:
            yield w * x
        except KeyError:
            modes.append(("except", ag.is_grad_enabled()))
            yield None
        finally:
            modes.append(("finally", ag.is_grad_enabled()))

    with ag.no_grad():
        g = gen()
        y0 = g.send(None)
        assert y0.requires_grad and not ag.is_grad_enabled()
        y1 = g.send(5.0)
        assert y1.requires_grad and y1.item() == 5.0 and not ag.is_grad_enabled()
        assert g.throw(KeyError("k")) is None
        assert not ag.is_grad_enabled()
        g.close()
        assert not ag.is_grad_enabled()
    assert modes == [True, ("except", True), ("finally", True)]
    # an exception escaping the generator restores the caller's mode too
    @ag.no_grad()
    def bad():
        yield 1
        raise ValueError("inside")
    b = bad()
    next(b)
    with pytest.raises(ValueError):
        next(b)
    assert ag.is_grad_enabled()


def test_a_mode_switched_inside_the_generator_survives_its_yields():
    # the generator's own mode is kept across a yield (an enable_grad block around a yield
    # inside a no_grad generator), and the caller's between them
    w = ag.tensor([1.0], requires_grad=True)

    @ag.no_grad()
    def gen():
        with ag.enable_grad():
            yield (w * 2.0).requires_grad
            yield (w * 2.0).requires_grad
        yield (w * 2.0).requires_grad

    with ag.no_grad():
        assert list(gen()) == [True, True, False]
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()


# --------------------------------------------------------------- 5. in-place writes through a view made under no_grad
def test_inplace_through_a_no_grad_view_of_a_leaf_is_refused_or_safe():
    # PyTorch refuses exactly the in-place ops it would have to record on such a view (ones
    # whose result requires grad: an operand that requires grad).  Ours records no in-place op
    # and refuses those with a clear error; one with a constant operand only changes the values
    # (as in PyTorch), and a graph that saved them refuses its backward.
    w = ag.tensor(np.ones(3), dtype="float64", requires_grad=True)
    t = ag.tensor(np.full(2, 3.0), dtype="float64", requires_grad=True)
    with ag.no_grad():
        v = w[:2]
        r = w.reshape(3)
    assert not v.requires_grad and not r.requires_grad
    for write in (lambda: v.__imul__(t), lambda: v.__iadd__(t), lambda: v.__setitem__(slice(None), t)):
        with pytest.raises(RuntimeError, match="the value written in place requires grad"):
            write()
    np.testing.assert_array_equal(w.numpy(), [1.0, 1.0, 1.0])

    # saved by a graph, then changed through the view: the backward refuses (one version
    # counter per memory, shared by w and its views)
    y = (w * w).sum()
    v *= 2.0
    np.testing.assert_array_equal(w.numpy(), [2.0, 2.0, 1.0])
    with pytest.raises(RuntimeError, match="modified in place after it was saved"):
        y.backward()
    # a forward after the change differentiates the new values, and w is still the leaf
    assert w.is_leaf and w.requires_grad
    z = (w * w).sum()
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 4.0, 2.0])

    # the view made to require grad is a leaf of its own: in-place on it is refused
    v.requires_grad_()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        v += 1.0


def test_inplace_through_a_no_grad_view_of_an_intermediate_is_refused_when_saved():
    w = ag.tensor(np.ones(2), dtype="float64", requires_grad=True)
    h = w * 2.0
    y = (h * h).sum()
    with ag.no_grad():
        v = h[:1]
    v *= 3.0                                   # grad mode on, constant operand: allowed
    with pytest.raises(RuntimeError, match="modified in place after it was saved"):
        y.backward()
    # the same write through a view made with grad on is refused at once (h is in a graph)
    with pytest.raises(RuntimeError, match="part of a recorded graph"):
        h[:1] *= 3.0


# --------------------------------------------------------------- 6. the fused dense layer's ELU derivative for z << 0
ELU_Z = np.array([-50.0, -20.0, -5.0, -1.0, -0.1, 0.0, 0.5])


def _elu_grads(dtype, alpha):
    """x.grad (reverse) and the tangent (forward) of the fused linear+elu at pre-activations
    z = ELU_Z (x a column of z, W = [[1]], b = 0, so z is exact), and the unfused
    composition's; and the exact derivative alpha e^z (1 for z > 0)."""
    z = ELU_Z.astype(dtype).reshape(-1, 1)
    one = np.ones((1, 1), dtype)
    x = ag.tensor(z, dtype=dtype, requires_grad=True)
    ag.nn.functional.linear(x, ag.tensor(one, dtype=dtype), ag.tensor(np.zeros(1, dtype), dtype=dtype),
                            activation="elu", alpha=alpha).sum().backward()
    xu = ag.tensor(z, dtype=dtype, requires_grad=True)
    ag.elu(xu @ ag.tensor(one, dtype=dtype), alpha).sum().backward()
    _, tan = ag.jvp(lambda v: ag.nn.functional.linear(v, ag.tensor(one, dtype=dtype), activation="elu",
                                                      alpha=alpha),
                    (ag.tensor(z, dtype=dtype),), (ag.tensor(np.ones_like(z), dtype=dtype),))
    exact = np.where(ELU_Z > 0, 1.0, alpha * np.exp(ELU_Z))
    return x.grad.numpy().ravel(), tan.numpy().ravel(), xu.grad.numpy().ravel(), exact


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_fused_linear_elu_derivative_is_accurate_far_below_zero(dtype, alpha):
    # it was y + alpha from the output: 0 instead of alpha e^-20 (float32) or alpha e^-50
    # (float64), 9e7 ulp off at z = -20 in float64
    fused, tangent, unfused, exact = _elu_grads(dtype, alpha)
    ulp = np.finfo(dtype).eps
    for got in (fused, tangent, unfused):
        np.testing.assert_allclose(got, exact, rtol=4 * ulp, atol=0)


def test_fused_linear_elu_derivative_on_the_generic_isa_path():
    # the kernels of every ISA: the portable C path in a subprocess (chosen at import)
    import subprocess
    code = ("import sys, numpy as np; sys.path.insert(0, 'tests'); import autograd_c as ag; "
            "import test_leftovers as t; assert ag._core.isa() == 'generic', ag._core.isa(); "
            "[np.testing.assert_allclose(g, e, rtol=4 * np.finfo(d).eps, atol=0) "
            " for d in ('float64', 'float32') for a in (1.0, 0.3) "
            " for *gs, e in [t._elu_grads(d, a)] for g in gs]")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, AUTOGRAD_C_ISA="generic", PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
