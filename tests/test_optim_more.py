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
    # accepted as False (PyTorch's default), refused when asked for (tests/test_r8_polish2.py)
    with pytest.raises(ValueError, match="capturable=True is not supported"):
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


# ---- learning-rate schedulers: 30 steps against the documented closed forms / recurrences

from autograd_c.optim import lr_scheduler as L  # noqa: E402

N = 30


def two_group_opt(cls=optim.SGD, lrs=(0.5, 0.2), **kw):
    ps = [ag.zeros(2, requires_grad=True), ag.zeros(3, requires_grad=True)]
    return cls([{"params": [ps[0]], "lr": lrs[0]}, {"params": [ps[1]], "lr": lrs[1]}], **kw)


def run_sched(opt, sched, n=N):
    """lrs of every group at epochs 0..n-1 (the constructor sets epoch 0)"""
    out = [[g["lr"] for g in opt.param_groups]]
    assert sched.get_last_lr() == out[0]
    for _ in range(n - 1):
        sched.step()
        out.append(sched.get_last_lr())
        assert out[-1] == [g["lr"] for g in opt.param_groups]
    return np.array(out)


def test_lambda_lr_per_group():
    opt = two_group_opt()
    f0, f1 = (lambda e: 0.9 ** e), (lambda e: 1.0 / (1 + e))
    got = run_sched(opt, L.LambdaLR(opt, [f0, f1]))
    exp = [[0.5 * f0(e), 0.2 * f1(e)] for e in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-15)


def test_multiplicative_lr_recurrence():
    opt = two_group_opt()
    f = lambda e: 0.95 if e % 2 else 1.02  # noqa: E731
    got = run_sched(opt, L.MultiplicativeLR(opt, f))
    exp = [np.array([0.5, 0.2])]
    for e in range(1, N):
        exp.append(exp[-1] * f(e))
    np.testing.assert_allclose(got, exp, rtol=1e-14)


def test_multistep_lr_closed_form_with_repeated_milestone():
    opt = two_group_opt()
    ms = [20, 3, 7, 7]
    got = run_sched(opt, L.MultiStepLR(opt, ms, gamma=0.5))
    exp = [[b * 0.5 ** sum(m <= e for m in ms) for b in (0.5, 0.2)] for e in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-14)


@pytest.mark.parametrize("start,end,T", [(1 / 3, 1.0, 5), (0.1, 0.6, 12), (1.0, 0.0, 10)])
def test_linear_lr_closed_form(start, end, T):
    opt = two_group_opt()
    got = run_sched(opt, L.LinearLR(opt, start, end, T))
    exp = [[b * (start + (end - start) * min(e, T) / T) for b in (0.5, 0.2)] for e in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-13, atol=1e-16)


def test_constant_lr_closed_form():
    opt = two_group_opt()
    got = run_sched(opt, L.ConstantLR(opt, factor=0.25, total_iters=7))
    exp = [[b * (0.25 if e < 7 else 1.0) for b in (0.5, 0.2)] for e in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-15)


def onecycle_ref(step, T, max_lr, pct=0.3, div=25.0, final_div=1e4, three=False, cos=True,
                 mlo=0.85, mhi=0.95):
    """(lr, momentum) at ``step`` from PyTorch's documented phase description"""
    lo = max_lr / div
    mn = lo / final_div
    if three:
        phases = [(pct * T - 1, lo, max_lr, mhi, mlo), (2 * pct * T - 2, max_lr, lo, mlo, mhi),
                  (T - 1, lo, mn, mhi, mhi)]
    else:
        phases = [(pct * T - 1, lo, max_lr, mhi, mlo), (T - 1, max_lr, mn, mlo, mhi)]
    start = 0.0
    for k, (end, a, b, ma, mb) in enumerate(phases):
        if step <= end or k == len(phases) - 1:
            p = (step - start) / (end - start)
            if cos:
                f = lambda x, y: y + (x - y) * (1 + math.cos(math.pi * p)) / 2  # noqa: E731
            else:
                f = lambda x, y: x + (y - x) * p  # noqa: E731
            return f(a, b), f(ma, mb)
        start = end


