"""Losses over classes: nll_loss and cross_entropy.

Both take PyTorch's arguments: per-class ``weight``, ``ignore_index``, and (cross_entropy)
``label_smoothing`` and probability targets, for inputs (N, C), (C,) or (N, C, d1, ...).  The
plain case (integer labels, no weight, nothing ignored, no smoothing) of cross_entropy is the
fused C op (log-softmax and the pick of the target entry in one pass per row, one tape node).
"""
import operator

import numpy as np

from .. import _core
from .._core import Tensor
from ._loss_common import _as_tensor, _check_reduction, _legacy_args, _real_arg, _target_like

__all__ = ["nll_loss", "cross_entropy"]


def _index_arg(value, name, arg):
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: {arg} must be an integer, got {type(value).__name__} "
                        f"{value!r}") from None


def _labels(target, n, c, name, ignore_index):
    """Class labels as int64 (n,) and the mask of the entries that count (None when all do).

    Ignored entries are replaced by 0, a valid index, so that a gather can read them; their
    loss is masked out afterwards."""
    if isinstance(target, Tensor):
        arr = target.numpy()
        if arr.size and not np.all(arr == np.round(arr)):
            raise TypeError(f"{name}: float target tensor of shape {arr.shape} does not hold "
                            "integer class labels")
    else:
        arr = np.asarray(target)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: class labels must be integers, got dtype {arr.dtype}")
        if arr.dtype.kind == "f" and arr.size and not np.all(arr == np.round(arr)):
            raise TypeError(f"{name}: target of dtype {arr.dtype} does not hold integer class labels")
    y = arr.astype(np.int64, copy=False).reshape(-1) if arr.ndim <= 1 else None
    if y is None or y.shape[0] != n:
        raise ValueError(f"{name}: expected {n} class labels (one per row of the input), "
                         f"got target of shape {arr.shape}")
    keep = None
    if n and (y.min() < 0 or y.max() >= c or 0 <= ignore_index < c):
        ignored = y == ignore_index
        bad = ~ignored & ((y < 0) | (y >= c))
        if bad.any():
            raise IndexError(f"{name}: class label {y[bad][0]} is out of range for {c} classes "
                             f"(and is not ignore_index={ignore_index})")
        if ignored.any():
            keep = ~ignored
            y = np.where(ignored, 0, y)
    return y, keep


def _class_weight(weight, c, dtype, name):
    """The per-class ``weight`` as a numpy array of shape (c,) in the input's dtype."""
    if weight is None:
        return None
    if isinstance(weight, Tensor):
        if weight.requires_grad:
            raise TypeError(f"{name}: weight requires grad, but gradients with respect to the "
                            "class weights are not supported (pass weight.detach())")
        arr = weight.numpy()
    else:
        arr = np.asarray(weight)
        if arr.dtype.kind not in "biuf":
            hint = " (pass reduction= by keyword)" if isinstance(weight, str) else ""
            raise TypeError(f"{name}: weight must be a numeric array of one weight per class, got "
                            f"{type(weight).__name__} {weight!r}{hint}")
    if arr.shape != (c,):
        raise ValueError(f"{name}: weight must hold one entry per class, shape ({c},), got shape "
                         f"{arr.shape}")
    return np.asarray(arr, dtype=dtype)


def _is_prob_target(target, x):
    shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(shape) != tuple(x.shape):
        return False
    if isinstance(target, Tensor):
        return True
    return np.asarray(target).dtype.kind == "f"


def _class_rows(x, name):
    """Rows of class scores (M, C) and the shape of the per-element losses."""
    if x.ndim == 1:
        return _core.reshape(x, (1, x.shape[0])), ()
    if x.ndim == 2:
        return x, (x.shape[0],)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have shape (N, C), (C,) or (N, C, d1, ...), "
                         f"got {x.shape}")
    # PyTorch's K-dimensional form: classes on axis 1
    from ..manipulation import moveaxis
    return (_core.reshape(moveaxis(x, 1, -1), (-1, x.shape[1])),
            (x.shape[0],) + tuple(x.shape[2:]))


