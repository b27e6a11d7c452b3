"""Estimators with sample_weight and class_weight: the weighted losses against numpy references
and finite differences, zero weights == removed rows, integer weights == repeated rows,
scikit-learn's own sample-weight check, LogisticRegression against scikit-learn's with weights,
the class-weight formulas, and the errors for bad weights."""
import os
import sys
import warnings

import numpy as np
import pytest
from scipy.special import expit, log_softmax
from sklearn.linear_model import LogisticRegression as SkLR
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

from autograd_c import _core
from autograd_c.models import (ConvergenceWarning, LinearClassifier, LogisticRegression,
                               MLPClassifier, MLPRegressor, SoftmaxRegression)

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_grad  # noqa: E402


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*a, **k)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    s = X @ np.array([1.0, -1.5, 0.5]) + 0.5 * rng.normal(size=40)
    y3 = np.digitize(s, [-0.7, 0.7])
    y2 = (s > 0).astype(int)
    yr = np.column_stack([s, X[:, 0] - X[:, 2]])
    w = rng.integers(0, 4, size=40).astype(np.float64)
    w[:3] = 0.0
    return X, y2, y3, yr, w


def _lin(cls=LogisticRegression, **kw):
    return cls(alpha=kw.pop("alpha", 1e-2), tol=kw.pop("tol", 1e-10),
               max_iter=kw.pop("max_iter", 1000), **kw)


def _mlp(cls, **kw):
    kw.setdefault("solver", "lbfgs")
    kw.setdefault("random_state", 0)
    return cls(hidden_layer_sizes=(5,), alpha=1e-2, max_iter=kw.pop("max_iter", 200), **kw)


def _outputs(est, X):
    if hasattr(est, "decision_function"):
        return est.decision_function(X)
    return est.predict(X)


def _same_fit(a, b):
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(ca, cb)


# ---- the weighted losses: numpy references and finite differences
def _ref_loss(kind, z, t, w):
    if kind == "softmax":
        return -np.average(log_softmax(z, axis=1)[np.arange(len(t)), t], weights=w)
    if kind == "logistic":
        p = expit(z)
        return -np.average(t * np.log(p) + (1 - t) * np.log1p(-p), weights=w, axis=0).sum()
    if kind == "hinge":
        return np.average(np.maximum(0.0, 1 - t * z), weights=w, axis=0).sum()
    # scikit-learn's MLP trains on the sum over outputs (its reported loss_ takes their mean)
    return 0.5 * np.average((z - t) ** 2, weights=w, axis=0).sum()


@pytest.mark.parametrize("kind,k", [("softmax", 3), ("logistic", 1), ("logistic", 3),
                                    ("hinge", 3), ("squared", 2)])
def test_weighted_loss_value_and_gradient(kind, k):
    rng = np.random.default_rng(1)
    n = 7
    z0 = rng.normal(size=(n, k))
    if kind == "softmax":
        t = rng.integers(0, k, size=n)
    elif kind == "logistic":
        t = rng.integers(0, 2, size=(n, k)).astype(np.float64)
    elif kind == "hinge":
        t = rng.choice([-1.0, 1.0], size=(n, k))
        z0 = np.where(np.abs(1 - t * z0) < 0.05, z0 + 0.2, z0)   # away from the kink
    else:
        t = rng.normal(size=(n, k))
    w = rng.uniform(0.1, 3.0, size=n)
    est = LogisticRegression()
    z = _core.tensor(z0, requires_grad=True)
    loss = est._loss_fn(z, t, kind, w / w.sum())
    loss.backward()
    assert loss.item() == pytest.approx(_ref_loss(kind, z0, t, w), rel=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), fd_grad(lambda a: _ref_loss(kind, a, t, w), z0),
                               rtol=1e-6, atol=1e-9)
    # and without weights: the plain mean, the same value as uniform weights
    assert est._loss_fn(_core.tensor(z0), t, kind).item() == \
        pytest.approx(_ref_loss(kind, z0, t, None), rel=1e-12)


# ---- zero weights == removing the rows (bit for bit: the rows are left out before fitting)
@pytest.mark.parametrize("make", [
    lambda: _lin(), lambda: _lin(SoftmaxRegression), lambda: _lin(LinearClassifier),
    lambda: _lin(LinearClassifier, loss="log"),
    lambda: LogisticRegression(solver="adam", max_iter=20, random_state=0),
    lambda: _mlp(MLPClassifier), lambda: _mlp(MLPClassifier, solver="adam", max_iter=20),
    lambda: _mlp(MLPClassifier, solver="sgd", max_iter=20, early_stopping=True),
    lambda: _mlp(MLPRegressor), lambda: _mlp(MLPRegressor, solver="adam", max_iter=20,
                                             batch_size=8)])