@pytest.mark.parametrize("three", [False, True])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_lr_and_momentum(three, strategy):
    opt = two_group_opt(momentum=0.5)
    s = L.OneCycleLR(opt, max_lr=[1.0, 0.4], total_steps=N, anneal_strategy=strategy,
                     three_phase=three)
    moms = [[g["momentum"] for g in opt.param_groups]]
    got = [s.get_last_lr()]
    for _ in range(N - 1):
        s.step()
        got.append(s.get_last_lr())
        moms.append([g["momentum"] for g in opt.param_groups])
    ref = [[onecycle_ref(e, N, m, three=three, cos=strategy == "cos") for m in (1.0, 0.4)]
           for e in range(N)]
    np.testing.assert_allclose(got, [[r[0] for r in row] for row in ref], rtol=1e-12)
    np.testing.assert_allclose(moms, [[r[1] for r in row] for row in ref], rtol=1e-12)
    assert max(max(r) for r in got) == pytest.approx(1.0, rel=0.02)  # the peak is reached
    s.step()  # step N == total_steps is allowed, as in PyTorch
    with pytest.raises(ValueError, match="total_steps"):
        s.step()


def test_one_cycle_cycles_adam_beta1_and_epochs_form():
    w = ag.zeros(2, requires_grad=True)
    opt = optim.Adam([w], lr=1.0, betas=(0.9, 0.99))
    s = L.OneCycleLR(opt, max_lr=0.1, epochs=3, steps_per_epoch=4, pct_start=0.25)
    for e in range(1, 12):
        s.step()
        lr, mom = onecycle_ref(e, 12, 0.1, pct=0.25)
        assert s.get_last_lr()[0] == pytest.approx(lr, rel=1e-12)
        assert opt.param_groups[0]["betas"] == pytest.approx((mom, 0.99), rel=1e-12)


def cyclic_ref(t, base, peak, up, down, mode="triangular", gamma=1.0):
    total = up + down
    cycle = math.floor(1 + t / total)
    x = 1 + t / total - cycle
    r = up / total
    f = x / r if x <= r else (x - 1) / (r - 1)
    scale = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma ** t}[mode]
    return base + (peak - base) * f * scale, f * scale


@pytest.mark.parametrize("mode,up,down", [("triangular", 4, None), ("triangular2", 3, 5),
                                          ("exp_range", 5, 2)])
def test_cyclic_lr_modes(mode, up, down):
    opt = two_group_opt(momentum=0.0)
    s = L.CyclicLR(opt, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=up,
                   step_size_down=down, mode=mode, gamma=0.97)
    d = up if down is None else down
    got, moms = [s.get_last_lr()], [opt.param_groups[0]["momentum"]]
    for _ in range(N - 1):
        s.step()
        got.append(s.get_last_lr())
        moms.append(opt.param_groups[0]["momentum"])
    exp = [[cyclic_ref(t, b, m, up, d, mode, 0.97)[0] for b, m in ((0.01, 0.1), (0.02, 0.3))]
           for t in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-12)
    exp_m = [0.9 - (0.9 - 0.8) * cyclic_ref(t, 0, 1, up, d, mode, 0.97)[1] for t in range(N)]
    np.testing.assert_allclose(moms, exp_m, rtol=1e-12)


def test_cyclic_lr_custom_scale_fn_and_no_momentum_optimizer():
    w = ag.zeros(2, requires_grad=True)
    opt = optim.Adagrad([w], lr=1.0)
    with pytest.raises(ValueError, match="momentum"):
        L.CyclicLR(opt, 0.1, 1.0)
    s = L.CyclicLR(opt, 0.1, 1.0, step_size_up=3, scale_fn=lambda x: 0.5 ** x,
                   scale_mode="iterations", cycle_momentum=False)
    for t in range(1, N):
        s.step()
        total, x = 6, 1 + t / 6 - math.floor(1 + t / 6)
        f = x / 0.5 if x <= 0.5 else (x - 1) / (0.5 - 1)
        assert s.get_last_lr()[0] == pytest.approx(0.1 + 0.9 * f * 0.5 ** t, rel=1e-12)


@pytest.mark.parametrize("T0,Tm", [(5, 1), (3, 2), (2, 3)])
def test_cosine_warm_restarts_closed_form(T0, Tm):
    opt = two_group_opt()
    got = run_sched(opt, L.CosineAnnealingWarmRestarts(opt, T_0=T0, T_mult=Tm, eta_min=0.01))

    def ref(e, base):
        start, T = 0, T0
        while e >= start + T:
            start, T = start + T, T * Tm
        return 0.01 + (base - 0.01) * (1 + math.cos(math.pi * (e - start) / T)) / 2

    np.testing.assert_allclose(got, [[ref(e, b) for b in (0.5, 0.2)] for e in range(N)],
                               rtol=1e-13)


