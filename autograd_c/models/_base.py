"""Shared machinery of the scikit-learn compatible estimators: parameters (get_params /
set_params from the ``__init__`` signature), input validation with scikit-learn's messages,
label encoding, scores, tags, the training loop with mini-batches, early stopping and a progress
bar.  scikit-learn itself is not needed at run time."""
import inspect
import math
import numbers
import sys
import time
import warnings

import numpy as np

from ._weights import _check_sample_weight

__all__ = ["NotFittedError", "ConvergenceWarning", "BaseEstimator", "ClassifierMixin",
           "RegressorMixin", "ProgressBar"]


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needs a fitted estimator."""


_combined = {}


def _not_fitted_cls():
    """Our NotFittedError, also a subclass of scikit-learn's when scikit-learn is imported."""
    mod = sys.modules.get("sklearn.exceptions")
    sk = getattr(mod, "NotFittedError", None) if mod is not None else None
    if sk is None:
        return NotFittedError
    if sk not in _combined:
        _combined[sk] = type("NotFittedError", (NotFittedError, sk), {"__module__": __name__})
    return _combined[sk]


class ConvergenceWarning(UserWarning):
    """The optimizer stopped at max_iter before meeting its tolerance."""


class DataConversionWarning(UserWarning):
    """The input was converted (e.g. a column-vector y ravelled)."""


def _sk_warning(name, fallback):
    """Our warning class, also a subclass of scikit-learn's namesake when scikit-learn is
    already imported (so that filters on either class, and scikit-learn's checks, see it)."""
    mod = sys.modules.get("sklearn.exceptions")
    sk = getattr(mod, name, None) if mod is not None else None
    if sk is None:
        return fallback
    if sk not in _combined:
        _combined[sk] = type(name, (fallback, sk), {"__module__": __name__})
    return _combined[sk]


def _is_sparse(X):
    return hasattr(X, "tocsr") and hasattr(X, "nnz") or type(X).__module__.startswith("scipy.sparse")


