"""Layers: Linear (fused GEMM + bias + activation), Sequential, Identity, Flatten, Dropout."""
import math
import operator
from collections import OrderedDict

import numpy as np

from .. import _core
from ..creation import get_rng
from . import init
from . import activations as _activations
from .activations import _inplace_arg
from .container import _check_module, _extend, _renumber, _seq_index
from .module import Module, Parameter
from .normalization import _dtype_arg
from . import _hooks

__all__ = ["Linear", "Sequential", "Identity", "Flatten", "Dropout"]

_linear = _core.linear
_LINEAR_ACTS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu")


class Linear(Module):
    """y = activation(x @ weight.T + bias), computed by one fused C kernel.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias.
    activation : {None, "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu"}
        Applied in the GEMM epilogue.
    negative_slope : float
        The slope of ``activation="leaky_relu"`` below 0 (default 0.01, as ``nn.LeakyReLU``);
        unused by the other activations.
    alpha : float
        The scale of ``activation="elu"`` below 0, ``alpha (exp(x) - 1)`` (default 1.0, as
        ``nn.ELU``); unused by the other activations.
    dtype : float32 (default) or float64 (another dtype raises TypeError)

    Weights are initialised as PyTorch does: kaiming_uniform(a=sqrt(5)), i.e.
    U(-1/sqrt(in), 1/sqrt(in)), and the bias from U(-1/sqrt(in), 1/sqrt(in)).

    Examples
    --------
    >>> import autograd_c as ag
    >>> layer = ag.nn.Linear(3, 2, activation="relu")
    >>> layer(ag.ones(4, 3)).shape
    (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, activation=None, dtype=None,
                 negative_slope=0.01, alpha=1.0):
        super().__init__()
        in_features = operator.index(in_features)
        out_features = operator.index(out_features)
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature counts must be >= 0, got ({in_features}, {out_features})")
        if activation is not None and activation not in _LINEAR_ACTS:
            raise ValueError(f"Linear: unknown activation {activation!r}; expected None or one of "
                             f"{_LINEAR_ACTS}")
        dt = _dtype_arg(dtype, "Linear")
        self.in_features = in_features
        self.out_features = out_features
        self.activation = activation
        self.negative_slope = negative_slope
        self.alpha = alpha
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.zeros(out_features, dtype=dt))
        else:
            self.bias = None
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default initialisation."""
        if self.in_features > 0:
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if self.activation is None:
            return _linear(x, self.weight, self.bias)
        return _linear(x, self.weight, self.bias, self.activation, self.negative_slope, self.alpha)

    def extra_repr(self):
        s = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        if self.activation is not None:
            s += f", activation={self.activation!r}"
        return s