def test_zero_weights_equal_removing_rows(make, data):
    X, _, y3, yr, w = data
    est = make()
    y = yr if isinstance(est, MLPRegressor) else y3
    a = quiet(make().fit, X, y, sample_weight=w)
    b = quiet(make().fit, X[w > 0], y[w > 0], sample_weight=w[w > 0])
    _same_fit(a, b)
    assert a.n_iter_ == b.n_iter_ and a.loss_ == b.loss_


def test_zero_weight_rows_do_not_make_classes(data):
    # a label that only zero-weight rows carry is not a class, as if the rows were removed
    X, _, y3, _, _ = data
    y = y3.copy()
    y[:2] = 7
    w = np.ones(len(y))
    w[:2] = 0
    m = quiet(_lin().fit, X, y, sample_weight=w)
    assert m.classes_.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(m.coef_, quiet(_lin().fit, X[2:], y[2:]).coef_)


def test_partial_fit_zero_weights_equal_removing_rows(data):
    X, _, y3, yr, w = data
    for make, y, kw in [(lambda: MLPClassifier((4,), random_state=0, shuffle=True), y3,
                         {"classes": [0, 1, 2]}),
                        (lambda: MLPRegressor((4,), random_state=0), yr, {}),
                        (lambda: LogisticRegression(random_state=0), y3, {"classes": [0, 1, 2]})]:
        a, b = make(), make()
        for _ in range(3):
            a.partial_fit(X, y, sample_weight=w, **kw)
            b.partial_fit(X[w > 0], y[w > 0], sample_weight=w[w > 0], **kw)
        _same_fit(a, b)


# ---- integer weights == repeated rows
@pytest.mark.parametrize("cls", [LogisticRegression, SoftmaxRegression, LinearClassifier])
def test_integer_weights_equal_repeated_rows_linear(cls, data):
    X, _, y3, _, w = data
    kw = {"loss": "log"} if cls is LinearClassifier else {}
    a = quiet(_lin(cls, **kw).fit, X, y3, sample_weight=w)
    rep = w.astype(int)
    b = quiet(_lin(cls, **kw).fit, np.repeat(X, rep, axis=0), np.repeat(y3, rep))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-7)


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_integer_weights_equal_repeated_rows_mlp(cls, data):
    # float32 training: the same objective, equal to float32 rounding
    X, _, y3, yr, w = data
    y = yr if cls is MLPRegressor else y3
    rep = w.astype(int)
    a = quiet(_mlp(cls, max_iter=10).fit, X, y, sample_weight=w)
    b = quiet(_mlp(cls, max_iter=10).fit, np.repeat(X, rep, axis=0), np.repeat(y, rep, axis=0))
    np.testing.assert_allclose(_outputs(a, X), _outputs(b, X), rtol=1e-3, atol=1e-3)


class MLPClassifier64(MLPClassifier):
    """The MLP trained in float64, to run scikit-learn's check at its float64 tolerance."""
    _dtype = np.float64


class MLPRegressor64(MLPRegressor):
    _dtype = np.float64


@pytest.mark.parametrize("cls", [MLPClassifier64, MLPRegressor64])
@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_sklearn_sample_weight_equivalence_check_in_float64(cls, solver):
    # test_models.py marks this check as an expected failure for the float32 MLPs; the
    # weighting itself is exact, as this run of the same check in float64 shows
    est = cls(hidden_layer_sizes=(8,), solver=solver, max_iter=60)
    quiet(check_sample_weight_equivalence_on_dense_data, cls.__name__, est)


# ---- the scale of the weights: the linear models use the weighted mean (scale-free); the
# MLPs divide alpha by the sum of the weights, as scikit-learn's MLP does
def test_weight_scale_linear_is_irrelevant_mlp_scales_alpha(data):
    X, _, y3, yr, w = data
    a = quiet(_lin().fit, X, y3, sample_weight=w)
    b = quiet(_lin().fit, X, y3, sample_weight=10 * w)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    # sum(c w) = c sum(w): weights times c with alpha times c is the same objective
    c = 4.0
    m1 = quiet(MLPRegressor64((4,), solver="lbfgs", alpha=0.5, random_state=0, tol=1e-12,
                              max_iter=300).fit, X, yr, sample_weight=w)
    m2 = quiet(MLPRegressor64((4,), solver="lbfgs", alpha=0.5 * c, random_state=0, tol=1e-12,
                              max_iter=300).fit, X, yr, sample_weight=c * w)
    np.testing.assert_allclose(m1.predict(X), m2.predict(X), rtol=1e-6, atol=1e-6)
    m3 = quiet(MLPRegressor64((4,), solver="lbfgs", alpha=0.5, random_state=0, tol=1e-12,
                              max_iter=300).fit, X, yr, sample_weight=c * w)
    assert np.max(np.abs(m3.predict(X) - m1.predict(X))) > 1e-4


