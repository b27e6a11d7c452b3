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

relu = _core.relu
tanh = _core.tanh
sigmoid = _core.sigmoid
leaky_relu = _core.leaky_relu
elu = _core.elu
gelu = _core.gelu
silu = _core.silu
softplus = _core.softplus
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
