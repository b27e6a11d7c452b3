"""Sample and class weights with scikit-learn's semantics: validation of ``sample_weight``, the
``class_weight`` vector ("balanced" or a dict), and the rows a fit keeps (those with a positive
weight, so that a zero weight is the same as removing the row)."""
import numbers

import numpy as np

__all__ = ["_check_sample_weight", "_class_weights", "_fitted_rows"]


def _check_sample_weight(sample_weight, n, estimator):
    """sample_weight as a new float64 vector of n finite, non-negative weights, not all zero.

    A scalar is one weight for every sample.  Raises ValueError naming the problem (shape, NaN
    or infinity, negative values, all zero) with the offending values."""
    est = type(estimator).__name__
    raw = np.asarray(sample_weight)
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"{est}: sample_weight must hold real numbers, got dtype {raw.dtype}")
    w = np.array(raw, dtype=np.float64)          # a copy: the caller's array is never changed
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"{est}: sample_weight has shape {w.shape}, expected ({n},) "
                         "(one weight per sample)")
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise ValueError(f"{est}: sample_weight contains NaN or infinity ({bad.size} value(s), "
                         f"first sample_weight[{bad[0]}] = {w[bad[0]]}); weights must be finite")
    bad = np.flatnonzero(w < 0)
    if bad.size:
        raise ValueError(f"{est}: sample_weight contains {bad.size} negative value(s) (first "
                         f"sample_weight[{bad[0]}] = {w[bad[0]]}); weights must be >= 0")
    if n and not w.sum() > 0:
        raise ValueError(f"{est}: all {n} sample weights are zero; at least one weight must be "
                         "positive")
    return w


def _check_class_weight_param(class_weight, est, incremental):
    """Refuse a class_weight that is neither None, "balanced" nor a dict of weights >= 0."""
    if class_weight is None:
        return
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"{est}: class_weight must be None, 'balanced' or a dict, got "
                             f"{class_weight!r}")
        if incremental:
            raise ValueError(f"{est}: class_weight='balanced' is not supported by partial_fit "
                             "(one batch does not show the class frequencies); compute the "
                             "weights on all the data, e.g. with sklearn.utils.class_weight."
                             "compute_class_weight, and pass them as a dict")
        return
    if not isinstance(class_weight, dict):
        raise ValueError(f"{est}: class_weight must be None, 'balanced' or a dict "
                         f"{{label: weight}}, got {type(class_weight).__name__}")
    for k, v in class_weight.items():
        if not isinstance(v, numbers.Real) or isinstance(v, bool) or not np.isfinite(v) or v < 0:
            raise ValueError(f"{est}: class_weight[{k!r}] = {v!r}; class weights must be "
                             "finite numbers >= 0")


def _class_weights(class_weight, classes, idx, sw, est, incremental=False):
    """One weight per class of ``classes`` (a vector of length n_classes).

    ``idx`` are the encoded labels of the fitted rows and ``sw`` their sample weights (or None).
    "balanced" gives sum(sw) / (n_classes * weighted count of each class), which is
    n_samples / (n_classes * bincount(y)) without sample weights (scikit-learn's formula).  A
    dict key that is not one of ``classes`` raises ValueError."""
    _check_class_weight_param(class_weight, est, incremental)
    k = len(classes)
    if class_weight is None:
        return np.ones(k)
    if isinstance(class_weight, str):
        counts = np.bincount(idx, weights=sw, minlength=k).astype(np.float64)
        present = counts > 0
        out = np.ones(k)
        out[present] = counts.sum() / (np.count_nonzero(present) * counts[present])
        return out
    known = {c: i for i, c in enumerate(classes.tolist())}
    unknown = [c for c in class_weight if c not in known]
    if unknown:
        raise ValueError(f"{est}: class_weight has the label(s) {unknown}, which are not classes "
                         f"of y (classes: {list(classes.tolist())})")
    out = np.ones(k)
    for c, v in class_weight.items():
        out[known[c]] = float(v)
    return out


def _fitted_rows(w, est, after=""):
    """(weights of the fitted rows or None, their indices or None) for the weights ``w``.

    Rows with weight 0 are left out (the same as removing them), so that mini-batches and
    class counts only see the others; all-one weights become None (the unweighted fit).
    All-zero weights raise ValueError."""
    if w is None:
        return None, None
    rows = np.flatnonzero(w > 0)
    if rows.size == 0:
        raise ValueError(f"{est}: all {len(w)} sample weights are zero{after}; at least one "
                         "weight must be positive")
    if rows.size < len(w):
        w = w[rows]
    else:
        rows = None
    return (None if np.all(w == 1.0) else w), rows

