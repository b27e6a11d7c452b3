"""PyTorch idioms that do not conflict with numpy's conventions: ``dim=`` / ``keepdim=`` as
aliases of ``axis=`` / ``keepdims=``, the Tensor methods ``numel``, ``dim``, ``clamp``, ``pow``,
``norm``, ``detach_``, ``to``, ``cpu``, ``device``, ``data``, the functions ``clamp``,
``is_tensor``, ``allclose``, ``rand_like``, ``randn_like``, ``inference_mode``,
``autograd.grad``, and ``gelu(approximate="tanh")`` / ``softplus(beta, threshold)``.

The references are PyTorch's documented formulas computed in numpy (torch is not imported);
gradients are checked against central finite differences in float64."""
import math
import os
import sys

import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_grad  # noqa: E402

F = ag.nn.functional
RNG = np.random.default_rng(7)
X0 = RNG.standard_normal((3, 4))


def _leaf(a=X0):
    return ag.tensor(np.array(a, dtype=np.float64), requires_grad=True)


def _check_grad(fn_ag, fn_np, x0=X0, weights=None):
    """d sum(w * fn(x)) / dx from autograd_c against central differences of the numpy
    reference (float64)."""
    x = _leaf(x0)
    out = fn_ag(x)
    w = np.asarray(weights if weights is not None else RNG.standard_normal(out.shape))
    (out * ag.tensor(w)).sum().backward()
    want = fd_grad(lambda a: float((np.asarray(fn_np(a)) * w).sum()), x0)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------ dim= / keepdim= aliases
REDUCTIONS = [
    ("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("max", np.max), ("min", np.min),
    ("var", np.var), ("std", np.std),
    ("logsumexp", lambda a, axis=None, keepdims=False:
        np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))),
]


@pytest.mark.parametrize("name,ref", REDUCTIONS)
@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), ((0, 1), False), (-1, True)])
def test_reduction_dim_keepdim_as_method_and_function(name, ref, dim, keepdim):
    want = ref(X0, axis=dim, keepdims=keepdim)
    by_method = getattr(_leaf(), name)(dim=dim, keepdim=keepdim)
    by_function = getattr(ag, name)(_leaf(), dim=dim, keepdim=keepdim)
    for got in (by_method, by_function):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    _check_grad(lambda x: getattr(x, name)(dim=dim, keepdim=keepdim),
                lambda a: ref(a, axis=dim, keepdims=keepdim))


@pytest.mark.parametrize("name", ["sum", "mean", "max", "var", "logsumexp"])
def test_reduction_both_spellings_raise_type_error_naming_both(name):
    x = _leaf()
    for call in (lambda: getattr(x, name)(1, dim=1), lambda: getattr(ag, name)(x, axis=0, dim=1)):
        with pytest.raises(TypeError, match=r"axis=.*dim=.*pass one"):
            call()
    for call in (lambda: getattr(x, name)(1, keepdims=True, keepdim=True),
                 lambda: getattr(ag, name)(x, keepdims=True, keepdim=False)):
        with pytest.raises(TypeError, match=r"keepdims=True and keepdim="):
            call()


def test_keepdim_alone_and_dim_none_reduce_everything():
    x = _leaf()
    assert x.sum(keepdim=True).shape == (1, 1)
    np.testing.assert_allclose(x.sum(dim=None).item(), X0.sum(), rtol=1e-12)


def test_argmax_argmin_dim_keepdim():
    x = _leaf()
    np.testing.assert_array_equal(x.argmax(dim=1), np.argmax(X0, axis=1))
    np.testing.assert_array_equal(x.argmin(dim=0, keepdim=True),
                                  np.argmin(X0, axis=0, keepdims=True))
    with pytest.raises(TypeError, match="axis=1 and dim=0"):
        x.argmax(1, dim=0)


