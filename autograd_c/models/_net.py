"""The engine behind every estimator: a stack of dense layers trained by L-BFGS (full batch) or
by mini-batch Adam/SGD through autograd_c, with the fitted weights kept as numpy arrays
(``coefs_`` in (n_in, n_out) layout and ``intercepts_``, scikit-learn's convention) so that the
estimators pickle and clone like any scikit-learn estimator.

A linear model is the same network without hidden layers."""
import math
import warnings

import numpy as np

from .. import _core
from ..optim import SGD, Adam
from ._base import (BaseEstimator, ConvergenceWarning, ProgressBar, _column_or_1d, _r2_score,
                    _rng, _sk_warning, _train_val_split)
from ._weights import _check_sample_weight, _class_weights, _fitted_rows

_ACT = {"identity": None, "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def _softmax_np(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax_np(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _log_sigmoid_np(z):
    return -np.logaddexp(0.0, -z)


class _Net:
    """Weights of one fit as autograd_c leaves (W in (out, in) layout, as nn.Linear)."""

    def __init__(self, coefs, intercepts, dtype, activation, fit_intercept=True):
        self.W = [_core.tensor(np.ascontiguousarray(c.T, dtype=dtype), requires_grad=True)
                  for c in coefs]
        self.b = [_core.tensor(np.asarray(b, dtype=dtype), requires_grad=True) if fit_intercept
                  else None for b in intercepts]
        self.act = _ACT[activation]

    def params(self):
        return self.W + [b for b in self.b if b is not None]

    def forward(self, X):
        h = X
        last = len(self.W) - 1
        lin = _core.linear
        for i in range(last):
            h = lin(h, self.W[i], self.b[i], self.act)
        return lin(h, self.W[last], self.b[last])

    def export(self):
        coefs = [np.array(w.numpy().T, dtype=np.float64) for w in self.W]
        intercepts = [np.array(b.numpy(), dtype=np.float64) if b is not None
                      else np.zeros(w.shape[0]) for b, w in zip(self.b, self.W)]
        return coefs, intercepts


class _NetEstimator(BaseEstimator):
    """Fitting, partial fitting and raw prediction shared by the linear models and the MLPs.

    Subclasses define ``_layer_sizes(n_features, n_outputs)``, ``_out_kind`` handling through
    ``_prepare_targets`` and the public API on top of ``_raw(X)``."""

    _dtype = np.float64
    _l2_per_sample = False      # MLP: alpha / n_samples like scikit-learn; linear: alpha
    _default_lr = 1e-3
    _hidden_activation = "identity"

    # ---- to be provided by subclasses
    def _hidden_sizes(self):
        return ()

    def _fit_intercept(self):
        return getattr(self, "fit_intercept", True)

    # ---- initialisation
    def _init_params(self, n_in, n_out, rng):
        sizes = [n_in] + list(self._hidden_sizes()) + [n_out]
        coefs, intercepts = [], []
        for i in range(len(sizes) - 1):
            fi, fo = sizes[i], sizes[i + 1]
            if len(sizes) == 2:
                coefs.append(np.zeros((fi, fo)))
                intercepts.append(np.zeros(fo))
                continue
            # Glorot uniform, scikit-learn's MLP initialisation (factor 2 for logistic)
            factor = 2.0 if self._hidden_activation == "logistic" else 6.0
            bound = math.sqrt(factor / (fi + fo))
            coefs.append(rng.uniform(-bound, bound, (fi, fo)))
            intercepts.append(rng.uniform(-bound, bound, fo))
        return coefs, intercepts

    # ---- the loss
    def _loss_fn(self, out, T, kind, w=None):
        """Mean loss over the rows of ``out``, or the weighted mean sum_i w_i loss_i when
        ``w`` (numpy, one weight per row, summing to 1) is given.  A row's loss sums over the
        outputs; for "squared" it is half the squared error, summed over the outputs as in
        scikit-learn's MLP gradient (so alpha weighs the same against each output whatever
        their number), while the reported loss averages over them (see ``_report_scale``)."""
        F = _core
        n = out.shape[0]
        if kind == "softmax":
            logp = F.log_softmax(out, -1)[np.arange(n), T]
            return -F.mean(logp) if w is None else -F.sum(logp * w)
        if kind == "logistic":
            # (1 - t) z + softplus(-z), summed over outputs
            per = out - out * T + F.softplus(-out)
        elif kind == "hinge":
            per = F.relu(1.0 - out * T)
        elif kind == "squared":
            d = out - T
            per = d * d * 0.5
        else:
            raise ValueError(kind)
        return F.sum(per) * (1.0 / n) if w is None else F.sum(per * w[:, None])

    @staticmethod
    def _report_scale(kind, T):
        """What multiplies the training loss in the reported ``loss_``: scikit-learn reports
        the squared error averaged over the outputs (its ``squared_loss``), though it trains on
        their sum."""
        return 1.0 / T.shape[1] if kind == "squared" else 1.0

    def _penalty(self, Ws, n):
        """alpha / 2 ||W||^2, alpha divided by n (the number of samples or the sum of the
        sample weights) for the MLPs."""
        scale = self.alpha / n if self._l2_per_sample else self.alpha
        return 0.5 * scale * sum(float(np.sum(np.square(w.numpy(), dtype=np.float64))) for w in Ws)

    # ---- full-batch L-BFGS
    def _fit_lbfgs(self, net, X, T, kind, bar, w=None):
        params = net.params()
        shapes = [p.shape for p in params]
        sizes = [p.size for p in params]
        n = X.shape[0] if w is None else w.sum()
        l2 = self.alpha / n if self._l2_per_sample else self.alpha
        wn = None if w is None else (w / n).astype(self._dtype)
        nW = len(net.W)
        Xt = _core.tensor(X, dtype=self._dtype)

        def fg(theta):
            off = 0
            for p, s, sh in zip(params, sizes, shapes):
                p.numpy()[...] = theta[off:off + s].reshape(sh)
                off += s
            for p in params:
                p.grad = None
            loss = data = self._loss_fn(net.forward(Xt), T, kind, wn)
            if l2:
                reg = None
                for w in net.W:
                    r = _core.sum(w * w)
                    reg = r if reg is None else reg + r
                loss = loss + reg * (0.5 * l2)
            loss.backward()
            g = np.concatenate([np.zeros(s) if p.grad is None else
                                p.grad.numpy().reshape(-1).astype(np.float64)
                                for p, s in zip(params, sizes)])
            f = float(loss.item())
            return f, g, f - float(data.item()) * (1.0 - scale)

        scale = self._report_scale(kind, T)
        theta = np.concatenate([p.numpy().reshape(-1).astype(np.float64) for p in params])
        f, g, reported = fg(theta)
        curve = []
        S, Y = [], []
        it = 0
        converged = False
        for it in range(1, self.max_iter + 1):
            # two-loop recursion: d = -H g
            q = g.copy()
            al = []
            for s, y in zip(reversed(S), reversed(Y)):
                a = s.dot(q) / y.dot(s)
                al.append(a)
                q -= a * y
            if S:
                q *= S[-1].dot(Y[-1]) / Y[-1].dot(Y[-1])
            else:
                q /= max(1.0, np.linalg.norm(g))
            for (s, y), a in zip(zip(S, Y), reversed(al)):
                b = y.dot(q) / y.dot(s)
                q += (a - b) * s
            d = -q
            gd = g.dot(d)
            if gd >= 0:      # not a descent direction: restart from steepest descent
                S, Y = [], []
                d = -g / max(1.0, np.linalg.norm(g))
                gd = g.dot(d)
            step = 1.0
            ok = False
            for _ in range(30):  # backtracking with the Armijo condition
                th2 = theta + step * d
                f2, g2, rep2 = fg(th2)
                if np.isfinite(f2) and f2 <= f + 1e-4 * step * gd:
                    ok = True
                    break
                step *= 0.5
            if not ok:
                fg(theta)
                converged = True   # no further decrease possible at machine precision
                curve.append(reported)  # loss_ / loss_curve_ still report the loss
                break
            s, y = th2 - theta, g2 - g
            if s.dot(y) > 1e-10:
                S.append(s)
                Y.append(y)
                if len(S) > 10:
                    S.pop(0)
                    Y.pop(0)
            fprev = f
            theta, f, g, reported = th2, f2, g2, rep2
            curve.append(reported)
            bar.update(it, loss=reported)
            if np.max(np.abs(g)) <= self.tol or abs(fprev - f) <= 1e-12 * max(1.0, abs(f)):
                converged = True
                break
        return it, curve, converged

    # ---- mini-batch Adam / SGD
    def _make_optimizer(self, net, batch):
        wd = self.alpha / batch if self._l2_per_sample else self.alpha
        groups = [{"params": net.W, "weight_decay": wd}]
        bs = [b for b in net.b if b is not None]
        if bs:
            groups.append({"params": bs, "weight_decay": 0.0})
        lr = self.learning_rate_init
        if self.solver == "sgd":
            mom = getattr(self, "momentum", 0.9)
            return SGD(groups, lr=lr, momentum=mom,
                       nesterov=bool(getattr(self, "nesterovs_momentum", True)) and mom > 0)
        return Adam(groups, lr=lr, betas=(getattr(self, "beta_1", 0.9), getattr(self, "beta_2", 0.999)),
                    eps=getattr(self, "epsilon", 1e-8))

    def _epoch(self, net, opt, X, T, kind, batch, rng, w=None):
        """One pass over (X, T) in mini-batches; the mean (or weighted mean) training loss, as
        reported (see ``_report_scale``).

        With sample weights each batch's loss is its weighted mean and the MLPs' L2 term is
        alpha / (sum of the batch's weights), as scikit-learn's MLP does."""
        n = X.shape[0]
        if self.shuffle:
            perm = rng.permutation(n)
            X = X[perm]
            T = T[perm]
            w = None if w is None else w[perm]
        total = 0.0
        scale = self._report_scale(kind, T)
        groups = opt.param_groups
        wd_full = groups[0]["weight_decay"]
        for start in range(0, n, batch):
            end = min(start + batch, n)
            xb = _core.from_numpy(X[start:end])
            tb = T[start:end]
            size = end - start if w is None else w[start:end].sum()
            wb = None if w is None else (w[start:end] / size).astype(self._dtype)
            if self._l2_per_sample and (size != batch or w is not None):
                groups[0]["weight_decay"] = self.alpha / size
            out = net.forward(xb)
            loss = self._loss_fn(out, tb, kind, wb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * size * scale
        groups[0]["weight_decay"] = wd_full
        return total / (n if w is None else w.sum())

    def _fit_stochastic(self, net, X, T, kind, rng, epochs, bar, incremental, val, opt_state,
                        w=None):
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)
        opt = self._make_optimizer(net, batch)
        if opt_state is not None:
            # the options the estimator's parameters ask for now; loading the saved state would
            # replace them with those of the previous call
            current = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
            try:
                opt.load_state_dict(opt_state)
            except ValueError:
                pass  # a different optimizer/solver: start its state afresh
            else:
                # keep the moment buffers and step counts, re-apply the options.  scikit-learn's
                # rules: a warm-start fit builds its optimizer from the current parameters
                # (learning_rate_init, momentum, betas...), while partial_fit keeps the optimizer
                # of its first call and only the L2 term follows the current alpha divided by
                # the size of each batch
                for g, cur in zip(opt.param_groups, current):
                    g.update({"weight_decay": cur["weight_decay"]} if incremental else cur)
        X = np.ascontiguousarray(X, dtype=self._dtype)
        curve = []
        best_loss = getattr(self, "best_loss_", None)
        best_loss = np.inf if best_loss is None or not incremental else best_loss
        best_val = -np.inf
        best_weights = None
        no_improve = 0
        it = 0
        converged = False
        val_scores = []
        for it in range(1, epochs + 1):
            loss = self._epoch(net, opt, X, T, kind, batch, rng, w) + \
                self._penalty(net.W, n if w is None else w.sum())
            if not np.isfinite(loss):
                raise ValueError(f"{type(self).__name__}: the training loss became {loss} "
                                 "(diverged); lower learning_rate_init or scale the inputs")
            curve.append(loss)
            fields = {"loss": loss}
            if incremental:
                bar.update(it, **fields)
                continue
            if val is not None:
                score = val(net)
                val_scores.append(score)
                fields["val_score"] = score
                if score > best_val + self.tol:
                    no_improve = 0
                else:
                    no_improve += 1
                if score > best_val:
                    best_val = score
                    best_weights = [np.array(p.numpy()) for p in net.params()]
            else:
                if loss > best_loss - self.tol:
                    no_improve += 1
                else:
                    no_improve = 0
                best_loss = min(best_loss, loss)
            bar.update(it, **fields)
            if no_improve > self.n_iter_no_change:
                converged = True
                break
        if best_weights is not None:
            for p, w in zip(net.params(), best_weights):
                p.numpy()[...] = w
        return it, curve, converged, opt.state_dict(), best_loss, val_scores, best_val

    # ---- the public fit / partial_fit skeleton
    def _fit_impl(self, X, y, incremental, classes=None, sample_weight=None):
        self._check_common_params()
        if getattr(self, "solver", "adam") not in self._solvers:
            raise ValueError(f"{type(self).__name__}: solver must be one of {self._solvers}, "
                             f"got {self.solver!r}")
        fitted = hasattr(self, "coefs_")
        first = not fitted if incremental else not (getattr(self, "warm_start", False) and fitted)
        Xa, names = self._validate_X_noset(X, reset=first)
        n_all = Xa.shape[0]
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, n_all, self)
        # the fitted rows: those with a positive weight (sample_weight times class_weight), so
        # that a zero weight is the same as leaving the row out
        enc = self._prepare_targets(y, n_all, reset=first, classes=classes, sample_weight=sw,
                                    incremental=incremental)
        T, kind, n_out, extra, _, w, keep = enc
        if keep is not None:
            Xa = Xa[keep]
        rng = _rng(self.random_state)
        if first:
            coefs, intercepts = self._init_params(Xa.shape[1], n_out, rng)
            opt_state = None
        else:
            coefs, intercepts = self.coefs_, self.intercepts_
            sizes = [Xa.shape[1]] + list(self._hidden_sizes()) + [n_out]
            have = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
            if have != sizes:
                raise ValueError(
                    f"{type(self).__name__}: the fitted layer sizes {have} differ from those the "
                    f"current parameters ask for {sizes} (hidden_layer_sizes changed?); "
                    f"{'partial_fit' if incremental else 'a warm_start fit'} continues from the "
                    "fitted weights, so call fit with warm_start=False to start afresh")
            opt_state = getattr(self, "_optimizer_state", None)
        net = _Net(coefs, intercepts, self._dtype, self._hidden_activation, self._fit_intercept())
        epochs = 1 if incremental else self.max_iter
        bar = ProgressBar(epochs, enabled=bool(self.verbose),
                          desc=type(self).__name__ + " epoch" if not incremental else "partial_fit")
        val = None
        Xtr, Ttr, wtr = Xa, T, w
        solver = getattr(self, "solver", "adam")
        # scikit-learn: early stopping (and its held-out split) only for the stochastic solvers
        stop_early = self.early_stopping and not incremental and solver != "lbfgs"
        if stop_early:
            strat = extra if getattr(self, "_estimator_type", None) == "classifier" else None
            tr, va = _train_val_split(Xa.shape[0], self.validation_fraction, rng, strat)
            Xtr, Ttr = Xa[tr], T[tr]
            Xva = np.ascontiguousarray(Xa[va], dtype=self._dtype)
            yva = extra[va] if extra is not None else T[va]
            wtr, wva = (None, None) if w is None else (w[tr], w[va])

            def val(net_, Xva=Xva, yva=yva, wva=wva):
                with _NoGrad():
                    z = net_.forward(_core.from_numpy(Xva)).numpy().astype(np.float64)
                return self._val_score(z, yva, wva)
        try:
            with _NoGrad(enabled=True):
                if solver == "lbfgs" and not incremental:
                    n_iter, curve, converged = self._fit_lbfgs(net, Xtr, Ttr, kind, bar, wtr)
                    opt_state, best_loss, vs, bv = None, (curve[-1] if curve else None), [], None
                else:
                    Xc = np.ascontiguousarray(Xtr, dtype=self._dtype)
                    n_iter, curve, converged, opt_state, best_loss, vs, bv = \
                        self._fit_stochastic(net, Xc, Ttr, kind, rng, epochs, bar, incremental,
                                             val, opt_state, wtr)
        finally:
            bar.close()
        # commit: nothing above touched self's fitted state
        self.coefs_, self.intercepts_ = net.export()
        self._set_features(Xa, names)
        self._commit_targets(enc)
        self._optimizer_state = opt_state
        # scikit-learn: partial_fit and a warm-start fit of a stochastic solver append to
        # loss_curve_ (and validation_scores_); n_iter_ counts the epochs of this fit, or of
        # all the partial_fit calls
        extend = not first and (incremental or solver != "lbfgs")
        if extend and hasattr(self, "loss_curve_"):
            self.loss_curve_ = list(self.loss_curve_) + list(curve)
            self.n_iter_ = self.n_iter_ + n_iter if incremental else n_iter
        else:
            self.loss_curve_ = list(curve)
            self.n_iter_ = n_iter
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        self.best_loss_ = best_loss if not stop_early else None
        if stop_early:
            old = getattr(self, "validation_scores_", None) if extend else None
            self.validation_scores_ = (list(old) if old else []) + list(vs)
            self.best_validation_score_ = bv
        elif not incremental:
            self.validation_scores_ = self.best_validation_score_ = None
        self.t_ = getattr(self, "t_", 0) * (not first) + Xa.shape[0] * max(n_iter, 1)
        if not incremental and not converged:
            warnings.warn(_sk_warning("ConvergenceWarning", ConvergenceWarning)(
                f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached and the "
                "optimization has not converged yet."), stacklevel=3)
        return self

    def _validate_X_noset(self, X, reset):
        from ._base import _feature_names, check_array
        names = _feature_names(X)
        if reset:
            return self._check_range(check_array(X, estimator=self)), names
        return self._check_range(self._validate_X(X, reset=False)), names

    def _check_range(self, Xa):
        """Refuse values that overflow the training dtype (float32 for the MLPs): they would
        turn into inf and give NaN outputs."""
        big = np.finfo(self._dtype).max
        if Xa.dtype.itemsize > np.dtype(self._dtype).itemsize and Xa.size and \
                np.abs(Xa).max() > big:
            raise ValueError(f"Input X contains a value too large for {np.dtype(self._dtype)} "
                             f"(max |X| = {np.abs(Xa).max():.3g} > {big:.3g}); "
                             f"{type(self).__name__} computes in {np.dtype(self._dtype)}, so "
                             "scale the inputs")
        return Xa

    def _set_features(self, Xa, names):
        self.n_features_in_ = Xa.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _raw(self, X):
        """Network output (float64 numpy) for validated X."""
        Xa = self._check_range(self._validate_X(X, reset=False))
        net = _Net(self.coefs_, self.intercepts_, self._dtype, self._hidden_activation,
                   self._fit_intercept())
        with _NoGrad():
            z = net.forward(_core.tensor(Xa, dtype=self._dtype)).numpy()
        return np.array(z, dtype=np.float64)


