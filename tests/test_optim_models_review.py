"""Review of the optimizers, schedulers and estimator weights added together: PyTorch's resume
semantics of the schedulers (``last_epoch >= 0``), their argument checks, and the optimizers'
tiny-tensor steps keeping the GIL (as the other fused steps do)."""
import math
import sys
import threading
import time

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import optim
from autograd_c.optim import lr_scheduler as L


def _opt(lr=0.1, groups=1):
    ps = [ag.zeros(2, requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(ps)], lr=lr,
                     momentum=0.9)


RESUMABLE = {
    "StepLR": lambda o, e: L.StepLR(o, 3, 0.5, last_epoch=e),
    "MultiStepLR": lambda o, e: L.MultiStepLR(o, [2, 5], 0.5, last_epoch=e),
    "ExponentialLR": lambda o, e: L.ExponentialLR(o, 0.9, last_epoch=e),
    "CosineAnnealingLR": lambda o, e: L.CosineAnnealingLR(o, 10, last_epoch=e),
    "LambdaLR": lambda o, e: L.LambdaLR(o, lambda k: 0.9 ** k, last_epoch=e),
    "MultiplicativeLR": lambda o, e: L.MultiplicativeLR(o, lambda k: 0.9, last_epoch=e),
    "ConstantLR": lambda o, e: L.ConstantLR(o, 0.5, total_iters=4, last_epoch=e),
    "LinearLR": lambda o, e: L.LinearLR(o, 0.2, total_iters=6, last_epoch=e),
    "CyclicLR": lambda o, e: L.CyclicLR(o, 0.01, 0.1, step_size_up=3, last_epoch=e),
    "OneCycleLR": lambda o, e: L.OneCycleLR(o, max_lr=1.0, total_steps=20, last_epoch=e),
    "CosineAnnealingWarmRestarts": lambda o, e: L.CosineAnnealingWarmRestarts(o, 4,
                                                                              last_epoch=e),
}


# ---- resuming (last_epoch >= 0) needs the groups' initial_lr, as in PyTorch

@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resume_without_initial_lr_raises_key_error_and_leaves_groups(name):
    opt = _opt(groups=2)
    opt.param_groups[0]["initial_lr"] = 0.1   # group 1 lacks it
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(KeyError, match=r"initial_lr.*param_groups\[1\].*last_epoch=3"):
        RESUMABLE[name](opt, 3)
    assert [dict(g) for g in opt.param_groups] == before


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resume_with_initial_lr_from_a_saved_optimizer_is_accepted(name):
    opt = _opt()
    s = RESUMABLE[name](opt, -1)
    for _ in range(3):
        opt.step()
        s.step()
    opt2 = _opt()
    opt2.load_state_dict(opt.state_dict())    # carries initial_lr (and max_lr, ...)
    s2 = RESUMABLE[name](opt2, 3)
    assert s2.last_epoch == 4                 # PyTorch: the constructor's step is epoch 4
    assert s2.get_last_lr() == [opt2.param_groups[0]["lr"]]


# ---- the constructor's step of a resumed chainable scheduler keeps the group's lr

@pytest.mark.parametrize("name", ["ExponentialLR", "CosineAnnealingLR", "MultiplicativeLR",
                                  "LinearLR"])
@pytest.mark.parametrize("k", [0, 1, 3, 4, 9])
def test_resumed_constructor_step_keeps_the_lr(name, k):
    opt = _opt()
    g = opt.param_groups[0]
    g["initial_lr"], g["lr"] = 1.0, 0.37
    s = RESUMABLE[name](opt, k)
    assert g["lr"] == 0.37 and s.get_last_lr() == [0.37]


def test_resumed_multiplicative_lr_continues_the_uninterrupted_run():
    opt = _opt()
    s = L.MultiplicativeLR(opt, lambda e: 0.9)
    for _ in range(5):
        s.step()
    opt2 = _opt()
    opt2.load_state_dict(opt.state_dict())
    s2 = L.MultiplicativeLR(opt2, lambda e: 0.9, last_epoch=5)
    got, want = [], []
    for _ in range(10):
        got.append(s2.get_last_lr()[0])
        want.append(s.get_last_lr()[0])
        s.step()
        s2.step()
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(want, 0.1 * 0.9 ** np.arange(5, 15), rtol=1e-14)


