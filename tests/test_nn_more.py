"""nn: LayerNorm, BatchNorm1d, ModuleList/ModuleDict, Huber/SmoothL1/KLDiv losses, and class
weights / ignore_index for cross_entropy and nll_loss.

Every forward is compared with PyTorch's documented formula computed independently in numpy,
every gradient with central differences in float64 (ag.gradcheck, eps = machine_eps^(1/3)), and
with an exact gradient where one is known."""
import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F
from _fd import fd_hessian

RNG = np.random.default_rng(20240611)
TOL = dict(atol=1e-8, rtol=1e-6)  # finite differences in float64 of smooth functions


def f64(a, rg=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def reduce_np(per, reduction):
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


# ---------------------------------------------------------------- LayerNorm

def np_layer_norm(x, k, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)   # biased, as PyTorch
    y = (x - mu) / np.sqrt(var + eps)
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


@pytest.mark.parametrize("shape,norm", [((4, 5), 5), ((2, 3, 4), (3, 4)), ((3, 2, 4), [4])])
def test_layer_norm_forward_matches_numpy(shape, norm):
    x = RNG.standard_normal(shape) * 3 + 1
    ln = nn.LayerNorm(norm, eps=1e-3, dtype="float64")
    k = 1 if isinstance(norm, int) else len(norm)
    with ag.no_grad():
        ln.weight.copy_(RNG.standard_normal(ln.weight.shape))
        ln.bias.copy_(RNG.standard_normal(ln.bias.shape))
    exp = np_layer_norm(x, k, ln.weight.numpy(), ln.bias.numpy(), 1e-3)
    np.testing.assert_allclose(ln(f64(x)).numpy(), exp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        F.layer_norm(f64(x), norm, ln.weight, ln.bias, 1e-3).numpy(), exp, rtol=1e-12, atol=1e-12)
    # float32 module on float32 data
    ln32 = nn.LayerNorm(norm)
    np.testing.assert_allclose(ln32(ag.tensor(x, dtype="float32")).numpy(),
                               np_layer_norm(x, k), rtol=1e-4, atol=1e-5)


def test_layer_norm_affine_options_and_registration():
    ln = nn.LayerNorm((2, 3))
    assert ln.weight.shape == (2, 3) and ln.bias.shape == (2, 3)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(ln.weight.numpy(), 1.0)
    np.testing.assert_array_equal(ln.bias.numpy(), 0.0)
    nb = nn.LayerNorm(3, bias=False)
    assert nb.bias is None and [n for n, _ in nb.named_parameters()] == ["weight"]
    na = nn.LayerNorm(3, elementwise_affine=False)
    assert na.weight is None and na.bias is None and na.parameters() == []
    x = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(na(f64(x)).numpy(), np_layer_norm(x, 1), rtol=1e-12, atol=1e-12)
    assert "(3,), eps=1e-05, elementwise_affine=False" in repr(na)


def test_layer_norm_gradients_input_weight_bias():
    x = RNG.standard_normal((3, 2, 4))
    w = RNG.standard_normal((2, 4))
    b = RNG.standard_normal((2, 4))
    c = RNG.standard_normal((3, 2, 4))   # a random cotangent, so no gradient is trivially 0
    assert ag.gradcheck(lambda x, w, b: (F.layer_norm(x, (2, 4), w, b) * c).sum(), (x, w, b),
                        **TOL)
    # exact: d/db = sum of the cotangent over the batch, d/dw = sum of c * x_hat
    xt, wt, bt = f64(x, True), f64(w, True), f64(b, True)
    (F.layer_norm(xt, (2, 4), wt, bt) * c).sum().backward()
    np.testing.assert_allclose(bt.grad.numpy(), c.sum(0), rtol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), (c * np_layer_norm(x, 2)).sum(0), rtol=1e-10)


def test_layer_norm_errors():
    ln = nn.LayerNorm(4)
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\) does not end with normalized_shape \(4,\)"):
        ln(ag.ones(2, 3))
    with pytest.raises(TypeError, match="weight has dtype float32 but the input has dtype float64"):
        ln(f64(np.ones((2, 4))))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(())
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm((3, 0))
    with pytest.raises(TypeError, match="normalized_shape"):
        nn.LayerNorm("4")
    with pytest.raises(ValueError, match="eps"):
        nn.LayerNorm(4, eps=-1.0)
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.layer_norm(ag.ones(2, 4), 4, weight=ag.ones(3))


