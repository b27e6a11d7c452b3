"""Loss functions (functional forms) and their Module wrappers.

Every loss takes ``reduction`` in {"mean", "sum", "none"} (kl_div also "batchmean").  The losses
over classes (cross_entropy, nll_loss) live in _class_losses.py.

Signatures follow PyTorch's, positional order included: where PyTorch keeps its deprecated
``size_average`` and ``reduce`` before ``reduction`` (functions and modules alike), so do these,
and anything but None there raises TypeError (their legacy meanings are not emulated: a string
there is a reduction passed by position, and reading it as a truthy size_average would silently
change the call's meaning).
"""
import numpy as np

from .. import _core
from .._core import Tensor
from .module import Module
from ._loss_common import (_REDUCTIONS, _as_tensor, _check_reduction, _legacy_args, _real_arg,
                           _reduce, _target_like)
from ._class_losses import _index_arg, _smoothing_arg, nll_loss, cross_entropy

__all__ = ["mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "hinge_loss", "huber_loss", "smooth_l1_loss", "kl_div",
           "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
           "HingeLoss", "HuberLoss", "SmoothL1Loss", "KLDivLoss"]

# PyTorch's floor on p (1 - p) in the gradient of binary_cross_entropy
_BCE_EPS = 1e-12


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


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Squared error (input - target)^2, with PyTorch's signature (``size_average`` and
    ``reduce``: None only; pass ``reduction``, by keyword).

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.functional.mse_loss(ag.tensor([1.0, 2.0]), [0.0, 0.0]))
    2.5
    """
    _legacy_args("mse_loss", size_average, reduce)
    x = _as_tensor(input, "mse_loss", "input")
    d = x - _target_like(target, x, "mse_loss")
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Absolute error |input - target|, with PyTorch's signature (``size_average`` and
    ``reduce``: None only; pass ``reduction``, by keyword).

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.functional.l1_loss(ag.tensor([1.0, -3.0]), [0.0, 0.0]))
    2.0
    """
    _legacy_args("l1_loss", size_average, reduce)
    x = _as_tensor(input, "l1_loss", "input")
    return _reduce(_core.abs(x - _target_like(target, x, "l1_loss")), reduction, "l1_loss")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Binary cross-entropy of logits, ``-w [w_p t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]``
    computed stably as w [(1 - t) x + (1 + (w_p - 1) t) softplus(-x)], with PyTorch's signature
    (``weight`` is the third positional argument).

    Parameters
    ----------
    input : Tensor
        Logits.
    target : array_like or Tensor of the input's shape
    weight : array_like or Tensor, optional
        Rescales each element's loss; broadcasts to the input's shape.
    size_average, reduce : None
        PyTorch's deprecated arguments, kept for the positional order only; anything but None
        raises TypeError.
    reduction : {"mean", "sum", "none"}
    pos_weight : array_like or Tensor, optional
        Weight of the positive term (one per class, broadcast along the last axis).

    Examples
    --------
    >>> import autograd_c as ag
    >>> F = ag.nn.functional
    >>> float(F.binary_cross_entropy_with_logits(ag.tensor([1e4]), [1.0]))
    0.0
    """
    _legacy_args("binary_cross_entropy_with_logits", size_average, reduce, weight)
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


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy ``-w [t log p + (1 - t) log(1 - p)]`` of probabilities ``input``,
    with PyTorch's signature (``weight`` is the third positional argument).

    Each log is clamped at -100 (PyTorch's convention) so that p = 0 or 1 gives a finite loss,
    and the gradient with respect to p is (p - t) / max(p (1 - p), 1e-12), as in PyTorch, so it
    stays finite at p = 0 or 1 (and for a sigmoid output that rounded to 0 or 1).

    Parameters
    ----------
    input : Tensor
        Probabilities in [0, 1] (use :func:`binary_cross_entropy_with_logits` for logits).
    target : array_like or Tensor of the input's shape
    weight : array_like or Tensor, optional
        Rescales each element's loss; broadcasts to the input's shape.  A Tensor that requires
        grad gets its gradient (PyTorch's has none).
    size_average, reduce : None
        PyTorch's deprecated arguments, kept for the positional order only; anything but None
        raises TypeError.
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import autograd_c as ag
    >>> F = ag.nn.functional
    >>> round(float(F.binary_cross_entropy(ag.tensor([0.5]), [1.0])), 4)
    0.6931
    >>> round(float(F.binary_cross_entropy(ag.tensor([0.5]), [1.0], [2.0])), 4)
    1.3863
    """
    _legacy_args("binary_cross_entropy", size_average, reduce, weight)
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


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), for d = input -
    target.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.nn.functional.huber_loss(ag.tensor([0.5, 3.0]), [0.0, 0.0], reduction="none")
    tensor([0.125, 2.5  ])
    """
    delta = _threshold(delta, "huber_loss", "delta", positive=True)
    x = _as_tensor(input, "huber_loss", "input")
    return _reduce(_huber(x - _target_like(target, x, "huber_loss"), delta), reduction,
                   "huber_loss")


def _threshold(value, name, arg, positive):
    """A float > 0 (``positive``) or >= 0."""
    value = _real_arg(value, name, arg)
    if not (value > 0 if positive else value >= 0):
        raise ValueError(f"{name}: {arg} must be {'>' if positive else '>='} 0, got {value}")
    return value


def _huber(d, delta):
    a = _core.abs(d)
    return _core.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1 loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, for d = input -
    target (the L1 loss when beta = 0; the Huber loss divided by beta otherwise), with PyTorch's
    signature (``size_average`` and ``reduce``: None only).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.nn.functional.smooth_l1_loss(ag.tensor([0.5, 3.0]), [0.0, 0.0], reduction="none",
    ...                                 beta=2.0)
    tensor([0.0625, 2.    ])
    """
    _legacy_args("smooth_l1_loss", size_average, reduce)
    beta = _threshold(beta, "smooth_l1_loss", "beta", positive=False)
    x = _as_tensor(input, "smooth_l1_loss", "input")
    d = x - _target_like(target, x, "smooth_l1_loss")
    loss = _core.abs(d) if beta == 0 else _huber(d, beta) * (1.0 / beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


_KL_REDUCTIONS = ("mean", "batchmean", "sum", "none")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence loss ``target * (log(target) - input)`` for log-probabilities
    ``input`` (``exp(target) * (target - input)`` when ``log_target``).

    Parameters
    ----------
    input : Tensor
        Log-probabilities.
    target : array_like or Tensor of the input's shape
        Probabilities (>= 0; a zero contributes 0), or log-probabilities if ``log_target``.
        A target Tensor that requires grad gets ``log(t) + 1 - input``; at an entry t = 0
        (where that is -inf) it gets ``-input``, where PyTorch gives NaN.
    size_average, reduce : None
        PyTorch's deprecated arguments, kept for its positional order only; anything but None
        raises TypeError.
    reduction : {"mean", "batchmean", "sum", "none"}
        "batchmean" divides the sum by the batch size ``input.shape[0]`` (the KL divergence of
        each sample, averaged); "mean" divides by the number of elements, as in PyTorch.
    log_target : bool

    Examples
    --------
    >>> import autograd_c as ag
    >>> lp = ag.log(ag.tensor([[0.5, 0.5]]))
    >>> round(float(ag.nn.functional.kl_div(lp, [[0.25, 0.75]], reduction="batchmean")), 4)
    0.1308
    """
    _legacy_args("kl_div", size_average, reduce)
    _check_reduction(reduction, "kl_div", _KL_REDUCTIONS)
    x = _as_tensor(input, "kl_div", "input")
    if reduction == "batchmean" and x.ndim == 0:
        raise ValueError("kl_div: reduction='batchmean' needs an input with a batch axis, got a "
                         "0-d input")
    t = _target_like(target, x, "kl_div")
    if log_target:
        loss = _core.exp(t) * (t - x)
    else:
        v = t.numpy() if isinstance(t, Tensor) else t
        if v.size and not np.all(v >= 0):
            raise ValueError("kl_div: target must hold probabilities >= 0 (pass log_target=True "
                             "for log-probabilities)")
        pos = (v > 0).astype(v.dtype)
        if isinstance(t, Tensor):   # 0 log 0 = 0, with a finite (unused) log where t = 0
            tlogt = _core.where(pos, t * _core.log(_core.where(pos, t, 1.0)), 0.0)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                tlogt = np.where(pos, v * np.log(np.where(pos, v, 1.0)), 0.0).astype(v.dtype)
        loss = tlogt - t * x
    if reduction == "batchmean":
        return _core.sum(loss) * (1.0 / x.shape[0]) if x.shape[0] else _core.sum(loss) * float("nan")
    return _reduce(loss, reduction, "kl_div")


class _Loss(Module):
    _reductions = _REDUCTIONS

    def __init__(self, reduction="mean", size_average=None, reduce=None, weight=None):
        super().__init__()
        _legacy_args(type(self).__name__, size_average, reduce, weight)
        _check_reduction(reduction, type(self).__name__, self._reductions)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"

    def _set_weight(self, name, w):
        # a Tensor weight is a buffer, as in PyTorch: saved in state_dict, never a parameter
        if w is None or isinstance(w, Tensor):
            self.register_buffer(name, w)
        else:
            setattr(self, name, w)

    def _set_class_weight(self, w):
        # the class count is known only from the input: check here what can be checked
        if w is not None:
            shape = w.shape if isinstance(w, Tensor) else np.shape(w)
            kind = "f" if isinstance(w, Tensor) else np.asarray(w).dtype.kind
            if kind not in "biuf" or len(shape) != 1:
                raise TypeError(f"{type(self).__name__}: weight must be a 1-D numeric array of "
                                f"one weight per class, got {type(w).__name__} {w!r} (pass "
                                "reduction= by keyword)")
        self._set_weight("weight", w)


class MSELoss(_Loss):
    """Module form of :func:`mse_loss`, with PyTorch's signature ``MSELoss(size_average=None,
    reduce=None, reduction='mean')``."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction, size_average, reduce)

    def forward(self, input, target):
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Module form of :func:`l1_loss`, with PyTorch's signature ``L1Loss(size_average=None,
    reduce=None, reduction='mean')``."""

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction, size_average, reduce)

    def forward(self, input, target):
        return l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Module form of :func:`cross_entropy`; a Tensor ``weight`` is a buffer (in state_dict).

    Examples
    --------
    >>> import autograd_c as ag
    >>> loss = ag.nn.CrossEntropyLoss(weight=[1.0, 2.0], ignore_index=0)
    >>> round(float(loss(ag.tensor([[1.0, 0.0], [0.0, 1.0]]), [0, 1])), 4)
    0.3133
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(reduction, size_average, reduce)
        self._set_class_weight(weight)
        self.ignore_index = _index_arg(ignore_index, "CrossEntropyLoss", "ignore_index")
        self.label_smoothing = _smoothing_arg(label_smoothing, "CrossEntropyLoss")

    def extra_repr(self):
        return (f"{super().extra_repr()}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}")

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_Loss):
    """Module form of :func:`nll_loss`; a Tensor ``weight`` is a buffer (in state_dict).

    Examples
    --------
    >>> import autograd_c as ag
    >>> lp = ag.tensor([[-1.0, -2.0], [-3.0, -4.0]])
    >>> float(ag.nn.NLLLoss(weight=[1.0, 3.0], reduction="sum")(lp, [0, 1]))
    13.0
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(reduction, size_average, reduce)
        self._set_class_weight(weight)
        self.ignore_index = _index_arg(ignore_index, "NLLLoss", "ignore_index")

    def extra_repr(self):
        return f"{super().extra_repr()}, ignore_index={self.ignore_index}"

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)


