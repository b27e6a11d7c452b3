"""Loss functions (functional forms) and their Module wrappers.

Every loss takes ``reduction`` in {"mean", "sum", "none"}.  Cross-entropy is built on the fused C
log-softmax (stable for logits of any magnitude) followed by one gather of the target entries.
"""
import numpy as np

from .. import _core
from .._core import Tensor
from .module import Module

__all__ = ["mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "hinge_loss",
           "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "HingeLoss"]

_REDUCTIONS = ("mean", "sum", "none")
# PyTorch's floor on p (1 - p) in the gradient of binary_cross_entropy
_BCE_EPS = 1e-12


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return _core.mean(loss)
    if reduction == "sum":
        return _core.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as_tensor(x, name, arg):
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {arg} must be numeric, got dtype {arr.dtype}")
    return _core.tensor(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32)


def _target_like(target, inp, name):
    """Target as an array/tensor of the input's dtype and shape (checked)."""
    if isinstance(target, Tensor):
        t = target if target.dtype == inp.dtype else target.astype(inp.dtype)
        shape = t.shape
    else:
        arr = np.asarray(target)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: target must be numeric, got dtype {arr.dtype}")
        t = np.asarray(arr, dtype=inp.dtype, order="C")  # 0-d stays 0-d
        shape = t.shape
    if shape != inp.shape:
        raise ValueError(f"{name}: input has shape {inp.shape} but target has shape {shape}; "
                         "they must match")
    return t


def _weight_like(w, x, name, arg):
    """A ``weight`` / ``pos_weight`` in the input's dtype (a Tensor keeps its graph), checked to
    broadcast to the input's shape without enlarging it."""
    shape = tuple(w.shape) if isinstance(w, Tensor) else np.shape(w)
    try:
        ok = np.broadcast_shapes(shape, tuple(x.shape)) == tuple(x.shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name}: {arg} of shape {shape} does not broadcast to the input's "
                         f"shape {x.shape}")
    if isinstance(w, Tensor):
        return w if w.dtype == x.dtype else w.astype(x.dtype)
    return np.asarray(w, dtype=x.dtype)