# ---------------------------------------------------------------- BatchNorm1d

def np_batch_norm_train(x, w, b, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2)
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    return (x - mu) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)


def randomise_affine(bn):
    with ag.no_grad():
        bn.weight.copy_(RNG.standard_normal(bn.num_features))
        bn.bias.copy_(RNG.standard_normal(bn.num_features))


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_train_eval_and_running_stats_recurrence(shape):
    momentum = 0.3
    bn = nn.BatchNorm1d(3, momentum=momentum, dtype="float64")
    randomise_affine(bn)
    w, b = bn.weight.numpy().copy(), bn.bias.numpy().copy()
    rm, rv = np.zeros(3), np.ones(3)
    axes = (0,) if len(shape) == 2 else (0, 2)
    for step in range(4):
        x = RNG.standard_normal(shape) * (step + 1) + step
        np.testing.assert_allclose(bn(f64(x)).numpy(), np_batch_norm_train(x, w, b),
                                   rtol=1e-11, atol=1e-12)
        n = x.size // 3
        rm = (1 - momentum) * rm + momentum * x.mean(axis=axes)
        rv = (1 - momentum) * rv + momentum * x.var(axis=axes) * n / (n - 1)   # unbiased
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
    assert float(bn.num_batches_tracked) == 4.0
    bn.eval()
    x = RNG.standard_normal(shape)
    sh = (1, -1) if len(shape) == 2 else (1, -1, 1)
    exp = (x - rm.reshape(sh)) / np.sqrt(rv.reshape(sh) + 1e-5) * w.reshape(sh) + b.reshape(sh)
    np.testing.assert_allclose(bn(f64(x)).numpy(), exp, rtol=1e-12, atol=1e-12)
    # eval leaves the statistics alone
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
    assert float(bn.num_batches_tracked) == 4.0


def test_batch_norm_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None, dtype="float64")
    xs = [RNG.standard_normal((5, 2)) + k for k in range(3)]
    for x in xs:
        bn(f64(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], 0),
                               rtol=1e-12)
    # the first step replaces the initial running_var of 1 entirely (factor 1 / 1)
    np.testing.assert_allclose(bn.running_var.numpy(),
                               np.mean([x.var(0, ddof=1) for x in xs], 0), rtol=1e-12)


def test_batch_norm_batch_of_one_value_per_channel():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"more than 1 value per channel when training, got input of shape \(1, 3\)"):
        bn(ag.ones(1, 3))
    assert float(bn.num_batches_tracked) == 0.0   # the refused batch changed nothing
    np.testing.assert_array_equal(bn.running_mean.numpy(), 0.0)
    assert bn(ag.ones(1, 3, 2)).shape == (1, 3, 2)  # two values per channel: fine
    bn.eval()
    assert bn(ag.ones(1, 3)).shape == (1, 3)        # eval mode uses the running statistics


