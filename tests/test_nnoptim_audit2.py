"""Regression tests of the second audit of ag.nn / ag.optim."""
import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn

F = nn.functional


def _log_softmax(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


# ------------------------------------------------------------ Module.apply

def test_module_apply_visits_children_first_and_returns_self():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen = []
    assert net.apply(lambda m: seen.append(m)) is net
    assert [type(m).__name__ for m in seen] == ["Linear", "ReLU", "Linear", "Sequential",
                                                "Sequential"]
    assert seen[-1] is net


def test_module_apply_initialises_weights():
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
            nn.init.zeros_(m.bias)
    net.apply(init)
    for m in (net[0], net[2]):
        assert np.all(m.weight.numpy() == 0.5) and np.all(m.bias.numpy() == 0.0)
        assert m.weight.requires_grad and m.weight.is_leaf


# ------------------------------------------------------------ assigning over a parameter

class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones(3))


def test_assigning_plain_tensor_to_parameter_raises():
    m = _Holder()
    with pytest.raises(TypeError, match="'w'"):
        m.w = ag.tensor(np.zeros(3))          # a plain tensor: PyTorch refuses too
    with pytest.raises(TypeError, match="'w'"):
        m.w = m.w * 2.0                        # a non-leaf
    # the parameter is still registered and saved
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert list(m.state_dict()) == ["w"]
    np.testing.assert_array_equal(m.w.numpy(), np.ones(3))
    # the allowed ways: a Parameter, None, or deleting first
    m.w = nn.Parameter(np.zeros(3))
    assert [n for n, _ in m.named_parameters()] == ["w"]
    del m.w
    m.w = ag.tensor(np.zeros(3))               # now a plain attribute
    assert list(m.named_parameters()) == []


# ------------------------------------------------------------ K-dimensional cross-entropy / NLL

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy_k_dimensional_labels(reduction, ls):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3, 5))          # (N, C, d1, d2)
    y = rng.integers(0, 4, size=(2, 3, 5))
    got = F.cross_entropy(ag.tensor(x), y, reduction=reduction, label_smoothing=ls).numpy()
    lp = _log_softmax(x, 1)
    q = (1 - ls) * np.moveaxis(np.eye(4)[y], -1, 1) + ls / 4
    per = -(q * lp).sum(1)
    ref = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    assert got.shape == np.shape(ref)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_cross_entropy_k_dimensional_probabilities_and_gradient():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4))
    t = rng.uniform(size=(2, 3, 4))
    t /= t.sum(1, keepdims=True)
    ref = -(t * _log_softmax(x, 1)).sum(1).mean()
    np.testing.assert_allclose(float(F.cross_entropy(ag.tensor(x), t)), ref, rtol=1e-12)
    xt = ag.tensor(x, requires_grad=True)
    F.cross_entropy(xt, t).backward()
    sm = np.exp(_log_softmax(x, 1))
    np.testing.assert_allclose(xt.grad.numpy(), (sm - t) / 8, rtol=1e-10, atol=1e-12)
    y = rng.integers(0, 3, size=(2, 4))
    assert ag.gradcheck(lambda a: F.cross_entropy(a, y), (ag.tensor(x, requires_grad=True),))


def test_nll_loss_k_dimensional():
    rng = np.random.default_rng(2)
    lp = _log_softmax(rng.standard_normal((3, 5, 2)), 1)
    y = rng.integers(0, 5, size=(3, 2))
    per = -np.take_along_axis(lp, y[:, None, :], 1)[:, 0, :]
    np.testing.assert_allclose(F.nll_loss(ag.tensor(lp), y, reduction="none").numpy(), per)
    np.testing.assert_allclose(float(F.nll_loss(ag.tensor(lp), y)), per.mean())


def test_k_dimensional_bad_target_shape_and_label():
    x = ag.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        F.cross_entropy(x, np.zeros((2, 3), dtype=int))
    with pytest.raises(IndexError, match="out of range"):
        F.cross_entropy(x, np.full((2, 4), 3))


# ------------------------------------------------------------ loss modules

