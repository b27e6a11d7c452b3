"""Adamax, NAdam, RAdam, Adadelta and clip_grad_value_ against numpy implementations of PyTorch's
documented algorithms (written here from the documented pseudo-code), and the learning-rate
schedulers against their documented closed forms or recurrences."""
import math
import pickle

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import optim

A = np.array([[1.0, 2.0, -0.5], [0.3, 1.5, 2.0]])
C = np.array([[0.2, -1.0, 0.4], [1.0, 0.0, -0.3]])
W0 = np.array([[0.5, -0.3, 1.2], [-0.7, 0.9, 0.1]])
STEPS = 10


def np_grad(w):
    """gradient of sum(0.5 A w^2 + C w + 0.1 w^3)"""
    return A * w + C + 0.3 * w ** 2


def ag_loss(w):
    return ag.sum(w * w * A * 0.5 + w * C + w * w * w * 0.1)


def run_ag(make_opt, dtype, steps=STEPS):
    w = ag.tensor(W0.astype(dtype), requires_grad=True)
    opt = make_opt([w])
    for _ in range(steps):
        opt.zero_grad()
        ag_loss(w).backward()
        opt.step()
    assert w.dtype == np.dtype(dtype)
    return w.numpy().astype(np.float64)


# ---- references: one function per documented algorithm; `grad(w)` -> g_t before weight decay

def _g(w, wd, maximize, decoupled=False, lr=None):
    """returns (g, w): the maximize sign, then L2 into g or the decoupled decay of w"""
    g = -np_grad(w) if maximize else np_grad(w)
    if decoupled:
        return g, w * (1 - lr * wd)
    return g + wd * w, w


def ref_adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False,
               steps=STEPS):
    b1, b2 = betas
    w = W0.copy()
    m = np.zeros_like(w)
    u = np.zeros_like(w)
    for t in range(1, steps + 1):
        g, w = _g(w, weight_decay, maximize)
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        w = w - lr * m / ((1 - b1 ** t) * u)
    return w


def ref_nadam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False, steps=STEPS):
    b1, b2 = betas
    w = W0.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    mus = []
    for t in range(1, steps + 1):
        g, w = _g(w, weight_decay, maximize, decoupled_weight_decay, lr)
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_t1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mus.append(mu_t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = mu_t1 * m / (1 - np.prod(mus) * mu_t1) + (1 - mu_t) * g / (1 - np.prod(mus))
        v_hat = v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def ref_radam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled_weight_decay=False, maximize=False, steps=STEPS):
    b1, b2 = betas
    w = W0.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    rho_inf = 2 / (1 - b2) - 1
    for t in range(1, steps + 1):
        g, w = _g(w, weight_decay, maximize, decoupled_weight_decay, lr)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                          / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            w = w - lr * m_hat * r_t * l_t
        else:
            w = w - lr * m_hat
    return w


def ref_adadelta(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False, steps=STEPS):
    w = W0.copy()
    v = np.zeros_like(w)
    u = np.zeros_like(w)
    for _ in range(steps):
        g, w = _g(w, weight_decay, maximize)
        v = v * rho + g * g * (1 - rho)
        dx = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = u * rho + dx * dx * (1 - rho)
        w = w - lr * dx
    return w