def test_cosine_warm_restarts_fractional_epoch():
    opt = two_group_opt()
    s = L.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
    s.step(4.5)  # periods [0, 2), [2, 6): T_cur = 2.5 of T_i = 4
    assert s.get_last_lr()[0] == pytest.approx(0.5 * (1 + math.cos(math.pi * 2.5 / 4)) / 2)
    assert (s.T_i, s.last_epoch) == (4, 4)
    s.step()  # then whole epochs on from there
    assert s.get_last_lr()[0] == pytest.approx(0.5 * (1 + math.cos(math.pi * 3.5 / 4)) / 2)
    with pytest.raises(ValueError, match="epoch"):
        s.step(-1)


def test_sequential_lr_warmup_then_exponential():
    opt = two_group_opt()
    warm = L.LinearLR(opt, start_factor=0.2, total_iters=5)
    decay = L.ExponentialLR(opt, gamma=0.9)
    got = run_sched(opt, L.SequentialLR(opt, [warm, decay], milestones=[5]))
    exp = [[b * (0.2 + 0.8 * e / 5) if e < 5 else b * 0.9 ** (e - 5) for b in (0.5, 0.2)]
           for e in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-13)


def test_sequential_lr_three_schedulers_restart_from_base():
    opt = two_group_opt()
    s1 = L.ConstantLR(opt, factor=0.1, total_iters=100)
    s2 = L.StepLR(opt, step_size=3, gamma=0.5)
    s3 = L.CosineAnnealingLR(opt, T_max=8, eta_min=0.0)
    got = run_sched(opt, L.SequentialLR(opt, [s1, s2, s3], milestones=[4, 12]))

    def ref(e, b):
        if e < 4:
            return 0.1 * b
        if e < 12:
            return b * 0.5 ** ((e - 4) // 3)
        return b * (1 + math.cos(math.pi * (e - 12) / 8)) / 2

    np.testing.assert_allclose(got, [[ref(e, b) for b in (0.5, 0.2)] for e in range(N)],
                               rtol=1e-12, atol=1e-16)


def test_sequential_lr_milestone_zero_starts_with_the_second_scheduler():
    opt = two_group_opt()
    s1 = L.ConstantLR(opt, factor=0.1, total_iters=100)
    s2 = L.ExponentialLR(opt, gamma=0.5)
    got = run_sched(opt, L.SequentialLR(opt, [s1, s2], milestones=[0]), n=5)
    np.testing.assert_allclose(got[:, 0], [0.5 * 0.5 ** e for e in range(5)], rtol=1e-14)


def test_chained_scheduler_multiplies_factors():
    opt = two_group_opt()
    c = L.ChainedScheduler([L.ConstantLR(opt, factor=0.1, total_iters=20),
                            L.ExponentialLR(opt, gamma=0.9)])
    got = run_sched(opt, c)
    exp = [[b * (0.1 if e < 20 else 1.0) * 0.9 ** e for b in (0.5, 0.2)] for e in range(N)]
    np.testing.assert_allclose(got, exp, rtol=1e-12)


def test_step_with_epoch_uses_the_closed_form():
    opt = two_group_opt()
    s = L.MultiStepLR(opt, [2, 5], gamma=0.1)
    s.step(6)
    np.testing.assert_allclose(s.get_last_lr(), [0.5 * 0.01, 0.2 * 0.01], rtol=1e-14)
    s.step(1)
    np.testing.assert_allclose(s.get_last_lr(), [0.5, 0.2], rtol=1e-14)


class Halver:
    """a callable object: its attributes are saved by state_dict"""

    def __init__(self):
        self.rate = 0.5

    def __call__(self, e):
        return self.rate ** e


SCHEDULERS = [
    ("LambdaLR", lambda o: L.LambdaLR(o, [Halver(), Halver()])),
    ("MultiplicativeLR", lambda o: L.MultiplicativeLR(o, Halver())),
    ("StepLR", lambda o: L.StepLR(o, 3, 0.5)),
    ("MultiStepLR", lambda o: L.MultiStepLR(o, [2, 9, 14], 0.5)),
    ("ExponentialLR", lambda o: L.ExponentialLR(o, 0.9)),
    ("CosineAnnealingLR", lambda o: L.CosineAnnealingLR(o, 7, 0.01)),
    ("LinearLR", lambda o: L.LinearLR(o, 0.2, 0.9, 12)),
    ("ConstantLR", lambda o: L.ConstantLR(o, 0.3, 8)),
    ("OneCycleLR", lambda o: L.OneCycleLR(o, 1.0, total_steps=N, three_phase=True)),
    ("CyclicLR", lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=4, mode="triangular2")),
    ("CosineAnnealingWarmRestarts", lambda o: L.CosineAnnealingWarmRestarts(o, 3, 2)),
    ("SequentialLR", lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=4),
                                                  L.ExponentialLR(o, 0.8)], [6])),
    ("ChainedScheduler", lambda o: L.ChainedScheduler([L.StepLR(o, 4, 0.5),
                                                       L.ExponentialLR(o, 0.95)])),
]