def test_cross_entropy_loss_module_checks_label_smoothing_and_repr():
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    assert "label_smoothing=0.1" in repr(nn.CrossEntropyLoss(label_smoothing=0.1))
    assert "margin=2.0" in repr(nn.HingeLoss(margin=2.0))


# ------------------------------------------------------------ options switched on mid-run

def _adam_ref(p, gs, lr, b1, b2, eps, ams_from):
    m = v = vmax = 0.0
    for t, g in enumerate(gs, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        d = v
        if t >= ams_from:
            vmax = np.maximum(vmax, v)
            d = vmax
        p = p - lr / (1 - b1 ** t) * m / (np.sqrt(d) / np.sqrt(1 - b2 ** t) + eps)
    return p


def test_adam_amsgrad_switched_on_in_param_groups():
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(4)
    gs = [rng.standard_normal(4) * s for s in (3.0, 0.1, 0.1, 0.1)]
    w = ag.tensor(p0.copy(), requires_grad=True)
    opt = ag.optim.Adam([w], lr=0.1)
    for k, g in enumerate(gs):
        if k == 1:
            opt.param_groups[0]["amsgrad"] = True    # was: ValueError "buffer 2 was not created"
        w.grad = ag.tensor(g)
        opt.step()
    np.testing.assert_allclose(w.numpy(), _adam_ref(p0, gs, 0.1, 0.9, 0.999, 1e-8, 2),
                               rtol=1e-12, atol=1e-12)
    assert "max_exp_avg_sq" in opt.state[0]


def test_rmsprop_centered_and_momentum_switched_on_in_param_groups():
    rng = np.random.default_rng(4)
    p0 = rng.standard_normal(3)
    gs = [rng.standard_normal(3) for _ in range(3)]
    w = ag.tensor(p0.copy(), requires_grad=True)
    opt = ag.optim.RMSprop([w], lr=0.05, alpha=0.9)
    p, s, c, b = p0.copy(), 0.0, 0.0, 0.0
    for k, g in enumerate(gs):
        if k == 1:
            opt.param_groups[0]["centered"] = True
            opt.param_groups[0]["momentum"] = 0.5
        w.grad = ag.tensor(g)
        opt.step()
        s = 0.9 * s + 0.1 * g * g
        if k >= 1:
            c = 0.9 * c + 0.1 * g
            b = 0.5 * b + g / (np.sqrt(s - c * c) + 1e-8)
            p = p - 0.05 * b
        else:
            p = p - 0.05 * g / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(w.numpy(), p, rtol=1e-12, atol=1e-12)


def test_adam_betas_not_a_pair_is_a_clear_error():
    w = ag.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="betas"):
        ag.optim.Adam([w], betas=0.9)
    with pytest.raises(TypeError, match="betas"):
        ag.optim.AdamW([w], betas=(0.9,))


def test_reduce_lr_on_plateau_min_lr_list_length_checked():
    opt = ag.optim.SGD([{"params": [ag.zeros(1, requires_grad=True)]},
                        {"params": [ag.zeros(1, requires_grad=True)]}], lr=1.0)
    with pytest.raises(ValueError, match="min_lr"):
        ag.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1])
    s = ag.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.5, 0.05], patience=0, factor=0.1)
    s.step(1.0)
    s.step(1.0)
    assert [g["lr"] for g in opt.param_groups] == [0.5, pytest.approx(0.1)]


