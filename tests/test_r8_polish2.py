"""Round 8, second polish: the problems it fixed, each pinned by a test.

- ``ag.zeros(2, requires_grad="yes")`` (ones, empty, full, *_like) silently made a leaf that
  requires grad; randn / rand / arange raised, but their message named ``tensor()``.
- ``nn.Module.forward``, ``float``, ``double`` and ``extra_repr`` had no docstring.
- SGD, Adam, AdamW, RMSprop and Adagrad refused ``foreach=`` (TypeError), while Adamax, NAdam,
  RAdam and Adadelta took it; neither family took PyTorch's ``differentiable`` / ``fused`` /
  ``capturable``.
- ``nn.losses.binary_cross_entropy(_with_logits)`` took ``reduction`` third while
  ``F.binary_cross_entropy`` took PyTorch's signature (``weight`` third): two signatures.
- ``linalg.norm(v, ord="fro")`` of a vector returned its 2-norm; numpy raises.
"""
import inspect

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn, optim
from autograd_c.nn import functional as F
from autograd_c.nn import losses
from _fd import fd_grad

rng = np.random.default_rng(82)


# ---------------------------------------------------------------------------------------------
# 1. creation functions: requires_grad must be a bool, and the message names the function

_CREATORS = {
    "zeros": lambda rg: ag.zeros(2, requires_grad=rg),
    "ones": lambda rg: ag.ones(2, 3, requires_grad=rg),
    "empty": lambda rg: ag.empty(2, requires_grad=rg),
    "full": lambda rg: ag.full((2,), 7.0, requires_grad=rg),
    "arange": lambda rg: ag.arange(0, 3, requires_grad=rg),
    "linspace": lambda rg: ag.linspace(0, 1, 3, requires_grad=rg),
    "eye": lambda rg: ag.eye(2, requires_grad=rg),
    "rand": lambda rg: ag.rand(2, requires_grad=rg),
    "randn": lambda rg: ag.randn(2, requires_grad=rg),
    "zeros_like": lambda rg: ag.zeros_like(ag.ones(2), requires_grad=rg),
    "ones_like": lambda rg: ag.ones_like(ag.ones(2), requires_grad=rg),
    "full_like": lambda rg: ag.full_like(ag.ones(2), 3.0, requires_grad=rg),
    "rand_like": lambda rg: ag.rand_like(ag.ones(2), requires_grad=rg),
    "randn_like": lambda rg: ag.randn_like(ag.ones(2), requires_grad=rg),
}


@pytest.mark.parametrize("name", sorted(_CREATORS))
@pytest.mark.parametrize("bad", ["yes", 1, 0, 1.0, None, [True]])
def test_creation_refuses_a_non_bool_requires_grad(name, bad):
    msg = rf"^{name}\(\): argument 'requires_grad' must be bool, not {type(bad).__name__}$"
    with pytest.raises(TypeError, match=msg):
        _CREATORS[name](bad)


@pytest.mark.parametrize("name", sorted(_CREATORS))
@pytest.mark.parametrize("flag", [True, False, np.bool_(True), np.bool_(False)])
def test_creation_takes_a_bool_or_numpy_bool(name, flag):
    t = _CREATORS[name](flag)
    assert t.requires_grad is bool(flag)
    assert t.is_leaf


def test_every_creation_function_is_covered():
    from autograd_c import creation
    takes = {n for n in creation.__all__
             if "requires_grad" in inspect.signature(getattr(creation, n)).parameters}
    assert takes == set(_CREATORS)


# ---------------------------------------------------------------------------------------------
# 2. every public attribute of nn.Module has its own docstring

def _own_doc(cls, name):
    attr = inspect.getattr_static(cls, name)
    f = getattr(attr, "__func__", attr)
    f = getattr(f, "fget", f)
    doc = getattr(f, "__doc__", None)
    # a property or method object without a docstring reports its type's
    return doc if doc and doc is not getattr(type(f), "__doc__", None) else None