class _NoGrad:
    """Gradient recording off (``enabled=False``, prediction) or on (training, also when the
    caller is inside ``ag.no_grad()``), restoring the caller's mode on exit."""

    def __init__(self, enabled=False):
        self.enabled = enabled

    def __enter__(self):
        self.prev = _core._set_grad_enabled(self.enabled)

    def __exit__(self, *exc):
        _core._set_grad_enabled(self.prev)
        return False


class _ClassifierNet:
    """Target encoding and probability outputs for classifiers built on _NetEstimator.

    ``_output`` picks the head: "softmax" (one output per class), "logistic" (one sigmoid
    output when binary, softmax otherwise), "ovr_logistic" / "hinge" (one score per class,
    one score when binary)."""

    _output = "logistic"

    def _head(self, n_classes):
        o = self._output
        if o == "softmax":
            return "softmax", n_classes
        if o == "logistic":
            return ("logistic", 1) if n_classes == 2 else ("softmax", n_classes)
        if o == "ovr_logistic":
            return "logistic", 1 if n_classes == 2 else n_classes
        if o == "hinge":
            return "hinge", 1 if n_classes == 2 else n_classes
        raise ValueError(o)

    def _prepare_targets(self, y, n, reset, classes=None, sample_weight=None, incremental=False):
        """(T, loss kind, n_outputs, label indices, classes, weights, rows): the targets of the
        fitted rows (``rows``, None for all) and their weights (sample_weight times the class
        weight, None when all are 1)."""
        est = type(self).__name__
        w, rows = _fitted_rows(sample_weight, est)
        if reset:
            saved = getattr(self, "classes_", None)
            try:
                idx = self._encode_y(y, n, reset=True, classes=classes, keep=rows)
                cls = self.classes_
            finally:
                if saved is None:
                    self.__dict__.pop("classes_", None)
                else:
                    self.classes_ = saved
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(f"{type(self).__name__}: classes={np.asarray(classes).tolist()} "
                                 "differs from the classes of the first partial_fit "
                                 f"{self.classes_.tolist()}")
            idx = self._encode_y(y, n, reset=False, keep=rows)
            cls = self.classes_
            if not incremental:
                # a warm-start fit continues the fitted head: as in scikit-learn, y must hold
                # exactly the classes of the previous fit
                seen = np.unique(_column_or_1d(y, est))
                if len(seen) != len(cls):
                    raise ValueError(f"{est}: warm_start can only be used where y has the same "
                                     f"classes as in the previous call to fit. Previously got "
                                     f"{cls.tolist()}, y has {seen.tolist()}")
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            cw = _class_weights(class_weight, cls, idx, w, est, incremental)[idx]
            w, sub = _fitted_rows(cw if w is None else w * cw, est, " after applying class_weight")
            if sub is not None:
                idx = idx[sub]
                rows = sub if rows is None else rows[sub]
        n = len(idx)
        kind, n_out = self._head(len(cls))
        if kind == "softmax":
            T = idx
        else:
            onehot = np.zeros((n, n_out), dtype=self._dtype)
            if n_out == 1:
                onehot[:, 0] = idx == 1
            else:
                onehot[np.arange(n), idx] = 1
            T = onehot if kind == "logistic" else onehot * 2 - 1
        return T, kind, n_out, idx, cls, w, rows

    def _commit_targets(self, enc):
        self.classes_ = enc[4]

    def _val_score(self, z, yidx, w=None):
        return float(np.average(self._argmax_from_raw(z) == yidx, weights=w))

    def _argmax_from_raw(self, z):
        if z.shape[1] == 1:
            return (z[:, 0] > 0).astype(np.int64)
        return np.argmax(z, axis=1)

    def decision_function(self, X):
        """Scores w^T x + b (linear) or network logits; shape (n,) for two classes."""
        z = self._raw(X)
        if z.shape[1] == 1:
            return z[:, 0]
        if len(self.classes_) == 2:   # softmax head with two outputs: the logit difference
            return z[:, 1] - z[:, 0]
        return z

    def predict(self, X):
        """The class with the highest score (for two classes: score > 0 -> classes_[1])."""
        z = self._raw(X)
        return self.classes_[self._argmax_from_raw(z)]

    def _log_proba_from_raw(self, z):
        kind, _ = self._head(len(self.classes_))
        if kind == "softmax":
            return _log_softmax_np(z)
        if kind == "hinge":
            raise AttributeError("predict_proba is not available for loss='hinge'")
        if z.shape[1] == 1:
            return np.column_stack([_log_sigmoid_np(-z[:, 0]), _log_sigmoid_np(z[:, 0])])
        # one-vs-rest: normalise the per-class sigmoids
        lp = _log_sigmoid_np(z)
        return lp - np.logaddexp.reduce(lp, axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably."""
        return self._log_proba_from_raw(self._raw(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return np.exp(self.predict_log_proba(X))


class _RegressorNet:
    def _prepare_targets(self, y, n, reset, classes=None, sample_weight=None, incremental=False):
        est = type(self).__name__
        if y is None:
            raise ValueError(f"{est} requires y to be passed, but the target y is None")
        from ._base import _is_sparse
        if _is_sparse(y):
            raise TypeError(f"{est}: sparse y is not supported")
        ya = np.asarray(y)
        if ya.dtype.kind == "O":
            try:
                ya = ya.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{est}: y must be numeric") from None
        if ya.dtype.kind not in "biuf":
            raise ValueError(f"{est}: y must be numeric, got dtype {ya.dtype}")
        ya = ya.astype(np.float64)
        if ya.ndim not in (1, 2):
            raise ValueError(f"{est}: y should be a 1d array or a 2d array (n_samples, "
                             f"n_outputs), got shape {ya.shape}")
        if len(ya) != n:
            raise ValueError(f"{est}: X has {n} samples but y has {len(ya)} "
                             "(found input variables with inconsistent numbers of samples)")
        if not np.isfinite(ya).all():
            raise ValueError(f"Input y contains NaN or infinity; {est} needs finite targets")
        two_d = ya.ndim == 2
        if two_d and ya.shape[1] == 0:
            raise ValueError(f"{est}: y has shape {ya.shape}, with no outputs (need at least 1)")
        Y = ya.reshape(n, -1)
        if not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(f"{est}: y has {Y.shape[1]} outputs, the model {self.n_outputs_}")
        w, rows = _fitted_rows(sample_weight, est)
        if rows is not None:
            Y = Y[rows]
        return np.ascontiguousarray(Y, dtype=self._dtype), "squared", Y.shape[1], Y, two_d, w, rows

    def _commit_targets(self, enc):
        self.n_outputs_ = enc[2]
        self._y_2d = enc[4]

    def _val_score(self, z, Y, w=None):
        return _r2_score(Y, z, w)

    def predict(self, X):
        """Predicted targets, shape (n,) or (n, n_outputs) as y had at fit."""
        z = self._raw(X)
        return z if self._y_2d else z[:, 0]
