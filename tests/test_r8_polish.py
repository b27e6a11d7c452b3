"""Round 8 polish of the public surface: the problems it fixed, each pinned by a test.

- 75 of the 101 public Tensor methods and properties showed only a signature in help().
- ``requires_grad_("no")``, ``t.requires_grad = "yes"`` and ``ag.tensor(..., requires_grad=1)``
  took any truthy value; PyTorch raises TypeError for a non-bool.
- ``copy.deepcopy(t)`` dropped ``t.grad`` (PyTorch keeps a deep copy); pickling still drops it,
  as PyTorch's does.
- ``floor_divide`` and ``remainder`` were missing from ``autograd_c``.
- ``ag.save(model, path)`` said "cannot save a Linear at  (...)": a blank location, no hint.
- ``F.binary_cross_entropy(p, t, w)`` (and ``..._with_logits``) read the third positional
  argument as ``reduction``; PyTorch's signature puts ``weight`` there.
- ``ag.data.DataLoader((X, y))`` failed inside numpy (or, with X and y of one shape, silently
  made a dataset of 2 samples); a tuple of arrays is now taken as the arrays, like a
  TensorDataset.
- ``nn``, ``nn.functional``, ``optim`` and ``models`` had no ``__all__``: ``import *`` also
  brought in implementation modules and helpers (``np``, ``get_rng``, ``layers``...).
"""
import copy
import inspect
import pickle

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F
from _fd import fd_grad


# ---------------------------------------------------------------------------------------------
# docstrings

def _doc_body(obj, name):
    """The docstring without the signature line Cython's embedsignature puts first."""
    lines = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    if lines and lines[0].startswith(f"Tensor.{name}(") or lines and lines[0].startswith(f"{name}("):
        lines = lines[1:]
    return "\n".join(lines).strip()


TENSOR_PUBLIC = sorted(n for n in dir(ag.Tensor) if not n.startswith("_"))


def test_tensor_has_the_expected_public_surface():
    # the parametrised test below must not pass vacuously
    assert len(TENSOR_PUBLIC) >= 100
    for name in ("sum", "shape", "grad", "backward", "requires_grad", "T", "exp"):
        assert name in TENSOR_PUBLIC


@pytest.mark.parametrize("name", TENSOR_PUBLIC)
def test_every_public_tensor_attribute_has_a_docstring(name):
    body = _doc_body(getattr(ag.Tensor, name), name)
    assert len(body.split()) >= 3, f"Tensor.{name}: help() shows only a signature"


def test_tensor_docstrings_are_their_own():
    # a copy-pasted docstring on two different methods is a mistake, not documentation
    bodies = {}
    for name in TENSOR_PUBLIC:
        body = _doc_body(getattr(ag.Tensor, name), name)
        bodies.setdefault(body, []).append(name)
    shared = {tuple(v) for v in bodies.values() if len(v) > 1}
    assert not shared, shared


def test_documented_keywords():
    assert "has_aux" in ag.grad.__doc__
    assert "aux" in ag.grad.__doc__.split("has_aux : bool", 1)[1].split("\n\n")[0]
    for kw in ("negative_slope", "alpha"):
        assert f"{kw} :" in nn.Linear.__doc__
    for cls in vars(ag.optim).values():
        if inspect.isclass(cls) and issubclass(cls, ag.optim.Optimizer) and cls is not ag.optim.Optimizer:
            if "foreach" in inspect.signature(cls).parameters:
                assert "foreach" in (cls.__doc__ or "") + inspect.getmodule(cls).__doc__, cls
    # the optimizers that do not take it say so
    assert "foreach" in ag.optim.Optimizer.__doc__


# ---------------------------------------------------------------------------------------------
# requires_grad takes a bool only

@pytest.mark.parametrize("bad", ["no", 1, 0.0, None, [True]])
def test_requires_grad_refuses_a_non_bool(bad):
    t = ag.ones(2)
    with pytest.raises(TypeError, match=r"requires_grad_\(\): argument 'requires_grad' must be "
                                        rf"bool, not {type(bad).__name__}"):
        t.requires_grad_(bad)
    assert t.requires_grad is False
    with pytest.raises(TypeError, match="requires_grad must be bool"):
        t.requires_grad = bad
    assert t.requires_grad is False
    with pytest.raises(TypeError, match=r"tensor\(\): argument 'requires_grad' must be bool"):
        ag.tensor([1.0], requires_grad=bad)


