"""Audit of the scikit-learn compatible estimators (third round): score() input checks,
early stopping with the L-BFGS solver, float32 overflow of the MLP inputs, and the documented
objectives checked against a direct numpy/scipy optimisation."""
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

from autograd_c.models import (ConvergenceWarning, LinearClassifier, LogisticRegression,
                               MLPClassifier, MLPRegressor, SoftmaxRegression)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.normal(size=60) > 0).astype(int)
    yr = X @ np.array([1.0, -2.0, 0.5]) + 0.7 + 0.1 * rng.normal(size=60)
    return X, y, yr


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*a, **k)


# ---- the documented objectives
def test_logistic_regression_matches_optimum_of_documented_objective(data):
    X, y, _ = data
    alpha = 0.05

    def obj(t):
        z = X @ t[:3] + t[3]
        return np.mean(np.logaddexp(0, z) - y * z) + alpha / 2 * t[:3] @ t[:3]

    ref = minimize(obj, np.zeros(4), method="BFGS", options=dict(gtol=1e-12)).x
    m = LogisticRegression(alpha=alpha, max_iter=2000, tol=1e-9).fit(X, y)
    assert m.coef_.shape == (1, 3) and m.intercept_.shape == (1,)
    np.testing.assert_allclose(m.coef_[0], ref[:3], atol=1e-6)
    np.testing.assert_allclose(m.intercept_, ref[3:], atol=1e-6)


def test_multinomial_matches_optimum_of_documented_objective(data):
    X, _, _ = data
    y3 = np.random.default_rng(1).integers(0, 3, len(X))
    alpha, n = 0.05, len(X)

    def obj(t):
        W, b = t[:9].reshape(3, 3), t[9:]
        Z = X @ W.T + b
        return np.mean(np.log(np.exp(Z).sum(1)) - Z[np.arange(n), y3]) + alpha / 2 * np.sum(W * W)

    ref = minimize(obj, np.zeros(12), method="BFGS", options=dict(gtol=1e-12)).x
    for est in (LogisticRegression, SoftmaxRegression):
        m = est(alpha=alpha, max_iter=2000, tol=1e-9).fit(X, y3)
        assert m.coef_.shape == (3, 3) and m.intercept_.shape == (3,)
        np.testing.assert_allclose(m.coef_, ref[:9].reshape(3, 3), atol=1e-5)
        np.testing.assert_allclose(m.intercept_, ref[9:], atol=1e-5)


def test_mlp_regressor_without_hidden_layers_is_ridge(data):
    # sklearn's MLP objective: mean squared error / 2 + alpha / (2 n) ||W||^2, i.e. ridge with
    # penalty alpha on sum of squares / 2 (intercept not penalised)
    X, _, yr = data
    alpha = 3.0
    Xc = np.c_[X, np.ones(len(X))]
    ref = np.linalg.solve(Xc.T @ Xc + alpha * np.diag([1.0, 1.0, 1.0, 0.0]), Xc.T @ yr)
    m = quiet(MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, max_iter=1000,
                           tol=1e-10).fit, X, yr)
    np.testing.assert_allclose(m.coefs_[0].ravel(), ref[:3], atol=1e-4)
    np.testing.assert_allclose(m.intercepts_[0], ref[3:], atol=1e-4)


# ---- score(): inconsistent lengths were broadcast silently
@pytest.mark.parametrize("bad", [slice(0, 1), slice(0, -1)])
def test_classifier_score_rejects_y_of_another_length(data, bad):
    X, y, _ = data
    m = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        m.score(X, y[bad])


def test_classifier_score_rejects_sample_weight_of_another_length(data):
    X, y, _ = data
    m = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        m.score(X, y, sample_weight=[1.0])
    w = np.arange(len(X), dtype=float)
    expect = np.sum((m.predict(X) == y) * w) / w.sum()
    assert m.score(X, y, sample_weight=w) == pytest.approx(expect)


