"""Activation modules.  Those with a ``_fuse`` entry can be folded into a preceding Linear by
:class:`Sequential` (one GEMM whose epilogue applies the activation)."""

from .. import _core
from . import functional as F
from .module import Module

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "SiLU",
           "Softmax", "LogSoftmax"]


class _Act(Module):
    _fuse = None  # (activation name for _core.linear, keyword arguments) or None

    def fuse_spec(self):
        return self._fuse


def _inplace_arg(inplace, who):
    """PyTorch's ``inplace`` flag, checked.  It is accepted so that model code written for
    PyTorch (``nn.ReLU(inplace=True)``) runs unchanged, but the result is always computed out of
    place: the output is the same, and the input stays intact for backward."""
    return _core._bool_arg(inplace, who, "inplace")


class _InplaceAct(_Act):
    """An activation that takes (and ignores, see :func:`_inplace_arg`) ``inplace``."""
    inplace = False     # the default for a module pickled before the argument existed

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = _inplace_arg(inplace, type(self).__name__)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Sigmoid(_Act):
    """1 / (1 + exp(-x))."""
    _fuse = ("sigmoid", {})

    def forward(self, x):
        return _core.sigmoid(x)


class Tanh(_Act):
    """tanh(x)."""
    _fuse = ("tanh", {})

    def forward(self, x):
        return _core.tanh(x)


class ReLU(_InplaceAct):
    """max(x, 0).  ``inplace`` is accepted for PyTorch code and computed out of place.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.nn.ReLU()(ag.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    _fuse = ("relu", {})

    def forward(self, x):
        return _core.relu(x)


class LeakyReLU(_InplaceAct):
    """x for x > 0, negative_slope * x otherwise.  ``inplace`` as in :class:`ReLU`."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = float(negative_slope)

    def fuse_spec(self):
        return ("leaky_relu", {"negative_slope": self.negative_slope})

    def forward(self, x):
        return _core.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_InplaceAct):
    """x for x > 0, alpha * (exp(x) - 1) otherwise.  ``inplace`` as in :class:`ReLU`."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = float(alpha)

    def fuse_spec(self):
        return ("elu", {"alpha": self.alpha})

    def forward(self, x):
        return _core.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(_Act):
    """GELU: exact ``x * Phi(x)`` (``approximate="none"``) or PyTorch's tanh approximation
    (``approximate="tanh"``); see ``nn.functional.gelu``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.nn.GELU(approximate="tanh")(ag.tensor([0.0, 1.0]))
    tensor([0.    , 0.8412])
    """
    approximate = "none"    # the default for a module pickled before the argument existed

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def fuse_spec(self):
        # the fused linear epilogue computes the exact GELU only
        return ("gelu", {}) if self.approximate == "none" else None

    def forward(self, x):
        if self.approximate == "none":
            return _core.gelu(x)
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class Softplus(_Act):
    """``log(1 + exp(beta x)) / beta``, and x where ``beta x > threshold`` (PyTorch's
    formula); see ``nn.functional.softplus``.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> bool(np.isclose(ag.nn.Softplus()(ag.tensor([0.0])).item(), np.log(2.0)))
    True
    """
    beta, threshold = 1.0, 20.0     # the defaults for a module pickled before the arguments

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(_InplaceAct):
    """x * sigmoid(x).  ``inplace`` is accepted for PyTorch code and computed out of place."""

    def forward(self, x):
        return _core.silu(x)


class Softmax(_Act):
    """Softmax along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return _core.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(_Act):
    """Log-softmax along ``dim``."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return _core.log_softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