# ------------------------------------------------------------ strided parameters and gradients

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [
    lambda ps: ag.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda ps: ag.optim.Adam(ps, lr=0.1, amsgrad=True, weight_decay=0.1),
    lambda ps: ag.optim.AdamW(ps, lr=0.1),
    lambda ps: ag.optim.RMSprop(ps, lr=0.1, centered=True, momentum=0.3),
    lambda ps: ag.optim.Adagrad(ps, lr=0.1, lr_decay=0.1),
])
def test_optimizers_step_non_contiguous_parameter_and_gradient(make, dtype):
    # was: ValueError "parameter 0 is not contiguous" / "the gradient ... must be contiguous"
    rng = np.random.default_rng(6)
    base = rng.standard_normal((4, 3)).astype(dtype)
    store = ag.tensor(base.T.copy())
    w = nn.Parameter(store.T)           # a transposed view: shares store's memory
    assert not w.is_contiguous()
    c = ag.tensor(base.copy(), requires_grad=True)
    o1, o2 = make([w]), make([c])
    for _ in range(3):
        g = rng.standard_normal((3, 4)).astype(dtype)
        w.grad = ag.tensor(g).T
        c.grad = ag.tensor(np.ascontiguousarray(g.T))
        o1.step()
        o2.step()
    np.testing.assert_array_equal(w.numpy(), c.numpy())
    np.testing.assert_array_equal(store.numpy(), c.numpy().T)   # written through the view
    assert not np.array_equal(c.numpy(), base)


def test_clip_grad_norm_non_contiguous_gradient():
    rng = np.random.default_rng(7)
    g = rng.standard_normal((4, 3))
    p = ag.tensor(np.zeros((3, 4)), requires_grad=True)
    p.grad = ag.tensor(g).T
    total = ag.optim.clip_grad_norm_([p], 0.5)
    np.testing.assert_allclose(total, np.linalg.norm(g), rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), g.T * 0.5 / (np.linalg.norm(g) + 1e-6),
                               rtol=1e-12)


def test_optimizer_refuses_broadcast_parameter():
    w = nn.Parameter(ag.broadcast_to(ag.tensor(np.ones(3)), (4, 3)))
    w.grad = ag.tensor(np.ones((4, 3)))
    with pytest.raises(ValueError, match="broadcast"):
        ag.optim.SGD([w], lr=0.1).step()


# ------------------------------------------------------------ register_* names

def test_register_names_are_checked():
    m = _Holder()
    m.sub = nn.Linear(1, 1)
    # a buffer over a parameter made 'w' both: parameters() listed the buffer, state_dict
    # saved the key twice
    with pytest.raises(KeyError, match="'w' already exists"):
        m.register_buffer("w", ag.zeros(3))
    with pytest.raises(KeyError, match="'sub' already exists"):
        m.register_parameter("sub", nn.Parameter(np.ones(1)))
    with pytest.raises(KeyError, match="'forward' already exists"):
        m.add_module("forward", nn.ReLU())
    for bad in ("", "a.b"):
        with pytest.raises(KeyError, match="contain no"):
            m.register_buffer(bad, ag.zeros(1))
        with pytest.raises(KeyError, match="contain no"):
            m.register_parameter(bad, nn.Parameter(np.ones(1)))
        with pytest.raises(KeyError, match="contain no"):
            m.add_module(bad, nn.ReLU())
    with pytest.raises(TypeError, match="str"):
        m.register_buffer(3, ag.zeros(1))
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert list(m.state_dict()) == ["w", "sub.weight", "sub.bias"]
    # re-registering under the same kind is allowed, as in PyTorch
    m.register_parameter("w", nn.Parameter(np.zeros(3)))
    m.register_buffer("rb", ag.zeros(2))
    m.register_buffer("rb", ag.ones(2))
    m.add_module("sub", nn.ReLU())
    assert list(m.state_dict()) == ["w", "rb"]


# ------------------------------------------------------------ BCE weights

def _bce_ref(x, t, pw=1.0, w=1.0):
    p = 1.0 / (1.0 + np.exp(-x))
    return -w * (pw * t * np.log(p) + (1 - t) * np.log(1 - p))