def test_regressor_score_rejects_y_of_another_length_or_output_count(data):
    X, _, yr = data
    m = quiet(MLPRegressor((4,), max_iter=5, random_state=0).fit, X, yr)
    with pytest.raises(ValueError, match="inconsistent numbers"):
        m.score(X, yr[:1])
    m2 = quiet(MLPRegressor((4,), max_iter=5, random_state=0).fit, X, np.c_[yr, -yr])
    with pytest.raises(ValueError, match="inconsistent numbers"):
        m2.score(X, yr)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        m.score(X, yr, sample_weight=np.ones(3))


# ---- early_stopping is for the stochastic solvers only (scikit-learn): L-BFGS used 90% of X
@pytest.mark.parametrize("make", [
    lambda es: LogisticRegression(early_stopping=es, max_iter=500, tol=1e-9),
    lambda es: LinearClassifier(loss="log", early_stopping=es, max_iter=500, tol=1e-9),
    lambda es: MLPRegressor((), solver="lbfgs", alpha=1.0, early_stopping=es, max_iter=500,
                            tol=1e-10, random_state=0),
])
def test_lbfgs_ignores_early_stopping_and_uses_all_samples(data, make):
    X, y, yr = data
    target = yr if isinstance(make(False), MLPRegressor) else y
    a = quiet(make(True).fit, X, target)
    b = quiet(make(False).fit, X, target)
    for ca, cb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(ca, cb)
    assert a.validation_scores_ is None and a.best_validation_score_ is None


def test_adam_early_stopping_still_holds_out_validation(data):
    X, y, _ = data
    m = quiet(MLPClassifier((5,), early_stopping=True, max_iter=30, random_state=0).fit, X, y)
    assert len(m.validation_scores_) == m.n_iter_
    assert m.best_validation_score_ == max(m.validation_scores_)


# ---- MLPs compute in float32: values beyond its range became inf and NaN predictions
def test_mlp_refuses_inputs_that_overflow_float32(data):
    X, y, yr = data
    m = quiet(MLPRegressor((4,), max_iter=5, random_state=0).fit, X, yr)
    with pytest.raises(ValueError, match="too large for float32"):
        m.predict(X * 1e300)
    with pytest.raises(ValueError, match="too large for float32"):
        MLPClassifier((4,), max_iter=5).fit(X * 1e300, y)
    assert np.isfinite(m.predict(X * 1e30)).all()


# ---- warm_start / partial_fit after hidden_layer_sizes changed kept the old architecture
def test_warm_start_with_changed_hidden_layer_sizes_raises(data):
    X, y, yr = data
    m = quiet(MLPClassifier((3,), warm_start=True, max_iter=2, random_state=0).fit, X, y)
    m.set_params(hidden_layer_sizes=(5,))
    with pytest.raises(ValueError, match=r"layer sizes \[3, 3, 1\] differ .*\[3, 5, 1\]"):
        m.fit(X, y)
    assert [c.shape for c in m.coefs_] == [(3, 3), (3, 1)]      # fitted state unchanged
    r = MLPRegressor((4,), random_state=0).partial_fit(X, yr).set_params(hidden_layer_sizes=(4, 2))
    with pytest.raises(ValueError, match="partial_fit continues"):
        r.partial_fit(X, yr)
    # without warm_start a changed architecture simply refits
    m.set_params(warm_start=False)
    assert [c.shape for c in quiet(m.fit, X, y).coefs_] == [(3, 5), (5, 1)]


def test_regressor_y_without_outputs_is_refused(data):
    X, _, _ = data
    with pytest.raises(ValueError, match=r"y has shape \(60, 0\)"):
        MLPRegressor((3,), max_iter=2).fit(X, np.zeros((len(X), 0)))


