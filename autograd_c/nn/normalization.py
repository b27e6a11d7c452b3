"""Normalisation layers, LayerNorm and BatchNorm1d, and their functional forms.

Both are composed from differentiable primitives (mean, subtract, multiply, power), so their
gradients of every order come from those ops' rules.  The variance that normalises is the biased
one (divide by n), as in PyTorch; BatchNorm's running variance is the unbiased one.
"""
import operator

import numpy as np

from .. import _core
from .._core import Tensor
from ..functional import _replaying
from .module import Module, Parameter, _NoGrad
from ._loss_common import _as_tensor, _real_arg

__all__ = ["layer_norm", "batch_norm", "LayerNorm", "BatchNorm1d"]


def _normalize(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance); with mean and var."""
    mu = _core.mean(x, axes, True)
    xc = x - mu
    var = _core.mean(xc * xc, axes, True)
    return xc * _core.power(var + eps, -0.5), mu, var


def _check_eps(eps, name):
    eps = _real_arg(eps, name, "eps")
    if not eps >= 0:
        raise ValueError(f"{name}: eps must be >= 0, got {eps}")
    return eps


def _check_tensor_arg(t, arg, shape, x, name):
    """``t`` (a parameter or statistic) is None or a Tensor of ``shape`` and the input's dtype."""
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {arg} must be a Tensor or None, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{name}: {arg} must have shape {tuple(shape)}, got {t.shape}")
    if t.dtype != x.dtype:
        raise TypeError(f"{name}: {arg} has dtype {t.dtype} but the input has dtype {x.dtype} "
                        "(convert the module with .double()/.float() or the input with .astype)")
    return t


