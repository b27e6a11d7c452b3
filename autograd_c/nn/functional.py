"""Functional interface: activations, the fused linear layer, dropout, normalisation and the
losses."""
import numpy as np

from .. import _core
from ..creation import get_rng
from .losses import (  # noqa: F401
    mse_loss, l1_loss, cross_entropy, nll_loss, binary_cross_entropy,
    binary_cross_entropy_with_logits, hinge_loss, huber_loss, smooth_l1_loss, kl_div,
)
from .normalization import layer_norm, batch_norm  # noqa: F401

__all__ = ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "silu", "gelu", "softplus", "softmax",
           "log_softmax", "logsumexp", "linear", "dropout", "layer_norm", "batch_norm",
           "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "hinge_loss", "huber_loss", "smooth_l1_loss",
           "kl_div"]

relu = _core.relu
tanh = _core.tanh
sigmoid = _core.sigmoid
leaky_relu = _core.leaky_relu
elu = _core.elu
silu = _core.silu
softmax = _core.softmax
log_softmax = _core.log_softmax
logsumexp = _core.logsumexp
linear = _core.linear


def dropout(x, p=0.5, training=True):
    """Zero elements with probability ``p`` and scale the rest by 1/(1-p) (identity when not
    training).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.nn.functional.dropout(ag.ones(2), 0.5, training=False).tolist()
    [1.0, 1.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    dt = np.dtype(x.dtype if isinstance(x, _core.Tensor) else np.float32)
    keep = get_rng().random(np.shape(x)) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * (keep.astype(dt) * dt.type(scale))


_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


def gelu(x, approximate="none"):
    """GELU: exact ``x * Phi(x)`` (``approximate="none"``, Phi the standard normal CDF) or
    PyTorch's tanh approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``
    (``approximate="tanh"``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> F = ag.nn.functional
    >>> F.gelu(ag.tensor([0.0, 1.0]), approximate="tanh")
    tensor([0.    , 0.8412])
    """
    if isinstance(approximate, str) and approximate == "none":
        return _core.gelu(x)
    if isinstance(approximate, str) and approximate == "tanh":
        x = _core._coerce_public(x, None)
        inner = (x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI
        return x * (_core.tanh(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(x, beta=1.0, threshold=20.0):
    """PyTorch's softplus: ``log(1 + exp(beta x)) / beta``, and x itself where
    ``beta x > threshold`` (there the two differ by less than exp(-threshold) / beta).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> F = ag.nn.functional
    >>> bool(np.isclose(F.softplus(ag.tensor([0.0]), beta=2.0).item(), np.log(2.0) / 2))
    True
    """
    beta, threshold = float(beta), float(threshold)
    if beta == 0.0 or not np.isfinite(beta):
        raise ValueError(f"softplus: beta must be finite and nonzero, got {beta}")
    x = _core._coerce_public(x, None)
    bx = x if beta == 1.0 else x * beta
    soft = _core.softplus(bx)
    return _core.where(bx > threshold, x, soft if beta == 1.0 else soft / beta)