CASES = [
    (optim.Adamax, ref_adamax, dict(lr=0.1)),
    (optim.Adamax, ref_adamax, dict(lr=0.05, betas=(0.5, 0.9), weight_decay=0.3)),
    (optim.Adamax, ref_adamax, dict(lr=0.05, weight_decay=0.2, maximize=True)),
    (optim.NAdam, ref_nadam, dict(lr=0.1)),
    (optim.NAdam, ref_nadam, dict(lr=0.05, weight_decay=0.3, momentum_decay=0.1)),
    (optim.NAdam, ref_nadam, dict(lr=0.05, weight_decay=0.3, decoupled_weight_decay=True)),
    (optim.NAdam, ref_nadam, dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, maximize=True)),
    (optim.RAdam, ref_radam, dict(lr=0.1)),  # rho_t > 5 from t = 6 on: both branches
    (optim.RAdam, ref_radam, dict(lr=0.05, betas=(0.9, 0.9))),  # rho_inf = 19: rectified early
    (optim.RAdam, ref_radam, dict(lr=0.05, weight_decay=0.3)),
    (optim.RAdam, ref_radam, dict(lr=0.05, weight_decay=0.3, decoupled_weight_decay=True)),
    (optim.RAdam, ref_radam, dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.1, maximize=True)),
    (optim.Adadelta, ref_adadelta, dict()),
    (optim.Adadelta, ref_adadelta, dict(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.3)),
    (optim.Adadelta, ref_adadelta, dict(lr=2.0, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls,ref,kw", CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_trajectory_matches_numpy_reference(cls, ref, kw, dtype):
    got = run_ag(lambda p: cls(p, **kw), dtype)
    exp = ref(**kw)
    assert np.abs(exp - W0).max() > 1e-3  # the run moved the parameters
    if dtype == np.float64:
        np.testing.assert_allclose(got, exp, rtol=1e-11, atol=1e-12)
    else:
        np.testing.assert_allclose(got, exp, rtol=2e-5, atol=2e-5)


def test_radam_exercises_both_branches():
    # the default betas give rho_t <= 5 for t <= 5 and > 5 after: the reference's two branches
    rho_inf = 2 / 0.001 - 1
    rho = [rho_inf - 2 * t * 0.999 ** t / (1 - 0.999 ** t) for t in range(1, STEPS + 1)]
    assert min(rho) <= 5 < max(rho)


def test_defaults_are_pytorchs():
    w = [ag.zeros(2, requires_grad=True)]
    g = optim.Adamax(w).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["weight_decay"], g["maximize"]) == \
        (2e-3, (0.9, 0.999), 1e-8, 0.0, False)
    g = optim.NAdam(w).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["momentum_decay"], g["decoupled_weight_decay"]) == \
        (2e-3, (0.9, 0.999), 1e-8, 4e-3, False)
    g = optim.RAdam(w).param_groups[0]
    assert (g["lr"], g["betas"], g["eps"], g["decoupled_weight_decay"]) == \
        (1e-3, (0.9, 0.999), 1e-8, False)
    g = optim.Adadelta(w).param_groups[0]
    assert (g["lr"], g["rho"], g["eps"], g["weight_decay"]) == (1.0, 0.9, 1e-6, 0.0)


NEW = [optim.Adamax, optim.NAdam, optim.RAdam, optim.Adadelta]


@pytest.mark.parametrize("cls", NEW)
def test_param_groups_with_different_lrs(cls):
    """Two groups, lrs 0.1 and 0.02: each parameter follows the reference run at its lr; a third
    parameter without a gradient is left alone, its step count (and NAdam's mu_product) too."""
    ref = {optim.Adamax: ref_adamax, optim.NAdam: ref_nadam, optim.RAdam: ref_radam,
           optim.Adadelta: ref_adadelta}[cls]
    w1 = ag.tensor(W0, requires_grad=True)
    w2 = ag.tensor(W0, requires_grad=True)
    idle = ag.tensor([1.0, 2.0], requires_grad=True)
    opt = cls([{"params": [w1]}, {"params": [w2, idle], "lr": 0.02}], lr=0.1)
    for _ in range(STEPS):
        opt.zero_grad()
        (ag_loss(w1) + ag_loss(w2)).backward()
        opt.step()
    np.testing.assert_allclose(w1.numpy(), ref(lr=0.1), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(w2.numpy(), ref(lr=0.02), rtol=1e-11, atol=1e-12)
    assert idle.tolist() == [1.0, 2.0]
    st = opt.state
    assert [st[0]["step"], st[1]["step"], st[2]["step"]] == [STEPS, STEPS, 0]
    if cls is optim.NAdam:
        mus = [0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3)) for t in range(1, STEPS + 1)]
        assert st[0]["mu_product"] == pytest.approx(np.prod(mus), rel=1e-14)
        assert st[2]["mu_product"] == 1.0


@pytest.mark.parametrize("cls,kw", [(optim.Adamax, dict(lr=0.1, weight_decay=0.1)),
                                    (optim.NAdam, dict(lr=0.1, momentum_decay=0.05)),
                                    (optim.RAdam, dict(lr=0.1, decoupled_weight_decay=True,
                                                       weight_decay=0.1)),
                                    (optim.Adadelta, dict(lr=0.7))])
def test_state_dict_round_trip_resumes_identically(cls, kw):
    def train(w, opt, n):
        for _ in range(n):
            opt.zero_grad()
            ag_loss(w).backward()
            opt.step()

    w_full = ag.tensor(W0, requires_grad=True)
    train(w_full, cls([w_full], **kw), STEPS)

    w = ag.tensor(W0, requires_grad=True)
    opt = cls([w], **kw)
    train(w, opt, 4)
    sd = pickle.loads(pickle.dumps(opt.state_dict()))  # plain data, detached from opt
    w2 = ag.tensor(w.numpy().copy(), requires_grad=True)
    opt2 = cls([w2], lr=123.0)  # options come from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    train(w2, opt2, STEPS - 4)
    np.testing.assert_array_equal(w2.numpy(), w_full.numpy())


