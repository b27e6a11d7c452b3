"""nn fixes from an audit: BCE gradients at p = 0 or 1, deepcopy/pickle of a fused Sequential,
fused activations that change settings, dtype conversion of tied and frozen parameters, tied
weights in state_dict, frozen parameters kept as parameters.  Expected values come from the
formulas PyTorch documents (no torch import)."""
import copy
import pickle

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F


# ---------------------------------------------------------------- 1. binary_cross_entropy

def _bce_reference(p, t, w=None):
    """PyTorch's loss (logs clamped at -100) and its gradient (p - t) / max(p (1 - p), 1e-12),
    per element, in float64."""
    p = p.astype(np.float64)
    t = t.astype(np.float64)
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(p), -100.0)
        lq = np.maximum(np.log1p(-p), -100.0)
    loss = -(t * lp + (1 - t) * lq)
    grad = (p - t) / np.maximum(p * (1 - p), 1e-12)
    if w is not None:
        loss, grad = loss * w, grad * w
    return loss, grad


P_EDGE = [0.0, 1.0, 1e-30, 1 - 1e-16, 1e-13, 0.5, 0.3, 0.999999, 1e-7, 0.0, 1.0]
T_EDGE = [1.0, 0.0, 1.0, 0.0, 0.3, 1.0, 0.7, 1.0, 0.2, 0.0, 1.0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_finite_gradient_at_saturated_probabilities(dtype, reduction, weighted):
    p = np.array(P_EDGE, dtype=dtype)
    t = np.array(T_EDGE, dtype=dtype)
    w = np.linspace(0.5, 2.0, p.size).astype(dtype) if weighted else None
    x = ag.tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(x, t, reduction=reduction, weight=w)
    (loss.sum() if reduction == "none" else loss).backward()
    ref_loss, ref_grad = _bce_reference(p, t, w)
    scale = 1.0 / p.size if reduction == "mean" else 1.0
    ref_red = {"mean": ref_loss.mean(), "sum": ref_loss.sum(), "none": ref_loss}[reduction]
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(loss.numpy(), ref_red, rtol=rtol)
    g = x.grad.numpy()
    assert np.all(np.isfinite(g))
    # relative to the size of the two terms t/p and (1-t)/(1-p) whose difference the log
    # form computes (the closed form loses digits differently near p = t)
    size = np.maximum(np.abs(ref_grad), 1.0)
    tol = 1e-8 if dtype == "float64" else 1e-5
    np.testing.assert_array_less(np.abs(g - ref_grad * scale), tol * size * scale + 1e-300)


def test_bce_torch_example_value_and_gradient():
    x = ag.tensor(np.array([0.0, 1.0, 0.5, 0.0]), requires_grad=True)
    loss = nn.BCELoss()(x, np.array([1.0, 0.0, 1.0, 0.0]))
    loss.backward()
    assert abs(float(loss) - 50.17328679513999) < 1e-10
    np.testing.assert_allclose(x.grad.numpy(), [-2.5e11, 2.5e11, -0.5, 0.0], rtol=1e-12)


def test_bce_target_gradient_and_second_derivative():
    p = np.array([0.0, 1.0, 0.3])
    t = np.array([1.0, 0.0, 0.7])
    # d/dt is the (clamped) log(1 - p) - log(p), finite at the edges
    tt = ag.tensor(t, requires_grad=True)
    F.binary_cross_entropy(ag.tensor(p), tt, reduction="sum").backward()
    np.testing.assert_allclose(tt.grad.numpy(), [100.0, -100.0, np.log(0.7) - np.log(0.3)],
                               rtol=1e-12)
    # second derivative in p: t/p^2 + (1-t)/(1-p)^2 inside, 1/eps where the backward is linear
    d2 = ag.grad(lambda x: ag.grad(
        lambda y: F.binary_cross_entropy(y, t, reduction="sum"))(x).sum())(ag.tensor(p))
    np.testing.assert_allclose(d2.numpy(), [1e12, 1e12, 0.7 / 0.09 + 0.3 / 0.49], rtol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("w,target", [(20.0, 0.0), (-28.0, 1.0), (-40.0, 1.0), (40.0, 0.0)])
def test_bce_after_saturated_sigmoid(dtype, w, target):
    model = nn.Sequential(nn.Linear(1, 1, dtype=dtype), nn.Sigmoid())
    with ag.no_grad():
        model[0].weight.fill_(w)
        model[0].bias.fill_(0.0)
    out = model(ag.ones(1, 1).astype(dtype))
    loss = nn.BCELoss()(out, np.full((1, 1), target))
    loss.backward()
    p = out.numpy().astype(np.float64)[0, 0]
    g = model[0].weight.grad.numpy()[0, 0]
    assert np.isfinite(float(loss)) and np.isfinite(g)
    # chain rule through sigmoid' = p (1 - p), computed in the layer's dtype
    pd = out.numpy()[0, 0]
    dsig = float(pd * (1 - pd))
    expect = (p - target) / max(p * (1 - p), 1e-12) * dsig
    assert g == pytest.approx(expect, rel=1e-5, abs=1e-30)


def test_bce_loss_value_unchanged_inside():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.01, 0.99, 50)
    t = rng.uniform(0, 1, 50)
    x = ag.tensor(p, requires_grad=True)
    F.binary_cross_entropy(x, t, reduction="sum").backward()
    ref_loss, ref_grad = _bce_reference(p, t)
    np.testing.assert_allclose(float(F.binary_cross_entropy(ag.tensor(p), t, reduction="sum")),
                               ref_loss.sum(), rtol=1e-13)
    np.testing.assert_allclose(x.grad.numpy(), ref_grad, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- 2. deepcopy / pickle

def _mlp():
    ag.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.LeakyReLU(0.2))


def test_deepcopy_after_forward_uses_own_parameters():
    a = _mlp()
    x = ag.tensor(np.random.default_rng(0).standard_normal((5, 3)), dtype="float32")
    ya = a(x).numpy()
    b = copy.deepcopy(a)
    with ag.no_grad():
        b[0].weight.fill_(0.5)
    yb = b(x)
    ref = nn.LeakyReLU(0.2)(b[2](ag.tanh(b[0](x)))).numpy()
    np.testing.assert_allclose(yb.numpy(), ref, rtol=1e-6)
    assert not np.allclose(yb.numpy(), ya)
    np.testing.assert_array_equal(a(x).numpy(), ya)  # the original is unchanged
    yb.sum().backward()
    assert all(p.grad is not None for p in b.parameters())
    assert all(p.grad is None for p in a.parameters())


@pytest.mark.parametrize("proto", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_after_forward_round_trips(proto):
    a = _mlp()
    x = ag.tensor(np.random.default_rng(1).standard_normal((4, 3)), dtype="float32")
    ya = a(x).numpy()
    b = pickle.loads(pickle.dumps(a, protocol=proto))
    np.testing.assert_array_equal(b(x).numpy(), ya)
    b(x).sum().backward()
    assert all(p.grad is not None for p in b.parameters())
    assert all(p.grad is None for p in a.parameters())
    assert a.__dict__["_plan"] is not None  # pickling did not drop the original's plan


# ---------------------------------------------------------------- 3. fused settings

@pytest.mark.parametrize("make,attr,new", [(lambda: nn.LeakyReLU(0.01), "negative_slope", 0.3),
                                           (lambda: nn.ELU(1.0), "alpha", 2.5)])
def test_fused_activation_setting_change_takes_effect(make, attr, new):
    act = make()
    lin = nn.Linear(3, 4)
    seq = nn.Sequential(lin, act)
    x = ag.tensor(np.random.default_rng(2).standard_normal((6, 3)) * 3, dtype="float32")
    before = seq(x).numpy()  # builds the fused plan
    np.testing.assert_allclose(before, act(lin(x)).numpy(), rtol=1e-6, atol=1e-7)
    setattr(act, attr, new)
    unfused = act(lin(x)).numpy()
    assert not np.allclose(unfused, before)
    np.testing.assert_allclose(seq(x).numpy(), unfused, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- 4. to / double / float

class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


@pytest.mark.parametrize("conv", ["double", "float", "to64"])
def test_to_keeps_tied_weights_tied(conv):
    m = _Tied()
    if conv == "float":
        m.double()
    n0 = len(m.parameters())
    if conv == "to64":
        m.to(np.float64)
    else:
        getattr(m, conv)()
    assert m.b.weight is m.a.weight
    assert len(m.parameters()) == n0 == 3


def test_to_keeps_requires_grad_false():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    m[0].requires_grad_(False)
    m.double()
    assert m[0].weight.dtype == np.float64 and not m[0].weight.requires_grad
    assert not m[0].bias.requires_grad and m[2].weight.requires_grad
    assert len(m.parameters()) == 4 and "0.weight" in m.state_dict()
    m.float()
    assert not m[0].weight.requires_grad and len(m.parameters()) == 4


# ---------------------------------------------------------------- 5. tied weights in state_dict

def test_state_dict_lists_every_path_of_a_tied_weight():
    m = _Tied()
    sd = m.state_dict()
    assert list(sd) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    np.testing.assert_array_equal(sd["a.weight"], sd["b.weight"])
    assert len(m.parameters()) == 3
    # loads strictly; the shared tensor gets the value
    m2 = _Tied()
    assert m2.load_state_dict(sd) == ([], [])
    np.testing.assert_array_equal(m2.a.weight.numpy(), sd["a.weight"])
    assert m2.b.weight is m2.a.weight
    # a dict naming the tied weight once still loads strictly
    one = {k: v for k, v in sd.items() if k != "b.weight"}
    m3 = _Tied()
    assert m3.load_state_dict(one) == ([], [])
    np.testing.assert_array_equal(m3.b.weight.numpy(), sd["a.weight"])
    # with no name of it, it is missing under each name
    none = {k: v for k, v in sd.items() if not k.endswith("weight")}
    with pytest.raises(KeyError, match="missing keys \\['a.weight', 'b.weight'\\]"):
        _Tied().load_state_dict(none)


def test_state_dict_module_used_twice():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(seq.parameters()) == 2


# ---------------------------------------------------------------- 6. frozen parameters

class _Frozen(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones(3), requires_grad=False)
        self.v = nn.Parameter(np.full(3, 2.0))
        self.plain = ag.ones(3)  # never a parameter: stays a plain attribute

    def forward(self, x):
        return x * self.w * self.v


def test_frozen_parameter_is_a_parameter(tmp_path):
    m = _Frozen()
    assert [n for n, _ in m.named_parameters()] == ["w", "v"]
    assert list(m.state_dict()) == ["w", "v"]
    with ag.no_grad():
        m.w.fill_(7.0)
    ag.save(m.state_dict(), tmp_path / "f.npz")
    m2 = _Frozen()
    m2.load_state_dict(ag.load(tmp_path / "f.npz"))
    assert m2.w.tolist() == [7.0, 7.0, 7.0] and not m2.w.requires_grad


def test_requires_grad_false_layer_survives_round_trip():
    a = nn.Linear(2, 3)
    a.requires_grad_(False)
    assert list(a.state_dict()) == ["weight", "bias"] and len(a.parameters()) == 2
    b = nn.Linear(2, 3)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b.weight.numpy(), a.weight.numpy())
    # a frozen parameter reassigned to another module stays a parameter there
    holder = _Frozen()
    holder.extra = a.weight
    assert "extra" in holder.state_dict()


def test_frozen_parameter_survives_pickle_and_register_parameter():
    m = pickle.loads(pickle.dumps(_Frozen()))
    assert [n for n, _ in m.named_parameters()] == ["w", "v"]
    other = nn.Module()
    other.reuse = m.w  # the unpickled frozen tensor is still recognised
    assert [n for n, _ in other.named_parameters()] == ["reuse"]
    other.register_parameter("z", ag.zeros(2))
    assert [n for n, _ in other.named_parameters()] == ["reuse", "z"]
    with pytest.raises(TypeError):
        other.register_parameter("bad", ag.ones(2, requires_grad=True) * 2)


def test_optimizer_leaves_frozen_parameters_alone():
    m = _Frozen()
    opt = ag.optim.Adam(m.parameters(), lr=0.1, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        m(ag.ones(3).astype("float64")).sum().backward()
        opt.step()
    assert m.w.grad is None and m.w.tolist() == [1.0, 1.0, 1.0]
    assert m.v.tolist() != [2.0, 2.0, 2.0]