def _dtype_arg(dtype, name):
    """A module's ``dtype`` argument: None (float32), float32 or float64."""
    dt = np.dtype(np.float32 if dtype is None else dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{name}: dtype must be float32 or float64, got {dt}")
    return dt


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * _core._reshape(weight, shape)
    if bias is not None:
        y = y + _core._reshape(bias, shape)
    return y


def _shape_arg(normalized_shape, name):
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(operator.index(n) for n in normalized_shape)
    except TypeError:
        raise TypeError(f"{name}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    if not shape or any(n <= 0 for n in shape):
        raise ValueError(f"{name}: normalized_shape must be non-empty with positive sizes, got "
                         f"{shape}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing dimensions ``normalized_shape``:
    y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance.

    Examples
    --------
    >>> import autograd_c as ag
    >>> y = ag.nn.functional.layer_norm(ag.tensor([[1.0, 2.0, 3.0]]), 3)
    >>> [round(v, 4) for v in y.tolist()[0]]
    [-1.2247, 0.0, 1.2247]
    """
    name = "layer_norm"
    shape = _shape_arg(normalized_shape, name)
    eps = _check_eps(eps, name)
    x = _as_tensor(input, name, "input")
    k = len(shape)
    if tuple(x.shape[x.ndim - k:]) != shape or x.ndim < k:
        raise ValueError(f"{name}: input of shape {x.shape} does not end with normalized_shape "
                         f"{shape}")
    weight = _check_tensor_arg(weight, "weight", shape, x, name)
    bias = _check_tensor_arg(bias, "bias", shape, x, name)
    y, _, _ = _normalize(x, tuple(range(x.ndim - k, x.ndim)), eps)
    return _affine(y, weight, bias, shape)


def _update_running(stat, batch_value, momentum):
    """stat = (1 - momentum) * stat + momentum * batch_value, in place and untracked."""
    new = (1.0 - momentum) * stat.numpy().astype(np.float64) + momentum * batch_value
    with _NoGrad():
        stat.copy_(new.astype(stat.dtype))


def _check_batch_input(x, num_features, name, training):
    if x.ndim < 2:
        raise ValueError(f"{name}: expected an input of shape (N, C, ...), got {x.shape}")
    if x.shape[1] != num_features:
        raise ValueError(f"{name}: input of shape {x.shape} has {x.shape[1]} channels on axis 1, "
                         f"expected {num_features}")
    if training and x.size == num_features:
        raise ValueError(f"{name}: expected more than 1 value per channel when training, got "
                         f"input of shape {x.shape}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) of an (N, C, ...) input.

    With ``training=True`` the statistics of the batch are used (mean and biased variance over
    every axis but 1), and ``running_mean`` / ``running_var`` (when given) are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat``, with the unbiased batch
    variance.  With ``training=False`` the running statistics normalise (they get no gradient).
    An empty batch gives an empty output and leaves the running statistics alone, and so does
    a function transform's re-evaluation of its function (``ag.jvp``, ``ag.hessian``, ... may
    evaluate it twice): the statistics move once per call of the transform.

    Examples
    --------
    >>> import autograd_c as ag
    >>> rm, rv = ag.zeros(2, dtype="float64"), ag.ones(2, dtype="float64")
    >>> x = ag.tensor([[1.0, 0.0], [3.0, 0.0]], dtype="float64")
    >>> y = ag.nn.functional.batch_norm(x, rm, rv, training=True)
    >>> [round(v, 3) for v in y.tolist()[0]], rm.tolist(), rv.tolist()
    ([-1.0, 0.0], [0.2, 0.0], [1.1, 0.9])
    """
    name = "batch_norm"
    x = _as_tensor(input, name, "input")
    if x.ndim < 2:
        raise ValueError(f"{name}: expected an input of shape (N, C, ...), got {x.shape}")
    c = x.shape[1]
    _check_batch_input(x, c, name, training)
    eps = _check_eps(eps, name)
    momentum = _real_arg(momentum, name, "momentum")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{name}: pass both running_mean and running_var, or neither")
    for arg, t in (("running_mean", running_mean), ("running_var", running_var)):
        if _check_tensor_arg(t, arg, (c,), x, name) is not None and t.requires_grad:
            raise TypeError(f"{name}: {arg} requires grad; running statistics get no gradient")
    weight = _check_tensor_arg(weight, "weight", (c,), x, name)
    bias = _check_tensor_arg(bias, "bias", (c,), x, name)
    shape = (c,) + (1,) * (x.ndim - 2)
    n = x.size // c
    if training and n == 0:
        y = x   # nothing to normalise (and no statistics: a mean over nothing is NaN)
    elif training:
        axes = (0,) + tuple(range(2, x.ndim))
        y, mu, var = _normalize(x, axes, eps)
        if running_mean is not None and not _replaying():
            _update_running(running_mean, mu.numpy().reshape(c), momentum)
            _update_running(running_var, var.numpy().reshape(c) * (n / (n - 1)), momentum)
    else:
        if running_mean is None:
            raise ValueError(f"{name}: training=False needs running_mean and running_var")
        dt = np.dtype(x.dtype)
        inv = (1.0 / np.sqrt(running_var.numpy().astype(np.float64) + eps)).astype(dt)
        y = (x - running_mean.numpy().reshape(shape)) * inv.reshape(shape)
    return _affine(y, weight, bias, shape)


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dimensions, with a learned
    elementwise ``weight`` (ones) and ``bias`` (zeros); see :func:`layer_norm`.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float
    elementwise_affine : bool
        Learn ``weight`` and ``bias`` (else both are None).
    bias : bool
        Learn ``bias`` (when ``elementwise_affine``).
    dtype : float32 (default) or float64

    Examples
    --------
    >>> import autograd_c as ag
    >>> ln = ag.nn.LayerNorm(4)
    >>> y = ln(ag.tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> round(float(y.mean()), 6), round(float((y * y).mean()), 4)
    (0.0, 1.0)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _shape_arg(normalized_shape, "LayerNorm")
        self.eps = _check_eps(eps, "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        dt = _dtype_arg(dtype, "LayerNorm")
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """weight = 1, bias = 0."""
        with _NoGrad():
            if self.weight is not None:
                self.weight.fill_(1.0)
            if self.bias is not None:
                self.bias.fill_(0.0)

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class BatchNorm1d(Module):
    """Batch normalisation of the C channels of an (N, C) or (N, C, L) input.

    In training mode each channel is normalised with the batch's mean and biased variance,
    and (with ``track_running_stats``) the buffers ``running_mean`` / ``running_var`` follow
    ``running = (1 - momentum) * running + momentum * batch_stat`` with the unbiased batch
    variance (``momentum=None``: the cumulative average, factor 1 / num_batches_tracked).  In
    eval mode the running statistics normalise.  A training batch of one value per channel is
    refused, as in PyTorch; an empty one gives an empty output.  Inside a function transform
    the statistics move once per call of the transform, even when it evaluates the module
    more than once (``ag.jvp``, ``ag.hessian``, ... of a function of the parameters).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
    momentum : float or None
    affine : bool
        Learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
    track_running_stats : bool
        Keep running statistics (buffers in ``state_dict``, with ``num_batches_tracked``, a
        0-d float tensor since tensors are float); without them the batch statistics are used
        in eval mode too.
    dtype : float32 (default) or float64

    Examples
    --------
    >>> import autograd_c as ag
    >>> bn = ag.nn.BatchNorm1d(2)
    >>> y = bn(ag.tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> [round(v, 3) for v in y.tolist()[0]]
    [-1.0, -1.0]
    >>> [round(v, 4) for v in bn.running_mean.tolist()], float(bn.num_batches_tracked)
    ([0.2, 2.0], 1.0)
    >>> sorted(bn.state_dict())
    ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None):
        super().__init__()
        try:
            num_features = operator.index(num_features)
        except TypeError:
            raise TypeError(f"BatchNorm1d: num_features must be an int, got "
                            f"{type(num_features).__name__}") from None
        if num_features <= 0:
            raise ValueError(f"BatchNorm1d: num_features must be > 0, got {num_features}")
        if momentum is not None:
            momentum = _real_arg(momentum, "BatchNorm1d", "momentum")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features = num_features
        self.eps = _check_eps(eps, "BatchNorm1d")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = _dtype_arg(dtype, "BatchNorm1d")
        if self.affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            self.bias = Parameter(np.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", _core.tensor(np.zeros(num_features, dt), dtype=dt))
            self.register_buffer("running_var", _core.tensor(np.ones(num_features, dt), dtype=dt))
            self.register_buffer("num_batches_tracked", _core.tensor(np.zeros((), dt), dtype=dt))
        else:
            for b in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(b, None)

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            with _NoGrad():
                self.running_mean.fill_(0.0)
                self.running_var.fill_(1.0)
                self.num_batches_tracked.fill_(0.0)

    def reset_parameters(self):
        """Reset the running statistics, and weight = 1, bias = 0."""
        self.reset_running_stats()
        if self.affine:
            with _NoGrad():
                self.weight.fill_(1.0)
                self.bias.fill_(0.0)

    def forward(self, x):
        name = "BatchNorm1d"
        x = _as_tensor(x, name, "input")
        if x.ndim not in (2, 3):
            raise ValueError(f"{name}: expected a 2-D (N, C) or 3-D (N, C, L) input, got shape "
                             f"{x.shape}")
        use_batch = self.training or self.running_mean is None
        # checked before num_batches_tracked moves, so a refused batch changes nothing
        _check_batch_input(x, self.num_features, name, use_batch)
        c = (self.num_features,)
        for arg in ("weight", "bias", "running_mean", "running_var"):
            _check_tensor_arg(getattr(self, arg), arg, c, x, name)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and not _replaying():
            with _NoGrad():
                self.num_batches_tracked.add_(1.0)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        pass_stats = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if pass_stats else None,
                          self.running_var if pass_stats else None, self.weight, self.bias,
                          use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")
