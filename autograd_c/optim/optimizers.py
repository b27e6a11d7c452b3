"""Optimizers.  Each ``step()`` updates every parameter of a param group in one fused C call
(csrc/optim.c): in place, outside the tape, bumping each parameter's version counter.

Hyper-parameters live in ``param_groups`` (a list of dicts, PyTorch's layout), so schedulers and
users can change them between steps.  State (momentum buffers, moment estimates, step counts) is
created when the optimizer is built.
"""
import math
from operator import is_ as _is

import numpy as np

from .. import _core
from .._core import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm_",
           "clip_grad_value_"]


def _is_number(v):
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def _check_nonneg(name, value, opt):
    if not _is_number(value):
        raise TypeError(f"{opt}: {name} must be a number, got {type(value).__name__}")
    if not value >= 0.0 or math.isinf(value):
        raise ValueError(f"{opt}: invalid {name} {value!r} (must be a finite number >= 0)")


def _check_adam_like(opt, g, extra=()):
    """lr, eps, weight_decay (and the names in ``extra``) >= 0; betas a pair in [0, 1)."""
    for k in ("lr", "eps", "weight_decay") + tuple(extra):
        _check_nonneg(k, g[k], opt)
    b = g["betas"]
    if not isinstance(b, (list, tuple)) or len(b) != 2:
        raise TypeError(f"{opt}: betas must be a pair (beta1, beta2), got {b!r}")
    for i, v in enumerate(b):
        if not _is_number(v):
            raise TypeError(f"{opt}: betas[{i}] must be a number, got {type(v).__name__}")
    if not (0.0 <= b[0] < 1.0 and 0.0 <= b[1] < 1.0):
        raise ValueError(f"{opt}: betas must be two numbers in [0, 1), got {tuple(b)}")


_UNSUPPORTED = {
    "differentiable": "a step runs in C outside the tape, so it cannot be differentiated",
    "fused": "every step is already one fused C call per param group; leave fused unset",
    "capturable": "there is no CUDA graph capture here (CPU tensors only)",
}


def _torch_flags(name, foreach=None, **flags):
    """Check PyTorch's implementation switches, accepted for compatibility: ``foreach`` (None or
    a bool) is ignored; ``differentiable`` / ``fused`` / ``capturable`` (the names in
    ``flags``) may be None or False only, True asks for what is not supported (ValueError)."""
    if foreach is not None and not isinstance(foreach, (bool, np.bool_)):
        raise TypeError(f"{name}: foreach must be None or a bool, got {type(foreach).__name__}")
    for k, v in flags.items():
        if v is None or not _core._bool_arg(v, name, k):
            continue
        raise ValueError(f"{name}: {k}=True is not supported ({_UNSUPPORTED[k]})")


def _betas(betas):
    return tuple(betas) if isinstance(betas, (list, tuple)) else betas


def _zeros_like(p):
    return _core.tensor(np.zeros(p.shape, dtype=p.dtype))


def _as_state_value(v):
    """A loaded state entry: a float array (state_dict saves Tensors as numpy copies) becomes a
    Tensor again, anything else is kept."""
    if isinstance(v, np.ndarray) and v.dtype in (np.float32, np.float64):
        return _core.tensor(v, dtype=v.dtype)
    return v


class _State(dict):
    """``Optimizer.state``: a dict keyed by parameter index that also takes the parameter tensor
    (looked up by identity) wherever a key goes, as PyTorch's ``optimizer.state[p]``."""

    def __init__(self, params):
        super().__init__()
        self._index = {id(p): k for k, p in enumerate(params)}

    def _key(self, key):
        if isinstance(key, Tensor):
            k = self._index.get(id(key))
            if k is None:
                raise KeyError(f"optimizer state: this tensor of shape {key.shape} is not one of "
                               "the optimizer's parameters")
            return k
        return key

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __contains__(self, key):
        if isinstance(key, Tensor):
            return id(key) in self._index
        return super().__contains__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default