def check_array(X, *, name="X", estimator=None, dtype=np.float64, ensure_2d=True,
                allow_nd=False, min_samples=1, min_features=1, force_finite=True):
    """X as a C-contiguous float array, with scikit-learn's error messages."""
    est = type(estimator).__name__ if estimator is not None else "this estimator"
    if X is None:
        raise ValueError(f"{est} requires {name} to be passed, but {name} is None "
                         "(Expected array-like (array or non-string sequence), got None)")
    if _is_sparse(X):
        raise TypeError(f"{est} does not support sparse input: sparse data was passed for "
                        f"{name}; convert it with X.toarray()")
    if hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        arr = np.asarray(X)
    else:
        arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{est}: {name} must hold numbers: argument must be a string or a "
                            f"real number, not an object that cannot be converted ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{est}: {name} must be numeric, got dtype {arr.dtype}")
    if ensure_2d:
        if arr.ndim == 0:
            raise ValueError(f"Expected 2D array, got scalar array instead: {name}={arr!r}. "
                             "Reshape your data.")
        if arr.ndim == 1:
            raise ValueError(f"Expected 2D array, got 1D array instead: {name} has shape "
                             f"{arr.shape}. Reshape your data either using array.reshape(-1, 1) "
                             "if your data has a single feature or array.reshape(1, -1) if it "
                             "contains a single sample.")
        if arr.ndim > 2 and not allow_nd:
            raise ValueError(f"Found array with dim {arr.ndim}; {est} expects a 2D {name}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    n = arr.shape[0] if arr.ndim else 1
    if n < min_samples:
        raise ValueError(f"Found array with {n} sample(s) (shape={arr.shape}) while a minimum of "
                         f"{min_samples} is required by {est}.")
    if arr.ndim == 2 and arr.shape[1] < min_features:
        raise ValueError(f"Found array with {arr.shape[1]} feature(s) (shape={arr.shape}) while "
                         f"a minimum of {min_features} is required by {est}.")
    if force_finite and arr.size and not np.isfinite(arr).all():
        kind = "NaN" if np.isnan(arr).any() else "infinity or a value too large"
        raise ValueError(f"Input {name} contains {kind} (inf and NaN are not allowed); "
                         f"{est} needs finite values")
    return arr


def _column_or_1d(y, est):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(_sk_warning("DataConversionWarning", DataConversionWarning)(
            "A column-vector y was passed when a 1d array was expected. Please change the shape "
            "of y to (n_samples, ), for example using ravel()."), stacklevel=3)
        return y.ravel()
    if y.ndim != 1:
        raise ValueError(f"{est}: y should be a 1d array, got an array of shape {y.shape} instead.")
    return y


def _feature_names(X):
    cols = getattr(X, "columns", None)
    if cols is None:
        return None
    names = np.asarray([c for c in cols], dtype=object)
    is_str = [isinstance(c, str) for c in names]
    if len(names) and all(is_str):
        return names
    if any(is_str):         # as scikit-learn: a mix of string and other names is refused
        types = sorted({type(c).__name__ for c in names})
        raise TypeError("Feature names are only supported if all input features have string "
                        f"names, but your input has {types} as feature name / column name "
                        "types. If you want feature names to be stored and validated, you must "
                        "convert them all to strings, by using X.columns = X.columns.astype(str) "
                        "for example. Otherwise you can remove feature / column names from your "
                        "input data, or convert them all to a non-string data type.")
    return None


class BaseEstimator:
    """get_params / set_params / repr from the ``__init__`` signature (scikit-learn's rules:
    ``__init__`` stores each argument unchanged under its own name and does nothing else)."""

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        names = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}: estimators may not take *args in __init__")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        """The constructor parameters as a dict."""
        out = {}
        for k in self._get_param_names():
            v = getattr(self, k)
            if deep and hasattr(v, "get_params") and not isinstance(v, type):
                for sk, sv in v.get_params().items():
                    out[f"{k}__{sk}"] = sv
            out[k] = v
        return out

    def set_params(self, **params):
        """Set constructor parameters; unknown names raise ValueError.  Returns self."""
        valid = self._get_param_names()
        for k, v in params.items():
            key, _, sub = k.partition("__")
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
            if sub:
                getattr(self, key).set_params(**{sub: v})
            else:
                setattr(self, key, v)
        return self

    def __repr__(self):
        sig = inspect.signature(type(self).__init__)
        parts = []
        for k in self._get_param_names():
            default = sig.parameters[k].default
            v = getattr(self, k, None)
            same = False
            try:
                same = v is default or (type(v) is type(default) and bool(v == default))
            except Exception:
                same = False
            if not same:
                parts.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, Tags, TargetTags
        return Tags(estimator_type=None, target_tags=TargetTags(required=True),
                    input_tags=InputTags())

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_features_in_")

    # ---- validation helpers
    def _check_fitted(self):
        if not hasattr(self, "n_features_in_"):
            raise _not_fitted_cls()(f"This {type(self).__name__} instance is not fitted yet. Call "
                                 "'fit' with appropriate arguments before using this estimator.")

    def _validate_X(self, X, reset):
        names = _feature_names(X)
        arr = check_array(X, estimator=self)
        if reset:
            self.n_features_in_ = arr.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            self._check_fitted()
            if arr.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {arr.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.n_features_in_} features as input.")
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and names is not None and list(names) != list(fitted):
                raise ValueError("The feature names should match those that were passed during "
                                 f"fit: got {list(names)}, expected {list(fitted)}")
            if fitted is not None and names is None:
                warnings.warn(f"X does not have valid feature names, but {type(self).__name__} "
                              "was fitted with feature names", UserWarning, stacklevel=3)
            if fitted is None and names is not None:
                warnings.warn(f"X has feature names, but {type(self).__name__} was fitted "
                              "without feature names", UserWarning, stacklevel=3)
        return arr

    def _check_common_params(self):
        """Validate the hyper-parameters shared by all estimators (ValueError, before fitting)."""
        def num(name, lo=None, lo_open=False, hi=None, integer=False, finite=True):
            if not hasattr(self, name):
                return
            v = getattr(self, name)
            typ = numbers.Integral if integer else numbers.Real
            if not isinstance(v, typ) or isinstance(v, bool):
                raise ValueError(f"{type(self).__name__}: {name} must be "
                                 f"{'an integer' if integer else 'a number'}, got {v!r}")
            # NaN passes every comparison below; an infinite step size or penalty turns the
            # weights into NaN (the optimizer's own message would name its lr / weight_decay)
            if math.isnan(v) or (finite and math.isinf(v)):
                raise ValueError(f"{type(self).__name__}: invalid {name}={v!r} (must be a "
                                 f"{'finite ' if finite else ''}number)")
            if lo is not None and (v <= lo if lo_open else v < lo) or (hi is not None and v > hi):
                raise ValueError(f"{type(self).__name__}: invalid {name}={v!r} (must be "
                                 f"{'>' if lo_open else '>='} {lo}"
                                 f"{'' if hi is None else f' and <= {hi}'})")
        num("alpha", 0.0)
        num("learning_rate_init", 0.0, lo_open=True)
        num("max_iter", 1, integer=True)
        num("tol", 0.0, finite=False)
        num("validation_fraction", 0.0, lo_open=True, hi=1.0)
        num("n_iter_no_change", 1, integer=True)
        num("momentum", 0.0, hi=1.0)
        if hasattr(self, "validation_fraction") and self.validation_fraction >= 1.0:
            raise ValueError(f"{type(self).__name__}: validation_fraction must be in (0, 1), "
                             f"got {self.validation_fraction}")
        for name in ("fit_intercept", "shuffle", "warm_start", "early_stopping",
                     "nesterovs_momentum"):
            v = getattr(self, name, True)
            if not isinstance(v, (bool, np.bool_)):
                raise ValueError(f"{type(self).__name__}: {name} must be a bool (True or False), "
                                 f"got {type(v).__name__} {v!r}")
        bs = getattr(self, "batch_size", "auto")
        if bs != "auto" and (not isinstance(bs, numbers.Integral) or isinstance(bs, bool) or bs < 1):
            raise ValueError(f"{type(self).__name__}: batch_size must be 'auto' or an integer "
                             f">= 1, got {bs!r}")


def _type_of_target(y):
    """'binary', 'multiclass', 'continuous', or 'unknown' (scikit-learn's names)."""
    if y.dtype == object:
        kinds = {type(v) for v in y.tolist()}
        if all(issubclass(k, str) for k in kinds):
            return "multiclass" if len(set(y.tolist())) > 2 else "binary"
        if all(issubclass(k, numbers.Integral) for k in kinds):
            return "multiclass" if len(set(y.tolist())) > 2 else "binary"
        return "unknown"
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            return "nonfinite"
        if np.any(y != np.round(y)):
            return "continuous"
    if y.dtype.kind not in "biufUS":
        return "unknown"
    return "multiclass" if len(np.unique(y)) > 2 else "binary"


class ClassifierMixin:
    """score = accuracy; label encoding into ``classes_``."""

    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags
        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags())

    def _encode_y(self, y, n, reset, classes=None, keep=None):
        """Labels as indices into ``classes_`` (set when ``reset``).  ``keep`` (a boolean mask
        or None) selects the rows that are fitted (those with a positive sample weight): only
        their labels make ``classes_`` when no ``classes`` are given, and only their indices
        are returned."""
        est = type(self).__name__
        if y is None:
            raise ValueError(f"{est} requires y to be passed, but the target y is None")
        if _is_sparse(y):
            raise TypeError(f"{est}: sparse y is not supported")
        y = _column_or_1d(y, est)
        if len(y) != n:
            raise ValueError(f"{est}: X has {n} samples but y has {len(y)} labels "
                             "(found input variables with inconsistent numbers of samples)")
        kind = _type_of_target(y)
        if kind == "nonfinite":
            raise ValueError(f"Input y contains NaN or infinity; {est} needs finite labels")
        if kind in ("continuous", "unknown"):
            raise ValueError(f"Unknown label type: {kind!r}. {est} is a classifier and needs "
                             "discrete class labels (integers or strings), not a continuous target")
        own_classes = reset and classes is None
        if keep is not None and own_classes:
            y = y[keep]
        if reset:
            cls = np.unique(np.asarray(classes)) if classes is not None else np.unique(y)
            if len(cls) < 2:
                where = "" if keep is None else " (among the samples with a positive weight)"
                raise ValueError(f"{est} needs samples of at least 2 classes in the data, but "
                                 f"the data contains only one class{where}: "
                                 f"{cls.tolist()[0]!r}")
            self.classes_ = cls
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[idx] == y):
            bad = y[self.classes_[idx] != y][0]
            raise ValueError(f"{est}: label {np.asarray(bad).tolist()!r} is not one of the "
                             f"classes {self.classes_.tolist()}")
        if keep is not None and not own_classes:
            idx = idx[keep]
        return idx.astype(np.int64)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y``."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}.score: y has shape {y.shape} but X has "
                             f"{len(pred)} samples (found input variables with inconsistent "
                             "numbers of samples)")
        ok = (pred == y).astype(np.float64)
        if sample_weight is not None:
            w = _check_sample_weight(sample_weight, len(y), self)
            return float(np.sum(ok * w) / np.sum(w))
        return float(ok.mean())