def _prob_rows(t, x):
    """A probability target of the input's shape laid out as the rows of _class_rows."""
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    if x.ndim > 2:
        if isinstance(t, Tensor):
            from ..manipulation import moveaxis
            t = moveaxis(t, 1, -1)
        else:
            t = np.moveaxis(t, 1, -1)
    return _core._reshape(t, (-1, c)) if isinstance(t, Tensor) else np.reshape(t, (-1, c))


def _label_vector(target, x, out_shape, name, probs):
    """Integer labels flattened in the order of the rows of _class_rows.  A target of another
    shape raises ValueError naming the shapes it may have: class labels or, where ``probs``
    (cross_entropy), probabilities of the input's shape."""
    arr = target.numpy() if isinstance(target, Tensor) else np.asarray(target)
    alt = f" or probabilities of the input's shape {x.shape}" if probs else ""
    if x.ndim > 2:
        if arr.shape != out_shape:
            raise ValueError(f"{name}: input of shape {x.shape} needs a target of class labels "
                             f"of shape {out_shape}{alt}, got {arr.shape}")
        return target.reshape(-1) if isinstance(target, Tensor) else arr.reshape(-1)
    if x.ndim == 1:
        if arr.size != 1 or arr.ndim > 1:
            raise ValueError(f"{name}: expected 1 class label (a scalar, for an input of shape "
                             f"{x.shape}){alt}, got target of shape {arr.shape}")
        return target.reshape(-1) if isinstance(target, Tensor) else arr.reshape(-1)
    n = x.shape[0]
    if arr.ndim > 1 or arr.size != n:
        raise ValueError(f"{name}: expected {n} class labels (shape ({n},), one per row of the "
                         f"input){alt}, got target of shape {arr.shape}")
    return target


def _finish(per, shape, reduction, denom):
    """Apply the reduction; ``denom`` (None: the element count) divides the sum for 'mean'."""
    if reduction == "none":
        return _core._reshape(per, shape)
    if reduction == "sum":
        return _core.sum(per)
    if denom is None:
        return _core.mean(per)
    total = _core.sum(per)
    if denom == 0:  # PyTorch: 0 / 0 (every target ignored, or all-zero weights) is NaN
        return total * 0.0 + float("nan")
    return total * (1.0 / denom)


