"""More adaptive-step optimizers: Adamax, NAdam, RAdam (the Adam family, sharing one fused C
kernel with Adam) and Adadelta.  Names, signatures, defaults and update rules are PyTorch's
``torch.optim`` ones; like the optimizers in :mod:`.optimizers`, each ``step()`` is one C call
per param group.  Each takes PyTorch's ``foreach`` (ignored), ``differentiable`` and
``capturable`` (False only) flags, as the optimizers in :mod:`.optimizers` do: see each
class's docstring."""
import numpy as np

from .optimizers import Optimizer, _betas, _check_adam_like, _check_nonneg, _torch_flags

__all__ = ["Adamax", "NAdam", "RAdam", "Adadelta"]


def _in_order(state, lead):
    """``state``'s per-parameter dicts (the persistent ones: reordered in place) with the
    entries named in ``lead`` first, in that order, then the others in theirs: NAdam's
    mu_product goes after step, before the buffers, as in PyTorch (Optimizer.state already
    puts step and the buffers before any other entry)."""
    for d in state.values():
        entries = [(n, d[n]) for n in lead if n in d] + [(n, v) for n, v in d.items()
                                                         if n not in lead]
        d.clear()
        d.update(entries)
    return state


class _AdamFamily(Optimizer):
    """Options lr, betas, eps, weight_decay (+ ``_extra``); state buffers exp_avg and
    ``_second`` (the second-moment estimate or Adamax's infinity norm)."""
    _second = "exp_avg_sq"
    _extra = ()

    def _validate(self, g):
        _check_adam_like(self._name, g, extra=self._extra)

    def _buffers(self, g):
        return ("exp_avg", self._second)


