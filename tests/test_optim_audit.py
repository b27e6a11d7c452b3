"""Regression tests for the optimizer / scheduler / estimator audit: chainable schedulers that
honour lr changes made between steps, Adagrad groups added late, SGD momentum switched on
mid-run, and warm-start / partial_fit estimators that follow their current hyper-parameters.
Expected values are worked out by hand from PyTorch's and scikit-learn's documented rules."""
import math

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import optim
from autograd_c.models import MLPClassifier, _net
from autograd_c.optim import lr_scheduler


def _opt(lr=1.0):
    return optim.SGD([ag.zeros(1, requires_grad=True)], lr=lr)


def _run(opt, scheds, n, override=None):
    """The lr used in epochs 0..n-1; ``override`` {epoch: lr} sets it by hand at that epoch."""
    lrs = []
    for e in range(n):
        if override and e in override:
            opt.param_groups[0]["lr"] = override[e]
        lrs.append(opt.param_groups[0]["lr"])
        for s in scheds:
            s.step()
    return lrs


def _cos(base, lo, T, e):
    return lo + (base - lo) * (1 + math.cos(math.pi * e / T)) / 2


# ---- schedulers

def test_step_lr_keeps_an_lr_set_by_hand():
    o = _opt(1.0)
    lrs = _run(o, [lr_scheduler.StepLR(o, step_size=3, gamma=0.5)], 8, override={4: 0.01})
    # decays at epochs 3 and 6; the hand-set 0.01 is decayed from, not overwritten
    assert lrs == pytest.approx([1, 1, 1, 0.5, 0.01, 0.01, 0.005, 0.005])


def test_exponential_lr_keeps_an_lr_set_by_hand():
    o = _opt(1.0)
    lrs = _run(o, [lr_scheduler.ExponentialLR(o, gamma=0.9)], 6, override={2: 0.5})
    assert lrs == pytest.approx([1, 0.9, 0.5, 0.45, 0.405, 0.3645])