def _softmax_np(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_dim_in_function_method_functional_and_module(dim):
    want = _softmax_np(X0, dim)
    x = _leaf()
    for got in (ag.softmax(x, dim=dim), x.softmax(dim=dim), F.softmax(x, dim=dim),
                ag.nn.Softmax(dim=dim)(x)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    for got in (ag.log_softmax(x, dim=dim), x.log_softmax(dim=dim), F.log_softmax(x, dim=dim),
                ag.nn.LogSoftmax(dim=dim)(x)):
        np.testing.assert_allclose(got.numpy(), np.log(want), rtol=1e-12)
    _check_grad(lambda t: F.log_softmax(t, dim=dim), lambda a: np.log(_softmax_np(a, dim)))
    with pytest.raises(TypeError, match="softmax: got both axis=0 and dim="):
        ag.softmax(x, 0, dim=dim)


def test_cumsum_diff_dim():
    x = _leaf()
    np.testing.assert_allclose(x.cumsum(dim=1).numpy(), np.cumsum(X0, axis=1), rtol=1e-12)
    np.testing.assert_allclose(ag.cumsum(x, dim=0).numpy(), np.cumsum(X0, axis=0), rtol=1e-12)
    np.testing.assert_allclose(ag.diff(x, dim=0).numpy(), np.diff(X0, axis=0), rtol=1e-12)
    _check_grad(lambda t: t.cumsum(dim=0), lambda a: np.cumsum(a, axis=0))
    with pytest.raises(TypeError, match="cumsum: got both axis=1 and dim=0"):
        x.cumsum(1, dim=0)
    with pytest.raises(TypeError, match="diff: got both axis=0 and dim=1"):
        ag.diff(x, axis=0, dim=1)


def test_shape_functions_dim():
    x = _leaf()
    assert ag.cat([x, x], dim=1).shape == (3, 8)
    assert ag.concatenate([x, x], dim=-2).shape == (6, 4)
    assert ag.stack([x, x], dim=2).shape == (3, 4, 2)
    assert [p.shape for p in ag.split(x, 2, dim=1)] == [(3, 2), (3, 2)]
    assert x.unsqueeze(dim=1).shape == (3, 1, 4)
    assert ag.unsqueeze(x, dim=-1).shape == (3, 4, 1)
    assert x.unsqueeze(dim=0).squeeze(dim=0).shape == (3, 4)
    assert ag.squeeze(ag.zeros(1, 3, 1), dim=2).shape == (1, 3)
    np.testing.assert_array_equal(ag.cat([x, x], dim=1).numpy(), np.concatenate([X0, X0], 1))
    _check_grad(lambda t: ag.stack([t, t * 2], dim=1), lambda a: np.stack([a, a * 2], 1))
    with pytest.raises(TypeError, match="cat|concatenate"):
        ag.cat([x, x], 1, dim=0)
    with pytest.raises(TypeError, match="stack: got both axis=1 and dim=0"):
        ag.stack([x, x], 1, dim=0)
    with pytest.raises(TypeError, match="unsqueeze: missing the axis"):
        x.unsqueeze()


# ------------------------------------------------------------------ Tensor methods
def test_numel_dim_ndimension():
    t = ag.zeros(2, 3, 4)
    assert (t.numel(), t.dim(), t.ndimension()) == (24, 3, 3)
    assert (ag.tensor(1.0).numel(), ag.tensor(1.0).dim()) == (1, 0)
    assert t.size == 24     # numpy's attribute, unchanged


def test_clamp_method_and_function_match_pytorch_rule():
    a = np.array([-3.0, -1.0, 0.25, 1.0, 4.0])
    x = _leaf(a)
    np.testing.assert_array_equal(x.clamp(-1.0, 1.0).numpy(), np.minimum(np.maximum(a, -1), 1))
    np.testing.assert_array_equal(ag.clamp(x, min=0.0).numpy(), np.maximum(a, 0))
    np.testing.assert_array_equal(x.clamp(max=0.5).numpy(), np.minimum(a, 0.5))
    # PyTorch: min > max sets every element to max
    np.testing.assert_array_equal(ag.clamp(x, min=2.0, max=-2.0).numpy(), np.full(5, -2.0))
    c = ag.clamp(x, 2.0, -2.0)
    c.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5))     # constant: zero gradient
    nan = ag.clamp(ag.tensor([np.nan, 1.0]), 1.0, 0.0).numpy()
    assert np.isnan(nan[0]) and nan[1] == 0.0
    a_in = np.array([-3.0, -0.5, 0.25, 0.9, 4.0])      # away from the kinks
    _check_grad(lambda t: t.clamp(-1.0, 1.0), lambda v: np.clip(v, -1.0, 1.0), a_in)
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        ag.clamp(x)
    with pytest.raises(TypeError, match="clamp: max must be a scalar, got shape \\(2,\\)"):
        x.clamp(max=[1.0, 2.0])