class Adamax(_AdamFamily):
    """Adamax: Adam with the infinity norm in place of the second moment.

    With g = grad (negated when ``maximize``) + weight_decay * p, at step t:
    m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);  p = p - lr / (1 - b1^t) * m / u.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters, or param groups (dicts with "params" and per-group options).
    lr : float, default 2e-3
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first moment and of the infinity norm, each in [0, 1).
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty added to the gradient.
    maximize : bool, default False
        Ascend instead of descend.
    foreach : None or bool, default None
        Accepted for PyTorch compatibility and ignored: each step is already one fused C call
        per param group.
    differentiable, capturable : bool, default False
        Accepted for PyTorch compatibility as False only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9
    """
    _name = "Adamax"
    _second = "exp_inf"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _torch_flags(self._name, foreach, differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, betas=_betas(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _update(self, f, g):
        b1, b2 = g["betas"]
        f.adamax(g["lr"], b1, b2, g["eps"], g["weight_decay"], g["maximize"])


class NAdam(_AdamFamily):
    """NAdam: Adam with Nesterov momentum and momentum decay (Dozat, 2016).

    With g = grad (negated when ``maximize``), plus weight_decay * p unless
    ``decoupled_weight_decay`` (then p = p (1 - lr weight_decay) first), at step t:
    mu_t = b1 (1 - 0.96^(t psi) / 2) with psi = ``momentum_decay``;
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  d = sqrt(v / (1 - b2^t)) + eps;
    p = p - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) g / d
          - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) m / d.

    ``state[i]["mu_product"]`` holds prod_{i<=t} mu_i (1.0 before the first step); the
    entries of ``state[i]`` (and of ``state_dict()["state"][i]``) come in PyTorch's order:
    step, mu_product, exp_avg, exp_avg_sq.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 2e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum_decay : float, default 4e-3
    decoupled_weight_decay : bool, default False
        Decay the parameters directly (as AdamW does) instead of adding an L2 gradient.
    maximize : bool, default False
    foreach : None or bool, default None
        Accepted for PyTorch compatibility and ignored: each step is already one fused C call
        per param group.
    differentiable, capturable : bool, default False
        Accepted for PyTorch compatibility as False only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.NAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(opt.state[0]["mu_product"], 6)
    0.450073
    """
    _name = "NAdam"
    _extra = ("momentum_decay",)

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        _torch_flags(self._name, foreach, differentiable=differentiable, capturable=capturable)
        self._mu_product = []  # per group: float64 array, one entry per parameter
        super().__init__(params, dict(lr=lr, betas=_betas(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self._mu_product.append(np.ones(len(self.param_groups[-1]["params"])))

    def _update(self, f, g):
        b1, b2 = g["betas"]
        f.nadam(self._mu_product[self._fused.index(f)], g["lr"], b1, b2, g["eps"],
                g["weight_decay"], g["momentum_decay"], g["decoupled_weight_decay"],
                g["maximize"])

    @property
    def state(self):
        """As :attr:`Optimizer.state`, with ``mu_product``; each parameter's entries in
        PyTorch's order (step, mu_product, exp_avg, exp_avg_sq, then any others), the same
        whether the state was stepped or loaded (loading puts mu_product in first)."""
        out = super().state
        for k, mu in enumerate(np.concatenate(self._mu_product)):
            out[k]["mu_product"] = float(mu)
        return _in_order(out, ("step", "mu_product") + tuple(self._buffers(None)))

    def load_state_dict(self, state_dict):
        """As :meth:`Optimizer.load_state_dict`, also restoring each ``mu_product``."""
        mus = []
        try:
            state = state_dict["state"]
            for k in range(sum(len(g["params"]) for g in self.param_groups)):
                st = state.get(k, state.get(str(k)))
                mus.append(float(st["mu_product"]))
        except (KeyError, TypeError, AttributeError):
            raise ValueError("NAdam.load_state_dict: expected a dict with 'state' and "
                             "'param_groups' and a 'mu_product' for every parameter")
        if not all(np.isfinite(mus)):
            raise ValueError(f"NAdam.load_state_dict: mu_product values must be finite, got {mus}")
        super().load_state_dict(state_dict)
        i = 0
        for arr in self._mu_product:
            arr[:] = mus[i:i + len(arr)]
            i += len(arr)


class RAdam(_AdamFamily):
    """RAdam: Adam with a rectified adaptive step (Liu et al., 2019).

    With g as in :class:`NAdam` (L2 or ``decoupled_weight_decay``), at step t:
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  m_hat = m / (1 - b1^t);
    rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t);
    if rho_t > 5: r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
    p = p - lr m_hat r sqrt(1 - b2^t) / (sqrt(v) + eps);  otherwise p = p - lr m_hat.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    decoupled_weight_decay : bool, default False
    maximize : bool, default False
    foreach : None or bool, default None
        Accepted for PyTorch compatibility and ignored: each step is already one fused C call
        per param group.
    differentiable, capturable : bool, default False
        Accepted for PyTorch compatibility as False only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.RAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)  # rho_1 <= 5: plain momentum
    0.8
    """
    _name = "RAdam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 differentiable=False, capturable=False):
        _torch_flags(self._name, foreach, differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, betas=_betas(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _update(self, f, g):
        b1, b2 = g["betas"]
        f.radam(g["lr"], b1, b2, g["eps"], g["weight_decay"], g["decoupled_weight_decay"],
                g["maximize"])


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012).

    With g = grad (negated when ``maximize``) + weight_decay * p:
    v = rho v + (1 - rho) g^2;  delta = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho u + (1 - rho) delta^2;  p = p - lr delta.

    Parameters
    ----------
    params : iterable of Tensor or of dict
    lr : float, default 1.0
        Scales delta before it is applied.
    rho : float, default 0.9
        Decay rate of both running averages, in [0, 1].
    eps : float, default 1e-6
    weight_decay : float, default 0
    maximize : bool, default False
    foreach : None or bool, default None
        Accepted for PyTorch compatibility and ignored: each step is already one fused C call
        per param group.
    differentiable, capturable : bool, default False
        Accepted for PyTorch compatibility as False only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.Adadelta([ag.zeros(2, requires_grad=True)])
    >>> opt.param_groups[0]["rho"], opt.param_groups[0]["lr"]
    (0.9, 1.0)
    """
    _name = "Adadelta"

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        _torch_flags(self._name, foreach, differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _validate(self, g):
        for k in ("lr", "rho", "eps", "weight_decay"):
            _check_nonneg(k, g[k], self._name)
        if g["rho"] > 1.0:
            raise ValueError(f"Adadelta: invalid rho {g['rho']!r} (must be in [0, 1])")

    def _buffers(self, g):
        return ("square_avg", "acc_delta")

    def _update(self, f, g):
        f.adadelta(g["lr"], g["rho"], g["eps"], g["weight_decay"], g["maximize"])