def test_nadam_load_state_dict_checks_mu_product_before_writing():
    w = ag.tensor(W0, requires_grad=True)
    opt = optim.NAdam([w], lr=0.1)
    ag_loss(w).backward()
    opt.step()
    sd = opt.state_dict()
    before = opt.state[0]["mu_product"]
    bad = {"state": {0: {k: v for k, v in sd["state"][0].items() if k != "mu_product"}},
           "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match="mu_product"):
        opt.load_state_dict(bad)
    bad["state"][0]["mu_product"] = float("nan")
    with pytest.raises(ValueError, match="mu_product"):
        opt.load_state_dict(bad)
    assert opt.state[0]["mu_product"] == before


@pytest.mark.parametrize("make,match", [
    (lambda p: optim.Adamax(p, lr=-0.1), "lr"),
    (lambda p: optim.Adamax(p, betas=(1.0, 0.9)), r"betas.*\[0, 1\)"),
    (lambda p: optim.Adamax(p, betas=(0.9,)), "pair"),
    (lambda p: optim.NAdam(p, betas=(0.9, -0.1)), "betas"),
    (lambda p: optim.NAdam(p, momentum_decay=-1e-3), "momentum_decay"),
    (lambda p: optim.NAdam(p, eps=-1.0), "eps"),
    (lambda p: optim.RAdam(p, weight_decay=-0.1), "weight_decay"),
    (lambda p: optim.RAdam(p, lr=float("nan")), "lr"),
    (lambda p: optim.RAdam(p, betas=("a", 0.9)), "betas"),
    (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
    (lambda p: optim.Adadelta(p, rho=-0.5), "rho"),
    (lambda p: optim.Adadelta(p, lr=float("inf")), "lr"),
    (lambda p: optim.Adadelta(p, eps="x"), "eps"),
])
def test_bad_hyper_parameters_raise(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make([ag.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("cls,key,bad", [(optim.Adamax, "lr", -1.0), (optim.NAdam, "betas", (0.9, 1.0)),
                                         (optim.RAdam, "eps", -1e-8), (optim.Adadelta, "rho", 2.0)])
def test_bad_option_set_between_steps_raises_at_step_and_leaves_params(cls, key, bad):
    w = ag.tensor(W0, requires_grad=True)
    opt = cls([w])
    ag_loss(w).backward()
    opt.param_groups[0][key] = bad
    with pytest.raises(ValueError, match=key if key != "betas" else "betas"):
        opt.step()
    np.testing.assert_array_equal(w.numpy(), W0)
    assert opt.state[0]["step"] == 0


def test_unsupported_pytorch_flags_are_rejected():
    with pytest.raises(TypeError):
        optim.NAdam([ag.zeros(2, requires_grad=True)], capturable=True)


# ---- clip_grad_value_

def test_clip_grad_value_clamps_in_place():
    w1 = ag.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    w2 = ag.tensor(np.zeros((2, 2), np.float32), requires_grad=True)
    w3 = ag.tensor([1.0], requires_grad=True)  # no grad: skipped
    g1 = np.array([-3.0, -0.5, 0.7, 9.0])
    g2 = np.array([[5.0, -5.0], [0.1, float("nan")]], np.float32)
    w1.grad = ag.tensor(g1)
    w2.grad = ag.tensor(g2)
    assert optim.clip_grad_value_([w1, w2, w3], 0.6) is None
    np.testing.assert_array_equal(w1.grad.numpy(), np.clip(g1, -0.6, 0.6))
    got = w2.grad.numpy()
    np.testing.assert_array_equal(got[~np.isnan(g2)], np.clip(g2, np.float32(-0.6),
                                                              np.float32(0.6))[~np.isnan(g2)])
    assert np.isnan(got[1, 1])
    assert w3.grad is None


def test_clip_grad_value_single_tensor_and_strided_grad():
    w = ag.tensor(np.zeros((3, 2)), requires_grad=True)
    g = np.arange(6.0).reshape(2, 3) - 2.5
    w.grad = ag.tensor(g).T  # a transposed (strided) gradient
    optim.clip_grad_value_(w, 1.0)
    np.testing.assert_array_equal(w.grad.numpy(), np.clip(g.T, -1.0, 1.0))


@pytest.mark.parametrize("bad,exc", [(-1.0, ValueError), (float("nan"), ValueError),
                                     ("1", TypeError), (None, TypeError)])
def test_clip_grad_value_bad_value(bad, exc):
    w = ag.tensor([1.0], requires_grad=True)
    w.grad = ag.tensor([5.0])
    with pytest.raises(exc, match="clip_value"):
        optim.clip_grad_value_([w], bad)
    assert w.grad.tolist() == [5.0]