def test_requires_grad_takes_bools():
    t = ag.ones(2)
    assert t.requires_grad_() is t and t.requires_grad is True
    assert t.requires_grad_(np.bool_(False)).requires_grad is False
    t.requires_grad = True
    assert t.requires_grad is True
    assert ag.tensor([1.0], requires_grad=np.True_).requires_grad is True
    # the creation functions that go through ag.tensor check it too
    with pytest.raises(TypeError, match="requires_grad"):
        ag.arange(3, requires_grad="yes")
    with pytest.raises(TypeError, match="requires_grad"):
        ag.eye(2, requires_grad=1)


# ---------------------------------------------------------------------------------------------
# deepcopy keeps .grad, pickling does not

def test_deepcopy_keeps_a_copy_of_grad():
    w = ag.tensor([1.0, -2.0, 3.0], dtype="float64", requires_grad=True)
    (w * w).sum().backward()
    c = copy.deepcopy(w)
    assert c is not w and c.requires_grad and c.is_leaf
    np.testing.assert_array_equal(c.numpy(), w.numpy())
    assert c.grad is not None and c.grad.dtype == w.grad.dtype
    np.testing.assert_array_equal(c.grad.numpy(), [2.0, -4.0, 6.0])
    # a deep copy: neither the data nor the gradient is shared
    c.grad.zero_()
    c.data.fill_(0.0)
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, -4.0, 6.0])
    np.testing.assert_array_equal(w.numpy(), [1.0, -2.0, 3.0])


def test_deepcopy_without_grad_and_the_memo():
    t = ag.ones(2)
    assert copy.deepcopy(t).grad is None
    w = ag.ones(2, requires_grad=True)
    w.grad = ag.tensor([5.0, 6.0])
    a, b = copy.deepcopy([w, w])
    assert a is b                      # one object copied once, as for any Python object
    assert a.grad.tolist() == [5.0, 6.0]


def test_deepcopy_of_a_module_keeps_parameter_grads():
    m = nn.Linear(3, 2)
    m(ag.ones(4, 3)).sum().backward()
    m2 = copy.deepcopy(m)
    np.testing.assert_array_equal(m2.weight.grad.numpy(), m.weight.grad.numpy())
    np.testing.assert_array_equal(m2.bias.grad.numpy(), [4.0, 4.0])


def test_pickling_drops_grad_as_pytorch_does():
    w = ag.ones(2, requires_grad=True)
    w.grad = ag.tensor([5.0, 6.0])
    r = pickle.loads(pickle.dumps(w))
    assert r.requires_grad and r.grad is None
    assert ".grad" in ag.Tensor.__reduce__.__doc__ and "deepcopy" in ag.Tensor.__deepcopy__.__doc__


# ---------------------------------------------------------------------------------------------
# exports

def test_floor_divide_and_remainder_are_exported():
    for name in ("floor_divide", "remainder"):
        assert name in ag.__all__
        assert getattr(ag, name) is getattr(ag._core, name)
    a, b = ag.tensor([7.0, -7.0]), ag.tensor([2.0, 2.0])
    assert ag.floor_divide(a, b).tolist() == [3.0, -4.0]
    assert ag.remainder(a, b).tolist() == [1.0, 1.0]


NAMESPACES = {
    "autograd_c.nn": (nn, ["Module", "Parameter", "Linear", "Sequential", "ReLU", "MSELoss",
                           "LayerNorm", "ModuleList", "functional", "init", "utils"],
                      ["module", "layers", "container", "normalization", "activations",
                       "losses"]),
    "autograd_c.nn.functional": (F, ["relu", "linear", "dropout", "gelu", "softplus",
                                     "mse_loss", "cross_entropy", "binary_cross_entropy",
                                     "layer_norm", "batch_norm"], ["np", "get_rng"]),
    "autograd_c.optim": (ag.optim, ["Optimizer", "SGD", "Adam", "AdamW", "Adadelta",
                                    "clip_grad_norm_", "lr_scheduler"],
                         ["optimizers", "adaptive"]),
    "autograd_c.models": (ag.models, ["MLPClassifier", "MLPRegressor", "LogisticRegression",
                                      "NotFittedError"], ["linear", "mlp"]),
}