class RegressorMixin:
    """score = coefficient of determination R^2."""

    _estimator_type = "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags
        return Tags(estimator_type="regressor",
                    target_tags=TargetTags(required=True, multi_output=True,
                                           single_output=True),
                    regressor_tags=RegressorTags(), input_tags=InputTags())

    def score(self, X, y, sample_weight=None):
        """R^2 = 1 - SS_res / SS_tot (averaged uniformly over outputs)."""
        pred = np.asarray(self.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        y_shape = y.shape
        if y.ndim == 1:
            y = y[:, None]
        if pred.ndim == 1:
            pred = pred[:, None]
        if y.ndim != 2 or y.shape != pred.shape:
            raise ValueError(f"{type(self).__name__}.score: y has shape {y_shape} but the "
                             f"predictions for X have shape {pred.shape} (inconsistent numbers "
                             "of samples or outputs)")
        w = None if sample_weight is None else _check_sample_weight(sample_weight, len(y), self)
        return _r2_score(y, pred, w)


def _r2_score(y, pred, w=None):
    """R^2 of 2-d y and pred (weighted by w when given), averaged uniformly over the outputs;
    a constant target scores 1 when predicted exactly, else 0 (scikit-learn's r2_score)."""
    w = np.ones(len(y)) if w is None else w
    w = w[:, None]
    ss_res = np.sum(w * (y - pred) ** 2, axis=0)
    ss_tot = np.sum(w * (y - np.average(y, axis=0, weights=w[:, 0])) ** 2, axis=0)
    r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1),
                  np.where(ss_res > 0, 0.0, 1.0))
    return float(np.mean(r2))