def mse_loss(input, target, reduction="mean"):
    """Squared error (input - target)^2.

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.functional.mse_loss(ag.tensor([1.0, 2.0]), [0.0, 0.0]))
    2.5
    """
    x = _as_tensor(input, "mse_loss", "input")
    d = x - _target_like(target, x, "mse_loss")
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Absolute error |input - target|.

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.functional.l1_loss(ag.tensor([1.0, -3.0]), [0.0, 0.0]))
    2.0
    """
    x = _as_tensor(input, "l1_loss", "input")
    return _reduce(_core.abs(x - _target_like(target, x, "l1_loss")), reduction, "l1_loss")


def _class_indices(target, n, c, name):
    """Integer class labels as an int64 array of length n with values in [0, c)."""
    if isinstance(target, Tensor):
        arr = target.numpy()
        if arr.size and not np.all(arr == np.round(arr)):
            raise TypeError(f"{name}: float target tensor of shape {arr.shape} does not hold "
                            "integer class labels")
    else:
        arr = np.asarray(target)
        if arr.dtype.kind == "f" and arr.size and not np.all(arr == np.round(arr)):
            raise TypeError(f"{name}: target of dtype {arr.dtype} does not hold integer class labels")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: class labels must be integers, got dtype {arr.dtype}")
    y = arr.astype(np.int64, copy=False).reshape(-1) if arr.ndim <= 1 else None
    if y is None or y.shape[0] != n:
        raise ValueError(f"{name}: expected {n} class labels (one per row of the input), "
                         f"got target of shape {arr.shape}")
    if n and (y.min() < 0 or y.max() >= c):
        bad = y[(y < 0) | (y >= c)][0]
        raise IndexError(f"{name}: class label {bad} is out of range for {c} classes")
    return y


def _class_last(x, target, name):
    """PyTorch's K-dimensional form: logits (N, C, d1, ...) become rows (N*d1*..., C), a label
    target (N, d1, ...) a flat vector, a probability target (N, C, d1, ...) rows like the
    input.  Returns (rows, target, shape of the per-element losses)."""
    from ..manipulation import moveaxis
    c = x.shape[1]
    out_shape = (x.shape[0],) + tuple(x.shape[2:])
    rows = _core.reshape(moveaxis(x, 1, -1), (-1, c))
    tshape = tuple(target.shape if isinstance(target, Tensor) else np.shape(target))
    if tshape == tuple(x.shape):
        if isinstance(target, Tensor):
            target = _core.reshape(moveaxis(target, 1, -1), (-1, c))
        else:
            target = np.moveaxis(np.asarray(target), 1, -1).reshape(-1, c)
    elif tshape == out_shape:
        target = np.reshape(target.numpy() if isinstance(target, Tensor) else target, (-1,))
    else:
        raise ValueError(f"{name}: input of shape {x.shape} needs a target of class labels of "
                         f"shape {out_shape} or of probabilities of shape {x.shape}, got "
                         f"{tshape}")
    return rows, target, out_shape


def _rows(x, name):
    if x.ndim == 1:
        return _core.reshape(x, (1, x.shape[0])), True
    if x.ndim != 2:
        raise ValueError(f"{name}: input must have shape (N, C), (C,) or (N, C, d1, ...), "
                         f"got {x.shape}")
    return x, False


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood -input[i, target[i]] for log-probabilities ``input`` (N, C).

    Examples
    --------
    >>> import autograd_c as ag
    >>> lp = ag.log_softmax(ag.tensor([[0.0, 0.0]]))
    >>> round(float(ag.nn.functional.nll_loss(lp, [1])), 4)
    0.6931
    """
    x = _as_tensor(input, "nll_loss", "input")
    if x.ndim > 2:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        rows, t, shape = _class_last(x, target, "nll_loss")
        per = nll_loss(rows, t, "none")
        return _reduce(_core.reshape(per, shape), reduction, "nll_loss")
    x2, single = _rows(x, "nll_loss")
    n, c = x2.shape
    y = _class_indices(target if not single else np.reshape(np.asarray(
        target.numpy() if isinstance(target, Tensor) else target), (1,)), n, c, "nll_loss")
    picked = -x2[np.arange(n), y]
    if single and reduction == "none":
        picked = _core.reshape(picked, ())
    return _reduce(picked, reduction, "nll_loss")


def cross_entropy(input, target, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between softmax(input) and the target along the last axis.

    Parameters
    ----------
    input : Tensor of shape (N, C), (C,) or (N, C, d1, ...) (classes on axis 1, as in PyTorch)
        Unnormalised logits.
    target : integer class labels of shape (N,) (or (N, d1, ...)), or class probabilities of
        the input's shape
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]
        Mix the target with the uniform distribution: (1 - s) * target + s / C.

    Examples
    --------
    >>> import autograd_c as ag
    >>> logits = ag.tensor([[2.0, 0.0, -1.0]], requires_grad=True)
    >>> loss = ag.nn.functional.cross_entropy(logits, [0])
    >>> round(float(loss), 4)
    0.1698
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    x = _as_tensor(input, "cross_entropy", "input")
    if x.ndim > 2:
        rows, t, shape = _class_last(x, target, "cross_entropy")
        per = cross_entropy(rows, t, "none", label_smoothing)
        return _reduce(_core.reshape(per, shape), reduction, "cross_entropy")
    x2, single = _rows(x, "cross_entropy")
    n, c = x2.shape
    probs = _is_prob_target(target, x)
    if not probs and not label_smoothing:
        # integer labels: the fused C op (log-softmax + NLL in one pass per row, one tape node)
        y = _class_indices(np.reshape(target.numpy() if isinstance(target, Tensor) else target, (-1,))
                           if single else target, n, c, "cross_entropy")
        per = _core._cross_entropy_int(x2, y)
        if single:
            per = _core.reshape(per, ())
        return _reduce(per, reduction, "cross_entropy")
    logp = _core.log_softmax(x2, -1)
    if probs:
        t = _target_like(target, x, "cross_entropy")
        if single:
            t = _core.reshape(t, (1, c)) if isinstance(t, Tensor) else t.reshape(1, c)
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / c
        per = -_core.sum(logp * t, -1)
    else:
        y = _class_indices(np.reshape(target.numpy() if isinstance(target, Tensor) else target, (-1,))
                           if single else target, n, c, "cross_entropy")
        per = -logp[np.arange(n), y]
        if label_smoothing:
            per = per * (1.0 - label_smoothing) - _core.mean(logp, -1) * label_smoothing
    if single:
        per = _core.reshape(per, ())
    return _reduce(per, reduction, "cross_entropy")