@pytest.mark.parametrize("modname", sorted(NAMESPACES))
def test_star_import_gives_the_public_api(modname):
    mod, wanted, unwanted = NAMESPACES[modname]
    names = mod.__all__
    assert len(names) == len(set(names))
    assert all(not n.startswith("_") and hasattr(mod, n) for n in names)
    ns = {}
    exec(f"from {modname} import *", ns)
    got = set(ns) - {"__builtins__"}
    assert got == set(names)
    assert set(wanted) <= got
    assert not set(unwanted) & got
    # every public callable the namespace offers is listed
    offered = {n for n, v in vars(mod).items()
               if not n.startswith("_") and callable(v) and n not in unwanted
               and not inspect.ismodule(v)}
    assert offered <= got, offered - got


# ---------------------------------------------------------------------------------------------
# ag.save of a Module

def test_save_of_a_module_says_what_to_do(tmp_path):
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with pytest.raises(TypeError) as e:
        ag.save(m, tmp_path / "m.npz")
    msg = str(e.value)
    assert "Sequential" in msg and "at  " not in msg
    assert "ag.save(model.state_dict(), path)" in msg
    assert "dicts" in msg                      # what is supported
    opt = ag.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        ag.save({"opt": opt}, tmp_path / "o.npz")
    with pytest.raises(TypeError, match="'opt'"):   # the location inside the object is named
        ag.save({"opt": opt}, tmp_path / "o.npz")
    with pytest.raises(TypeError, match="set"):
        ag.save({1, 2}, tmp_path / "s.npz")
    # the hinted call works
    ag.save(m.state_dict(), tmp_path / "m.npz")
    assert set(ag.load(tmp_path / "m.npz")) == set(m.state_dict())


# ---------------------------------------------------------------------------------------------
# the losses' positional weight

def _np_bce(p, t, w):
    return np.mean(-w * (t * np.log(p) + (1 - t) * np.log1p(-p)))


def _np_bce_logits(x, t, w, pw):
    ls = -np.logaddexp(0.0, -x)          # log sigmoid(x)
    l1s = -np.logaddexp(0.0, x)          # log(1 - sigmoid(x))
    return np.mean(-w * (pw * t * ls + (1 - t) * l1s))


RNG = np.random.default_rng(8)
P = RNG.uniform(0.05, 0.95, (3, 4))
T = RNG.uniform(0.0, 1.0, (3, 4))
W = RNG.uniform(0.5, 2.0, (1, 4))
X = RNG.normal(size=(3, 4))
PW = RNG.uniform(0.5, 3.0, (4,))


def test_pytorch_signatures_of_the_losses():
    params = {f: list(inspect.signature(getattr(F, f)).parameters) for f in
              ("binary_cross_entropy", "binary_cross_entropy_with_logits", "nll_loss",
               "cross_entropy")}
    for f, ps in params.items():
        assert ps[:3] == ["input", "target", "weight"], (f, ps)
    assert params["binary_cross_entropy"] == ["input", "target", "weight", "size_average",
                                              "reduce", "reduction"]
    assert params["binary_cross_entropy_with_logits"] == [
        "input", "target", "weight", "size_average", "reduce", "reduction", "pos_weight"]