def test_pow_method():
    a = np.abs(X0) + 0.5
    np.testing.assert_allclose(_leaf(a).pow(3).numpy(), a ** 3, rtol=1e-12)
    np.testing.assert_allclose(_leaf(a).pow(_leaf(a)).numpy(), a ** a, rtol=1e-12)
    _check_grad(lambda t: t.pow(2.5), lambda v: v ** 2.5, a)


@pytest.mark.parametrize("p", [2, "fro", 1, math.inf])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 1), False)])
def test_norm_matches_pytorch_vector_norm_definition(p, dim, keepdim):
    # PyTorch: Tensor.norm(p, dim) is the vector p-norm of the entries over dim (all of them
    # when None), whatever the number of dims
    ax = dim

    def ref(a):
        r = np.abs(a)
        if p in (2, "fro"):
            return np.sqrt((r ** 2).sum(axis=ax, keepdims=keepdim))
        if p == 1:
            return r.sum(axis=ax, keepdims=keepdim)
        return r.max(axis=ax, keepdims=keepdim)
    got = _leaf().norm(p=p, dim=dim, keepdim=keepdim)
    assert got.shape == np.shape(ref(X0))
    np.testing.assert_allclose(got.numpy(), ref(X0), rtol=1e-12)
    _check_grad(lambda t: t.norm(p, dim, keepdim), ref)


def test_norm_of_three_dims_and_bad_p():
    a = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(_leaf(a).norm().item(), np.sqrt((a ** 2).sum()), rtol=1e-12)
    with pytest.raises(ValueError, match=r"norm: p=3 is not supported"):
        _leaf(a).norm(3)


def test_detach_inplace_on_leaf_keeps_grad_and_refuses_non_leaf():
    w = _leaf()
    w.grad = np.ones((3, 4))
    assert w.detach_() is w
    assert not w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((3, 4)))     # PyTorch keeps .grad
    assert not (w * 2).requires_grad
    y = _leaf() * 2
    with pytest.raises(RuntimeError, match="detach_: this tensor was computed by mul"):
        y.detach_()
    assert y.requires_grad        # unchanged by the refused call


def test_to_dtype_device_and_cpu():
    x = _leaf()
    assert x.to("cpu") is x and x.cpu() is x and x.to(device="cpu:0") is x
    assert x.device == "cpu"
    y = x.to("float32")
    assert y.dtype == np.float32 and y.requires_grad
    assert x.to("cpu", np.float32).dtype == np.float32
    assert x.to(dtype="float64") is x
    assert x.to(ag.zeros(1)).dtype == np.float32
    c = x.to(copy=True)
    assert c is not x and np.shares_memory(c.numpy(), x.numpy()) is False
    # the cast is recorded: the gradient reaches the float64 leaf
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X0.astype(np.float32), rtol=1e-6)
    with pytest.raises(ValueError, match="'cuda' is neither a dtype .* nor the device 'cpu'"):
        x.to("cuda")
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        x.to(device=3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        x.to("int64")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        x.to(dtype="float32", layout=None)


def test_data_is_a_detached_alias_and_assignment_copies_in():
    w = _leaf()
    d = w.data
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.numpy(), w.numpy())
    d.mul_(2.0)                                    # the PyTorch update idiom
    np.testing.assert_array_equal(w.numpy(), 2 * X0)
    w.data = ag.tensor(np.zeros((3, 4)))
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.numpy(), np.zeros((3, 4)))
    # a backward through values saved before the change raises instead of a wrong gradient
    v = _leaf()
    loss = (v * v).sum()
    v.data = ag.tensor(np.ones((3, 4)))
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()
    with pytest.raises(ValueError, match=r"data: assigned a tensor of shape \(2,\) to a tensor of shape \(3, 4\)"):
        w.data = ag.zeros(2, dtype="float64")
    with pytest.raises(TypeError, match="data: assigned a tensor of dtype float32"):
        w.data = ag.zeros(3, 4)
    with pytest.raises(TypeError, match="data: assigned a ndarray"):
        w.data = np.zeros((3, 4))