class ProgressBar:
    """A tqdm-style progress line on stderr: ``epoch 12/50 [#####.....] loss 0.1234 1.2s``."""

    def __init__(self, total, enabled=True, width=30, stream=None, desc="epoch"):
        self.total, self.enabled, self.width = total, enabled, width
        self.stream = stream if stream is not None else sys.stderr
        self.desc = desc
        self.t0 = time.perf_counter()

    def update(self, i, **fields):
        if not self.enabled:
            return
        frac = min(1.0, i / max(self.total, 1))
        fill = int(round(frac * self.width))
        bar = "#" * fill + "." * (self.width - fill)
        extra = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in fields.items())
        el = time.perf_counter() - self.t0
        self.stream.write(f"\r{self.desc} {i}/{self.total} [{bar}] {extra} {el:.1f}s")
        self.stream.flush()

    def close(self):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _rng(random_state):
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2 ** 31 - 1))
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    raise ValueError(f"random_state must be None, an int, or a numpy RandomState/Generator, "
                     f"got {random_state!r}")


def _train_val_split(n, fraction, rng, stratify=None):
    """Indices (train, validation) with ``fraction`` of the samples held out (at least one)."""
    n_val = max(1, int(math.ceil(fraction * n)))
    if n - n_val < 1:
        raise ValueError(f"early_stopping: with n_samples={n}, validation_fraction={fraction} "
                         "leaves no training samples")
    perm = rng.permutation(n)
    if stratify is None:
        return perm[n_val:], perm[:n_val]
    # stratified (scikit-learn's classifiers): each class keeps its share of the held-out
    # samples, the rounding remainder going to the classes with the largest fractional parts
    _, inv, counts = np.unique(np.asarray(stratify)[perm], return_inverse=True,
                               return_counts=True)
    quota = n_val * counts / n
    take = np.floor(quota).astype(np.int64)
    order = np.argsort(take - quota, kind="stable")
    take[order[:n_val - int(take.sum())]] += 1
    rank = np.empty(n, dtype=np.int64)
    for k in range(len(counts)):
        members = np.flatnonzero(inv == k)
        rank[members] = np.arange(len(members))
    held = rank < take[inv]
    return perm[~held], perm[held]
