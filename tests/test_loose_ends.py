"""Loose ends found by the reviews: the multi-output MLPRegressor's objective against
scikit-learn's, the estimators' ``dtype`` parameter, ``dtype`` arguments of the layers, the
dtype rule for loss targets, the wording of cross_entropy's target-shape error, and
ReduceLROnPlateau's argument and state checks."""
import math
import os
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

import autograd_c as ag
from autograd_c.models import MLPClassifier, MLPRegressor
from autograd_c.optim.lr_scheduler import ReduceLROnPlateau

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_grad  # noqa: E402

F = ag.nn.functional


# the fits below stop at max_iter on purpose at times
pytestmark = [pytest.mark.filterwarnings("ignore::autograd_c.models.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]


# ------------------------------------------------------------ 1. multi-output MLPRegressor
@pytest.fixture
def two_outputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    Y = X @ np.array([[1.0, 0.5], [2.0, -1.0], [-1.0, 2.0]]) + 0.1 * rng.normal(size=(30, 2))
    return X, Y


def _ridge(X, Y, alpha):
    """argmin_{W, b} ||Y - X W - b||^2 / 2 + alpha / 2 ||W||^2 (no penalty on b), in closed
    form: the ridge solution on the centred data, one column per output."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    W = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T @ Yc)
    return W, Y.mean(0) - X.mean(0) @ W


def _assert_sklearn_stays(reg, X, Y, alpha, tol=1e-6):
    """scikit-learn's L-BFGS started (warm_start) at our fitted weights finds its gradient
    below ``tol`` there and does not move.  (Fitting scikit-learn from its own start is no
    reference for several outputs: the loss it hands to L-BFGS averages over the outputs while
    its gradient sums over them, and its line search often stops early, far from the minimum.)"""
    sk = SkMLPRegressor(hidden_layer_sizes=reg.hidden_layer_sizes, solver="lbfgs",
                        activation=reg.activation, alpha=alpha, max_iter=1,
                        random_state=0).fit(X, Y)
    sk.coefs_ = [c.copy() for c in reg.coefs_]
    sk.intercepts_ = [b.copy() for b in reg.intercepts_]
    sk.set_params(warm_start=True, max_iter=100, tol=tol)
    sk.fit(X, Y)
    assert sk.n_iter_ == 0
    for a, b in zip(sk.coefs_ + sk.intercepts_, reg.coefs_ + reg.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_mlp_regressor_multi_output_alpha_matches_sklearn_ridge(two_outputs):
    # Without hidden layers scikit-learn's MLP objective, sum over outputs of the squared error
    # / (2 n) + alpha / (2 n) ||W||^2, is ridge regression with penalty alpha on every output.
    # Averaging over the outputs instead doubled alpha with two outputs.
    X, Y = two_outputs
    alpha = 3.0
    W, b = _ridge(X, Y, alpha)
    reg = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, tol=1e-10,
                       max_iter=5000, dtype="float64").fit(X, Y)
    np.testing.assert_allclose(reg.coefs_[0], W, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(reg.intercepts_[0], b, rtol=1e-6, atol=1e-7)
    _assert_sklearn_stays(reg, X, Y, alpha)
    # a single output is unchanged: the same ridge problem, column by column
    one = MLPRegressor(hidden_layer_sizes=(), solver="lbfgs", alpha=alpha, tol=1e-10,
                       max_iter=5000, dtype="float64").fit(X, Y[:, 1])
    np.testing.assert_allclose(one.coefs_[0][:, 0], W[:, 1], rtol=1e-6, atol=1e-7)


def _unpack(theta, shapes):
    out, off = [], 0
    for sh in shapes:
        k = int(np.prod(sh))
        out.append(theta[off:off + k].reshape(sh))
        off += k
    return out


def _sk_objective(X, Y, alpha, shapes, per_output_mean=False):
    """scikit-learn's training objective for a tanh MLP (the function whose gradient its
    backprop computes): sum over outputs of the squared error / (2 n) + alpha / (2 n) ||W||^2."""
    n, k = len(X), len(shapes) // 2

    def J(theta):
        ps = _unpack(theta, shapes)
        Ws, bs = ps[:k], ps[k:]
        h = X
        for i in range(k):
            h = h @ Ws[i] + bs[i]
            if i < k - 1:
                h = np.tanh(h)
        err = np.sum((h - Y) ** 2) / (2 * n)
        if per_output_mean:
            err /= Y.shape[1]
        return err + alpha / (2 * n) * sum(np.sum(W * W) for W in Ws)
    return J


@pytest.fixture
def tanh_fit(two_outputs):
    """(X, Y, alpha, fitted float64 tanh MLP, its weights as one vector, their shapes)."""
    X, Y = two_outputs
    alpha = 2.0
    reg = MLPRegressor((4,), activation="tanh", solver="lbfgs", alpha=alpha, tol=1e-10,
                       max_iter=3000, random_state=0, dtype="float64").fit(X, Y)
    ps = reg.coefs_ + reg.intercepts_
    return X, Y, alpha, reg, np.concatenate([p.ravel() for p in ps]), [p.shape for p in ps]


def test_mlp_regressor_multi_output_stationary_for_sklearn_objective(tanh_fit):
    # With hidden layers the fit is a local minimum: its gradient (central differences of
    # scikit-learn's objective computed in numpy) vanishes there, and that of the former
    # objective (squared error averaged over the outputs) does not
    X, Y, alpha, reg, theta, shapes = tanh_fit
    g = fd_grad(_sk_objective(X, Y, alpha, shapes), theta)
    g_old = fd_grad(_sk_objective(X, Y, alpha, shapes, per_output_mean=True), theta)
    assert np.max(np.abs(g)) < 1e-6
    assert np.max(np.abs(g_old)) > 1e-2
    _assert_sklearn_stays(reg, X, Y, alpha)


def test_mlp_regressor_multi_output_loss_is_sklearns_convention(tanh_fit):
    # scikit-learn reports loss_ as half the squared error averaged over samples *and* outputs,
    # plus alpha / (2 n) ||W||^2 (its squared_loss), although it trains on the sum over outputs
    X, Y, alpha, reg, theta, shapes = tanh_fit
    J = _sk_objective(X, Y, alpha, shapes, per_output_mean=True)
    assert reg.loss_ == pytest.approx(J(theta), rel=1e-9)
    assert reg.loss_curve_[-1] == reg.loss_
    half_mse = 0.5 * np.mean((reg.predict(X) - Y) ** 2)
    assert reg.loss_ == pytest.approx(half_mse + alpha / (2 * len(X)) *
                                      sum(np.sum(c * c) for c in reg.coefs_), rel=1e-9)


def test_mlp_regressor_multi_output_stochastic_step_is_sum_over_outputs(two_outputs):
    # one full-batch SGD step without momentum: W <- W - lr * gradient of scikit-learn's
    # objective (sum over outputs), computed here by central differences
    X, Y = two_outputs
    alpha, lr = 0.5, 0.1
    reg = MLPRegressor((), solver="sgd", momentum=0.0, learning_rate_init=lr, alpha=alpha,
                       batch_size=len(X), shuffle=False, dtype="float64", random_state=0)
    reg.partial_fit(X, Y)
    W0, b0 = np.array(reg.coefs_[0]), np.array(reg.intercepts_[0])
    theta = np.concatenate([W0.ravel(), b0])
    shapes = [W0.shape, b0.shape]
    reg.partial_fit(X, Y)
    step = theta - lr * fd_grad(_sk_objective(X, Y, alpha, shapes), theta)
    W1, b1 = _unpack(step, shapes)
    np.testing.assert_allclose(reg.coefs_[0], W1, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(reg.intercepts_[0], b1, rtol=1e-7, atol=1e-9)
    # the reported epoch loss: half the squared error averaged over the outputs, at the
    # weights before the step, plus the L2 term at the weights after it
    J = _sk_objective(X, Y, 0.0, shapes, per_output_mean=True)
    pen = alpha / (2 * len(X)) * np.sum(reg.coefs_[0] ** 2)
    assert reg.loss_curve_[-1] == pytest.approx(J(theta) + pen, rel=1e-9)


# ------------------------------------------------------------ 6. the estimators' dtype
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_mlp_dtype_parameter_in_params_and_clone(cls):
    est = cls()
    assert est.get_params()["dtype"] == "float32"
    est64 = clone(cls(dtype="float64", hidden_layer_sizes=(3,)))
    assert est64.get_params()["dtype"] == "float64"
    assert "dtype='float64'" in repr(est64)
    assert "dtype" not in repr(est)


@pytest.mark.parametrize("bad", ["float16", "int64", np.int32, None, "double precision"])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_mlp_dtype_parameter_refuses_others(cls, bad):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=rf"{cls.__name__}: dtype must be 'float32' or "
                                         r"'float64', got"):
        cls((3,), dtype=bad, max_iter=2).fit(X, y)


def test_mlp_dtype_float64_trains_in_float64(two_outputs):
    X, Y = two_outputs
    W, _ = _ridge(X, Y, 3.0)
    kw = dict(hidden_layer_sizes=(), solver="lbfgs", alpha=3.0, tol=1e-12, max_iter=5000)
    r64 = MLPRegressor(dtype="float64", **kw).fit(X, Y)
    r32 = MLPRegressor(dtype="float32", **kw).fit(X, Y)
    # float64 reaches the exact ridge solution far beyond float32's resolution
    err64 = np.max(np.abs(r64.coefs_[0] - W))
    err32 = np.max(np.abs(r32.coefs_[0] - W))
    assert err64 < 1e-7 < 1e-6 < err32 < 1e-3
    # numpy's dtype objects are accepted as well as the names
    r = MLPRegressor(dtype=np.float64, **kw).fit(X, Y)
    np.testing.assert_array_equal(r.coefs_[0], r64.coefs_[0])
    # and prediction computes in the training dtype: exact ridge predictions
    np.testing.assert_allclose(r64.predict(X), X @ r64.coefs_[0] + r64.intercepts_[0],
                               rtol=1e-12, atol=1e-12)


def test_mlp_dtype_float64_classifier_predict_proba_matches_numpy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 0] > 1)
    clf = MLPClassifier((5,), activation="tanh", solver="lbfgs", max_iter=50, random_state=0,
                        dtype="float64").fit(X, y)
    h = np.tanh(X @ clf.coefs_[0] + clf.intercepts_[0])
    z = h @ clf.coefs_[1] + clf.intercepts_[1]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), p, rtol=1e-12, atol=1e-14)


def test_mlp_dtype_change_between_partial_fits_keeps_training():
    # the optimizer state saved by a float32 partial_fit feeds a float64 one: its moment buffers
    # follow the new dtype instead of raising a dtype mix
    X = np.linspace(-1, 1, 20)[:, None]
    y = X[:, 0] ** 2
    reg = MLPRegressor((4,), random_state=0).partial_fit(X, y)
    reg.set_params(dtype="float64").partial_fit(X, y)
    assert reg.n_iter_ == 2 and np.isfinite(reg.loss_)


# ------------------------------------------------------------ 2. layers' dtype
@pytest.mark.parametrize("bad", ["float16", "int64", np.int32, "bool"])
def test_linear_refuses_other_dtypes(bad):
    with pytest.raises(TypeError, match=r"Linear: dtype must be float32 or float64, got"):
        ag.nn.Linear(2, 3, dtype=bad)


def test_linear_dtype_float64_and_default():
    assert ag.nn.Linear(2, 3, dtype="float64").weight.dtype == np.float64
    assert ag.nn.Linear(2, 3, dtype=np.float64).bias.dtype == np.float64
    assert ag.nn.Linear(2, 3).weight.dtype == np.float32


# ------------------------------------------------------------ 3. dtype rule for loss targets
_TARGET_LOSSES = [F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits,
                  F.binary_cross_entropy, F.huber_loss, F.smooth_l1_loss, F.kl_div]


@pytest.mark.parametrize("loss", _TARGET_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dt_in,dt_t", [("float32", "float64"), ("float64", "float32")])
def test_loss_refuses_target_tensor_of_other_dtype(loss, dt_in, dt_t):
    x = ag.tensor([0.25, 0.5, 0.75], dtype=dt_in, requires_grad=True)
    t = ag.tensor([0.5, 0.5, 1.0], dtype=dt_t)
    with pytest.raises(TypeError, match=rf"{loss.__name__}: target has dtype {dt_t} but the "
                                        rf"input has dtype {dt_in}"):
        loss(x, t)


@pytest.mark.parametrize("dt_in,dt_t", [("float32", "float64"), ("float64", "float32")])
def test_cross_entropy_refuses_probability_target_of_other_dtype(dt_in, dt_t):
    x = ag.tensor([[0.1, 0.2, 0.3]], dtype=dt_in, requires_grad=True)
    t = ag.tensor([[0.2, 0.3, 0.5]], dtype=dt_t)
    with pytest.raises(TypeError, match=rf"cross_entropy: target has dtype {dt_t}"):
        F.cross_entropy(x, t)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_loss_targets_as_arrays_adopt_the_input_dtype(dt):
    # numpy arrays (either float dtype) and lists keep adopting the input's dtype; a tensor
    # target of the same dtype gets a gradient: d/dt mean((x - t)^2) = -2 (x - t) / n
    xv, tv = np.array([0.25, 0.5, 2.0]), np.array([0.5, -0.5, 1.0])
    x = ag.tensor(xv, dtype=dt, requires_grad=True)
    for target in (tv.astype(np.float32), tv, tv.tolist()):
        out = F.mse_loss(x, target)
        assert out.dtype == dt
        assert float(out) == pytest.approx(np.mean((xv - tv) ** 2), rel=1e-6)
    t = ag.tensor(tv, dtype=dt, requires_grad=True)
    F.mse_loss(x, t).backward()
    np.testing.assert_allclose(t.grad.numpy(), -2 * (xv - tv) / 3, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (xv - tv) / 3, rtol=1e-6)


def test_loss_weight_tensors_still_adopt_the_input_dtype():
    # weights (a module's default float32 buffers included) keep being converted to the
    # input's dtype, as test_nnoptim_audit2.py decided: only targets follow the mixing rule
    x = ag.tensor([0.3, -0.2], dtype="float64")
    m = ag.nn.BCEWithLogitsLoss(pos_weight=ag.tensor([2.0, 1.0]))
    z = np.array([0.3, -0.2])
    ref = np.mean([2.0 * np.log1p(np.exp(-z[0])), np.log1p(np.exp(z[1]))])
    assert float(m(x, [1.0, 0.0])) == pytest.approx(ref, rel=1e-12)


# ------------------------------------------------------------ 4. cross_entropy's target shape
def test_cross_entropy_wrong_target_shape_names_both_forms():
    x = ag.tensor(np.zeros((4, 3)))
    bad = np.full((4, 2), 0.5)     # neither 4 labels nor (4, 3) probabilities
    with pytest.raises(ValueError, match=r"cross_entropy: expected 4 class labels \(shape \(4,\), "
                                         r"one per row of the input\) or probabilities of the "
                                         r"input's shape \(4, 3\), got target of shape \(4, 2\)"):
        F.cross_entropy(x, bad)
    with pytest.raises(ValueError, match=r"or probabilities of the input's shape \(4, 3\), got "
                                         r"target of shape \(5,\)"):
        F.cross_entropy(x, [0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: expected 1 class label \(a scalar, for "
                                         r"an input of shape \(3,\)\) or probabilities of the "
                                         r"input's shape \(3,\), got target of shape \(2,\)"):
        F.cross_entropy(ag.tensor([0.0, 1.0, 2.0]), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"input of shape \(2, 3, 4\) needs a target of class "
                                         r"labels of shape \(2, 4\) or probabilities of the "
                                         r"input's shape \(2, 3, 4\), got \(2, 3\)"):
        F.cross_entropy(ag.tensor(np.zeros((2, 3, 4))), np.zeros((2, 3)))


def test_nll_loss_wrong_target_shape_names_labels_only():
    # nll_loss takes no probability targets: its message does not offer them
    x = ag.tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"nll_loss: expected 4 class labels \(shape \(4,\), one "
                                         r"per row of the input\), got target of shape \(4, 3\)$"):
        F.nll_loss(x, np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"of shape \(2, 4\), got \(2, 3\)$"):
        F.nll_loss(ag.tensor(np.zeros((2, 3, 4))), np.zeros((2, 3)))
    # the accepted forms: labels of shape (4,), a 1-element vector or a scalar for a (C,) input
    assert float(F.nll_loss(x, [0, 1, 2, 0])) == 0.0
    assert float(F.nll_loss(ag.tensor([0.0, -1.0]), 1)) == 1.0
    assert float(F.nll_loss(ag.tensor([0.0, -1.0]), [1])) == 1.0


# ------------------------------------------------------------ 5. ReduceLROnPlateau
def _opt(groups=1):
    return ag.optim.SGD([{"params": [ag.zeros(1, requires_grad=True)]} for _ in range(groups)],
                        lr=1.0)


@pytest.mark.parametrize("kw,exc,msg", [
    (dict(factor=1.0), ValueError, r"factor must be in \(0.0, 1.0\), got 1.0"),
    (dict(factor=0), ValueError, r"factor must be in \(0.0, 1.0\), got 0"),
    (dict(factor="0.5"), TypeError, "factor must be a number, got str"),
    (dict(patience=-1), ValueError, "patience must be an integer >= 0, got -1"),
    (dict(patience=2.5), TypeError, "patience must be an integer, got float"),
    (dict(cooldown=-2), ValueError, "cooldown must be an integer >= 0, got -2"),
    (dict(cooldown=None), TypeError, "cooldown must be an integer, got NoneType"),
    (dict(threshold=-1e-4), ValueError, r"threshold must be in \[0.0, inf\], got -0.0001"),
    (dict(threshold=math.nan), ValueError, "threshold must be in"),
    (dict(eps=-1.0), ValueError, r"eps must be in \[0.0, inf\], got -1.0"),
    (dict(min_lr=-0.1), ValueError, r"min_lr must be in \[0.0, inf\], got -0.1"),
    (dict(min_lr=[0.1, -0.1]), ValueError, r"min_lr\[1\] must be in"),
    (dict(min_lr=[0.1]), ValueError, r"expected 2 values of min_lr \(one per param group\), "
                                     "got 1"),
    (dict(mode="mean"), ValueError, "mode must be 'min' or 'max', got 'mean'"),
    (dict(threshold_mode="relative"), ValueError,
     "threshold_mode must be 'rel' or 'abs', got 'relative'"),
])
def test_reduce_lr_on_plateau_checks_arguments(kw, exc, msg):
    with pytest.raises(exc, match="ReduceLROnPlateau: " + msg):
        ReduceLROnPlateau(_opt(2), **kw)


def test_reduce_lr_on_plateau_refuses_non_optimizer():
    with pytest.raises(TypeError, match="ReduceLROnPlateau: expected an optimizer, got list"):
        ReduceLROnPlateau([1.0])


def test_reduce_lr_on_plateau_state_dict_is_a_copy():
    s = ReduceLROnPlateau(_opt(2), min_lr=[0.5, 0.05], patience=0)
    sd = s.state_dict()
    sd["min_lrs"][0] = 0.9
    sd["_last_lr"][0] = 7.0
    assert s.min_lrs == [0.5, 0.05] and s.get_last_lr() == [1.0, 1.0]
    # and loading does not share the loaded lists either
    s2 = ReduceLROnPlateau(_opt(2))
    sd = s.state_dict()
    s2.load_state_dict(sd)
    sd["min_lrs"][1] = 0.7
    assert s2.min_lrs == [0.5, 0.05]


def test_reduce_lr_on_plateau_load_state_dict_resumes():
    o1, o2 = _opt(), _opt()
    a = ReduceLROnPlateau(o1, patience=1, factor=0.5, cooldown=1, min_lr=0.1)
    b = ReduceLROnPlateau(o2)
    for m in [3.0, 2.0, 2.0, 2.0]:
        a.step(m)
    b.load_state_dict(a.state_dict())
    o2.param_groups[0]["lr"] = o1.param_groups[0]["lr"]
    for m in [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0]:
        a.step(m)
        b.step(m)
        assert o2.param_groups[0]["lr"] == o1.param_groups[0]["lr"]
    assert (b.patience, b.factor, b.cooldown, b.min_lrs) == (1, 0.5, 1, [0.1])


@pytest.mark.parametrize("change,exc,msg", [
    (lambda sd: sd.update(patience=-1), ValueError, "patience must be an integer >= 0"),
    (lambda sd: sd.update(mode="up"), ValueError, "mode must be 'min' or 'max'"),
    (lambda sd: sd.update(factor=2.0), ValueError, "factor must be in"),
    (lambda sd: sd.update(min_lrs=[0.0, 0.0, 0.0]), ValueError,
     r"expected 2 values of min_lrs \(one per param group\), got 3"),
    (lambda sd: sd.pop("best"), ValueError, r"not a ReduceLROnPlateau state \(missing 'best'\)"),
    (lambda sd: sd.update(gamma=0.1), ValueError,
     r"not a ReduceLROnPlateau state \(unexpected 'gamma'\)"),
    (lambda sd: sd.update(num_bad_epochs=-1), ValueError, "num_bad_epochs must be an integer >= 0"),
    (lambda sd: sd.update(best="low"), TypeError, "best must be a number"),
])
def test_reduce_lr_on_plateau_load_state_dict_validates(change, exc, msg):
    s = ReduceLROnPlateau(_opt(2), patience=3)
    s.step(1.0)
    before = dict(s.__dict__)
    sd = s.state_dict()
    change(sd)
    with pytest.raises(exc, match="ReduceLROnPlateau.load_state_dict: " + msg):
        s.load_state_dict(sd)
    assert s.__dict__ == before      # nothing was half-loaded


def test_reduce_lr_on_plateau_load_state_dict_refuses_non_dict():
    with pytest.raises(TypeError, match="ReduceLROnPlateau.load_state_dict: expected a dict, "
                                        "got list"):
        ReduceLROnPlateau(_opt()).load_state_dict([("best", 1.0)])


@parametrize_with_checks([MLPClassifier((16,), max_iter=100, dtype="float64"),
                          MLPRegressor((16,), learning_rate_init=1e-2, max_iter=200,
                                       dtype="float64")])
def test_sklearn_estimator_checks_float64_mlps(estimator, check):
    # every check passes in float64, the sample-weight equivalence included (which the float32
    # MLPs meet only to float32 rounding: test_models.py)
    check(estimator)