# ------------------------------------------------------------------ module-level functions
def test_is_tensor_allclose_and_like_constructors():
    x = _leaf()
    assert ag.is_tensor(x) and not ag.is_tensor(X0) and not ag.is_tensor(1.0)
    assert ag.allclose(x, X0 + 1e-9) is True
    assert ag.allclose(x, X0 + 1e-3) is False
    assert ag.allclose(x, X0 * (1 + 2e-6), rtol=1e-5, atol=0.0)
    nan = ag.tensor([1.0, np.nan])
    assert not ag.allclose(nan, nan) and ag.allclose(nan, nan, equal_nan=True)
    ag.manual_seed(3)
    r = ag.randn_like(x)
    ag.manual_seed(3)
    assert r.shape == (3, 4) and r.dtype == np.float64 and not r.requires_grad
    np.testing.assert_array_equal(r.numpy(), ag.randn(3, 4, dtype="float64").numpy())
    u = ag.rand_like(ag.zeros(1000), requires_grad=True)
    assert u.dtype == np.float32 and u.requires_grad
    assert 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    assert ag.rand_like(X0.astype(np.float32), dtype="float64").dtype == np.float64


def test_inference_mode_as_context_bare_and_called_decorator():
    w = _leaf()
    with ag.inference_mode():
        assert not (w * 2).requires_grad
    assert ag.is_grad_enabled()

    @ag.inference_mode
    def f(t):
        return t * 2

    @ag.inference_mode()
    def g(t):
        return t * 2
    assert not f(w).requires_grad and not g(w).requires_grad
    assert ag.is_grad_enabled()
    with ag.no_grad():                      # inference_mode(False) keeps the caller's mode
        with ag.inference_mode(False):
            assert not ag.is_grad_enabled()
    with ag.inference_mode(False):
        assert (w * 2).requires_grad
    with pytest.raises(TypeError, match="inference_mode: mode must be a bool"):
        ag.inference_mode("yes")


# ------------------------------------------------------------------ autograd.grad
def test_autograd_grad_values_and_leaves_untouched():
    a, b = _leaf(), _leaf(X0.T)
    out = (a @ b).sum()
    ga, gb = ag.autograd.grad(out, [a, b])
    ones = np.ones((3, 3))
    np.testing.assert_allclose(ga.numpy(), ones @ X0, rtol=1e-12)          # d sum(AB)/dA = 1 B^T
    np.testing.assert_allclose(gb.numpy(), X0.T @ ones, rtol=1e-12)        # A^T 1
    assert a.grad is None and b.grad is None
    (g,) = ag.autograd.grad((a * a).sum(), a)                                # a single input
    np.testing.assert_allclose(g.numpy(), 2 * X0, rtol=1e-12)


def test_autograd_grad_outputs_intermediate_and_create_graph():
    x = _leaf()
    y = x * 3.0
    z = y.sin()
    u = RNG.standard_normal((3, 4))
    (gy,) = ag.autograd.grad(z, y, grad_outputs=ag.tensor(u))
    np.testing.assert_allclose(gy.numpy(), u * np.cos(3 * X0), rtol=1e-12)
    # two outputs, the second's cotangent implicit (scalar)
    s = (x * x).sum()
    g1, = ag.autograd.grad([x.sin(), s], x, grad_outputs=[ag.tensor(u), None])
    np.testing.assert_allclose(g1.numpy(), u * np.cos(X0) + 2 * X0, rtol=1e-12)
    # create_graph: the gradient is differentiable; d/dx sum(d sum(x^3)/dx) = 6x
    (g,) = ag.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = ag.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * X0, rtol=1e-12)