def test_batch_norm_without_running_stats_and_without_affine():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False, dtype="float64")
    assert bn.parameters() == [] and bn.running_mean is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == []
    x = RNG.standard_normal((7, 3))
    exp = np_batch_norm_train(x, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(bn(f64(x)).numpy(), exp, rtol=1e-12, atol=1e-12)
    bn.eval()   # no running statistics: the batch's are used in eval mode too
    np.testing.assert_allclose(bn(f64(x)).numpy(), exp, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ag.ones(1, 3, dtype="float64"))


@pytest.mark.parametrize("shape", [(5, 2), (3, 2, 4)])
def test_batch_norm_gradients_input_weight_bias(shape):
    x = RNG.standard_normal(shape)
    c = RNG.standard_normal(shape)
    w, b = RNG.standard_normal(2), RNG.standard_normal(2)
    rm, rv = RNG.standard_normal(2), RNG.random(2) + 0.5

    def train(x, w, b):
        return (F.batch_norm(x, None, None, w, b, training=True) * c).sum()

    def evaluate(x, w, b):
        return (F.batch_norm(x, f64(rm), f64(rv), w, b, training=False) * c).sum()

    assert ag.gradcheck(train, (x, w, b), **TOL)
    assert ag.gradcheck(evaluate, (x, w, b), **TOL)
    # through the module, in both modes
    bn = nn.BatchNorm1d(2, dtype="float64")
    xt = f64(x, True)
    (bn(xt) * c).sum().backward()
    assert ag.gradcheck(lambda x: (bn(x) * c).sum(), (x,), **TOL)
    sh = (1, -1) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(bn.bias.grad.numpy(), c.sum(axis=(0,) + tuple(range(2, len(shape)))),
                               rtol=1e-12)
    bn.eval()
    bn.zero_grad()
    xt = f64(x, True)
    (bn(xt) * c).sum().backward()
    scale = bn.weight.numpy() / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(xt.grad.numpy(), c * scale.reshape(sh), rtol=1e-12)  # exact


def test_batch_norm_state_dict_round_trip_and_eval_switch(tmp_path):
    def make():
        return nn.Sequential(nn.Linear(4, 3, dtype="float64"), nn.BatchNorm1d(3, dtype="float64"),
                             nn.ReLU(), nn.Linear(3, 2, dtype="float64"))
    ag.manual_seed(3)
    a = make()
    for _ in range(3):
        a(f64(RNG.standard_normal((8, 4))))
    sd = a.state_dict()
    assert set(sd) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                       "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias"}
    assert float(sd["1.num_batches_tracked"]) == 3.0
    ag.save(sd, tmp_path / "bn.npz")
    b = make()
    b.load_state_dict(ag.load(tmp_path / "bn.npz"))
    np.testing.assert_array_equal(b[1].running_var.numpy(), a[1].running_var.numpy())
    assert float(b[1].num_batches_tracked) == 3.0
    x = f64(RNG.standard_normal((5, 4)))
    a.eval()
    b.eval()
    assert not a[1].training and not b[1].training
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # eval output depends on the running statistics, train output on the batch's
    ev = a(x).numpy()
    a.train()
    assert not np.allclose(a(x).numpy(), ev)
    a.eval()
    assert not np.allclose(a(x).numpy(), ev)   # the train call above moved the statistics


def test_batch_norm_errors_and_repr():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"has 4 channels on axis 1, expected 3"):
        bn(ag.ones(2, 4))
    with pytest.raises(ValueError, match=r"2-D \(N, C\) or 3-D \(N, C, L\) input, got shape \(2, 3, 4, 5\)"):
        bn(ag.ones(2, 3, 4, 5))
    with pytest.raises(TypeError, match="weight has dtype float32 but the input has dtype float64"):
        bn(f64(np.ones((2, 3))))
    assert float(bn.num_batches_tracked) == 0.0
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="training=False needs running_mean"):
        F.batch_norm(ag.ones(2, 3), None, None)
    with pytest.raises(ValueError, match="both running_mean and running_var"):
        F.batch_norm(ag.ones(2, 3), ag.zeros(3), None)
    assert repr(bn) == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    bn(ag.tensor(RNG.standard_normal((4, 3)), dtype="float32"))
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_var.numpy(), 1.0)
    assert float(bn.num_batches_tracked) == 0.0