# ---- the early-stopping split ignored its stratify argument (scikit-learn stratifies for
#      classifiers: a rare class may otherwise be missing from the validation set)
def test_validation_split_is_stratified_for_classifiers(monkeypatch):
    from autograd_c.models import _base, _net
    y = np.r_[np.zeros(90, int), np.ones(10, int)]
    for seed in range(20):
        tr, va = _base._train_val_split(100, 0.1, np.random.default_rng(seed), y)
        assert np.bincount(y[va]).tolist() == [9, 1]
        assert sorted(np.r_[tr, va].tolist()) == list(range(100))
    seen = []

    def spy(n, fraction, rng, stratify=None):
        seen.append(stratify)
        return _base._train_val_split(n, fraction, rng, stratify)

    monkeypatch.setattr(_net, "_train_val_split", spy)
    X = np.random.default_rng(0).normal(size=(100, 2))
    labels = np.array(["a", "b"])[y]
    quiet(MLPClassifier((3,), early_stopping=True, max_iter=3, random_state=0).fit, X, labels)
    np.testing.assert_array_equal(seen[-1], y)
    quiet(MLPRegressor((3,), early_stopping=True, max_iter=3, random_state=0).fit, X, y * 1.0)
    assert seen[-1] is None


def test_mlp_has_sklearn_output_attributes(data):
    X, y, yr = data
    y3 = np.arange(len(X)) % 3
    c2 = quiet(MLPClassifier((3,), max_iter=3, random_state=0).fit, X, y)
    c3 = quiet(MLPClassifier((3,), max_iter=3, random_state=0).fit, X, y3)
    r = quiet(MLPRegressor((3,), max_iter=3, random_state=0).fit, X, np.c_[yr, yr])
    assert (c2.n_outputs_, c2.out_activation_) == (1, "logistic")
    assert (c3.n_outputs_, c3.out_activation_) == (3, "softmax")
    assert (r.n_outputs_, r.out_activation_) == (2, "identity")
    assert not hasattr(MLPClassifier(), "n_outputs_")
    assert not hasattr(MLPRegressor(), "out_activation_")


@pytest.mark.parametrize("est", [MLPClassifier, MLPRegressor])
def test_partial_fit_hidden_for_lbfgs_like_available_if(est, data):
    X, y, _ = data
    m = est((3,), solver="lbfgs")
    assert not hasattr(m, "partial_fit")            # was True, then the call raised
    with pytest.raises(AttributeError, match="stochastic solvers"):
        m.partial_fit(X, y)
    m.set_params(solver="adam")
    assert hasattr(m, "partial_fit")
    assert m.partial_fit(X, y).n_iter_ == 1
    assert "One epoch" in est.partial_fit.__doc__