@pytest.mark.parametrize("name,make", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_state_dict_round_trip_resumes_identically(name, make):
    opt = two_group_opt(momentum=0.9)
    full = run_sched(opt, make(opt))

    opt1 = two_group_opt(momentum=0.9)
    s1 = make(opt1)
    for _ in range(11):
        s1.step()
    sd = pickle.loads(pickle.dumps(s1.state_dict()))  # plain data: no optimizer, no functions
    osd = opt1.state_dict()
    if name == "LambdaLR":
        s1.lr_lambdas[0].rate = 0.25  # callable objects' attributes are part of the state
        assert sd["lr_lambdas"][0] == {"rate": 0.5}

    opt2 = two_group_opt(momentum=0.9)
    s2 = make(opt2)
    opt2.load_state_dict(osd)
    s2.load_state_dict(sd)
    assert s2.get_last_lr() == list(full[11])
    rest = [s2.step() or s2.get_last_lr() for _ in range(N - 12)]
    np.testing.assert_array_equal(np.array(rest), full[12:])


def test_lambda_state_dict_leaves_functions_out():
    opt = two_group_opt()
    s = L.LambdaLR(opt, lambda e: 1.0)
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [None, None] and "optimizer" not in sd
    pickle.dumps(sd)


@pytest.mark.parametrize("make,exc,match", [
    (lambda o: L.LambdaLR(o, [lambda e: 1.0]), ValueError, "2 lr_lambdas"),
    (lambda o: L.LambdaLR(o, 3.0), TypeError, "callable"),
    (lambda o: L.MultiStepLR(o, [1.5]), TypeError, "milestones"),
    (lambda o: L.ConstantLR(o, factor=1.5), ValueError, "factor"),
    (lambda o: L.ConstantLR(o, factor=0.0), ValueError, "factor"),
    (lambda o: L.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: L.LinearLR(o, end_factor=1.2), ValueError, "end_factor"),
    (lambda o: L.LinearLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: L.OneCycleLR(o, 1.0), ValueError, "total_steps"),
    (lambda o: L.OneCycleLR(o, 1.0, total_steps=0), ValueError, "total_steps"),
    (lambda o: L.OneCycleLR(o, 1.0, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: L.OneCycleLR(o, 1.0, total_steps=10, anneal_strategy="exp"), ValueError,
     "anneal_strategy"),
    (lambda o: L.OneCycleLR(o, [1.0], total_steps=10), ValueError, "max_lr"),
    (lambda o: L.CyclicLR(o, 0.1, 1.0, mode="square"), ValueError, "mode"),
    (lambda o: L.CyclicLR(o, 0.1, 1.0, step_size_up=0), ValueError, "step_size_up"),
    (lambda o: L.CyclicLR(o, -0.1, 1.0), ValueError, "base_lr"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), TypeError, "T_mult"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[3]), ValueError, "milestones"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(o, 3), L.StepLR(o, 4)], [5, 2]),
     ValueError, "non-decreasing"),
    (lambda o: L.SequentialLR(o, [L.StepLR(o, 2), L.StepLR(two_group_opt(), 3)], [2]),
     ValueError, "same optimizer"),
    (lambda o: L.ChainedScheduler([L.ReduceLROnPlateau(o)]), ValueError, "metric"),
    (lambda o: L.ChainedScheduler([]), ValueError, "at least one"),
    (lambda o: L.StepLR(object(), 2), TypeError, "optimizer"),
])
def test_bad_scheduler_arguments_raise(make, exc, match):
    with pytest.raises(exc, match=match):
        make(two_group_opt(momentum=0.9))