def _is_prob_target(target, x):
    shape = target.shape if isinstance(target, Tensor) else np.shape(target)
    if tuple(shape) != tuple(x.shape):
        return False
    if isinstance(target, Tensor):
        return True
    return np.asarray(target).dtype.kind == "f"


def binary_cross_entropy_with_logits(input, target, reduction="mean", pos_weight=None,
                                     weight=None):
    """-[w_p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], computed stably as
    (1 - t) x + (1 + (w_p - 1) t) softplus(-x).

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.functional.binary_cross_entropy_with_logits(ag.tensor([1e4]), [1.0]))
    0.0
    """
    x = _as_tensor(input, "binary_cross_entropy_with_logits", "input")
    t = _target_like(target, x, "binary_cross_entropy_with_logits")
    sp = _core.softplus(-x)
    if pos_weight is None:
        loss = (1.0 - t) * x + sp if not isinstance(t, Tensor) else x - x * t + sp
    else:
        pw = _weight_like(pos_weight, x, "binary_cross_entropy_with_logits", "pos_weight")
        lw = (pw - 1.0) * t + 1.0
        loss = x - x * t + sp * lw
    if weight is not None:
        loss = loss * _weight_like(weight, x, "binary_cross_entropy_with_logits", "weight")
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def binary_cross_entropy(input, target, reduction="mean", weight=None):
    """-[t log p + (1 - t) log(1 - p)] for probabilities ``input``; each log is clamped at -100
    (PyTorch's convention) so that p = 0 or 1 gives a finite loss.

    The gradient with respect to p is (p - t) / max(p (1 - p), 1e-12), as in PyTorch, so it
    stays finite at p = 0 or 1 (and for a sigmoid output that rounded to 0 or 1).

    Examples
    --------
    >>> import autograd_c as ag
    >>> round(float(ag.nn.functional.binary_cross_entropy(ag.tensor([0.5]), [1.0])), 4)
    0.6931
    """
    x = _as_tensor(input, "binary_cross_entropy", "input")
    v = x.numpy()
    if v.size and not (np.all(v >= 0) and np.all(v <= 1)):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] "
                         "(use binary_cross_entropy_with_logits for logits)")
    t = _target_like(target, x, "binary_cross_entropy")
    # Where p (1 - p) >= eps, -(t log p + (1 - t) log1p(-p)) has exactly the wanted gradient
    # (and higher derivatives), and its logs are >= log(eps) > -100, so no clamp is needed.
    # Elsewhere (p near 0 or 1) the clamped logs of the values give the loss, and the gradient
    # (p - t) / eps comes from the quadratic (p - p0)(p + p0 - 2t) / (2 eps), which is exactly 0
    # at p = p0 (p's own values, detached): its derivative in p is (p - t) / eps and in t is 0,
    # its second derivative in p is 1 / eps, i.e. that of PyTorch's linear backward.  Composing
    # log(p) there instead would give a backward of 0 * inf = NaN through the clamp.
    # Limitations at the edge: PyTorch's double backward also differentiates its floored
    # denominator (so its second derivative there differs from 1 / eps), and its gradient in a
    # target tensor uses unclamped logs (+-inf at p = 0 or 1) where this one uses the clamped
    # logs of the loss value (finite).
    eps = _BCE_EPS
    safe = (1.0 - v) * v >= v.dtype.type(eps)
    if safe.all():
        loss = -(t * _core.log(x) + (1.0 - t) * _core.log1p(-x))
    else:
        with np.errstate(divide="ignore"):
            a = np.where(safe, 0.0, -np.maximum(np.log(v), -100.0)).astype(v.dtype)
            b = np.where(safe, 0.0, -np.maximum(np.log1p(-v), -100.0)).astype(v.dtype)
        p0 = x.detach()
        edge = t * a + (1.0 - t) * b + (x - p0) * (x + p0 - 2.0 * t) * (0.5 / eps)
        # the log branch reads 0.5 where it is not used, so its (discarded) gradient is finite
        ps = _core.where(safe.astype(v.dtype), x, 0.5)
        inner = -(t * _core.log(ps) + (1.0 - t) * _core.log1p(-ps))
        loss = _core.where(safe.astype(v.dtype), inner, edge)
    if weight is not None:
        loss = loss * _weight_like(weight, x, "binary_cross_entropy", "weight")
    return _reduce(loss, reduction, "binary_cross_entropy")