# ---- fitting inside ag.no_grad() failed ("backward: the tensor does not require grad")
@pytest.mark.parametrize("make", [
    lambda: LogisticRegression(max_iter=20),
    lambda: LinearClassifier(solver="adam", max_iter=3, random_state=0),
    lambda: MLPClassifier((3,), max_iter=3, random_state=0),
    lambda: MLPRegressor((3,), solver="lbfgs", max_iter=5, random_state=0),
    lambda: MLPClassifier((3,), max_iter=3, early_stopping=True, random_state=0),
])
def test_fit_inside_no_grad_trains_and_restores_the_mode(make, data):
    import autograd_c as ag
    X, y, _ = data
    ref = quiet(make().fit, X, y)
    with ag.no_grad():
        m = quiet(make().fit, X, y)
        assert not ag.is_grad_enabled()
        fitted = [c.copy() for c in m.coefs_]
        if hasattr(m, "partial_fit"):
            m.partial_fit(X, y)
            assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    for a, b in zip(ref.coefs_, fitted):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_alpha_matches_sklearn_C(C, n_classes):
    # the documented correspondence alpha = 1 / (C n) against scikit-learn's own solver
    from sklearn.linear_model import LogisticRegression as SkLR
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    s = X @ np.array([1.0, -1.0, 2.0, 0.5]) + rng.normal(size=80)
    y = (s > 0).astype(int) if n_classes == 2 else np.digitize(s, [-1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkLR(C=C, tol=1e-12, max_iter=10000).fit(X, y)
    m = LogisticRegression(alpha=1 / (C * len(X)), tol=1e-10, max_iter=2000).fit(X, y)
    assert m.coef_.shape == sk.coef_.shape and m.intercept_.shape == sk.intercept_.shape
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=2e-5)
    np.testing.assert_allclose(m.intercept_, sk.intercept_, atol=2e-5)
    np.testing.assert_allclose(m.predict_proba(X), sk.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(m.decision_function(X), sk.decision_function(X), atol=1e-4)


# ---- the demo: had no test and no command line (``--help`` ran the whole demo)
def _demo_lines(capsys, argv):
    from autograd_c import demo
    assert demo.main(argv) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("sklearn_missing", [False, True])
def test_demo_runs_and_both_trainings_agree(capsys, monkeypatch, sklearn_missing):
    import re
    import sys
    if sklearn_missing:
        monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    out = _demo_lines(capsys, ["--epochs", "3", "--no-progress"])
    assert ("two spirals" in out[0]) == sklearn_missing and "3 epochs" in out[0]
    acc = {ln.split(":")[0].strip(): float(re.search(r"test accuracy ([\d.]+)", ln).group(1))
           for ln in out if "test accuracy" in ln}
    assert set(acc) == {"autograd_c", "pure numpy"}
    assert abs(acc["autograd_c"] - acc["pure numpy"]) <= 0.01
    diff = float(re.search(r"between the two runs: ([\d.e+-]+)", out[-1]).group(1))
    assert diff < 1e-4


def test_demo_command_line(capsys):
    from autograd_c import demo
    with pytest.raises(SystemExit) as e:
        demo.main(["--help"])
    assert e.value.code == 0 and "--epochs" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        demo.main(["--epochs", "0"])
    assert e.value.code == 2 and "--epochs must be >= 1" in capsys.readouterr().err


def test_logistic_regression_example_claims():
    # examples/logistic_regression.py had no test; its by-hand and L-BFGS fits minimise the same
    # objective, L-BFGS to the lower value
    import os
    import re
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, os.path.join(root, "examples", "logistic_regression.py")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    acc = [float(v) for v in re.findall(r"test accuracy ([\d.]+)", r.stdout)]
    assert len(acc) == 2 and min(acc) > 0.9
    hand, lbfgs = map(float, re.search(r"objective: by hand ([\d.]+) .* L-BFGS ([\d.]+)",
                                       r.stdout).groups())
    assert lbfgs <= hand < lbfgs + 0.01


def test_lbfgs_warm_start_at_optimum_still_reports_loss():
    # a warm-start L-BFGS fit that cannot decrease the loss any further (float32 precision) left
    # loss_ = None and loss_curve_ = []
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    m = quiet(MLPRegressor((8,), solver="lbfgs", max_iter=5000, random_state=1,
                           warm_start=True).fit, X, y)
    first = m.loss_
    for _ in range(3):
        quiet(m.fit, X, y)
        assert isinstance(m.loss_, float) and m.loss_ <= first * (1 + 1e-6)
        assert len(m.loss_curve_) == m.n_iter_ >= 1
        assert m.loss_ == m.loss_curve_[-1]


def test_linear_classifier_log_is_one_vs_rest_logistic_regression():
    from sklearn.linear_model import LogisticRegression as SkLR
    from sklearn.multiclass import OneVsRestClassifier
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = np.digitize(X @ np.array([1.0, -1.0, 2.0, 0.5]) + rng.normal(size=80), [-1.0, 1.0])
    alpha = 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ovr = OneVsRestClassifier(SkLR(C=1 / (alpha * len(X)), tol=1e-12, max_iter=10000))
        ovr.fit(X, y)
    m = LinearClassifier(loss="log", alpha=alpha, tol=1e-10, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(m.coef_, np.vstack([e.coef_ for e in ovr.estimators_]),
                               atol=2e-5)
    np.testing.assert_allclose(m.intercept_, [e.intercept_[0] for e in ovr.estimators_],
                               atol=2e-5)
    np.testing.assert_allclose(m.predict_proba(X), ovr.predict_proba(X), atol=1e-5)