def test_binary_cross_entropy_weight_positional():
    p = ag.tensor(P, dtype="float64", requires_grad=True)
    loss = F.binary_cross_entropy(p, T, W)
    np.testing.assert_allclose(float(loss), _np_bce(P, T, W), rtol=1e-12)
    np.testing.assert_allclose(float(F.binary_cross_entropy(p, T, W, None, None, "sum")),
                               _np_bce(P, T, W) * P.size, rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(p.grad.numpy(), fd_grad(lambda v: _np_bce(v, T, W), P),
                               rtol=1e-6, atol=1e-9)
    # exact: d/dp = w (p - t) / (p (1 - p)) / n
    np.testing.assert_allclose(p.grad.numpy(), W * (P - T) / (P * (1 - P)) / P.size, rtol=1e-12)
    # a weight tensor gets its gradient too
    w = ag.tensor(W, dtype="float64", requires_grad=True)
    F.binary_cross_entropy(ag.tensor(P, dtype="float64"), T, w).backward()
    np.testing.assert_allclose(w.grad.numpy(), fd_grad(lambda v: _np_bce(P, T, v), W),
                               rtol=1e-6, atol=1e-9)


def test_binary_cross_entropy_with_logits_weight_positional():
    x = ag.tensor(X, dtype="float64", requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, T, W, pos_weight=PW)
    np.testing.assert_allclose(float(loss), _np_bce_logits(X, T, W, PW), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: _np_bce_logits(v, T, W, PW), X),
                               rtol=1e-6, atol=1e-9)
    pw = ag.tensor(PW, dtype="float64", requires_grad=True)
    F.binary_cross_entropy_with_logits(ag.tensor(X, dtype="float64"), T, W, None, None, "mean",
                                       pw).backward()
    np.testing.assert_allclose(pw.grad.numpy(), fd_grad(lambda v: _np_bce_logits(X, T, W, v), PW),
                               rtol=1e-6, atol=1e-9)
    # without weights: the plain loss
    np.testing.assert_allclose(float(F.binary_cross_entropy_with_logits(ag.tensor(X), T)),
                               _np_bce_logits(X, T, 1.0, 1.0), rtol=1e-5)


@pytest.mark.parametrize("f", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_a_reduction_in_the_weight_slot_is_a_clear_error(f):
    with pytest.raises(TypeError, match=r"weight .*reduction='sum'"):
        f(ag.tensor(P), T, "sum")
    with pytest.raises(TypeError, match="size_average.*reduction="):
        f(ag.tensor(P), T, None, True)
    with pytest.raises(TypeError, match="reduce.*reduction="):
        f(ag.tensor(P), T, reduce=False)


def test_the_loss_modules_still_work():
    np.testing.assert_allclose(float(nn.BCELoss(weight=W)(ag.tensor(P, dtype="float64"), T)),
                               _np_bce(P, T, W), rtol=1e-12)
    np.testing.assert_allclose(
        float(nn.BCEWithLogitsLoss(weight=W, pos_weight=PW)(ag.tensor(X, dtype="float64"), T)),
        _np_bce_logits(X, T, W, PW), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# DataLoader((X, y))

def _batches(dl):
    return [tuple(np.asarray(b) for b in batch) for batch in dl]


@pytest.mark.parametrize("yshape", [(10,), (10, 3)])
def test_dataloader_takes_a_tuple_of_arrays(yshape):
    X = np.arange(30.0).reshape(10, 3)
    y = np.arange(float(np.prod(yshape))).reshape(yshape)
    want = _batches(ag.data.DataLoader(X, y, batch_size=4))
    assert len(want) == 3 and want[0][0].shape == (4, 3)
    for arg in ((X, y), (ag.tensor(X), y)):
        dl = ag.data.DataLoader(arg, batch_size=4)
        assert len(dl) == 3
        got = _batches(dl)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert len(g) == 2
            np.testing.assert_array_equal(g[0], w[0])
            np.testing.assert_array_equal(g[1], w[1])
    got = [tuple(np.asarray(b) for b in bt) for bt in ag.data.batches((X, y), batch_size=4)]
    np.testing.assert_array_equal(got[-1][1], y[8:])


def test_dataloader_of_ragged_data_is_a_clear_type_error():
    X = np.zeros((10, 3))
    with pytest.raises(TypeError, match=r"DataLoader\(X, y"):
        ag.data.DataLoader((X, list(range(10))), batch_size=4)
    with pytest.raises(TypeError, match="separate"):
        ag.data.DataLoader([X, np.zeros(10)], batch_size=4)
    # a plain list of rows is still one array
    assert len(ag.data.DataLoader([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], batch_size=2)) == 2