def test_autograd_grad_retain_graph_and_unused_rules():
    a, b = _leaf(), _leaf()
    out = (a * a).sum()
    with pytest.raises(RuntimeError, match=r"inputs\[1\] .* was not used .* allow_unused=True"):
        ag.autograd.grad(out, [a, b], retain_graph=True)
    ga, gb = ag.autograd.grad(out, [a, b], allow_unused=True, retain_graph=True)
    assert gb is None
    ga, gb = ag.autograd.grad(out, [a, b], materialize_grads=True, retain_graph=True)
    np.testing.assert_array_equal(gb.numpy(), np.zeros((3, 4)))
    ag.autograd.grad(out, a)                 # retain_graph defaults to create_graph: freed
    with pytest.raises(RuntimeError, match="second time"):
        ag.autograd.grad(out, a)
    with pytest.raises(ValueError, match="materialize_grads=True needs allow_unused"):
        ag.autograd.grad((a * a).sum(), a, allow_unused=False, materialize_grads=True)
    with pytest.raises(RuntimeError, match=r"inputs\[0\] does not require grad"):
        ag.autograd.grad((a * a).sum(), ag.zeros(3))
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        ag.autograd.grad(a * a, a)
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        ag.autograd.grad([a.sum(), b.sum()], a, grad_outputs=[None], allow_unused=True)
    with pytest.raises(TypeError, match=r"inputs\[1\] is a ndarray, not a Tensor"):
        ag.autograd.grad(a.sum(), [a, X0])
    with pytest.raises(TypeError, match="outputs must be a Tensor or a sequence"):
        ag.autograd.grad(1.0, a)


# ------------------------------------------------------------------ activations
def _gelu_tanh_np(a):
    return 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3)))


def test_gelu_tanh_approximation_matches_pytorch_formula():
    a = np.linspace(-6, 6, 25).reshape(5, 5)
    for got in (F.gelu(_leaf(a), approximate="tanh"), ag.nn.GELU(approximate="tanh")(_leaf(a))):
        np.testing.assert_allclose(got.numpy(), _gelu_tanh_np(a), rtol=1e-12, atol=1e-15)
    _check_grad(lambda t: F.gelu(t, approximate="tanh"), _gelu_tanh_np, a)
    # approximate="none" stays the exact GELU, x * Phi(x)
    exact = a * 0.5 * (1 + np.vectorize(math.erf)(a / np.sqrt(2)))
    np.testing.assert_allclose(F.gelu(_leaf(a)).numpy(), exact, rtol=1e-12, atol=1e-15)
    assert ag.nn.GELU().fuse_spec() == ("gelu", {})
    assert ag.nn.GELU(approximate="tanh").fuse_spec() is None     # the fused GEMM is exact only
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        ag.nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(_leaf(a), approximate=None)


def test_gelu_tanh_in_sequential_is_not_fused_into_the_exact_one():
    ag.manual_seed(0)
    lin = ag.nn.Linear(4, 3, dtype="float64")
    model = ag.nn.Sequential(lin, ag.nn.GELU(approximate="tanh"))
    x = ag.tensor(X0)
    z = x.numpy() @ lin.weight.numpy().T + lin.bias.numpy()
    np.testing.assert_allclose(model(x).numpy(), _gelu_tanh_np(z), rtol=1e-12, atol=1e-15)


def _softplus_np(a, beta, threshold):
    return np.where(beta * a > threshold, a, np.log1p(np.exp(beta * a)) / beta)


@pytest.mark.parametrize("beta,threshold", [(1.0, 20.0), (2.0, 20.0), (0.5, 3.0), (3.0, 1.0)])
def test_softplus_beta_threshold_matches_pytorch_formula(beta, threshold):
    a = np.linspace(-8, 30, 39).reshape(3, 13) + 0.013      # off the thresholds' kinks
    for got in (F.softplus(_leaf(a), beta, threshold),
                ag.nn.Softplus(beta=beta, threshold=threshold)(_leaf(a))):
        np.testing.assert_allclose(got.numpy(), _softplus_np(a, beta, threshold), rtol=1e-12)
    _check_grad(lambda t: F.softplus(t, beta=beta, threshold=threshold),
                lambda v: _softplus_np(v, beta, threshold), a)
    # past the threshold the gradient is exactly 1, as PyTorch's
    x = _leaf(np.array([threshold / beta + 1.0]))
    F.softplus(x, beta, threshold).sum().backward()
    assert x.grad.item() == 1.0


def test_softplus_bad_beta_and_module_repr():
    with pytest.raises(ValueError, match="softplus: beta must be finite and nonzero, got 0.0"):
        F.softplus(_leaf(), beta=0)
    assert "beta=2.0, threshold=5.0" in repr(ag.nn.Softplus(2, 5))
    assert "approximate='tanh'" in repr(ag.nn.GELU(approximate="tanh"))
