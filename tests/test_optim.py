"""Optimizers against hand-written numpy references, schedulers against closed forms."""
import math

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import optim
from autograd_c.optim import lr_scheduler

A = np.array([[1.0, 2.0, -0.5], [0.3, 1.5, 2.0]])
C = np.array([[0.2, -1.0, 0.4], [1.0, 0.0, -0.3]])
W0 = np.array([[0.5, -0.3, 1.2], [-0.7, 0.9, 0.1]])


def loss_and_grad(w):
    """loss = sum(0.5 A w^2 + C w + 0.1 w^3) and its gradient in numpy."""
    return A * w + C + 0.3 * w ** 2


def run_ag(make_opt, steps=3, dtype=np.float64):
    w = ag.tensor(W0.astype(dtype), requires_grad=True)
    opt = make_opt([w])
    for _ in range(steps):
        opt.zero_grad()
        loss = ag.sum(w * w * A * 0.5 + w * C + w * w * w * 0.1)
        loss.backward()
        opt.step()
    return w.numpy().astype(np.float64)


def ref_sgd(lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False, steps=3):
    w = W0.copy()
    buf = None
    for _ in range(steps):
        g = loss_and_grad(w) + wd * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
    return w


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False, amsgrad=False, steps=3):
    w = W0.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    vmax = np.zeros_like(w)
    for t in range(1, steps + 1):
        g = loss_and_grad(w)
        if decoupled:
            w = w * (1 - lr * wd)
        else:
            g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vh = (vmax if amsgrad else v) / (1 - b2 ** t)
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(vh) + eps)
    return w


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False, steps=3):
    w = W0.copy()
    s = np.zeros_like(w)
    b = np.zeros_like(w)
    ga = np.zeros_like(w)
    for _ in range(steps):
        g = loss_and_grad(w) + wd * w
        s = alpha * s + (1 - alpha) * g * g
        avg = s
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = s - ga * ga
        d = np.sqrt(avg) + eps
        if momentum:
            b = momentum * b + g / d
            w = w - lr * b
        else:
            w = w - lr * g / d
    return w


def ref_adagrad(lr, lr_decay=0.0, wd=0.0, eps=1e-10, init=0.0, steps=3):
    w = W0.copy()
    s = np.full_like(w, init)
    for t in range(1, steps + 1):
        g = loss_and_grad(w) + wd * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        w = w - clr * g / (np.sqrt(s) + eps)
    return w


@pytest.mark.parametrize("kw", [
    dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.8, dampening=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.1, weight_decay=0.2),
    dict(lr=0.1, momentum=0.9, weight_decay=0.1)])
def test_sgd_matches_numpy(kw):
    got = run_ag(lambda p: optim.SGD(p, **kw))
    exp = ref_sgd(kw["lr"], kw.get("momentum", 0.0), kw.get("dampening", 0.0),
                  kw.get("weight_decay", 0.0), kw.get("nesterov", False))
    assert not np.allclose(exp, W0)
    np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.3),
                                dict(lr=0.05, betas=(0.5, 0.9), amsgrad=True)])
def test_adam_matches_numpy(kw):
    got = run_ag(lambda p: optim.Adam(p, **kw))
    b1, b2 = kw.get("betas", (0.9, 0.999))
    exp = ref_adam(kw["lr"], b1, b2, wd=kw.get("weight_decay", 0.0), amsgrad=kw.get("amsgrad", False))
    np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-12)


def test_adamw_matches_numpy():
    got = run_ag(lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.5))
    np.testing.assert_allclose(got, ref_adam(0.1, wd=0.5, decoupled=True), rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, momentum=0.9),
                                dict(lr=0.01, centered=True, weight_decay=0.1),
                                dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True)])
def test_rmsprop_matches_numpy(kw):
    got = run_ag(lambda p: optim.RMSprop(p, **kw))
    exp = ref_rmsprop(kw["lr"], kw.get("alpha", 0.99), wd=kw.get("weight_decay", 0.0),
                      momentum=kw.get("momentum", 0.0), centered=kw.get("centered", False))
    np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, lr_decay=0.5, weight_decay=0.2),
                                dict(lr=0.1, initial_accumulator_value=0.5)])
def test_adagrad_matches_numpy(kw):
    got = run_ag(lambda p: optim.Adagrad(p, **kw))
    exp = ref_adagrad(kw["lr"], kw.get("lr_decay", 0.0), kw.get("weight_decay", 0.0),
                      init=kw.get("initial_accumulator_value", 0.0))
    np.testing.assert_allclose(got, exp, rtol=1e-12)


def test_float32_step_matches_float64_reference():
    got = run_ag(lambda p: optim.Adam(p, lr=0.1), dtype=np.float32)
    np.testing.assert_allclose(got, ref_adam(0.1), rtol=1e-5, atol=1e-6)


def test_large_parameter_uses_parallel_path_correctly():
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(200_000)
    g = rng.standard_normal(200_000)
    w = ag.tensor(w0, requires_grad=True)
    w.grad = ag.tensor(g)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    opt.step()
    np.testing.assert_allclose(w.numpy(), w0 - 0.1 * g, rtol=1e-14)


