"""nn: modules, layers, losses (against numpy formulas and finite differences), init,
save/load."""
import math

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F


def f64(a, rg=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


# ---------------------------------------------------------------- Module

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(ag.ones(2))
        self.register_buffer("running", ag.zeros(2))
        self.note = "not a parameter"
        self.frozen = ag.ones(2)  # requires_grad=False: not a parameter

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_registration_and_traversal():
    m = Net()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert [type(c).__name__ for c in m.children()] == ["Linear", "Tanh", "Linear"]
    assert len(list(m.modules())) == 4
    assert [n for n, _ in m.named_buffers()] == ["running"]
    assert set(m.state_dict()) == {"scale", "fc1.weight", "fc1.bias", "fc2.weight", "running"}
    m.fc1 = nn.Identity()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc2.weight"]


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(seq.parameters()) == 2


def test_train_eval_and_zero_grad():
    m = Net()
    m.eval()
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    m(ag.ones(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_setattr_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = 1
    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_load_state_dict_errors_leave_model_unchanged():
    m = Net()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    sd = Net().state_dict()
    bad = dict(sd)
    del bad["fc1.bias"]
    with pytest.raises(KeyError, match="missing keys \\['fc1.bias'\\]"):
        m.load_state_dict(bad)
    bad = dict(sd, extra=np.zeros(1))
    with pytest.raises(KeyError, match="unexpected keys \\['extra'\\]"):
        m.load_state_dict(bad)
    bad = dict(sd)
    bad["fc2.weight"] = np.zeros((4, 2))
    with pytest.raises(ValueError, match="size mismatch for 'fc2.weight'"):
        m.load_state_dict(bad)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    missing, unexpected = m.load_state_dict({"scale": np.full(2, 3.0)}, strict=False)
    assert m.scale.tolist() == [3.0, 3.0] and "fc1.weight" in missing and unexpected == []


def test_state_dict_save_load_round_trip_identical_predictions(tmp_path):
    ag.manual_seed(1)
    a = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Dropout(0.3), nn.Linear(7, 3))
    b = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Dropout(0.3), nn.Linear(7, 3))
    x = ag.tensor(np.random.default_rng(0).standard_normal((4, 5)), dtype="float32")
    a.eval()
    b.eval()
    assert not np.array_equal(a(x).numpy(), b(x).numpy())
    ag.save(a.state_dict(), tmp_path / "m.npz")
    b.load_state_dict(ag.load(tmp_path / "m.npz"))
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_rejects_corrupt_files(tmp_path):
    p = tmp_path / "m.npz"
    ag.save(nn.Linear(3, 2).state_dict(), p)
    raw = p.read_bytes()
    (tmp_path / "t.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="not a (readable|valid) autograd_c save file"):
        ag.load(tmp_path / "t.npz")
    (tmp_path / "g.npz").write_bytes(b"garbage" * 10)
    with pytest.raises(ValueError):
        ag.load(tmp_path / "g.npz")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="manifest"):
        ag.load(tmp_path / "foreign.npz")
    np.savez(tmp_path / "obj.npz", __autograd_c_manifest__=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        ag.load(tmp_path / "obj.npz")
    with pytest.raises(TypeError):
        ag.save({"f": lambda: 0}, tmp_path / "x.npz")


def test_save_load_nested_structures(tmp_path):
    obj = {"a": {1: np.arange(3), "t": ag.ones(2, requires_grad=True)}, "l": [1.5, None, "s"],
           "tup": (1, 2)}
    ag.save(obj, tmp_path / "o.npz")
    back = ag.load(tmp_path / "o.npz")
    np.testing.assert_array_equal(back["a"][1], np.arange(3))
    assert isinstance(back["a"]["t"], ag.Tensor) and back["a"]["t"].requires_grad
    assert back["l"] == [1.5, None, "s"] and back["tup"] == (1, 2)


def test_to_dtype_and_repr():
    m = Net().to("float64")
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m.running.dtype == np.float64
    out = m(ag.ones(2, 3, dtype="float64"))
    assert out.dtype == np.float64
    r = repr(Net())
    assert "(fc1): Linear(in_features=3, out_features=4, bias=True)" in r and "(act): Tanh()" in r


# ---------------------------------------------------------------- layers

def test_linear_default_init_bounds_and_seed():
    ag.manual_seed(0)
    a = nn.Linear(100, 50)
    ag.manual_seed(0)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / math.sqrt(100)
    assert np.abs(a.weight.numpy()).max() <= bound and np.abs(a.weight.numpy()).max() > 0.9 * bound
    assert np.abs(a.bias.numpy()).max() <= bound
    assert a.weight.shape == (50, 100) and a.weight.dtype == np.float32


@pytest.mark.parametrize("act_mod,fn", [(nn.ReLU, lambda z: np.maximum(z, 0)), (nn.Tanh, np.tanh),
                                        (nn.Sigmoid, lambda z: 1 / (1 + np.exp(-z))),
                                        (lambda: nn.LeakyReLU(0.2), lambda z: np.where(z > 0, z, 0.2 * z)),
                                        (lambda: nn.ELU(0.5), lambda z: np.where(z > 0, z, 0.5 * np.expm1(z)))])
def test_sequential_fusion_matches_unfused(act_mod, fn):
    ag.manual_seed(3)
    lin1, lin2 = nn.Linear(6, 5, dtype="float64"), nn.Linear(5, 3, dtype="float64")
    seq = nn.Sequential(lin1, act_mod(), lin2)
    x = np.random.default_rng(1).standard_normal((4, 6))
    out = seq(f64(x))
    assert out.grad_fn == "linear"
    h = fn(x @ lin1.weight.numpy().T + lin1.bias.numpy())
    np.testing.assert_allclose(out.numpy(), h @ lin2.weight.numpy().T + lin2.bias.numpy(), rtol=1e-10)
    out.sum().backward()
    g_fused = [p.grad.numpy().copy() for p in seq.parameters()]
    seq.zero_grad()
    unfused = lin2(seq[1](lin1(f64(x))))  # the same modules called one by one
    unfused.sum().backward()
    for gf, p in zip(g_fused, seq.parameters()):
        np.testing.assert_allclose(gf, p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sequential_container_api():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    assert seq(ag.ones(4, 2)).shape == (4, 1)
    with pytest.raises(TypeError):
        nn.Sequential(nn.ReLU(), "relu")


def test_linear_gradcheck_with_activation():
    ag.manual_seed(0)
    lin = nn.Linear(3, 2, activation="tanh", dtype="float64")
    x = f64(np.random.default_rng(2).standard_normal((4, 3)), rg=True)
    assert ag.gradcheck(lambda x, w, b: ag.sum(ag.nn.functional.linear(x, w, b, "tanh") ** 2),
                        (x, lin.weight, lin.bias))


def test_dropout_train_and_eval():
    ag.manual_seed(0)
    d = nn.Dropout(0.25)
    x = ag.ones(200, 50, requires_grad=True)
    y = d(x)
    v = y.numpy()
    kept = v[v != 0]
    np.testing.assert_allclose(kept, 1 / 0.75, rtol=1e-6)
    assert abs((v == 0).mean() - 0.25) < 0.02
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), v)  # gradient = the mask
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_flatten_identity_activations():
    x = ag.ones(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Identity()(x) is x
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(nn.Softplus()(f64(z)).numpy(), np.log1p(np.exp(z)), rtol=1e-12)
    np.testing.assert_allclose(nn.SiLU()(f64(z)).numpy(), z / (1 + np.exp(-z)), rtol=1e-12)
    s = nn.Softmax(dim=-1)(f64(z[None])).numpy()
    np.testing.assert_allclose(s[0], np.exp(z) / np.exp(z).sum(), rtol=1e-12)
    np.testing.assert_allclose(nn.LogSoftmax()(f64(z[None])).numpy(), np.log(s), rtol=1e-12)
    from math import erf
    np.testing.assert_allclose(nn.GELU()(f64(z)).numpy(),
                               [v * 0.5 * (1 + erf(v / math.sqrt(2))) for v in z], rtol=1e-12)


# ---------------------------------------------------------------- losses

RNG = np.random.default_rng(7)
LOGITS = RNG.standard_normal((5, 4))
LABELS = np.array([0, 3, 1, 1, 2])


def np_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_labels(reduction):
    per = -np_log_softmax(LOGITS)[np.arange(5), LABELS]
    exp = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    got = F.cross_entropy(f64(LOGITS), LABELS, reduction=reduction)
    np.testing.assert_allclose(got.numpy(), exp, rtol=1e-12)


def test_cross_entropy_gradient_and_label_smoothing():
    x = f64(LOGITS, rg=True)
    assert ag.gradcheck(lambda z: F.cross_entropy(z, LABELS, label_smoothing=0.1), (x,))
    F.cross_entropy(x, LABELS).backward()
    p = np.exp(np_log_softmax(LOGITS))
    onehot = np.eye(4)[LABELS]
    np.testing.assert_allclose(x.grad.numpy(), (p - onehot) / 5, rtol=1e-12)
    target = onehot * 0.9 + 0.1 / 4
    exp = -(np_log_softmax(LOGITS) * target).sum(-1).mean()
    got = F.cross_entropy(f64(LOGITS), LABELS, label_smoothing=0.1)
    np.testing.assert_allclose(got.item(), exp, rtol=1e-12)


def test_cross_entropy_probability_targets():
    t = np.abs(RNG.standard_normal((5, 4)))
    t /= t.sum(-1, keepdims=True)
    exp = -(np_log_softmax(LOGITS) * t).sum(-1).mean()
    np.testing.assert_allclose(F.cross_entropy(f64(LOGITS), t).item(), exp, rtol=1e-12)
    x = f64(LOGITS, rg=True)
    assert ag.gradcheck(lambda z: F.cross_entropy(z, t), (x,))


def test_cross_entropy_stable_for_huge_logits():
    for dt in ("float32", "float64"):
        x = ag.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=dt, requires_grad=True)
        loss = F.cross_entropy(x, [1, 1])
        assert loss.item() == pytest.approx(1e4)
        loss.backward()
        assert np.isfinite(x.grad.numpy()).all()
        np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5, 0], [0, 0, 0]], atol=1e-6)


