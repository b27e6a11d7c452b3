"""autograd_c.diagnostics: gradient norms vs the vanishing-gradient bound, saturation, updates."""
import sys

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import diagnostics as D

ACTS = {"sigmoid": ag.nn.Sigmoid, "tanh": ag.nn.Tanh, "relu": ag.nn.ReLU,
        "leaky_relu": lambda: ag.nn.LeakyReLU(0.1), "elu": ag.nn.ELU}


def _deep(act, depth=8, width=6, seed=0, gain=1.0):
    ag.manual_seed(seed)
    mods = []
    for i in range(depth):
        lin = ag.nn.Linear(width if i else 3, width, dtype="float64")
        with ag.no_grad():
            lin.weight.mul_(gain)
        mods += [lin, ACTS[act]()]
    mods.append(ag.nn.Linear(width, 2, dtype="float64"))
    return ag.nn.Sequential(*mods)


@pytest.mark.parametrize("act", sorted(ACTS))
def test_measured_gradient_never_exceeds_the_bound_and_matches_the_models_own_backward(act):
    net = _deep(act)
    X = np.random.default_rng(1).normal(size=(10, 3))
    rep = D.gradient_report(net, X)
    assert len(rep["grad_norm"]) == 9
    for m, b in zip(rep["grad_norm"], rep["bound"]):
        assert m <= b * (1 + 1e-12)
    assert rep["bound"][-1] == rep["grad_norm"][-1]
    # the model's own (fused) backward on the same loss gives the same weight gradients
    net(ag.tensor(X)).sum().backward()
    lins = [m for m in net if isinstance(m, ag.nn.Linear)]
    got = [np.linalg.norm(l.weight.grad.numpy()) for l in lins]
    np.testing.assert_allclose(rep["weight_grad_norm"], got, rtol=1e-10)
    np.testing.assert_allclose(rep["weight_norm"],
                               [np.linalg.norm(l.weight.numpy(), 2) for l in lins], rtol=1e-12)


def test_activation_gradient_norms_match_a_numpy_backprop():
    net = _deep("tanh", depth=3)
    X = np.random.default_rng(2).normal(size=(5, 3))
    lins = [m for m in net if isinstance(m, ag.nn.Linear)]
    Ws = [l.weight.numpy() for l in lins]
    bs = [l.bias.numpy() for l in lins]
    a, zs = X, []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W.T + b
        zs.append(z)
        a = np.tanh(z) if i < 3 else z
    g = np.ones_like(a)
    norms = [np.linalg.norm(g)]
    for i in range(3, 0, -1):
        gz = g * (1 - np.tanh(zs[i]) ** 2) if i < 3 else g
        g = gz @ Ws[i]
        norms.append(np.linalg.norm(g))
    rep = D.gradient_report(net, X)
    np.testing.assert_allclose(rep["grad_norm"], norms[::-1], rtol=1e-12)


def test_sigmoid_derivative_is_at_most_a_quarter_and_the_bound_shrinks_geometrically():
    net = _deep("sigmoid", depth=12, gain=0.5)
    rep = D.gradient_report(net, np.random.default_rng(3).normal(size=(8, 3)))
    assert all(g <= 0.25 for g in rep["max_act_deriv"][:-1])
    assert rep["max_act_deriv"][-1] == 1.0
    assert rep["grad_norm"][0] < 1e-4 * rep["grad_norm"][-1]
    assert all(b1 < b2 for b1, b2 in zip(rep["bound"][:-2], rep["bound"][1:-1]))


def test_saturated_and_dead_units_are_counted():
    X = np.random.default_rng(4).normal(size=(20, 3))
    sat = _deep("sigmoid", depth=2, gain=200.0)
    rep = D.gradient_report(sat, X)
    assert rep["saturated"][0] > 0.8
    calm = D.gradient_report(_deep("sigmoid", depth=2, gain=0.01), X)
    assert calm["saturated"][0] == 0.0
    relu = _deep("relu", depth=2)
    with ag.no_grad():
        relu[0].bias.fill_(-100.0)
    rep = D.gradient_report(relu, X)
    assert rep["dead"][0] == 1.0 and rep["saturated"][0] == 1.0
    assert rep["max_act_deriv"][0] == 0.0 and rep["weight_grad_norm"][0] == 0.0
    assert D.gradient_report(_deep("tanh", depth=2, gain=300.0), X)["saturated"][0] > 0.8