class Identity(Module):
    """Returns its input."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` (default: all but the batch dimension)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return _core.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Zero each element with probability ``p`` during training and scale the rest by 1/(1-p);
    the identity in eval mode.  The mask is applied by a (differentiable) multiplication and is
    drawn from the generator seeded by :func:`autograd_c.manual_seed`.  ``inplace`` is accepted
    for PyTorch code and computed out of place (the input is left unchanged).

    Examples
    --------
    >>> import autograd_c as ag
    >>> d = ag.nn.Dropout(0.5).eval()
    >>> d(ag.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    inplace = False     # the default for a module pickled before the argument existed

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        p = float(p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = _inplace_arg(inplace, "Dropout")

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        shape = np.shape(x)
        dt = np.dtype(x.dtype if isinstance(x, _core.Tensor) else np.float32)
        keep = get_rng().random(shape) >= self.p
        mask = keep.astype(dt) * dt.type(1.0 / (1.0 - self.p))
        return x * mask

    def extra_repr(self):
        return f"p={self.p}" + (", inplace=True" if self.inplace else "")


class Sequential(Module):
    """Apply modules in order.  A Linear (without its own activation) followed by ReLU, Tanh,
    Sigmoid, GELU, LeakyReLU or ELU runs as one fused linear call.

    Examples
    --------
    >>> import autograd_c as ag
    >>> net = ag.nn.Sequential(ag.nn.Linear(4, 8), ag.nn.ReLU(), ag.nn.Linear(8, 2))
    >>> net(ag.ones(5, 4)).shape
    (5, 2)
    >>> len(net)
    3
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in items:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {name} is a {type(m).__name__}, not a Module")
            setattr(self, name, m)

    def __setattr__(self, name, value):
        self.__dict__["_plan"] = None
        super().__setattr__(name, value)

    def __delattr__(self, name):
        # the fusion plan holds the layers it was built from: a removed layer must not run
        self.__dict__["_plan"] = None
        super().__delattr__(name)

    def __getstate__(self):
        # The fusion plan holds closures over *these* layers: a deep copy would keep computing
        # with (and sending gradients to) the original's parameters, and closures do not pickle.
        # Leave it out; the copy builds its own on its first forward.
        state = self.__dict__.copy()
        state["_plan"] = None
        return state

    def _mods(self):
        return [m for _, m in self.named_children()]

    def __len__(self):
        return len(self.__dict__["_module_names"])

    def __iter__(self):
        return iter(self._mods())

    def __getitem__(self, idx):
        """A layer, or for a slice a new Sequential of the same layers under the same names
        (as PyTorch: ``net[1:].state_dict()`` keys start with "1.")."""
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self.named_children())[idx]))
        return self._mods()[_seq_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module):
        """Replace the layer at ``idx``; it keeps that layer's name."""
        if isinstance(idx, slice):
            raise TypeError("Sequential does not support slice assignment (assign one index, "
                            "or use del, insert and extend)")
        name = self.__dict__["_module_names"][_seq_index(idx, len(self), "Sequential")]
        setattr(self, name, _check_module(module, "Sequential.__setitem__"))

    def __delitem__(self, idx):
        """Remove the layer(s) at ``idx`` (an integer or a slice); the others are renumbered
        "0", "1", ... as in PyTorch."""
        mods = self._mods()
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_seq_index(idx, len(self), "Sequential")]
        _renumber(self, mods)

    def append(self, module):
        """Add ``module`` at the end, under the name str(len(self)), or the next free integer
        when that name is taken (a slice keeps its layers' names: ``net[1:]`` holds "1", "2",
        and appending to it must not replace "2")."""
        _check_module(module, "Sequential.append")
        names = self.__dict__["_module_names"]
        k = len(self)
        while str(k) in names:
            k += 1
        setattr(self, str(k), module)
        return self

    def extend(self, modules):
        """Append every module of the iterable ``modules`` (all checked first); returns self."""
        return _extend(self, modules, "Sequential.extend")

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (-len <= index <= len, as in PyTorch);
        the layers are renumbered "0", "1", ...; returns self."""
        _check_module(module, "Sequential.insert")
        n = len(self)
        i = operator.index(index)
        if not -n <= i <= n:
            raise IndexError(f"Sequential.insert: index {i} is out of range for length {n}")
        mods = self._mods()
        mods.insert(i + n if i < 0 else i, module)
        _renumber(self, mods)
        return self

    def pop(self, idx):
        """Remove the layer at ``idx`` and return it."""
        m = self[idx]
        del self[idx]
        return m

    def _build_plan(self):
        mods = self._mods()
        plan = []
        i = 0
        while i < len(mods):
            m = mods[i]
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            spec = nxt.fuse_spec() if _runs_library_forward(nxt) else None
            if type(m) is Linear and spec is not None:
                plan.append(_fused_step(m, nxt))
                i += 2
            else:
                plan.append(m)
                i += 1
        self.__dict__["_plan"] = plan
        return plan

    def forward(self, x):
        if _hooks.count[0] and any(_hooks.has_hooks(m) for m in self._mods()):
            for m in self._mods():  # a hooked layer runs on its own, so its hook sees it
                x = m(x)
            return x
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self._build_plan()
        for f in plan:
            x = f(x)
        return x


def _runs_library_forward(act):
    """Does ``act`` (a Sequential entry after a Linear) compute the forward of a library
    activation, so that its ``fuse_spec()`` describes what it computes?  Not when a subclass
    overrides ``forward`` or an instance has its own: those run as written, unfused."""
    if act is None or not hasattr(act, "fuse_spec") or "forward" in act.__dict__:
        return False
    for base in type(act).__mro__:
        if base.__module__ == _activations.__name__:
            return type(act).forward is base.forward
    return False


def _fused_step(lin, act):
    # fuse_spec() decided that the pair fuses; it is read again on every call, because the
    # activation's settings (LeakyReLU.negative_slope, ELU.alpha) may change after the plan is
    # built and must take effect on the next forward, as when the layers run one by one
    def step(x):
        cur = act.fuse_spec()
        if lin.activation is not None or cur is None or "forward" in lin.__dict__ or \
                "forward" in act.__dict__:  # changed (or forward replaced) after the plan was built
            return act(lin(x))
        name, kw = cur
        return _linear(x, lin.weight, lin.bias, name, kw.get("negative_slope", 0.01),
                       kw.get("alpha", 1.0))
    return step