def test_second_order_gradients_through_layer_norm_and_batch_norm():
    x0 = RNG.standard_normal((2, 3))
    c = RNG.standard_normal((2, 3))
    w = f64(RNG.standard_normal(3))
    b = f64(RNG.standard_normal(3))

    def ln(z):
        return (ag.tanh(F.layer_norm(z, 3, w, b)) * c).sum()

    def bn(z):
        return (ag.tanh(F.batch_norm(z, None, None, w, b, training=True)) * c).sum()

    for f in (ln, bn):
        h = ag.hessian(f, x0).numpy().reshape(6, 6)
        ref = fd_hessian(lambda a: f(f64(a.reshape(2, 3))).item(), x0.reshape(-1))
        np.testing.assert_allclose(h, ref, rtol=1e-4, atol=1e-5)
        # reverse over reverse as well
        gg = ag.grad(lambda z: (ag.grad(f)(z) * c).sum())(f64(x0)).numpy().reshape(-1)
        np.testing.assert_allclose(gg, h @ c.reshape(-1), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- ModuleList / ModuleDict

def test_module_list_registration_and_list_api():
    a, b, c = nn.Linear(2, 3), nn.Linear(3, 4), nn.Tanh()
    ml = nn.ModuleList([a, b])
    assert len(ml) == 2 and ml[0] is a and ml[-1] is b and list(ml) == [a, b]
    assert list(ml.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert len(ml.parameters()) == 4
    ml.append(c)
    assert ml[2] is c
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "Linear", "Tanh"]
    assert list(ml.state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]
    del ml[0]
    assert list(ml) == [a, b, c]
    assert list(ml.state_dict())[0] == "0.weight"
    ml[2] = nn.ReLU()
    assert type(ml[2]).__name__ == "ReLU" and len(ml) == 3
    sub = ml[1:]
    assert isinstance(sub, nn.ModuleList) and list(sub) == [b, ml[2]]
    ml += [nn.Sigmoid()]
    ml.extend(nn.ModuleList([nn.GELU()]))
    assert len(ml) == 5 and len(ml + nn.ModuleList([nn.ReLU()])) == 6
    ml.eval()
    assert all(not m.training for m in ml)
    with pytest.raises(NotImplementedError):
        ml(ag.ones(1, 2))


def test_module_list_in_a_model_trains_and_round_trips():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(3, 3, dtype="float64") for _ in range(2)])

        def forward(self, x):
            for layer in self.layers:
                x = ag.tanh(layer(x))
            return x

    ag.manual_seed(0)
    n1, n2 = Net(), Net()
    assert list(n1.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                     "layers.1.bias"]
    x = f64(RNG.standard_normal((4, 3)))
    n1(x).sum().backward()
    assert all(p.grad is not None for p in n1.parameters())
    n2.load_state_dict(n1.state_dict())
    np.testing.assert_array_equal(n1(x).numpy(), n2(x).numpy())


def test_module_list_errors():
    ml = nn.ModuleList([nn.ReLU()])
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module, got int"):
        ml.append(3)
    with pytest.raises(TypeError, match="expected an iterable of Modules, got Linear"):
        ml.extend(nn.Linear(1, 1))
    with pytest.raises(TypeError, match="ModuleList.extend: expected a Module, got str"):
        ml.extend([nn.ReLU(), "relu"])
    assert len(ml) == 1   # nothing of the refused extend was added
    with pytest.raises(IndexError, match="index 3 is out of range for length 1"):
        ml[3]
    with pytest.raises(TypeError, match="integers or slices"):
        ml["0"]
    with pytest.raises(TypeError, match="expected a Module"):
        ml[0] = None


def test_module_dict_registration_and_dict_api():
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    md = nn.ModuleDict({"enc": a})
    md["head"] = b
    assert len(md) == 2 and md["enc"] is a and "head" in md and "x" not in md
    assert list(md) == ["enc", "head"] and md.keys() == ["enc", "head"]
    assert md.values() == [a, b] and md.items() == [("enc", a), ("head", b)]
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "head.weight", "head.bias"]
    c = nn.Tanh()
    md["enc"] = c   # replacing keeps the key's place
    assert md.keys() == ["enc", "head"] and md["enc"] is c
    md.update([("act", nn.ReLU())])
    md.update({"act2": nn.ReLU()})
    assert md.keys() == ["enc", "head", "act", "act2"]
    assert md.pop("head") is b and "head" not in md and len(md.parameters()) == 0
    del md["act"]
    assert md.keys() == ["enc", "act2"]
    md.clear()
    assert len(md) == 0 and list(md.state_dict()) == []


def test_module_dict_errors():
    md = nn.ModuleDict()
    with pytest.raises(KeyError):
        md["missing"]
    with pytest.raises(KeyError, match="contain no '.'"):
        md["a.b"] = nn.ReLU()
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        md["keys"] = nn.ReLU()
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        md["training"] = nn.ReLU()
    with pytest.raises(TypeError, match="name must be a str"):
        md[1] = nn.ReLU()
    with pytest.raises(TypeError, match="expected a Module, got float"):
        md["x"] = 1.0
    with pytest.raises(ValueError, match="not a \\(key, module\\) pair"):
        md.update([("a", nn.ReLU(), 3)])
    with pytest.raises(KeyError, match="contain no '.'"):
        md.update({"ok": nn.ReLU(), "b.c": nn.ReLU()})
    assert len(md) == 0   # the refused update added nothing
    with pytest.raises(TypeError, match="mapping or an iterable"):
        md.update(5)