def hinge_loss(input, target, reduction="mean", margin=1.0):
    """max(0, margin - y * s) for scores ``input`` s and labels y in {-1, +1} (0 is read as -1):
    the loss of the linear classifier sign(w^T x + b).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.nn.functional.hinge_loss(ag.tensor([2.0, 0.5, -1.0]), [1, 1, 1], reduction="none")
    tensor([0. , 0.5, 2. ])
    """
    x = _as_tensor(input, "hinge_loss", "input")
    y = np.asarray(target.numpy() if isinstance(target, Tensor) else target)
    if y.shape != x.shape:
        raise ValueError(f"hinge_loss: input has shape {x.shape} but target has shape {y.shape}")
    if y.size and not np.all(np.isin(y, (-1, 0, 1))):
        raise ValueError("hinge_loss: target labels must be -1/+1 (or 0/1)")
    ys = np.where(y > 0, 1.0, -1.0).astype(x.dtype)
    return _reduce(_core.relu(margin - x * ys), reduction, "hinge_loss")


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"

    def _set_weight(self, name, w):
        # a Tensor weight is a buffer, as in PyTorch: saved in state_dict, never a parameter
        if w is None or isinstance(w, Tensor):
            self.register_buffer(name, w)
        else:
            setattr(self, name, w)


class MSELoss(_Loss):
    """Module form of :func:`mse_loss`."""

    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Module form of :func:`l1_loss`."""

    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Module form of :func:`cross_entropy`."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.label_smoothing = label_smoothing

    def extra_repr(self):
        return f"{super().extra_repr()}, label_smoothing={self.label_smoothing}"

    def forward(self, input, target):
        return cross_entropy(input, target, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    """Module form of :func:`nll_loss`."""

    def forward(self, input, target):
        return nll_loss(input, target, self.reduction)


class BCELoss(_Loss):
    """Module form of :func:`binary_cross_entropy` (``weight``: per-element rescaling)."""

    def __init__(self, reduction="mean", weight=None):
        super().__init__(reduction)
        self._set_weight("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.reduction, self.weight)


class BCEWithLogitsLoss(_Loss):
    """Module form of :func:`binary_cross_entropy_with_logits`."""

    def __init__(self, reduction="mean", pos_weight=None, weight=None):
        super().__init__(reduction)
        self._set_weight("pos_weight", pos_weight)
        self._set_weight("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.reduction, self.pos_weight,
                                                self.weight)


class HingeLoss(_Loss):
    """Module form of :func:`hinge_loss`."""

    def __init__(self, reduction="mean", margin=1.0):
        super().__init__(reduction)
        self.margin = margin

    def extra_repr(self):
        return f"{super().extra_repr()}, margin={self.margin}"

    def forward(self, input, target):
        return hinge_loss(input, target, self.reduction, self.margin)