def test_loss_is_the_weighted_objective(data):
    # loss_ of an L-BFGS fit is the documented objective at the fitted weights
    X, _, y3, yr, w = data
    m = quiet(_lin(SoftmaxRegression, alpha=0.1).fit, X, y3, sample_weight=w)
    z = X @ m.coef_.T + m.intercept_
    want = _ref_loss("softmax", z, y3, w) + 0.05 * np.sum(m.coef_ ** 2)
    assert m.loss_ == pytest.approx(want, rel=1e-10)
    r = quiet(MLPRegressor64((3,), solver="lbfgs", alpha=0.3, random_state=0).fit, X, yr,
              sample_weight=w)
    # the reported squared error averages over the outputs, as scikit-learn's loss_ does
    want = _ref_loss("squared", r.predict(X), yr, w) / yr.shape[1] + \
        0.3 / (2 * w.sum()) * sum(np.sum(c ** 2) for c in r.coefs_)
    assert r.loss_ == pytest.approx(want, rel=1e-10)


# ---- against scikit-learn's LogisticRegression: alpha = 1 / (C * sum of the weights), the
# weights being sample_weight times the class weight
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 2.0, 1: 0.5}])
def test_logistic_regression_with_weights_matches_sklearn(data, n_classes, class_weight):
    X, y2, y3, _, w = data
    y = y2 if n_classes == 2 else y3
    C = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkLR(C=C, tol=1e-12, max_iter=10000, class_weight=class_weight).fit(
            X, y, sample_weight=w)
    cw = np.ones(n_classes) if class_weight is None else \
        compute_class_weight(class_weight, classes=np.unique(y), y=y, sample_weight=w)
    m = LogisticRegression(alpha=1 / (C * np.sum(w * cw[y])), tol=1e-10, max_iter=2000,
                           class_weight=class_weight).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=2e-5)
    np.testing.assert_allclose(m.intercept_, sk.intercept_, atol=2e-5)
    np.testing.assert_allclose(m.predict_proba(X), sk.predict_proba(X), atol=1e-5)


# ---- class_weight
@pytest.mark.parametrize("cls", [LogisticRegression, SoftmaxRegression, LinearClassifier])
def test_class_weight_equals_sample_weight_from_sklearn_formula(cls, data):
    X, _, y3, _, w = data
    for class_weight in ["balanced", {0: 3.0, 2: 0.25}]:
        a = quiet(_lin(cls, class_weight=class_weight).fit, X, y3, sample_weight=w)
        keep = w > 0
        cw = compute_class_weight(class_weight, classes=np.unique(y3[keep]), y=y3[keep],
                                  sample_weight=w[keep])
        b = quiet(_lin(cls).fit, X, y3, sample_weight=w * cw[y3])
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)


def test_balanced_without_sample_weight_is_n_over_k_bincount(data):
    X, _, y3, _, _ = data
    counts = np.bincount(y3)
    sw = (len(y3) / (3 * counts))[y3]
    a = quiet(_mlp(MLPClassifier, class_weight="balanced").fit, X, y3)
    b = quiet(_mlp(MLPClassifier).fit, X, y3, sample_weight=sw)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5)


def test_class_weight_shifts_predictions_toward_heavy_class(data):
    X, y2, _, _, _ = data
    base = quiet(_lin().fit, X, y2).predict_proba(X)[:, 1]
    heavy = quiet(_lin(class_weight={1: 10.0}).fit, X, y2).predict_proba(X)[:, 1]
    assert np.all(heavy > base)


def test_class_weight_string_labels_and_partial_fit_dict(data):
    X, y2, _, _, _ = data
    y = np.where(y2 == 1, "yes", "no")
    a = quiet(_lin(class_weight={"yes": 2.0}).fit, X, y)
    b = quiet(_lin().fit, X, y, sample_weight=np.where(y == "yes", 2.0, 1.0))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    c = MLPClassifier((3,), random_state=0, class_weight={"yes": 2.0, "no": 1.0})
    d = MLPClassifier((3,), random_state=0)
    c.partial_fit(X, y, classes=["no", "yes"])
    d.partial_fit(X, y, sample_weight=np.where(y == "yes", 2.0, 1.0), classes=["no", "yes"])
    _same_fit(c, d)


@pytest.mark.parametrize("class_weight,match", [
    ({0: 1.0, 5: 2.0}, r"class_weight has the label\(s\) \[5\].*not classes of y"),
    ({"a": 1.0}, r"label\(s\) \['a'\]"),
    ({0: -1.0}, r"class_weight\[0\] = -1.0"),
    ({0: float("nan")}, r"class_weight\[0\] = nan"),
    ("balance", "class_weight must be None, 'balanced' or a dict"),
    ([1.0, 2.0], "class_weight must be None, 'balanced' or a dict"),
    ({0: 0.0, 1: 0.0, 2: 0.0}, "all 40 sample weights are zero after applying class_weight"),
])
def test_bad_class_weight_raises(class_weight, match, data):
    X, _, y3, _, _ = data
    for est in (_lin(class_weight=class_weight), _mlp(MLPClassifier, class_weight=class_weight)):
        with pytest.raises(ValueError, match=match):
            est.fit(X, y3)
        assert not hasattr(est, "coefs_")


