"""Cyclic learning-rate schedules: OneCycleLR, CyclicLR and CosineAnnealingWarmRestarts (public
through :mod:`autograd_c.optim.lr_scheduler`).  Each sets the lr from the step count alone."""
import math

from ._lr_base import (LRScheduler, _check_cycles_momentum, _check_optimizer, _integer, _number,
                       _per_group, _set_momentum)

__all__ = ["OneCycleLR", "CyclicLR", "CosineAnnealingWarmRestarts"]


def _anneal_cos(start, end, pct):
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _anneal_linear(start, end, pct):
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): the lr rises from ``max_lr / div_factor`` to
    ``max_lr`` over the first ``pct_start`` of ``total_steps``, then anneals down to
    ``max_lr / (div_factor * final_div_factor)``; momentum (or Adam's beta1) moves the opposite
    way between ``max_momentum`` and ``base_momentum``.  Step it once per batch.

    Phases (step s, ends at e_k, pct = (s - e_{k-1}) / (e_k - e_{k-1}), e_0 = 0):
    two-phase: initial -> max until pct_start * T - 1, max -> min until T - 1;
    ``three_phase``: initial -> max until pct_start * T - 1, max -> initial until
    2 pct_start T - 2, initial -> min until T - 1.  ``anneal_strategy`` "cos":
    end + (start - end) (1 + cos(pi pct)) / 2, "linear": start + (end - start) pct.

    Parameters
    ----------
    optimizer : Optimizer
    max_lr : float or list of float
        Peak lr, or one per param group.
    total_steps : int, optional
        Length of the cycle; else ``epochs * steps_per_epoch``.
    epochs, steps_per_epoch : int, optional
    pct_start : float, default 0.3
    anneal_strategy : {"cos", "linear"}, default "cos"
    cycle_momentum : bool, default True
    base_momentum, max_momentum : float or list of float, default 0.85, 0.95
    div_factor : float, default 25
    final_div_factor : float, default 1e4
    three_phase : bool, default False
    last_epoch : int, default -1

    Stepping past ``total_steps`` raises ValueError.

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    >>> s = ag.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    >>> round(s.get_last_lr()[0], 6), opt.param_groups[0]["momentum"]
    (0.04, 0.95)
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        who = type(self).__name__
        _check_optimizer(who, optimizer)
        if total_steps is not None:
            self.total_steps = _integer(who, "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_integer(who, "epochs", epochs, 1)
                                * _integer(who, "steps_per_epoch", steps_per_epoch, 1))
        else:
            raise ValueError(f"{who}: give total_steps, or both epochs and steps_per_epoch")
        pct = _number(who, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{who}: anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        div = _number(who, "div_factor", div_factor, 0.0, lo_open=True)
        final_div = _number(who, "final_div_factor", final_div_factor, 0.0, lo_open=True)
        max_lrs = _per_group(who, "max_lr", max_lr, optimizer, lo=0.0)
        T = self.total_steps
        up = float(pct * T) - 1
        if three_phase:
            self._schedule_phases = [
                dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct * T) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=T - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self._schedule_phases = [
                dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=T - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        if last_epoch == -1:
            for g, m in zip(optimizer.param_groups, max_lrs):
                g["initial_lr"] = m / div
                g["max_lr"] = m
                g["min_lr"] = g["initial_lr"] / final_div
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            _check_cycles_momentum(who, optimizer)
            maxm = _per_group(who, "max_momentum", max_momentum, optimizer, lo=0.0)
            basem = _per_group(who, "base_momentum", base_momentum, optimizer, lo=0.0)
            if last_epoch == -1:
                _set_momentum(optimizer, maxm)
                for g, hi, lo in zip(optimizer.param_groups, maxm, basem):
                    g["max_momentum"], g["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)

    def _compute_lrs(self, initial):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, past total_steps = "
                             f"{self.total_steps}")
        anneal = _anneal_cos if self.anneal_strategy == "cos" else _anneal_linear
        lrs, moms = [], []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, ph in enumerate(self._schedule_phases):
                end = ph["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(anneal(g[ph["start_lr"]], g[ph["end_lr"]], pct))
                    if self.cycle_momentum:
                        moms.append(anneal(g[ph["start_momentum"]], g[ph["end_momentum"]], pct))
                    break
                start = end
        if self.cycle_momentum:
            _set_momentum(self.optimizer, moms)
        return lrs


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith, 2017): the lr goes from ``base_lr`` up to ``max_lr`` in
    ``step_size_up`` steps and back in ``step_size_down`` steps, the amplitude scaled by
    ``scale_fn``; momentum moves the opposite way.  Step it once per batch.

    With cycle = floor(1 + t / total), x = 1 + t / total - cycle (total = up + down),
    f = x / r if x <= r else (x - 1) / (r - 1) (r = up / total):
    lr = base_lr + (max_lr - base_lr) f scale(cycle or t);
    momentum = max_m - (max_m - base_m) f scale(...).
    "triangular": scale = 1; "triangular2": scale(cycle) = 1 / 2^(cycle - 1);
    "exp_range": scale(t) = gamma^t.

    Parameters
    ----------
    optimizer : Optimizer
    base_lr, max_lr : float or list of float
    step_size_up : int, default 2000
    step_size_down : int, optional
        Defaults to ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}, default "triangular"
    gamma : float, default 1.0
    scale_fn : callable, optional
        Custom scaling (overrides ``mode``), of the cycle or of the step per ``scale_mode``.
    scale_mode : {"cycle", "iterations"}, default "cycle"
    cycle_momentum : bool, default True
    base_momentum, max_momentum : float or list of float, default 0.8, 0.9
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
    >>> s = ag.optim.lr_scheduler.CyclicLR(opt, 0.1, 0.5, step_size_up=2)
    >>> [round(s.step() or s.get_last_lr()[0], 4) for _ in range(4)]
    [0.3, 0.5, 0.3, 0.1]
    """
    _callables = ("_scale_fn_custom",)

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        who = type(self).__name__
        _check_optimizer(who, optimizer)
        base_lrs = _per_group(who, "base_lr", base_lr, optimizer, lo=0.0)
        self.max_lrs = _per_group(who, "max_lr", max_lr, optimizer, lo=0.0)
        up = _number(who, "step_size_up", step_size_up, 0.0, lo_open=True)
        down = up if step_size_down is None else _number(who, "step_size_down", step_size_down,
                                                         0.0, lo_open=True)
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{who}: mode must be 'triangular', 'triangular2' or 'exp_range' "
                             f"(or give scale_fn), got {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"{who}: scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_fn is not None and scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{who}: scale_mode must be 'cycle' or 'iterations', got "
                             f"{scale_mode!r}")
        self.mode = mode
        self.gamma = _number(who, "gamma", gamma)
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else (
            "iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            _check_cycles_momentum(who, optimizer)
            self.base_momentums = _per_group(who, "base_momentum", base_momentum, optimizer,
                                             lo=0.0)
            self.max_momentums = _per_group(who, "max_momentum", max_momentum, optimizer, lo=0.0)
            if last_epoch == -1:
                _set_momentum(optimizer, self.max_momentums)
                for g, hi, lo in zip(optimizer.param_groups, self.max_momentums,
                                     self.base_momentums):
                    g["max_momentum"], g["base_momentum"] = hi, lo
        if last_epoch == -1:
            for g, lr in zip(optimizer.param_groups, base_lrs):
                g["lr"] = lr
        self._base = base_lrs
        super().__init__(optimizer, last_epoch)

    def _initial_base_lrs(self):
        return list(self._base)

    def scale_fn(self, x):
        """The amplitude scale at ``x`` (the cycle number or the step, per ``scale_mode``)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular2":
            return 1.0 / (2.0 ** (x - 1))
        if self.mode == "exp_range":
            return self.gamma ** x
        return 1.0

    def _compute_lrs(self, initial):
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        f = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        if self.cycle_momentum:
            _set_momentum(self.optimizer, [hi - (hi - lo) * f * scale for lo, hi in
                                           zip(self.base_momentums, self.max_momentums)])
        return [b + (m - b) * f * scale for b, m in zip(self.base_lrs, self.max_lrs)]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing with warm restarts (SGDR): within a period of T_i epochs,
    lr = eta_min + (base_lr - eta_min) (1 + cos(pi T_cur / T_i)) / 2; the first period is
    ``T_0`` long and each next one ``T_mult`` times longer.

    ``step(epoch)`` accepts a fractional epoch (e.g. ``epoch + batch / batches``) and jumps
    there.  Resumed with ``last_epoch=k`` (and the groups' ``initial_lr``), the scheduler starts
    at its position for epoch k + 1, as PyTorch's does for ``T_mult=1``; for ``T_mult > 1``
    PyTorch's resumed T_cur is not a position of the schedule once k + 1 >= T_0, this one is.

    Parameters
    ----------
    optimizer : Optimizer
    T_0 : int
        Length of the first period (>= 1).
    T_mult : int, default 1
        Growth factor of the periods (>= 1).
    eta_min : float, default 0
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
    >>> [round(s.step() or s.get_last_lr()[0], 4) for _ in range(3)]
    [0.5, 1.0, 0.5]
    """

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        who = type(self).__name__
        self.T_0 = _integer(who, "T_0", T_0, 1)
        self.T_i = self.T_0
        self.T_mult = _integer(who, "T_mult", T_mult, 1)
        self.eta_min = _number(who, "eta_min", eta_min)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def _compute_lrs(self, initial):
        c = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]

    def _advance(self, initial):
        if self.last_epoch < 0 or initial:
            # the first step, or a resumed scheduler's (last_epoch >= 0): jump to the position
            # of that epoch.  PyTorch's resume wraps T_cur once (T_cur % T_i), the same
            # position for T_mult = 1, a wrong one (T_cur past the restart) for T_mult > 1
            self.step(self.last_epoch + 1)
            return
        self.T_cur += 1
        if self.T_cur >= self.T_i:
            self.T_cur -= self.T_i
            self.T_i *= self.T_mult
        self.last_epoch += 1
        self._set_lrs(self._compute_lrs(initial))

    def step(self, epoch=None):
        """Advance one epoch, or jump to ``epoch`` (a number >= 0, may be fractional)."""
        if epoch is None:
            self._advance(initial=False)
            return
        e = _number(type(self).__name__, "epoch", epoch, 0.0)
        # the period holding e: periods T_0, T_0 T_mult, ... start at their running sums
        start, T = 0, self.T_0
        while e >= start + T:
            start, T = start + T, T * self.T_mult
        self.T_i, self.T_cur = T, e - start
        self.last_epoch = math.floor(e)
        self._set_lrs(self._compute_lrs(initial=False))