@pytest.mark.parametrize("k", [0, 2, 7])
def test_resumed_linear_lr_next_step_is_the_chainable_ratio(k):
    s0, s1, n = 0.2, 1.0, 6
    opt = _opt()
    g = opt.param_groups[0]
    g["initial_lr"], g["lr"] = 1.0, 0.5
    s = L.LinearLR(opt, s0, s1, total_iters=n, last_epoch=k)
    s.step()                                   # epoch k + 2
    e = k + 2
    factor = (lambda t: s0 + (s1 - s0) * min(t, n) / n)
    want = 0.5 * (factor(e) / factor(e - 1) if e <= n else 1.0)
    assert math.isclose(g["lr"], want, rel_tol=1e-14)


def _sgdr(epoch, T0, Tm, base=0.1, eta_min=0.0):
    """lr of SGDR at an integer epoch, from the period lengths T0, T0 Tm, T0 Tm^2, ..."""
    start, T = 0, T0
    while epoch >= start + T:
        start, T = start + T, T * Tm
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (epoch - start) / T)) / 2


@pytest.mark.parametrize("Tm", [1, 2])
@pytest.mark.parametrize("k", [0, 3, 4, 9, 12, 30])
def test_resumed_warm_restarts_is_at_the_schedule_position(Tm, k):
    # the constructor's step of a resumed scheduler is epoch k + 1 (PyTorch's convention; its
    # own T_cur % T_i shortcut agrees where it is a schedule position, i.e. T_mult = 1)
    opt = _opt()
    opt.param_groups[0]["initial_lr"] = 0.1
    s = L.CosineAnnealingWarmRestarts(opt, 4, Tm, eta_min=0.01, last_epoch=k)
    got = [s.get_last_lr()[0]]
    for _ in range(12):
        s.step()
        got.append(s.get_last_lr()[0])
    want = [_sgdr(k + 1 + i, 4, Tm, 0.1, 0.01) for i in range(13)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert 0 <= s.T_cur < s.T_i


# ---- MultiplicativeLR.step(epoch) multiplies (SequentialLR restarts it with step(0))

def test_multiplicative_lr_step_epoch_multiplies_by_the_factor_at_that_epoch():
    opt = _opt(lr=1.0)
    s = L.MultiplicativeLR(opt, lambda e: 0.5 + 0.1 * e)
    s.step(0)
    assert opt.param_groups[0]["lr"] == 0.5
    s.step(3)
    assert math.isclose(opt.param_groups[0]["lr"], 0.5 * 0.8, rel_tol=1e-15)


def test_sequential_lr_restarting_multiplicative_lr_applies_its_factor_at_the_milestone():
    opt = _opt(lr=1.0)
    f = (lambda e: 0.5 + 0.01 * e)
    s = L.SequentialLR(opt, [L.ExponentialLR(opt, 0.9), L.MultiplicativeLR(opt, f)],
                       milestones=[4])
    got = [opt.param_groups[0]["lr"]]
    for _ in range(8):
        s.step()
        got.append(opt.param_groups[0]["lr"])
    want = [0.9 ** e for e in range(4)]
    want.append(want[-1] * f(0))               # the milestone: step(0) of MultiplicativeLR
    for e in range(1, 5):
        want.append(want[-1] * f(e))
    np.testing.assert_allclose(got, want, rtol=1e-14)


# ---- the older schedulers' constructors check their arguments

@pytest.mark.parametrize("make, exc, match", [
    (lambda o: L.StepLR(o, 2.5), TypeError, "step_size must be an integer"),
    (lambda o: L.StepLR(o, "3"), TypeError, "step_size must be an integer"),
    (lambda o: L.StepLR(o, True), TypeError, "step_size must be an integer"),
    (lambda o: L.StepLR(o, 0), ValueError, "step_size must be an integer >= 1"),
    (lambda o: L.StepLR(o, 2, gamma="0.5"), TypeError, "gamma must be a number"),
    (lambda o: L.StepLR(o, 2, gamma=float("nan")), ValueError, "gamma"),
    (lambda o: L.StepLR(o, 2, last_epoch=-2), ValueError, "last_epoch"),
    (lambda o: L.ExponentialLR(o, None), TypeError, "gamma must be a number"),
    (lambda o: L.ExponentialLR(o, float("inf")), ValueError, "gamma"),
    (lambda o: L.CosineAnnealingLR(o, 2.5), TypeError, "T_max must be an integer"),
    (lambda o: L.CosineAnnealingLR(o, 0), ValueError, "T_max must be an integer >= 1"),
    (lambda o: L.CosineAnnealingLR(o, 5, eta_min="0"), TypeError, "eta_min must be a number"),
    (lambda o: L.CosineAnnealingLR(o, 5, eta_min=float("nan")), ValueError, "eta_min"),
])
def test_older_scheduler_constructors_check_arguments(make, exc, match):
    opt = _opt()
    with pytest.raises(exc, match=match):
        make(opt)
    assert "initial_lr" not in opt.param_groups[0]   # refused before touching the optimizer


def test_older_scheduler_constructors_accept_numpy_numbers():
    opt = _opt(lr=1.0)
    s = L.StepLR(opt, np.int64(2), np.float32(0.5))
    c = L.CosineAnnealingLR(_opt(), np.int32(4), eta_min=np.float64(0.0))
    for _ in range(2):
        s.step()
        c.step()
    assert s.get_last_lr() == [0.5] and s.step_size == 2 and isinstance(s.gamma, float)
    assert math.isclose(c.get_last_lr()[0], 0.05, rel_tol=1e-12)


# ---- tiny fused steps keep the GIL

def _tiny_steps():
    def group(cls, **kw):
        w = ag.tensor([1.0, -2.0], requires_grad=True)
        w.grad = ag.tensor([0.5, 0.25])
        opt = cls([w], **kw)
        return opt.step
    def clip(fn, *a):
        w = ag.tensor([1.0, -2.0], requires_grad=True)
        w.grad = ag.tensor([0.5, 0.25])
        return lambda: fn([w], *a)
    return {
        "Adamax": group(optim.Adamax, lr=1e-6), "NAdam": group(optim.NAdam, lr=1e-6),
        "RAdam": group(optim.RAdam, lr=1e-6), "Adadelta": group(optim.Adadelta, lr=1e-6),
        "RMSprop": group(optim.RMSprop, lr=1e-6), "Adagrad": group(optim.Adagrad, lr=1e-6),
        "Adam": group(optim.Adam, lr=1e-6), "SGD": group(optim.SGD, lr=1e-6, momentum=0.9),
        "clip_grad_value_": clip(optim.clip_grad_value_, 10.0),
        "clip_grad_norm_": clip(optim.clip_grad_norm_, 1e-3),
    }


@pytest.mark.parametrize("name", sorted(_tiny_steps()))
def test_tiny_fused_step_keeps_the_gil(name):
    # With a switch interval far longer than the test, the spinning thread can only run when
    # this thread releases the GIL: a step that releases it for a microsecond of work lets the
    # spinner win the GIL now and then (each such hand-over costs a thread switch, up to the
    # switch interval under load), which its counter shows; a step that keeps it, never.
    step = _tiny_steps()[name]
    stop = []
    count = [0]

    def spin():
        while not stop:
            count[0] += 1
            time.sleep(0)         # hands the GIL back at once

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    th = threading.Thread(target=spin, daemon=True)
    th.start()
    try:
        time.sleep(0.01)
        before = count[0]
        for _ in range(20000):
            step()
        ran = count[0] - before
    finally:
        stop.append(True)
        sys.setswitchinterval(old)
        th.join()
    assert ran == 0, f"the spinning thread ran {ran} times during 20000 tiny {name} steps"


@pytest.mark.parametrize("cls, kw", [
    (optim.Adam, dict(lr=0.1, amsgrad=True, weight_decay=0.1)), (optim.Adamax, dict(lr=0.1)),
    (optim.NAdam, dict(lr=0.1)), (optim.RAdam, dict(lr=0.1)), (optim.Adadelta, {}),
    (optim.RMSprop, dict(centered=True, momentum=0.5)), (optim.Adagrad, {}),
    (optim.SGD, dict(lr=0.1, momentum=0.9))])
def test_large_groups_released_path_updates_like_small_ones(cls, kw):
    # 70000 elements: the GIL-released (and OpenMP) path; 3: the tiny path.  The updates are
    # elementwise, so the shared elements must agree exactly
    rng = np.random.default_rng(0)
    vals = rng.normal(size=70000)
    big = ag.tensor(vals, requires_grad=True)
    small = ag.tensor(vals[:3].copy(), requires_grad=True)
    ob, os_ = cls([big], **kw), cls([small], **kw)
    for _ in range(3):
        for w, o in ((big, ob), (small, os_)):
            o.zero_grad()
            (w * w * w).sum().backward()
            o.step()
        optim.clip_grad_norm_([big], 1e6)
        optim.clip_grad_value_([big], 1e6)
    np.testing.assert_array_equal(big.numpy()[:3], small.numpy())
    assert not np.array_equal(big.numpy()[:3], vals[:3])