def _class_loss(name, input, target, weight, ignore_index, reduction, label_smoothing, logits,
                size_average=None, reduce=None):
    _legacy_args(name, size_average, reduce)
    _check_reduction(reduction, name)
    ignore_index = _index_arg(ignore_index, name, "ignore_index")
    x = _as_tensor(input, name, "input")
    rows, shape = _class_rows(x, name)
    m, c = rows.shape
    w = _class_weight(weight, c, x.dtype, name)
    s = label_smoothing
    if not isinstance(target, Tensor):
        target = np.asarray(target)   # once: the helpers below read it several times

    if logits and _is_prob_target(target, x):
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index={ignore_index} is not supported with "
                             "probability targets")
        t = _prob_rows(_target_like(target, x, name), x)
        if s:
            t = t * (1.0 - s) + s / c
        if w is not None:
            t = t * w
        per = -_core.sum(_core.log_softmax(rows, -1) * t, -1)
        return _finish(per, shape, reduction, None)

    y, keep = _labels(_label_vector(target, x, shape, name, logits), m, c, name, ignore_index)
    if logits and not s:
        nll = _core._cross_entropy_int(rows, y)
        if w is None and keep is None:
            return _finish(nll, shape, reduction, None)  # the fast path
    else:
        logp = _core.log_softmax(rows, -1) if logits else rows
        nll = -logp[np.arange(m), y]
    wy = None if w is None else w[y]
    per = nll if wy is None else nll * wy
    if s:
        smooth = -_core.sum(logp if w is None else logp * w, -1)
        per = per * (1.0 - s) + smooth * (s / c)
    if keep is not None:
        # where, not a product with 0: an ignored row may read an infinite log-probability
        per = _core.where(keep.astype(x.dtype), per, 0.0)
    if reduction != "mean":
        return _finish(per, shape, reduction, None)
    if wy is None:
        denom = m if keep is None else int(keep.sum())
    else:
        denom = float(wy.sum() if keep is None else wy[keep].sum())
    return _finish(per, shape, reduction, denom)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood ``-weight[y] * input[n, y]`` of log-probabilities ``input``.

    Parameters
    ----------
    input : Tensor of shape (N, C), (C,) or (N, C, d1, ...)
        Log-probabilities, classes on axis 1 (on axis 0 for a single sample).
    target : integer class labels of shape (N,) (or (N, d1, ...); a scalar for one sample)
    weight : array_like of shape (C,), optional
        A rescaling weight per class (gets no gradient).
    size_average, reduce : None
        PyTorch's deprecated arguments, kept for its positional order only; anything but None
        raises TypeError (pass ``reduction``).
    ignore_index : int
        Entries whose label is ``ignore_index`` contribute neither loss nor gradient.
    reduction : {"mean", "sum", "none"}
        "mean" divides the sum by the total weight ``sum weight[y]`` of the counted entries
        (by their number without ``weight``), as PyTorch does; NaN when that is 0.

    Examples
    --------
    >>> import autograd_c as ag
    >>> lp = ag.log_softmax(ag.tensor([[0.0, 0.0]]))
    >>> round(float(ag.nn.functional.nll_loss(lp, [1])), 4)
    0.6931
    >>> lp = ag.tensor([[-1.0, -2.0], [-3.0, -4.0]])
    >>> float(ag.nn.functional.nll_loss(lp, [0, 1], weight=[1.0, 3.0]))  # (1 + 12) / 4
    3.25
    """
    return _class_loss("nll_loss", input, target, weight, ignore_index, reduction, 0.0, False,
                       size_average, reduce)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Cross-entropy between softmax(input) over the classes and the target.

    Parameters
    ----------
    input : Tensor of shape (N, C), (C,) or (N, C, d1, ...) (classes on axis 1, as in PyTorch)
        Unnormalised logits.
    target : integer class labels of shape (N,) (or (N, d1, ...)), or class probabilities of
        the input's shape (a float array or a Tensor)
    weight : array_like of shape (C,), optional
        A rescaling weight per class (gets no gradient).
    size_average, reduce : None
        PyTorch's deprecated arguments, kept for its positional order only; anything but None
        raises TypeError (pass ``reduction``).
    ignore_index : int
        Entries whose label is ``ignore_index`` contribute neither loss nor gradient (labels
        only; a non-negative value with probability targets is an error, as in PyTorch).
    reduction : {"mean", "sum", "none"}
        With labels, "mean" divides by the total weight ``sum weight[y]`` of the counted
        entries (NaN when that is 0); with probabilities, by the number of entries.
    label_smoothing : float in [0, 1]
        Mix the target with the uniform distribution: (1 - s) * target + s / C.

    Examples
    --------
    >>> import autograd_c as ag
    >>> logits = ag.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    >>> loss = ag.nn.functional.cross_entropy(logits, [0])
    >>> round(float(loss), 4)
    0.1698
    >>> float(ag.nn.functional.cross_entropy(ag.zeros(2, 3), [0, -100]))  # one row ignored
    1.0986123085021973
    """
    if (weight is None and size_average is None and reduce is None
            and type(target) is np.ndarray and target.ndim == 1
            and target.dtype.kind in "iu" and isinstance(input, Tensor) and input.ndim == 2
            and input.shape[0] and type(ignore_index) is int and ignore_index < 0
            and type(label_smoothing) in (int, float) and label_smoothing == 0
            and type(reduction) is str and reduction in _FAST_REDUCE):
        # the common call, without the argument plumbing of the general path (~1.4 us of a
        # ~10 us loss for a (64, 10) batch): the fused C op checks the labels; one out of range
        # (or an ignored one) or a wrong count goes to the general path, which handles it
        try:
            return _FAST_REDUCE[reduction](_core._cross_entropy_int(input, target))
        except (IndexError, ValueError):
            pass
    return _class_loss("cross_entropy", input, target, weight, ignore_index, reduction,
                       _smoothing_arg(label_smoothing, "cross_entropy"), True, size_average,
                       reduce)


_FAST_REDUCE = {"mean": _core.mean, "sum": _core.sum, "none": lambda per: per}


def _smoothing_arg(s, name):
    s = _real_arg(s, name, "label_smoothing")
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {s}")
    return s