# ---------------------------------------------------------------- Huber / SmoothL1 / KLDiv

X = RNG.standard_normal((4, 5)) * 2
T = RNG.standard_normal((4, 5))


def np_huber(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
def test_huber_loss_forward_and_gradient(reduction, delta):
    exp = reduce_np(np_huber(X - T, delta), reduction)
    np.testing.assert_allclose(F.huber_loss(f64(X), T, reduction, delta).numpy(), exp, rtol=1e-12)
    np.testing.assert_allclose(nn.HuberLoss(reduction, delta)(f64(X), T).numpy(), exp,
                               rtol=1e-12)
    c = RNG.standard_normal((4, 5))
    assert ag.gradcheck(lambda x, t: (F.huber_loss(x, t, "none", delta) * c).sum(), (X, T), **TOL)
    # exact: d/dx = clip(x - t, -delta, delta)
    xt = f64(X, True)
    F.huber_loss(xt, T, "sum", delta).backward()
    np.testing.assert_allclose(xt.grad.numpy(), np.clip(X - T, -delta, delta), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_loss_forward_and_gradient(reduction, beta):
    d = X - T
    per = np.abs(d) if beta == 0 else np.where(np.abs(d) < beta, 0.5 * d * d / beta,
                                               np.abs(d) - 0.5 * beta)
    exp = reduce_np(per, reduction)
    np.testing.assert_allclose(F.smooth_l1_loss(f64(X), T, reduction=reduction, beta=beta).numpy(), exp,
                               rtol=1e-12)
    np.testing.assert_allclose(nn.SmoothL1Loss(reduction=reduction, beta=beta)(f64(X), T).numpy(), exp,
                               rtol=1e-12)
    if beta:   # PyTorch's documented relation to the Huber loss
        np.testing.assert_allclose(F.smooth_l1_loss(f64(X), T, reduction="none", beta=beta).numpy() * beta,
                                   F.huber_loss(f64(X), T, "none", beta).numpy(), rtol=1e-12)
    c = RNG.standard_normal((4, 5))
    assert ag.gradcheck(lambda x: (F.smooth_l1_loss(x, T, reduction="none", beta=beta) * c).sum(), (X,), **TOL)


def test_huber_smooth_l1_errors():
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0, got 0.0"):
        F.huber_loss(f64(X), T, delta=0.0)
    with pytest.raises(ValueError, match="HuberLoss: delta must be > 0"):
        nn.HuberLoss(delta=-1)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0, got -1.0"):
        F.smooth_l1_loss(f64(X), T, beta=-1)
    with pytest.raises(ValueError, match=r"input has shape \(4, 5\) but target has shape \(5,\)"):
        F.huber_loss(f64(X), T[0])
    with pytest.raises(ValueError, match="reduction"):
        nn.SmoothL1Loss(reduction="avg")
    assert repr(nn.HuberLoss(delta=2)) == "HuberLoss(reduction='mean', delta=2.0)"


P_LOG = np.log(np.exp(X) / np.exp(X).sum(1, keepdims=True))   # log-probabilities
Q = np.exp(T) / np.exp(T).sum(1, keepdims=True)


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_forward_and_gradient(reduction, log_target):
    q = Q.copy()
    q[0, 1] = 0.0   # a zero probability contributes 0 (0 log 0 = 0)
    tgt = np.log(Q) if log_target else q
    per = np.exp(tgt) * (tgt - P_LOG) if log_target else \
        np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0) - q * P_LOG
    exp = per.sum() / 4 if reduction == "batchmean" else reduce_np(per, reduction)
    got = F.kl_div(f64(P_LOG), tgt, reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(got.numpy(), exp, rtol=1e-12)
    np.testing.assert_allclose(nn.KLDivLoss(reduction=reduction, log_target=log_target)(f64(P_LOG), tgt).numpy(), exp,
                               rtol=1e-12)
    c = RNG.standard_normal((4, 5))
    red = "none" if reduction == "none" else reduction

    def f(x):
        out = F.kl_div(x, tgt, reduction=red, log_target=log_target)
        return (out * c).sum() if red == "none" else out

    assert ag.gradcheck(f, (P_LOG,), **TOL)
    # with respect to a (positive) target tensor too
    assert ag.gradcheck(lambda t: (F.kl_div(f64(P_LOG), t, reduction="none", log_target=log_target) * c).sum(),
                        (np.log(Q) if log_target else Q,), **TOL)


def test_kl_div_batchmean_is_the_mean_kl_divergence_and_errors():
    kl = [np.sum(Q[i] * (np.log(Q[i]) - P_LOG[i])) for i in range(4)]
    np.testing.assert_allclose(F.kl_div(f64(P_LOG), Q, reduction="batchmean").item(), np.mean(kl),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="probabilities >= 0"):
        F.kl_div(f64(P_LOG), -Q)
    with pytest.raises(ValueError, match="'mean', 'batchmean', 'sum', 'none'"):
        F.kl_div(f64(P_LOG), Q, reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="batch axis"):
        F.kl_div(f64(0.0), 0.5, reduction="batchmean")
    with pytest.raises(ValueError, match="target has shape"):
        F.kl_div(f64(P_LOG), Q[:2])


# ---------------------------------------------------------------- cross_entropy / nll_loss

Z = RNG.standard_normal((6, 4))
Y = np.array([0, 3, 1, -100, 2, 3])
W = np.array([0.5, 2.0, 1.0, 3.0])


def np_log_softmax(z, axis=-1):
    z = z - z.max(axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis, keepdims=True))


def np_ce(z, y, w=None, ignore_index=-100, reduction="mean", s=0.0):
    """PyTorch's documented class-index cross-entropy with weight, ignore_index and smoothing:
    l_n = sum_c w_c (-log p_nc) ((1 - s) [c = y_n] + s / C) for a counted n, 0 otherwise;
    'mean' divides the sum by sum_n w_{y_n} over the counted n."""
    n, c = z.shape
    w = np.ones(c) if w is None else w
    keep = y != ignore_index
    ys = np.where(keep, y, 0)
    q = (1 - s) * np.eye(c)[ys] + s / c
    per = (-np_log_softmax(z) * q * w).sum(1) * keep
    if reduction == "mean":
        return per.sum() / (w[ys] * keep).sum()
    return per.sum() if reduction == "sum" else per


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("s", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_weight_ignore_index_smoothing(reduction, s, weighted):
    w = W if weighted else None
    exp = np_ce(Z, Y, w, -100, reduction, s)
    got = F.cross_entropy(f64(Z), Y, w, reduction=reduction, label_smoothing=s)
    np.testing.assert_allclose(got.numpy(), exp, rtol=1e-12)
    mod = nn.CrossEntropyLoss(None if w is None else f64(w), reduction=reduction,
                              label_smoothing=s)
    np.testing.assert_allclose(mod(f64(Z), Y).numpy(), exp, rtol=1e-12)
    # a non-default ignore_index, pointing at a real class
    y2 = np.where(Y == -100, 2, Y)
    np.testing.assert_allclose(
        F.cross_entropy(f64(Z), y2, w, ignore_index=2, reduction=reduction,
                        label_smoothing=s).numpy(),
        np_ce(Z, y2, w, 2, reduction, s), rtol=1e-12)
    c = RNG.standard_normal(6)
    red = "sum" if reduction == "none" else reduction

    def f(z):
        out = F.cross_entropy(z, Y, w, reduction=reduction, label_smoothing=s)
        return (out * c).sum() if reduction == "none" else out

    assert ag.gradcheck(f, (Z,), **TOL)
    # exact: d/dz_nc = keep_n (p_nc sum_k a_nk - a_nc) / denom, a = w * q
    zt = f64(Z, True)
    F.cross_entropy(zt, Y, w, reduction=red, label_smoothing=s).backward()
    ww = np.ones(4) if w is None else w
    keep = Y != -100
    ys = np.where(keep, Y, 0)
    a = ww * ((1 - s) * np.eye(4)[ys] + s / 4)
    p = np.exp(np_log_softmax(Z))
    g = (p * a.sum(1, keepdims=True) - a) * keep[:, None]
    if red == "mean":
        g = g / (ww[ys] * keep).sum()
    np.testing.assert_allclose(zt.grad.numpy(), g, rtol=1e-10, atol=1e-14)


def test_cross_entropy_k_dimensional_weighted_mean_over_all_elements():
    z = RNG.standard_normal((2, 3, 4))   # (N, C, d1)
    y = np.array([[0, 2, -100, 1], [2, 2, 0, -100]])
    w = np.array([1.0, 0.25, 4.0])
    rows = np.moveaxis(z, 1, -1).reshape(-1, 3)
    for reduction in ("mean", "sum", "none"):
        exp = np_ce(rows, y.reshape(-1), w, -100, reduction, 0.1)
        if reduction == "none":
            exp = exp.reshape(2, 4)
        got = F.cross_entropy(f64(z), y, w, reduction=reduction, label_smoothing=0.1)
        np.testing.assert_allclose(got.numpy(), exp, rtol=1e-12)
    assert ag.gradcheck(lambda z: F.cross_entropy(z, y, w), (z,), **TOL)
    lp = np_log_softmax(z, axis=1)
    np.testing.assert_allclose(F.nll_loss(f64(lp), y, w).item(),
                               np_ce(rows, y.reshape(-1), w), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_probability_targets_with_weight_and_smoothing(reduction):
    t = RNG.random((6, 4))
    t /= t.sum(1, keepdims=True)
    tt = 0.8 * t + 0.2 / 4
    per = -(np_log_softmax(Z) * tt * W).sum(1)
    exp = reduce_np(per, reduction)    # 'mean' divides by N, not by the weights
    got = F.cross_entropy(f64(Z), t, W, reduction=reduction, label_smoothing=0.2)
    np.testing.assert_allclose(got.numpy(), exp, rtol=1e-12)
    c = RNG.standard_normal(6)
    assert ag.gradcheck(lambda z, t: (F.cross_entropy(z, t, W, reduction="none",
                                                      label_smoothing=0.2) * c).sum(),
                        (Z, t), **TOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_weight_and_ignore_index(reduction):
    lp = np_log_softmax(Z)
    exp = np_ce(Z, Y, W, -100, reduction)
    np.testing.assert_allclose(F.nll_loss(f64(lp), Y, W, reduction=reduction).numpy(), exp,
                               rtol=1e-12)
    np.testing.assert_allclose(nn.NLLLoss(W, reduction=reduction)(f64(lp), Y).numpy(), exp,
                               rtol=1e-12)
    c = RNG.standard_normal(6)
    assert ag.gradcheck(lambda x: (F.nll_loss(x, Y, W, reduction="none") * c).sum(), (lp,),
                        **TOL)
    # exact: d/dx_{n, y_n} = -w_{y_n} / sum of the counted weights, 0 elsewhere and when ignored
    xt = f64(lp, True)
    F.nll_loss(xt, Y, W).backward()
    keep = Y != -100
    g = np.zeros((6, 4))
    g[np.arange(6)[keep], Y[keep]] = -W[Y[keep]] / W[Y[keep]].sum()
    np.testing.assert_allclose(xt.grad.numpy(), g, rtol=1e-12)


def test_ignored_rows_never_produce_nan():
    with np.errstate(divide="ignore"):
        lp = np.log(np.array([[0.0, 1.0], [0.5, 0.5]]))   # -inf at the ignored row's class 0
    xt = f64(lp, True)
    for red in ("mean", "sum", "none"):
        out = F.nll_loss(xt, [-100, 1], reduction=red)
        assert np.all(np.isfinite(out.numpy()))
    F.nll_loss(xt, [-100, 1]).backward()
    np.testing.assert_array_equal(xt.grad.numpy(), [[0.0, 0.0], [0.0, -1.0]])


def test_everything_ignored_mean_is_nan_as_pytorch_with_zero_gradient():
    zt = f64(Z[:2], True)
    loss = F.cross_entropy(zt, [-100, -100])
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(zt.grad.numpy(), 0.0)
    assert F.cross_entropy(f64(Z[:2]), [-100, -100], reduction="sum").item() == 0.0


def test_plain_cross_entropy_keeps_the_fused_path():
    # no weight, nothing ignored, no smoothing: the fused C op is the graph's last node
    z = f64(Z, True)
    assert F.cross_entropy(z, np.abs(Y) % 4, reduction="none").grad_fn == "cross_entropy"
    assert F.cross_entropy(z, Y, reduction="none").grad_fn != "cross_entropy"


def test_class_loss_argument_errors():
    with pytest.raises(ValueError, match=r"weight must hold one entry per class, shape \(4,\), got shape \(3,\)"):
        F.cross_entropy(f64(Z), Y, W[:3])
    with pytest.raises(ValueError, match=r"shape \(4,\), got shape \(3,\)"):
        F.nll_loss(f64(Z), Y, W[:3])
    with pytest.raises(TypeError, match="weight must be a numeric array.*pass reduction= by keyword"):
        F.cross_entropy(f64(Z), Y, "sum")   # reduction was the third positional argument
    with pytest.raises(TypeError, match="pass reduction= by keyword"):
        nn.CrossEntropyLoss("sum")
    with pytest.raises(TypeError, match="weight requires grad"):
        F.cross_entropy(f64(Z), Y, f64(W, True))
    with pytest.raises(TypeError, match="ignore_index must be an integer, got float 1.5"):
        F.cross_entropy(f64(Z), Y, ignore_index=1.5)
    with pytest.raises(TypeError, match="ignore_index must be an integer"):
        nn.NLLLoss(ignore_index="a")
    with pytest.raises(IndexError, match=r"class label -100 is out of range for 4 classes \(and is not ignore_index=1\)"):
        F.cross_entropy(f64(Z), Y, ignore_index=1)
    with pytest.raises(ValueError, match="ignore_index=0 is not supported with probability targets"):
        F.cross_entropy(f64(Z), np.full((6, 4), 0.25), ignore_index=0)
    with pytest.raises(TypeError, match="does not hold integer class labels"):
        F.nll_loss(f64(Z), Y + 0.5)
    with pytest.raises(TypeError, match="class labels must be integers, got dtype <U1"):
        F.cross_entropy(f64(Z), np.array(list("abcdef")))
    with pytest.raises(ValueError, match="expected 6 class labels"):
        F.nll_loss(f64(Z), Y[:3], W)
    with pytest.raises(ValueError, match="reduction"):
        F.nll_loss(f64(Z), Y, W, reduction="avg")


def test_class_weight_buffer_in_state_dict():
    loss = nn.CrossEntropyLoss(weight=f64(W), ignore_index=3)
    assert list(loss.state_dict()) == ["weight"] and loss.parameters() == []
    assert "ignore_index=3" in repr(loss)
    np.testing.assert_allclose(loss(f64(Z), np.where(Y < 0, 3, Y)).item(),
                               np_ce(Z, np.where(Y < 0, 3, Y), W, 3), rtol=1e-12)


def test_cross_entropy_fast_call_falls_back_for_ignored_and_bad_labels():
    # the plain call (int64 array labels, no weight/smoothing) takes a short path straight to
    # the fused op; an ignored label, one out of range or a wrong count must still get the
    # general path's answer and messages
    z = f64(Z[:4], True)
    y = np.array([0, -100, 2, 1], dtype=np.int64)
    loss = F.cross_entropy(z, y)
    keep = y != -100
    zz = Z[:4][keep]
    ref = np.mean(np.log(np.exp(zz).sum(1)) - zz[np.arange(keep.sum()), y[keep]])
    np.testing.assert_allclose(loss.item(), ref, rtol=1e-13)
    loss.backward()
    np.testing.assert_array_equal(z.grad.numpy()[1], 0.0)
    with pytest.raises(IndexError, match="class label 7 is out of range for 4 classes"):
        F.cross_entropy(z, np.array([0, 7, 2, 1]))
    with pytest.raises(ValueError, match="expected 4 class labels"):
        F.cross_entropy(z, np.array([0, 1, 2]))
    for red in ("mean", "sum", "none"):
        fast = F.cross_entropy(f64(Z[:4]), np.array([0, 3, 2, 1]), reduction=red)
        slow = F.cross_entropy(f64(Z[:4]), [0, 3, 2, 1], reduction=red)   # a list: general path
        np.testing.assert_array_equal(fast.numpy(), slow.numpy())