class Optimizer:
    """Base class: holds ``param_groups`` and per-parameter state.

    Subclasses set ``_buffers(group)`` (names of the state buffers the options need) and
    ``_update(fused, group)`` (the fused C call).  A PyTorch-style subclass may instead
    override ``step()`` and keep its own entries in ``self.state[p]`` (they persist and are
    saved by ``state_dict``).

    ``foreach``: every step is already one fused C call per param group, so PyTorch's
    ``foreach`` switch has nothing to choose: every optimizer here (and ``clip_grad_value_``)
    accepts it and ignores it.  Each also accepts the PyTorch flags its ``torch.optim``
    counterpart has among ``differentiable``, ``fused`` and ``capturable``, as False / None
    only: True raises ValueError (not supported).
    """

    _name = "Optimizer"

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.param_groups = []
        self._fused = []
        self._bufs = []
        self._group_params = []  # per group: the parameters its fused C group was built from
        if isinstance(params, Tensor):
            raise TypeError(f"{self._name}: params must be an iterable of Tensors or of dicts, "
                            "got a single Tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{self._name}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def _validate(self, group):
        pass

    def _buffers(self, group):
        return ()

    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (missing ones come from defaults)."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{self._name}: a param group must be a dict with a 'params' entry")
        group = dict(param_group)
        ps = group["params"]
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        for i, p in enumerate(ps):
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: parameter {i} is not a leaf tensor; optimizers "
                                 "update leaves (use .detach().requires_grad_())")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in ps) or len({id(p) for p in ps}) != len(ps):
            raise ValueError(f"{self._name}: some parameters appear in more than one param group")
        group["params"] = ps
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)
        self._fused.append(_core._FusedGroup(ps))
        self._group_params.append(tuple(ps))
        self.__dict__.setdefault("_param_state", []).extend({} for _ in ps)
        self._bufs.append({})
        self._ensure_buffers(len(self.param_groups) - 1, group)

    def _ensure_buffers(self, i, group):
        """Create the state buffers (zeros, as in PyTorch) that the options of param group ``i``
        need and that do not exist yet: at construction, and when an option such as amsgrad,
        centered or momentum is switched on in ``param_groups`` or by a loaded state."""
        bufs = self._bufs[i]
        for slot, name in enumerate(self._buffers(group)):
            if name is not None and name not in bufs:
                bufs[name] = [_zeros_like(p) for p in group["params"]]
                self._fused[i].set_buffers(slot, bufs[name])

    def _check_groups(self):
        """Each param group still holds the parameters its fused C group was built from: a
        parameter appended to (or replaced in) ``param_groups[i]["params"]``, or a group removed,
        would otherwise be skipped, or get another group's options, without a word."""
        built = self.__dict__.get("_group_params")
        # None: an optimizer pickled before this check existed
        if built is None or _core._groups_match(self.param_groups, built):
            return
        if len(self.param_groups) != len(built):
            raise RuntimeError(f"{self._name}: param_groups has {len(self.param_groups)} groups "
                               f"but the optimizer was built with {len(built)}; add a group with "
                               "add_param_group(), and build a new optimizer to drop one")
        for i, (g, ps) in enumerate(zip(self.param_groups, built)):
            cur = g.get("params") if isinstance(g, dict) else None
            if type(cur) is not list or len(cur) != len(ps) or not all(map(_is, cur, ps)):
                raise RuntimeError(f"{self._name}: param_groups[{i}]['params'] was changed after "
                                   "the optimizer was built; add parameters with "
                                   "add_param_group(), or build a new optimizer")

    def zero_grad(self, set_to_none=True):
        """Release (default) or zero every parameter's gradient: one C call per group."""
        self._check_groups()
        for f in self._fused:
            f.zero_grad(set_to_none)

    def step(self, closure=None):
        """Update every parameter that has a gradient.  ``closure`` (optional) re-evaluates the
        model and returns the loss, which is returned."""
        self._check_groups()
        loss = None
        if closure is not None:
            with _core_enable_grad():
                loss = closure()
        for i, (f, g) in enumerate(zip(self._fused, self.param_groups)):
            try:
                self._ensure_buffers(i, g)  # an option switched on since the last step
                self._update(f, g)  # the C step re-checks lr, momentum, eps... (ValueError)
            except TypeError:
                # an option set to None or a str in param_groups since the last step: say which
                # one (the C call's argument conversion cannot), then keep the original error
                self._validate(g)
                raise
        return loss

    # ---- state
    @property
    def state(self):
        """Per-parameter state: {param index: {"step": int, buffer name: Tensor}}; the
        parameter tensor itself is a key too, as in PyTorch (``opt.state[p]["exp_avg"]``)."""
        self._check_groups()
        params = [p for g in self.param_groups for p in g["params"]]
        out = _State(params)
        keep = self._persistent_state(len(params))
        idx = 0
        for f, g, bufs in zip(self._fused, self.param_groups, self._bufs):
            steps = f.get_steps()
            for j in range(len(g["params"])):
                d = keep[idx]   # the same dict each time: entries a subclass adds persist
                # step and the buffers first, then the entries a subclass or a load added (a
                # load puts those first): one order whether the state was stepped or loaded
                extra = [(k, v) for k, v in d.items() if k != "step" and k not in bufs]
                d.clear()
                d["step"] = steps[j]
                for name, lst in bufs.items():
                    d[name] = lst[j]
                d.update(extra)
                out[idx] = d
                idx += 1
        return out

    def _persistent_state(self, n):
        """One dict per parameter, kept across ``state`` reads: the fused state (step, buffers)
        is refreshed into it, and what a PyTorch-style subclass stores in ``self.state[p]``
        stays (it was dropped by the next read)."""
        keep = self.__dict__.setdefault("_param_state", [])
        if len(keep) < n:  # an optimizer pickled before these dicts existed
            keep[:0] = [{} for _ in range(n - len(keep))]
        return keep

    def state_dict(self):
        """{"state": {index: {"step", buffers as numpy copies}}, "param_groups": [options with
        "params" as parameter indices]}."""
        state = {}
        for k, d in self.state.items():
            state[k] = {n: (np.array(v.numpy(), copy=True) if isinstance(v, Tensor) else v)
                        for n, v in d.items()}
        groups = []
        idx = 0
        for g in self.param_groups:
            gd = {k: v for k, v in g.items() if k != "params"}
            gd["params"] = list(range(idx, idx + len(g["params"])))
            idx += len(g["params"])
            groups.append(gd)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options, step counts and buffers (everything is checked before any write)."""
        self._check_groups()
        try:
            groups = list(state_dict["param_groups"])
            state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{self._name}.load_state_dict: expected a dict with 'state' and "
                             "'param_groups'")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the state has {len(groups)} param "
                             f"groups, the optimizer {len(self.param_groups)}")
        staged = []
        idx = 0
        for gi, (g, sg, bufs) in enumerate(zip(self.param_groups, groups, self._bufs)):
            n = len(g["params"])
            if len(list(sg["params"])) != n:
                raise ValueError(f"{self._name}.load_state_dict: param group {gi} has {n} "
                                 f"parameters, the state {len(list(sg['params']))}")
            opts = {k: v for k, v in sg.items() if k != "params"}
            trial = dict(g)
            trial.update(opts)
            self._validate(trial)
            steps = []
            slots = list(self._buffers(trial))
            bvals = {name: [] for name in slots if name is not None}
            for j in range(n):
                key = idx + j
                st = state.get(key, state.get(str(key)))
                if st is None:
                    raise ValueError(f"{self._name}.load_state_dict: no state for parameter {key}")
                steps.append(int(st["step"]))
                for name in bvals:
                    if name not in st:
                        raise ValueError(f"{self._name}.load_state_dict: parameter {key} lacks "
                                         f"buffer {name!r}")
                    arr = np.asarray(st[name].numpy() if isinstance(st[name], Tensor) else st[name])
                    if arr.shape != g["params"][j].shape:
                        raise ValueError(f"{self._name}.load_state_dict: buffer {name!r} of "
                                         f"parameter {key} has shape {arr.shape}, expected "
                                         f"{g['params'][j].shape}")
                    bvals[name].append(arr)
            staged.append((opts, steps, slots, bvals))
            idx += n
        for i, (f, g, bufs, (opts, steps, slots, bvals)) in enumerate(
                zip(self._fused, self.param_groups, self._bufs, staged)):
            g.update(opts)
            f.set_steps(steps)
            self._ensure_buffers(i, g)  # an option turned on by the loaded state (e.g. amsgrad)
            for name in bvals:
                for t, a in zip(bufs[name], bvals[name]):
                    t.numpy()[...] = a
        # the other entries (a subclass's own state) replace those held, as in PyTorch
        known = {"step"}.union(*(b.keys() for b in self._bufs))
        n = sum(len(g["params"]) for g in self.param_groups)
        self._param_state = [{k: _as_state_value(v)
                              for k, v in state.get(i, state.get(str(i))).items()
                              if k not in known} for i in range(n)]

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


class _core_enable_grad:
    def __enter__(self):
        self.prev = _core._set_grad_enabled(True)

    def __exit__(self, *exc):
        _core._set_grad_enabled(self.prev)
        return False


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's formulation).

    g = grad + weight_decay * p;  b = momentum * b + (1 - dampening) * g (b = g on a parameter's
    first step with momentum != 0, also when momentum is switched on mid-run);
    g = g + momentum * b (nesterov) or b;  p = p - lr * g.

    ``state[i]["momentum_buffer"]`` is None until that first momentum step, as in PyTorch.

    ``foreach`` (None or a bool) is accepted for PyTorch compatibility and ignored: each step is
    already one fused C call per param group.  ``differentiable`` and ``fused`` are accepted as
    False / None only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w.tolist()
    [0.800000011920929]
    """
    _name = "SGD"

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False, *, foreach=None, differentiable=False,
                 fused=None):
        _torch_flags(self._name, foreach, differentiable=differentiable, fused=fused)
        # per group, per parameter: has the momentum buffer been seeded yet?  PyTorch creates
        # the buffer (b = g) on the first step taken with momentum != 0, which need not be the
        # first step; the C kernel seeds only at step count 0, see _update
        self._started = []
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _validate(self, g):
        for k in ("lr", "momentum", "dampening", "weight_decay"):
            _check_nonneg(k, g[k], "SGD")
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    def _buffers(self, g):
        return ("momentum_buffer",)

    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        self._started.append([False] * len(self.param_groups[-1]["params"]))

    def __setstate__(self, state):
        # an SGD pickled before _started existed: its buffers, if any, are already seeded
        self.__dict__.update(state)
        if "_started" not in self.__dict__:
            self._started = [[True] * len(g["params"]) for g in self.param_groups]

    def _update(self, f, g):
        args = (g["lr"], g["momentum"], g["dampening"], g["nesterov"], g["weight_decay"],
                g["maximize"])
        if g["momentum"] == 0:
            f.sgd(*args)
            return
        started = self._started[self._fused.index(f)]
        fresh = [j for j, p in enumerate(g["params"]) if not started[j] and p.grad is not None]
        steps = f.get_steps() if fresh else None
        if fresh and any(steps[j] for j in fresh):
            # momentum switched on after plain steps: the kernel seeds b = g where the step count
            # is 0, so lower those counts for this call and restore them (+1 for the step) after
            lowered = list(steps)
            for j in fresh:
                lowered[j] = 0
            f.set_steps(lowered)
            try:
                f.sgd(*args)
            except BaseException:
                f.set_steps(steps)
                raise
            after = f.get_steps()
            for j in fresh:
                after[j] = steps[j] + 1
            f.set_steps(after)
        else:
            f.sgd(*args)
        for j in fresh:
            started[j] = True

    @property
    def state(self):
        out = super().state
        flags = [s for group in self._started for s in group]
        for k, seeded in enumerate(flags):
            if not seeded:
                out[k]["momentum_buffer"] = None
        return out

    def load_state_dict(self, state_dict):
        """As :meth:`Optimizer.load_state_dict`; a ``momentum_buffer`` of None (not created yet)
        is loaded as such: the next step with momentum seeds it with the gradient."""
        try:
            state = dict(state_dict["state"])
        except (KeyError, TypeError):
            return super().load_state_dict(state_dict)  # raises the usual ValueError
        params = [p for g in self.param_groups for p in g["params"]]
        flags = []
        for k, p in enumerate(params):
            key = k if k in state else str(k)
            st = state.get(key)
            if isinstance(st, dict) and st.get("momentum_buffer", 0) is None:
                st = dict(st)
                st["momentum_buffer"] = np.zeros(p.shape)
                state[key] = st
                flags.append(False)
            else:
                flags.append(True)
        sd = dict(state_dict)
        sd["state"] = state
        super().load_state_dict(sd)
        i = 0
        for group in self._started:
            group[:] = flags[i:i + len(group)]
            i += len(group)