def test_cross_entropy_bad_labels():
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(f64(LOGITS), [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="expected 5 class labels"):
        F.cross_entropy(f64(LOGITS), [0, 1])
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(f64(LOGITS), LABELS, reduction="avg")


def test_nll_loss():
    lp = np_log_softmax(LOGITS)
    np.testing.assert_allclose(F.nll_loss(f64(lp), LABELS).item(), -lp[np.arange(5), LABELS].mean())


def test_bce_with_logits_stable_and_pos_weight():
    z = np.array([-1e4, -3.0, 0.0, 2.0, 1e4])
    t = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    exp = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(f64(z), t, reduction="none").numpy(),
                               exp, rtol=1e-12)
    pw = 3.0
    expw = (1 - t) * z + (1 + (pw - 1) * t) * (np.maximum(-z, 0) + np.log1p(np.exp(-np.abs(z))))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(
        f64(z), t, reduction="none", pos_weight=pw).numpy(), expw, rtol=1e-12)
    x = f64(z[1:4], rg=True)
    assert ag.gradcheck(lambda v: F.binary_cross_entropy_with_logits(v, t[1:4], pos_weight=2.0), (x,))


def test_bce_probabilities():
    p = np.array([0.1, 0.5, 0.9, 1.0])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    with np.errstate(divide="ignore"):
        exp = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log1p(-p), -100))
    np.testing.assert_allclose(F.binary_cross_entropy(f64(p), t, reduction="none").numpy(), exp,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(f64([1.5]), [1.0])


def test_mse_l1_hinge():
    x, y = RNG.standard_normal(6), RNG.standard_normal(6)
    assert F.mse_loss(f64(x), y).item() == pytest.approx(np.mean((x - y) ** 2))
    assert F.mse_loss(f64(x), y, reduction="sum").item() == pytest.approx(np.sum((x - y) ** 2))
    assert F.l1_loss(f64(x), y).item() == pytest.approx(np.mean(np.abs(x - y)))
    lab = np.array([1, -1, 1, 0, 1, -1])
    ys = np.where(lab > 0, 1.0, -1.0)
    np.testing.assert_allclose(F.hinge_loss(f64(x), lab, reduction="none").numpy(),
                               np.maximum(0, 1 - ys * x))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(f64(x), y[:3])
    assert nn.MSELoss(reduction="sum")(f64(x), y).item() == pytest.approx(np.sum((x - y) ** 2))
    assert nn.CrossEntropyLoss()(f64(LOGITS), LABELS).item() == pytest.approx(
        F.cross_entropy(f64(LOGITS), LABELS).item())


# ---------------------------------------------------------------- init

def test_init_functions():
    t = ag.zeros(300, 200, dtype="float64")
    ag.manual_seed(5)
    nn.init.xavier_uniform_(t)
    a = math.sqrt(6 / 500)
    assert np.abs(t.numpy()).max() <= a and np.abs(t.numpy()).max() > 0.95 * a
    nn.init.xavier_normal_(t, gain=2.0)
    assert t.numpy().std() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.02)
    nn.init.kaiming_normal_(t, nonlinearity="relu")
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / 200), rel=0.02)
    nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")
    assert np.abs(t.numpy()).max() <= math.sqrt(6 / 300)
    nn.init.normal_(t, 1.0, 0.5)
    assert t.numpy().mean() == pytest.approx(1.0, abs=0.01)
    nn.init.ones_(t)
    assert (t.numpy() == 1).all()
    nn.init.zeros_(t)
    assert (t.numpy() == 0).all()
    ag.manual_seed(5)
    u1 = nn.init.uniform_(ag.zeros(10), -2, 2).numpy().copy()
    ag.manual_seed(5)
    np.testing.assert_array_equal(u1, nn.init.uniform_(ag.zeros(10), -2, 2).numpy())
    with pytest.raises(ValueError):
        nn.init.xavier_uniform_(ag.zeros(3))


def test_training_loop_from_the_issue_learns():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 8)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = ag.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for epoch in range(15):
        for xb, yb in ag.data.batches(X, y, batch_size=32, shuffle=True, seed=epoch):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            first = first if first is not None else loss.item()
    with ag.no_grad():
        acc = (model(ag.tensor(X)).numpy().argmax(1) == y).mean()
    assert acc > 0.9 and loss.item() < first