def test_every_public_module_attribute_has_a_docstring():
    public = [n for n in dir(nn.Module) if not n.startswith("_")]
    assert {"forward", "float", "double", "extra_repr", "parameters"} <= set(public)
    missing = [n for n in public if not (_own_doc(nn.Module, n) or "").strip()]
    assert not missing, missing


def test_module_float_double_do_what_they_say():
    m = nn.Linear(2, 3)
    assert m.double() is m and m.weight.dtype == np.float64 and m.bias.dtype == np.float64
    assert m.float() is m and m.weight.dtype == np.float32
    assert "float32" in nn.Module.float.__doc__ and "float64" in nn.Module.double.__doc__


def test_module_forward_without_override_raises():
    with pytest.raises(NotImplementedError, match="Module.*forward"):
        nn.Module()(ag.ones(2))


# ---------------------------------------------------------------------------------------------
# 3. optimizers take PyTorch's foreach / differentiable / fused / capturable flags

# PyTorch's own flags per class (torch.optim signatures)
_FLAGS = {
    optim.SGD: ("foreach", "differentiable", "fused"),
    optim.Adam: ("foreach", "differentiable", "fused", "capturable"),
    optim.AdamW: ("foreach", "differentiable", "fused", "capturable"),
    optim.RMSprop: ("foreach", "differentiable", "capturable"),
    optim.Adagrad: ("foreach", "differentiable", "fused"),
    optim.Adamax: ("foreach", "differentiable", "capturable"),
    optim.NAdam: ("foreach", "differentiable", "capturable"),
    optim.RAdam: ("foreach", "differentiable", "capturable"),
    optim.Adadelta: ("foreach", "differentiable", "capturable"),
}
_OFF = {"foreach": None, "differentiable": False, "fused": None, "capturable": False}


def _quadratic_steps(cls, n=3, **kw):
    w = ag.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    opt = cls([w], lr=0.1, **kw)
    for _ in range(n):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    return w.numpy().copy()


def test_every_optimizer_is_listed():
    classes = {c for c in vars(optim).values()
               if inspect.isclass(c) and issubclass(c, optim.Optimizer) and c is not optim.Optimizer}
    assert classes == set(_FLAGS)