def test_balanced_class_weight_refused_by_partial_fit(data):
    X, _, y3, _, _ = data
    for est in (LogisticRegression(class_weight="balanced"),
                MLPClassifier((3,), class_weight="balanced")):
        with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
            est.partial_fit(X, y3, classes=[0, 1, 2])


# ---- bad sample weights
@pytest.mark.parametrize("sw,match", [
    (np.ones(39), r"sample_weight has shape \(39,\), expected \(40,\)"),
    (np.ones((40, 2)), r"sample_weight has shape \(40, 2\), expected \(40,\)"),
    (np.r_[1.0, -2.0, np.ones(38)], r"1 negative value\(s\) \(first sample_weight\[1\] = -2.0\)"),
    (np.r_[np.nan, np.ones(39)], r"NaN or infinity .*sample_weight\[0\] = nan"),
    (np.r_[np.ones(39), np.inf], r"sample_weight\[39\] = inf"),
    (np.zeros(40), "all 40 sample weights are zero"),
    (np.array(["a"] * 40), "sample_weight must hold real numbers, got dtype <U1"),
])
def test_bad_sample_weight_raises(sw, match, data):
    X, _, y3, yr, _ = data
    for est, y in [(_lin(), y3), (_mlp(MLPClassifier), y3), (_mlp(MLPRegressor), yr),
                   (MLPRegressor((3,)), yr)]:
        with pytest.raises(ValueError, match=match):
            est.fit(X, y, sample_weight=sw)
        assert not hasattr(est, "coefs_")
    with pytest.raises(ValueError, match=match):
        LogisticRegression().partial_fit(X, y3, classes=[0, 1, 2], sample_weight=sw)


def test_one_class_with_positive_weight_raises(data):
    X, y2, _, _, _ = data
    with pytest.raises(ValueError, match="only one class .*positive weight.*: 1"):
        _lin().fit(X, y2, sample_weight=y2.astype(float))


def test_sample_weight_not_modified_and_scalar_accepted(data):
    X, _, y3, yr, w = data
    w0 = w.copy()
    quiet(_lin(class_weight="balanced").fit, X, y3, sample_weight=w)
    quiet(_mlp(MLPRegressor).fit, X, yr, sample_weight=w)
    np.testing.assert_array_equal(w, w0)
    a = quiet(_lin().fit, X, y3, sample_weight=3.0)
    np.testing.assert_array_equal(a.coef_, quiet(_lin().fit, X, y3).coef_)


def test_all_one_weights_equal_no_weights(data):
    X, _, y3, yr, _ = data
    _same_fit(quiet(_mlp(MLPClassifier).fit, X, y3, sample_weight=np.ones(40)),
              quiet(_mlp(MLPClassifier).fit, X, y3))
    _same_fit(quiet(_mlp(MLPRegressor, solver="adam", max_iter=5).fit, X, yr,
                    sample_weight=[1] * 40),
              quiet(_mlp(MLPRegressor, solver="adam", max_iter=5).fit, X, yr))


# ---- scores with weights: scikit-learn's metrics (also the early-stopping validation score)
def test_weighted_scores_match_sklearn_metrics(data):
    X, _, y3, yr, w = data
    c = quiet(_lin().fit, X, y3)
    assert c.score(X, y3, sample_weight=w) == pytest.approx(
        accuracy_score(y3, c.predict(X), sample_weight=w), rel=1e-12)
    r = quiet(_mlp(MLPRegressor).fit, X, yr)
    assert r.score(X, yr, sample_weight=w) == pytest.approx(
        r2_score(yr, r.predict(X), sample_weight=w), rel=1e-12)
    z = r._raw(X)
    assert r._val_score(z, yr, w) == pytest.approx(r2_score(yr, z, sample_weight=w), rel=1e-12)
    zc = c._raw(X)
    assert c._val_score(zc, y3, w) == pytest.approx(
        accuracy_score(y3, np.argmax(zc, axis=1), sample_weight=w), rel=1e-12)


def test_early_stopping_with_weights_runs_and_keeps_best(data):
    X, _, y3, _, w = data
    m = quiet(MLPClassifier((8,), solver="adam", early_stopping=True, validation_fraction=0.25,
                            random_state=0, max_iter=30).fit, X, y3, sample_weight=w)
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert 0.0 <= m.best_validation_score_ <= 1.0