def test_param_groups_have_their_own_options():
    a = ag.tensor([1.0], dtype="float64", requires_grad=True)
    b = ag.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a * 1.0 + b * 1.0).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)


def test_params_without_grad_are_skipped_and_version_bumped():
    a = ag.tensor([1.0], requires_grad=True)
    b = ag.tensor([2.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 3.0).sum().backward()
    va, vb = a._version, b._version
    opt.step()
    assert b.item() == 2.0 and a.item() != 1.0
    assert a._version > va and b._version == vb
    assert opt.state[0]["step"] == 1 and opt.state[1]["step"] == 0


def test_step_outside_the_tape_and_zero_grad():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w.is_leaf and w.grad_fn is None
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=-0.1), lambda p: optim.Adam(p, lr=-1e-3),
    lambda p: optim.Adam(p, betas=(1.0, 0.9)), lambda p: optim.RMSprop(p, eps=-1.0),
    lambda p: optim.Adagrad(p, lr_decay=-1.0), lambda p: optim.SGD(p, lr=0.1, nesterov=True),
    lambda p: optim.SGD(p, lr=float("nan"))])
def test_bad_hyper_parameters_raise(make):
    with pytest.raises(ValueError):
        make([ag.zeros(2, requires_grad=True)])


def test_negative_lr_set_later_raises_at_step_and_leaves_params():
    w = ag.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.param_groups[0]["lr"] = -0.5
    with pytest.raises(ValueError, match="lr"):
        opt.step()
    assert w.item() == 1.0


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    w = ag.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([w, w], lr=0.1)


def test_state_dict_round_trip_continues_identically(tmp_path):
    def train(opt, w, n):
        for _ in range(n):
            opt.zero_grad()
            ag.sum(w * w * A * 0.5 + w * C + w * w * w * 0.1).backward()
            opt.step()

    w1 = ag.tensor(W0, requires_grad=True)
    o1 = optim.Adam([w1], lr=0.05, amsgrad=True)
    train(o1, w1, 5)
    ag.save({"w": w1.detach(), "opt": o1.state_dict()}, tmp_path / "ck.npz")
    train(o1, w1, 3)
    ck = ag.load(tmp_path / "ck.npz")
    w2 = ag.tensor(ck["w"].numpy(), requires_grad=True)
    o2 = optim.Adam([w2], lr=0.9)
    o2.load_state_dict(ck["opt"])
    assert o2.param_groups[0]["lr"] == 0.05
    train(o2, w2, 3)
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())


def test_load_state_dict_rejects_mismatch():
    w = ag.zeros(3, requires_grad=True)
    o = optim.SGD([w], lr=0.1, momentum=0.9)
    sd = o.state_dict()
    sd["state"][0]["momentum_buffer"] = np.zeros(4)
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([ag.zeros(3, requires_grad=True)], lr=0.1, momentum=0.9).load_state_dict(sd)


def test_clip_grad_norm():
    a = ag.tensor([3.0], dtype="float64", requires_grad=True)
    b = ag.tensor([0.0, 4.0], dtype="float64", requires_grad=True)
    a.grad = ag.tensor([3.0], dtype="float64")
    b.grad = ag.tensor([0.0, 4.0], dtype="float64")
    total = optim.clip_grad_norm_([a, b], 2.5)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad.numpy(), b.grad.numpy()]),
                               np.array([3.0, 0.0, 4.0]) * 2.5 / (5.0 + 1e-6))
    assert optim.clip_grad_norm_([a, b], 100.0) == pytest.approx(2.5, rel=1e-5)
    assert optim.clip_grad_norm_([a, b], 100.0, norm_type=math.inf) == pytest.approx(
        4.0 * 2.5 / (5.0 + 1e-6))


def _opt(lr=1.0):
    return optim.SGD([ag.zeros(1, requires_grad=True)], lr=lr)


def test_step_lr_closed_form():
    o = _opt(0.5)
    s = lr_scheduler.StepLR(o, step_size=3, gamma=0.2)
    for e in range(1, 10):
        s.step()
        assert o.param_groups[0]["lr"] == pytest.approx(0.5 * 0.2 ** (e // 3))


def test_exponential_lr_closed_form():
    o = _opt(0.5)
    s = lr_scheduler.ExponentialLR(o, gamma=0.9)
    for e in range(1, 8):
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.5 * 0.9 ** e)


def test_cosine_lr_closed_form():
    o = _opt(0.5)
    s = lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01)
    for e in range(1, 11):
        s.step()
        exp = 0.01 + (0.5 - 0.01) * (1 + math.cos(math.pi * e / 10)) / 2
        assert o.param_groups[0]["lr"] == pytest.approx(exp)
    assert o.param_groups[0]["lr"] == pytest.approx(0.01)


def test_reduce_on_plateau():
    o = _opt(1.0)
    s = lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2, min_lr=0.2)
    lrs = []
    for m in [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]:
        s.step(m)
        lrs.append(o.param_groups[0]["lr"])
    # improvement at epoch 2, then 3 bad epochs -> halve (epoch 5), again at 8, then 11 capped
    assert lrs[:4] == [1.0] * 4 and lrs[4] == 0.5 and lrs[7] == 0.25 and lrs[-1] == 0.2