class BCELoss(_Loss):
    """Module form of :func:`binary_cross_entropy` (``weight``: per-element rescaling), with
    PyTorch's signature ``BCELoss(weight=None, size_average=None, reduce=None,
    reduction='mean')``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(reduction, size_average, reduce, weight)
        self._set_weight("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of :func:`binary_cross_entropy_with_logits`, with PyTorch's signature
    ``BCEWithLogitsLoss(weight=None, size_average=None, reduce=None, reduction='mean',
    pos_weight=None)``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(reduction, size_average, reduce, weight)
        self._set_weight("pos_weight", pos_weight)
        self._set_weight("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class HingeLoss(_Loss):
    """Module form of :func:`hinge_loss`."""

    def __init__(self, reduction="mean", margin=1.0):
        super().__init__(reduction)
        self.margin = margin

    def extra_repr(self):
        return f"{super().extra_repr()}, margin={self.margin}"

    def forward(self, input, target):
        return hinge_loss(input, target, self.reduction, self.margin)


class HuberLoss(_Loss):
    """Module form of :func:`huber_loss`.

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.HuberLoss(delta=2.0)(ag.tensor([1.0, 4.0]), [0.0, 0.0]))
    3.25
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = _threshold(delta, "HuberLoss", "delta", positive=True)

    def extra_repr(self):
        return f"{super().extra_repr()}, delta={self.delta}"

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """Module form of :func:`smooth_l1_loss`, with PyTorch's signature
    ``SmoothL1Loss(size_average=None, reduce=None, reduction='mean', beta=1.0)``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> float(ag.nn.SmoothL1Loss(beta=2.0)(ag.tensor([1.0, 4.0]), [0.0, 0.0]))
    1.625
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(reduction, size_average, reduce)
        self.beta = _threshold(beta, "SmoothL1Loss", "beta", positive=False)

    def extra_repr(self):
        return f"{super().extra_repr()}, beta={self.beta}"

    def forward(self, input, target):
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class KLDivLoss(_Loss):
    """Module form of :func:`kl_div` (``reduction`` also accepts "batchmean"), with PyTorch's
    signature ``KLDivLoss(size_average=None, reduce=None, reduction='mean', log_target=False)``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> kl = ag.nn.KLDivLoss(reduction="batchmean", log_target=True)
    >>> lp = ag.log(ag.tensor([[0.5, 0.5]]))
    >>> float(kl(lp, lp))
    0.0
    """
    _reductions = _KL_REDUCTIONS

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(reduction, size_average, reduce)
        self.log_target = bool(log_target)

    def extra_repr(self):
        return f"{super().extra_repr()}, log_target={self.log_target}"

    def forward(self, input, target):
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