class Adam(Optimizer):
    """Adam (Kingma & Ba), with L2 ``weight_decay`` added to the gradient and optional amsgrad.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p = p - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps).

    ``foreach`` (None or a bool) is accepted for PyTorch compatibility and ignored: each step is
    already one fused C call per param group.  ``differentiable``, ``fused`` and ``capturable``
    are accepted as False / None only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.9
    """
    _name = "Adam"
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False, *, foreach=None, differentiable=False,
                 fused=None, capturable=False):
        _torch_flags(self._name, foreach, differentiable=differentiable, fused=fused,
                     capturable=capturable)
        super().__init__(params, dict(lr=lr, betas=_betas(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _validate(self, g):
        _check_adam_like(self._name, g)

    def _buffers(self, g):
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq" if g["amsgrad"] else None)

    def _update(self, f, g):
        b1, b2 = g["betas"]
        f.adam(g["lr"], b1, b2, g["eps"], g["weight_decay"], self._decoupled, g["amsgrad"],
               g["maximize"])


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p * (1 - lr * weight_decay) before the Adam step.

    ``foreach`` (None or a bool) is accepted for PyTorch compatibility and ignored, as in
    :class:`Adam`; ``differentiable``, ``fused`` and ``capturable`` are accepted as False / None
    only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.AdamW([ag.zeros(2, requires_grad=True)])
    >>> opt.param_groups[0]["weight_decay"]
    0.01
    """
    _name = "AdamW"
    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False, *, foreach=None, differentiable=False,
                 fused=None, capturable=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize,
                         foreach=foreach, differentiable=differentiable, fused=fused,
                         capturable=capturable)


class RMSprop(Optimizer):
    """RMSprop: s = alpha s + (1 - alpha) g^2;  p = p - lr g / (sqrt(s) + eps), optionally
    centered (s - mean(g)^2) and with momentum.

    ``foreach`` (None or a bool) is accepted for PyTorch compatibility and ignored: each step is
    already one fused C call per param group.  ``differentiable`` and ``capturable`` are accepted
    as False only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.RMSprop([ag.zeros(2, requires_grad=True)], lr=0.01)
    >>> opt.param_groups[0]["alpha"]
    0.99
    """
    _name = "RMSprop"

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False, *, foreach=None, differentiable=False,
                 capturable=False):
        _torch_flags(self._name, foreach, differentiable=differentiable, capturable=capturable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _validate(self, g):
        for k in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_nonneg(k, g[k], "RMSprop")

    def _buffers(self, g):
        return ("square_avg", "momentum_buffer" if g["momentum"] > 0 else None,
                "grad_avg" if g["centered"] else None)

    def _update(self, f, g):
        f.rmsprop(g["lr"], g["alpha"], g["eps"], g["weight_decay"], g["momentum"], g["centered"],
                  g["maximize"])


class Adagrad(Optimizer):
    """Adagrad: s = s + g^2;  p = p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps).

    ``foreach`` (None or a bool) is accepted for PyTorch compatibility and ignored: each step is
    already one fused C call per param group.  ``differentiable`` and ``fused`` are accepted as
    False / None only; True is not supported (ValueError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> opt = ag.optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 4)
    0.5
    """
    _name = "Adagrad"

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False, *, foreach=None,
                 differentiable=False, fused=None):
        _torch_flags(self._name, foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def add_param_group(self, param_group):
        """Add a param group; its accumulators start at the group's initial_accumulator_value
        (the constructor's unless the group sets its own), also for groups added after
        construction."""
        super().add_param_group(param_group)
        init = self.param_groups[-1]["initial_accumulator_value"]
        for t in self._bufs[-1]["sum"]:
            t.fill_(init)

    def _validate(self, g):
        for k in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_nonneg(k, g[k], "Adagrad")

    def _buffers(self, g):
        return ("sum",)

    def _update(self, f, g):
        f.adagrad(g["lr"], g["lr_decay"], g["weight_decay"], g["eps"], g["maximize"])


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    Returns the total norm before clipping (a Python float).  A NaN total leaves the gradients
    unchanged (an infinite one scales them by 0); ``error_if_nonfinite=True`` raises
    RuntimeError instead, before any gradient is changed.

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([3.0, 4.0], requires_grad=True)
    >>> w.grad = ag.tensor([3.0, 4.0])
    >>> ag.optim.clip_grad_norm_([w], 1.0)
    5.0
    >>> [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    ps = [p for p in parameters if p.grad is not None]
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0, got {norm_type}")
    if not ps:
        return 0.0
    f = _core._FusedGroup(ps)
    acc = f.grad_norm_acc(norm_type)
    total = acc if math.isinf(norm_type) else acc ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is non-finite ({total}), so it cannot be clipped")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        f.scale_grads(coef)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place.

    Parameters without a gradient are skipped; NaN gradient elements stay NaN.  ``foreach`` is
    accepted for PyTorch compatibility and ignored (the clamp is always one fused C call).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        The parameters whose ``.grad`` is clamped.
    clip_value : float
        The bound, a number >= 0.

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> w.grad = ag.tensor([-5.0, 0.25, 4.0])
    >>> ag.optim.clip_grad_value_([w], 1.0)
    >>> w.grad.tolist()
    [-1.0, 0.25, 1.0]
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    if not _is_number(clip_value):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, got "
                        f"{type(clip_value).__name__}")
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a number >= 0, got {clip_value}")
    ps = list(parameters)
    for i, p in enumerate(ps):
        if not isinstance(p, Tensor):
            raise TypeError(f"clip_grad_value_: parameter {i} is a {type(p).__name__}, not a Tensor")
    ps = [p for p in ps if p.grad is not None]
    if ps:
        _core._FusedGroup(ps).clip_grads(clip_value)