def test_bce_with_logits_tensor_weights_of_other_dtype():
    # float32 Tensor weights (ag.tensor's default) with float64 logits: was "mul: dtype mismatch"
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3))
    t = rng.uniform(size=(4, 3))
    pw, w = np.array([0.5, 2.0, 3.0]), np.array([1.0, 0.0, 2.0])
    got = F.binary_cross_entropy_with_logits(ag.tensor(x), t, reduction="none",
                                             pos_weight=ag.tensor(pw), weight=ag.tensor(w))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.numpy(), _bce_ref(x, t, pw, w), rtol=1e-12)
    p = 1.0 / (1.0 + np.exp(-x))
    got = F.binary_cross_entropy(ag.tensor(p), t, reduction="sum", weight=ag.tensor(w))
    np.testing.assert_allclose(float(got), _bce_ref(x, t, 1.0, w).sum(), rtol=1e-10)
    # float64 weights with float32 logits keep float32
    got32 = F.binary_cross_entropy_with_logits(ag.tensor(x.astype(np.float32)), t,
                                               pos_weight=ag.tensor(pw, dtype="float64"))
    assert got32.dtype == np.float32


def test_bce_weight_that_would_enlarge_the_loss_is_refused():
    x = ag.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"weight of shape \(4, 1, 3\)"):
        F.binary_cross_entropy_with_logits(x, np.zeros((2, 3)), weight=np.ones((4, 1, 3)))
    with pytest.raises(ValueError, match="pos_weight of shape"):
        F.binary_cross_entropy_with_logits(x, np.zeros((2, 3)), pos_weight=np.ones(2))


def test_bce_loss_modules_take_weight():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 3))
    t = rng.uniform(size=(4, 3))
    w = np.array([1.0, 0.5, 2.0])
    crit = nn.BCEWithLogitsLoss(pos_weight=ag.tensor([2.0, 2.0, 2.0]), weight=ag.tensor(w))
    np.testing.assert_allclose(float(crit(ag.tensor(x), t)), _bce_ref(x, t, 2.0, w).mean(),
                               rtol=1e-12)
    assert sorted(crit.state_dict()) == ["pos_weight", "weight"]
    assert list(crit.parameters()) == []
    p = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(float(nn.BCELoss(weight=w)(ag.tensor(p), t)),
                               _bce_ref(x, t, 1.0, w).mean(), rtol=1e-10)


# ------------------------------------------------------------ 0-d tensors

def test_load_state_dict_zero_dim_parameter_and_buffer():
    # np.ascontiguousarray turned the 0-d value into shape (1,): "cannot be broadcast to ()"
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.temp = nn.Parameter(np.array(1.5))
            self.register_buffer("count", ag.tensor(0.0))
    m = M()
    m.load_state_dict({"temp": np.array(2.5), "count": 3.0})
    assert m.temp.shape == () and float(m.temp) == 2.5
    assert float(m.count) == 3.0
    m2 = M()
    m2.load_state_dict(m.state_dict())
    assert float(m2.temp) == 2.5 and m2.temp.requires_grad


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits])
def test_zero_dim_losses_with_scalar_targets(loss):
    x = ag.tensor(0.25, dtype="float64", requires_grad=True)
    got = loss(x, 1.0)
    ref = {F.mse_loss: 0.75 ** 2, F.l1_loss: 0.75,
           F.binary_cross_entropy_with_logits: np.log1p(np.exp(-0.25))}[loss]
    assert got.shape == ()
    np.testing.assert_allclose(float(got), ref, rtol=1e-12)
    got.backward()
    dref = {F.mse_loss: -1.5, F.l1_loss: -1.0,
            F.binary_cross_entropy_with_logits: 1 / (1 + np.exp(-0.25)) - 1}[loss]
    np.testing.assert_allclose(float(x.grad), dref, rtol=1e-12)
    np.testing.assert_allclose(float(F.binary_cross_entropy(ag.tensor(0.25, dtype="float64"),
                                                            np.float64(1.0))), -np.log(0.25))


def test_clip_grad_norm_error_if_nonfinite():
    for bad in (np.nan, np.inf):
        p = ag.tensor([1.0, 2.0], requires_grad=True)
        p.grad = ag.tensor([bad, 3.0])
        with pytest.raises(RuntimeError, match="non-finite"):
            ag.optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        np.testing.assert_array_equal(p.grad.numpy(), [bad, 3.0])   # untouched
    p.grad = ag.tensor([3.0, 4.0])
    assert ag.optim.clip_grad_norm_([p], 1.0, error_if_nonfinite=True) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-6)