@pytest.mark.parametrize("cls", list(_FLAGS), ids=lambda c: c.__name__)
def test_optimizer_accepts_the_no_op_flags(cls):
    want = _quadratic_steps(cls)
    assert not np.allclose(want, [1.0, -2.0, 0.5])  # the steps moved w
    for foreach in (None, True, False, np.bool_(True)):
        np.testing.assert_array_equal(_quadratic_steps(cls, foreach=foreach), want)
    off = {k: _OFF[k] for k in _FLAGS[cls]}
    np.testing.assert_array_equal(_quadratic_steps(cls, **off), want)
    for k in _FLAGS[cls]:
        if k != "foreach":  # False is as good as the default None / False
            np.testing.assert_array_equal(_quadratic_steps(cls, **{k: False}), want)
    # keyword-only: never mistaken for a hyper-parameter
    for k in _FLAGS[cls]:
        assert inspect.signature(cls).parameters[k].kind in (
            inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@pytest.mark.parametrize("cls", list(_FLAGS), ids=lambda c: c.__name__)
def test_optimizer_refuses_what_it_cannot_do(cls):
    w = ag.zeros(2, requires_grad=True)
    for k in _FLAGS[cls]:
        if k == "foreach":
            continue
        with pytest.raises(ValueError, match=rf"{cls.__name__}: {k}=True is not supported"):
            cls([w], **{k: True})
    with pytest.raises(TypeError, match=rf"{cls.__name__}: foreach must be None or a bool, "
                                        "got str"):
        cls([w], foreach="yes")
    # a flag PyTorch's class does not have is still an unknown keyword
    for k in set(_OFF) - set(_FLAGS[cls]):
        with pytest.raises(TypeError):
            cls([w], **{k: _OFF[k]})


@pytest.mark.parametrize("cls", list(_FLAGS), ids=lambda c: c.__name__)
def test_optimizer_documents_its_flags_in_its_own_docstring(cls):
    doc = cls.__doc__
    for k in _FLAGS[cls]:
        assert f"{k}" in doc, (cls, k)
    assert "ignored" in doc and "not supported" in doc


def test_optimizer_base_docstring_no_longer_says_they_refuse_foreach():
    doc = " ".join(optim.Optimizer.__doc__.split())
    assert "do not take it" not in doc
    assert "every optimizer here (and ``clip_grad_value_``) accepts it and ignores it" in doc


# ---------------------------------------------------------------------------------------------
# 4. binary_cross_entropy exists once, with PyTorch's signature

P = np.array([[0.2, 0.7, 0.9], [0.4, 0.05, 0.6]])
T = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
W = np.array([[1.0, 2.0, 0.5], [3.0, 1.0, 0.25]])
X = np.array([[-1.5, 0.3, 2.0], [0.7, -0.2, 1.1]])
PW = np.array([2.0, 0.5, 1.5])


def _np_bce(p, t, w):
    return float(np.mean(-w * (t * np.log(p) + (1 - t) * np.log1p(-p))))


def _np_bce_logits(x, t, w, pw):
    ls, l1s = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    return float(np.mean(-w * (pw * t * ls + (1 - t) * l1s)))


def test_one_binary_cross_entropy_with_pytorchs_signature():
    assert losses.binary_cross_entropy is F.binary_cross_entropy
    assert losses.binary_cross_entropy_with_logits is F.binary_cross_entropy_with_logits
    assert list(inspect.signature(losses.binary_cross_entropy).parameters) == [
        "input", "target", "weight", "size_average", "reduce", "reduction"]
    assert list(inspect.signature(losses.binary_cross_entropy_with_logits).parameters) == [
        "input", "target", "weight", "size_average", "reduce", "reduction", "pos_weight"]


def test_losses_binary_cross_entropy_weight_third():
    # (F's gradients with a positional weight: tests/test_r8_polish.py; they are these functions)
    np.testing.assert_allclose(float(losses.binary_cross_entropy(ag.tensor(P, dtype="float64"),
                                                                 T, W)),
                               _np_bce(P, T, W), rtol=1e-12)
    np.testing.assert_allclose(
        float(losses.binary_cross_entropy_with_logits(ag.tensor(X, dtype="float64"), T, W,
                                                      pos_weight=PW)),
        _np_bce_logits(X, T, W, PW), rtol=1e-12)
    for f in (losses.binary_cross_entropy, losses.binary_cross_entropy_with_logits):
        with pytest.raises(TypeError, match=r"weight .*reduction='sum'"):
            f(ag.tensor(P), T, "sum")


def test_bce_modules_call_the_loss_by_keyword(monkeypatch):
    seen = []

    def spy(*args, **kwargs):
        seen.append((len(args), sorted(kwargs)))
        return ag.tensor(0.0)

    monkeypatch.setattr(losses, "binary_cross_entropy", spy)
    monkeypatch.setattr(losses, "binary_cross_entropy_with_logits", spy)
    nn.BCELoss(weight=W)(ag.tensor(P), T)
    nn.BCEWithLogitsLoss(weight=W, pos_weight=PW)(ag.tensor(X), T)
    assert seen == [(2, ["reduction", "weight"]), (2, ["pos_weight", "reduction", "weight"])]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_modules_values_and_gradients(reduction):
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]

    def bce(p, w):
        return red(-w * (T * np.log(p) + (1 - T) * np.log1p(-p)))

    def bcel(x, w, pw):
        return red(-w * (pw * T * -np.logaddexp(0, -x) + (1 - T) * -np.logaddexp(0, x)))

    w = ag.tensor(W, dtype="float64", requires_grad=True)
    p = ag.tensor(P, dtype="float64", requires_grad=True)
    out = nn.BCELoss(weight=w, reduction=reduction)(p, T)
    np.testing.assert_allclose(out.numpy(), bce(P, W), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), fd_grad(lambda v: np.sum(bce(v, W)), P),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(w.grad.numpy(), fd_grad(lambda v: np.sum(bce(P, v)), W),
                               rtol=1e-6, atol=1e-9)

    x = ag.tensor(X, dtype="float64", requires_grad=True)
    pw = ag.tensor(PW, dtype="float64", requires_grad=True)
    out = nn.BCEWithLogitsLoss(weight=W, pos_weight=pw, reduction=reduction)(x, T)
    np.testing.assert_allclose(out.numpy(), bcel(X, W, PW), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: np.sum(bcel(v, W, PW)), X),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(pw.grad.numpy(), fd_grad(lambda v: np.sum(bcel(X, W, v)), PW),
                               rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# 5. linalg.norm: matrix-only ords on vectors, vector-only ords on matrices (numpy's rules)

def _numpy_raises(x, **kw):
    try:
        np.linalg.norm(x, **kw)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("ord", ["fro", "nuc"])
@pytest.mark.parametrize("shape, axis", [((3,), None), ((2, 3), 1), ((2, 3), (0,)),
                                         ((2, 3, 4), -1)])
def test_matrix_norm_of_a_vector_raises(ord, shape, axis):
    x = rng.standard_normal(shape)
    assert _numpy_raises(x, ord=ord, axis=axis)
    with pytest.raises(ValueError, match=rf"norm: invalid norm order '{ord}' for vectors"):
        ag.linalg.norm(x, ord=ord, axis=axis)


@pytest.mark.parametrize("shape, axis", [((2, 3, 4), None), ((2, 3, 4), (0, 1, 2)), ((), None)])
@pytest.mark.parametrize("ord", ["fro", 2])
def test_norm_with_an_ord_needs_one_or_two_axes(shape, axis, ord):
    x = rng.standard_normal(shape)
    assert _numpy_raises(x, ord=ord, axis=axis)
    with pytest.raises(ValueError, match="norm: improper number of dimensions"):
        ag.linalg.norm(x, ord=ord, axis=axis)


@pytest.mark.parametrize("ord", ["foo", 3, 0.5])
def test_norm_order_invalid_for_matrices(ord):
    x = rng.standard_normal((2, 3))
    assert _numpy_raises(x, ord=ord)
    with pytest.raises(ValueError, match="norm: invalid norm order .* for matrices"):
        ag.linalg.norm(x, ord=ord)


@pytest.mark.parametrize("ord, axis", [(1, None), (np.inf, None), (-2, None), (3, 0), (0, 1)])
def test_norm_orders_numpy_has_but_not_here_say_so(ord, axis):
    x = rng.standard_normal((2, 3)) if axis is not None else rng.standard_normal(3)
    assert not _numpy_raises(x, ord=ord, axis=axis)
    with pytest.raises(ValueError, match="not supported"):
        ag.linalg.norm(x, ord=ord, axis=axis)


def test_nuclear_norm_of_a_matrix_says_not_implemented():
    assert not _numpy_raises(np.eye(2), ord="nuc")
    with pytest.raises(ValueError, match="'nuc'.* not supported"):
        ag.linalg.norm(np.eye(2), ord="nuc")


@pytest.mark.parametrize("shape, ord, axis", [((2, 3), "fro", None), ((2, 3, 4), "fro", (0, 2)),
                                              ((2, 3, 4), "fro", (-1, 1)), ((3,), 2, None),
                                              ((2, 3), 2, 0), ((2, 3, 4), None, None),
                                              ((2, 3, 4), None, (0, 2)), ((4,), None, 0)])
def test_supported_norms_still_match_numpy_with_fd_gradients(shape, ord, axis):
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ag.linalg.norm(x, ord=ord, axis=axis).numpy(),
                               np.linalg.norm(x, ord=ord, axis=axis), rtol=1e-13)
    t = ag.tensor(x, dtype="float64", requires_grad=True)
    ag.linalg.norm(t, ord=ord, axis=axis).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(),
                               fd_grad(lambda v: np.sum(np.linalg.norm(v, ord=ord, axis=axis)), x),
                               rtol=1e-6, atol=1e-9)