def test_exponential_and_step_lr_chain():
    o = _opt(1.0)
    scheds = [lr_scheduler.ExponentialLR(o, gamma=0.9), lr_scheduler.StepLR(o, 3, gamma=0.1)]
    lrs = _run(o, scheds, 9)
    assert lrs == pytest.approx([0.9 ** e * 0.1 ** (e // 3) for e in range(9)])
    assert lrs[:5] == pytest.approx([1, 0.9, 0.81, 0.0729, 0.06561])
    # each scheduler reports the lr it set; the last one stepped holds the group's lr
    assert scheds[1].get_last_lr() == [o.param_groups[0]["lr"]]
    assert scheds[0].get_last_lr() == pytest.approx([o.param_groups[0]["lr"] / 0.1])


@pytest.mark.parametrize("T", [1, 2, 5])
def test_cosine_alone_equals_closed_form_over_restarts(T):
    o = _opt(0.5)
    lrs = _run(o, [lr_scheduler.CosineAnnealingLR(o, T_max=T, eta_min=0.01)], 4 * T + 3)
    np.testing.assert_allclose(lrs, [_cos(0.5, 0.01, T, e) for e in range(4 * T + 3)],
                               rtol=0, atol=1e-12)


def test_cosine_scales_an_lr_set_by_hand():
    o = _opt(1.0)
    lrs = _run(o, [lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.01)], 7,
               override={3: 0.3})
    ratio = (1 + math.cos(4 * math.pi / 5)) / (1 + math.cos(3 * math.pi / 5))
    assert lrs[:3] == pytest.approx([_cos(1, 0.01, 5, e) for e in range(3)])
    assert lrs[3] == 0.3
    assert lrs[4] == pytest.approx(0.01 + (0.3 - 0.01) * ratio)
    assert lrs[5] == pytest.approx(0.01)                  # the minimum is still reached at T_max
    # leaving the minimum adds the closed form's increment, computed from base_lr
    assert lrs[6] == pytest.approx(0.01 + (1 - 0.01) * (1 - math.cos(math.pi / 5)) / 2)


def test_cosine_chains_with_exponential():
    o = _opt(1.0)
    scheds = [lr_scheduler.CosineAnnealingLR(o, T_max=6), lr_scheduler.ExponentialLR(o, 0.95)]
    lrs = _run(o, scheds, 7)
    # with eta_min = 0 the cosine steps are pure factors, so the two schedules multiply
    assert lrs == pytest.approx([_cos(1, 0, 6, e) * 0.95 ** e for e in range(7)], abs=1e-12)


def test_scheduler_state_dict_resume_continues_identically():
    o1 = _opt(1.0)
    s1 = lr_scheduler.StepLR(o1, step_size=2, gamma=0.5)
    _run(o1, [s1], 3)
    opt_sd, sched_sd = o1.state_dict(), s1.state_dict()
    rest1 = _run(o1, [s1], 5)
    o2 = _opt(7.0)
    s2 = lr_scheduler.StepLR(o2, step_size=2, gamma=0.5)
    o2.load_state_dict(opt_sd)
    s2.load_state_dict(sched_sd)
    assert s2.last_epoch == 3 and s2.get_last_lr() == [0.5]
    assert _run(o2, [s2], 5) == rest1


# ---- Adagrad

def test_adagrad_group_added_late_starts_at_initial_accumulator_value():
    a = ag.tensor([1.0], dtype="float64", requires_grad=True)
    c = ag.tensor([5.0], dtype="float64", requires_grad=True)
    d = ag.tensor([5.0], dtype="float64", requires_grad=True)
    opt = optim.Adagrad([a], lr=0.1, initial_accumulator_value=1.0)
    opt.add_param_group({"params": [c]})
    opt.add_param_group({"params": [d], "initial_accumulator_value": 3.0})
    for p in (a, c, d):
        p.grad = ag.tensor([1.0], dtype="float64")
    opt.step()
    # sum = init + g^2;  p -= lr * g / sqrt(sum)
    assert a.item() == pytest.approx(1 - 0.1 / math.sqrt(2))
    assert c.item() == pytest.approx(5 - 0.1 / math.sqrt(2))      # 4.9293, not 4.9
    assert d.item() == pytest.approx(5 - 0.1 / 2)
    assert opt.state[1]["sum"].item() == pytest.approx(2.0)


# ---- SGD momentum switched on mid-run

def _sgd_on_off(steps=3):
    w = ag.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    out = []
    for k in range(steps):
        if k == 1:
            opt.param_groups[0]["momentum"] = 0.9
            opt.param_groups[0]["dampening"] = 0.5
        w.grad = ag.tensor([1.0], dtype="float64")
        opt.step()
        out.append(w.item())
    return w, opt, out


def test_sgd_momentum_switched_on_seeds_buffer_with_gradient():
    _, opt, out = _sgd_on_off()
    # step 1: plain, p = 0.9.  Step 2: first momentum step, b = g = 1, p = 0.8.
    # step 3: b = 0.9 * 1 + (1 - 0.5) * 1 = 1.4, p = 0.66
    assert out == pytest.approx([0.9, 0.8, 0.66])
    assert opt.state[0]["momentum_buffer"].item() == pytest.approx(1.4)
    assert opt.state[0]["step"] == 3


def test_sgd_momentum_buffer_is_none_until_used_and_survives_save_load(tmp_path):
    w = ag.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = ag.tensor([1.0], dtype="float64")
    opt.step()
    assert opt.state[0]["momentum_buffer"] is None
    ag.save(opt.state_dict(), tmp_path / "o.npz")
    w2 = ag.tensor([w.item()], dtype="float64", requires_grad=True)
    opt2 = optim.SGD([w2], lr=0.1)
    opt2.load_state_dict(ag.load(tmp_path / "o.npz"))
    opt2.param_groups[0].update(momentum=0.9, dampening=0.5)
    w2.grad = ag.tensor([1.0], dtype="float64")
    opt2.step()
    assert w2.item() == pytest.approx(0.8)          # seeded, as without the checkpoint
    assert opt2.state_dict()["state"][0]["momentum_buffer"] == pytest.approx([1.0])


def test_sgd_failed_seeding_step_changes_nothing():
    w = ag.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = ag.tensor([1.0], dtype="float64")
    opt.step()
    opt.param_groups[0].update(momentum=0.9, lr=-1.0)
    with pytest.raises(ValueError, match="lr"):
        opt.step()
    assert opt.state[0]["step"] == 1 and opt.state[0]["momentum_buffer"] is None
    opt.param_groups[0]["lr"] = 0.1
    opt.step()
    assert w.item() == pytest.approx(0.8)


def test_sgd_params_without_grad_are_seeded_later():
    a = ag.tensor([1.0], dtype="float64", requires_grad=True)
    b = ag.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = ag.tensor([1.0], dtype="float64")
    b.grad = ag.tensor([1.0], dtype="float64")
    opt.step()
    opt.param_groups[0].update(momentum=0.5, dampening=0.5)
    b.grad = None
    opt.step()                                      # seeds a only
    b.grad = ag.tensor([1.0], dtype="float64")
    opt.step()                                      # a: b = 0.5 + 0.5;  b: seeded, b = 1
    assert a.item() == pytest.approx(0.9 - 0.1 - 0.1)
    assert b.item() == pytest.approx(0.9 - 0.1)


# ---- estimators

def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


def _spy(monkeypatch, name):
    """Replace the estimators' optimizer class ``name`` by a subclass recording (lr,
    weight_decay of the weights' group) at every step."""
    base = getattr(_net, name)
    seen = []

    class Spy(base):
        def step(self, closure=None):
            g = self.param_groups[0]
            seen.append((g["lr"], g["weight_decay"]))
            return super().step(closure)

    monkeypatch.setattr(_net, name, Spy)
    return seen


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_warm_start_fit_uses_the_new_learning_rate():
    X, y = _data()
    clf = MLPClassifier((10,), learning_rate_init=0.01, max_iter=3, warm_start=True,
                        random_state=0).fit(X, y)
    before = [w.copy() for w in clf.coefs_]
    clf.set_params(learning_rate_init=1e-12).fit(X, y)
    # scikit-learn moves the weights by ~3e-12 here; the saved lr (0.01) would move them ~0.03
    assert max(np.abs(a - b).max() for a, b in zip(before, clf.coefs_)) < 1e-9


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_warm_start_fit_uses_the_new_alpha(monkeypatch):
    seen = _spy(monkeypatch, "Adam")
    X, y = _data()
    clf = MLPClassifier((5,), alpha=1e-4, max_iter=2, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(alpha=3.0, learning_rate_init=2e-3).fit(X, y)
    assert seen[:2] == [(1e-3, pytest.approx(1e-4 / 60))] * 2
    assert seen[2:] == [(2e-3, pytest.approx(3.0 / 60))] * 2


def test_partial_fit_l2_follows_each_batch_size(monkeypatch):
    seen = _spy(monkeypatch, "SGD")
    X, y = _data(150)
    clf = MLPClassifier((5,), solver="sgd", alpha=50.0, random_state=0)
    clf.partial_fit(X[:15], y[:15], classes=[0, 1])
    clf.partial_fit(X, y)
    assert [wd for _, wd in seen] == pytest.approx([50 / 15, 50 / 150])
    clf.set_params(batch_size=100, alpha=10.0).partial_fit(X, y)
    assert [wd for _, wd in seen[2:]] == pytest.approx([10 / 100, 10 / 50])


def test_partial_fit_keeps_the_first_calls_learning_rate(monkeypatch):
    # scikit-learn builds the optimizer on the first partial_fit only, so a later change of
    # learning_rate_init does not reach it
    seen = _spy(monkeypatch, "Adam")
    X, y = _data()
    clf = MLPClassifier((5,), learning_rate_init=0.01, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    before = [w.copy() for w in clf.coefs_]
    clf.set_params(learning_rate_init=1e-12).partial_fit(X, y)
    assert [lr for lr, _ in seen] == [0.01, 0.01]
    assert max(np.abs(a - b).max() for a, b in zip(before, clf.coefs_)) > 1e-4