def test_fused_linear_activation_and_custom_loss():
    ag.manual_seed(0)
    net = ag.nn.Sequential(ag.nn.Linear(2, 4, activation="elu", dtype="float64"),
                           ag.nn.Linear(4, 1, dtype="float64"))
    assert [l.act for l in D.layers_of(net)] == ["elu", None]
    X, y = np.random.default_rng(5).normal(size=(6, 2)), np.arange(6.0)
    rep = D.gradient_report(net, X, y)
    out = net(ag.tensor(X)).numpy().ravel()
    np.testing.assert_allclose(rep["loss"], np.mean((out - y) ** 2), rtol=1e-12)
    rep2 = D.gradient_report(net, X, y, loss=lambda o, t: (o * 3.0).sum())
    np.testing.assert_allclose(rep2["grad_norm"][-1], 3 * np.sqrt(6), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fitted_mlp_estimator():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = ag.models.MLPClassifier(hidden_layer_sizes=(5, 4), activation="tanh",
                                  max_iter=30, random_state=0).fit(X, y)
    layers = D.layers_of(clf)
    assert [l.W.shape for l in layers] == [(5, 3), (4, 5), (1, 4)]
    rep = D.gradient_report(clf, X)
    assert rep["activation"] == ["tanh", "tanh", None]
    assert all(m <= b * (1 + 1e-12) for m, b in zip(rep["grad_norm"], rep["bound"]))
    assert set(D.snapshot(clf)) == {"coefs_0", "coefs_1", "coefs_2",
                                    "intercepts_0", "intercepts_1", "intercepts_2"}


def test_update_ratio_of_an_sgd_step_is_lr_times_grad_over_weight():
    ag.manual_seed(1)
    lin = ag.nn.Linear(3, 2, dtype="float64")
    opt = ag.optim.SGD(lin.parameters(), lr=0.05)
    (lin(ag.ones(4, 3, dtype="float64")) ** 2).sum().backward()
    w0, gw = lin.weight.numpy().copy(), lin.weight.grad.numpy().copy()
    r = D.step_update_ratios(lin, opt)
    np.testing.assert_allclose(r["weight"], 0.05 * np.linalg.norm(gw) / np.linalg.norm(w0),
                               rtol=1e-12)
    assert D.update_ratios({"w": np.zeros(2)}, {"w": np.zeros(2)}) == {"w": 0.0}
    with pytest.raises(KeyError, match="different parameters"):
        D.update_ratios({"a": np.ones(1)}, {"b": np.ones(1)})
    with pytest.raises(ValueError, match="shape"):
        D.update_ratios({"a": np.ones(1)}, {"a": np.ones(2)})


def test_bad_input_is_refused_clearly():
    with pytest.raises(TypeError, match="expected an nn.Sequential"):
        D.layers_of(object())
    with pytest.raises(TypeError, match="Dropout|Softmax|cannot analyse"):
        D.layers_of(ag.nn.Sequential(ag.nn.Linear(2, 2), ag.nn.Softmax()))
    with pytest.raises(TypeError, match="must follow a Linear"):
        D.layers_of(ag.nn.Sequential(ag.nn.Linear(2, 2), ag.nn.ReLU(), ag.nn.Tanh()))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        D.gradient_report(ag.nn.Linear(2, 1), np.ones((3, 5)))


def test_plots_draw_with_matplotlib_or_name_the_plot_extra(tmp_path, monkeypatch):
    rep = D.gradient_report(_deep("tanh", depth=3), np.ones((4, 3)))
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"autograd_c\[plot\]"):
            D.plot_gradient_norms(rep)
        return
    for i, fig in enumerate([D.plot_gradient_norms(rep, label="tanh"), D.plot_saturation(rep),
                             D.plot_update_ratios([{"w": 1e-3}, {"w": 2e-3}])]):
        fig.savefig(tmp_path / f"f{i}.png")
        assert (tmp_path / f"f{i}.png").stat().st_size > 1000
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"autograd_c\[plot\]"):
        D.plot_saturation(rep)
