"""Learning-rate schedulers, with PyTorch's names, arguments and sequences.
Call ``scheduler.step()`` once per epoch (OneCycleLR and CyclicLR: once per batch), after
``optimizer.step()``.

As in PyTorch, the multiplicative schedulers (StepLR, MultiStepLR, ExponentialLR,
MultiplicativeLR, LinearLR, ConstantLR, CosineAnnealingLR) derive each new lr from the group's
*current* lr, not from a closed form in the epoch count: an lr set by hand between steps is kept
and decayed from there, and several schedulers can drive one optimizer (their factors multiply;
ChainedScheduler steps them together).  Used alone, the sequences equal the closed forms given in
each class.  LambdaLR, OneCycleLR, CyclicLR and CosineAnnealingWarmRestarts set the lr from the
epoch count alone.  SequentialLR hands over from one scheduler to the next at milestones.

Every scheduler has ``get_last_lr()``, ``state_dict()`` and ``load_state_dict()``."""
import math
import numbers
from bisect import bisect_right
from collections import Counter

from ._lr_base import (LRScheduler, _callable_state, _check_optimizer, _integer,  # noqa: F401
                       _number, _per_group)
from ._lr_cycles import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR  # noqa: F401

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler",
           "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR"]


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: used alone,
    lr = base_lr * gamma ** (epoch // step_size).

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(3): s.step()
    >>> s.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = _integer("StepLR", "step_size", step_size, 1)
        self.gamma = _number("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def next_lr(self, lr, base_lr, initial):
        # PyTorch's rule, also for the constructor's step: a resumed scheduler
        # (last_epoch >= 0) that lands on a multiple of step_size decays there
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lr
        return lr * self.gamma

    def _closed_form(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: used alone, lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = _number("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def next_lr(self, lr, base_lr, initial):
        # the constructor's step keeps the lr (a resumed optimizer already holds it)
        return lr if initial else lr * self.gamma

    def _closed_form(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class _LambdaScheduler(LRScheduler):
    """A scheduler driven by user functions of the epoch, one per param group (kept out of
    state_dict when they are plain functions)."""
    _callables = ("lr_lambdas",)

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(type(self).__name__, optimizer)
        self.lr_lambdas = _lambdas(type(self).__name__, lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)


class LambdaLR(_LambdaScheduler):
    """Set each group's lr to ``base_lr * lr_lambda(epoch)``.

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        A function of the epoch (int) returning a factor, or one such function per param group.
    last_epoch : int, default -1

    Plain functions and lambdas are not saved by ``state_dict()`` (as in PyTorch); callable
    objects have their attributes saved.

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5 ** e)
    >>> s.step(); s.step(); s.get_last_lr()
    [0.25]
    """
    def _compute_lrs(self, initial):
        return [b * f(self.last_epoch) for f, b in zip(self.lr_lambdas, self.base_lrs)]


def _lambdas(who, lr_lambda, optimizer):
    n = len(optimizer.param_groups)
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if len(fns) != n:
        raise ValueError(f"{who}: expected {n} lr_lambdas (one per param group), got {len(fns)}")
    for i, f in enumerate(fns):
        if not callable(f):
            raise TypeError(f"{who}: lr_lambda {i} is a {type(f).__name__}, not callable")
    return fns


class MultiplicativeLR(_LambdaScheduler):
    """Multiply each group's lr by ``lr_lambda(epoch)`` at every step after the constructor's:
    lr_epoch = lr_{epoch-1} * lr_lambda(epoch).  ``step(epoch)`` multiplies by
    ``lr_lambda(epoch)`` too (so a SequentialLR restarting it applies ``lr_lambda(0)``).

    Parameters
    ----------
    optimizer : Optimizer
    lr_lambda : callable or list of callables
        A function of the epoch returning a factor, or one per param group.
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.5)
    >>> s.step(); s.step(); s.get_last_lr()
    [0.25]
    """
    def _compute_lrs(self, initial):
        # PyTorch's rule: only the constructor's step keeps the lr (also when resuming with
        # last_epoch >= 0); every other step multiplies, step(0) (a SequentialLR restart) too
        groups = self.optimizer.param_groups
        if initial:
            return [g["lr"] for g in groups]
        return [g["lr"] * f(self.last_epoch) for f, g in zip(self.lr_lambdas, groups)]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each milestone epoch (by gamma^k at a milestone listed k
    times): used alone, lr = base_lr * gamma ** (number of milestones <= epoch).

    Parameters
    ----------
    optimizer : Optimizer
    milestones : iterable of int
        Epochs at which to decay; repeats count.
    gamma : float, default 0.1
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> [round(s.step() or s.get_last_lr()[0], 4) for _ in range(4)]
    [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        who = type(self).__name__
        ms = [_integer(who, "milestones[i]", m, 0) for m in milestones]
        self.milestones = Counter(ms)
        self.gamma = _number(who, "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def next_lr(self, lr, base_lr, initial):
        return lr * self.gamma ** self.milestones.get(self.last_epoch, 0)

    def _closed_form(self):
        k = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma ** k for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the lr by ``factor`` for the first ``total_iters`` epochs: used alone,
    lr = base_lr * factor for epoch < total_iters, base_lr after.

    Parameters
    ----------
    optimizer : Optimizer
    factor : float, default 1/3
        In (0, 1] (PyTorch also allows 0, then fails with ZeroDivisionError at total_iters).
    total_iters : int, default 5
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
    >>> [s.get_last_lr()[0]] + [s.step() or s.get_last_lr()[0] for _ in range(3)]
    [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        who = type(self).__name__
        self.factor = _number(who, "factor", factor, 0.0, 1.0, lo_open=True)
        self.total_iters = _integer(who, "total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def next_lr(self, lr, base_lr, initial):
        if self.last_epoch == 0:
            return lr * self.factor
        return lr / self.factor if self.last_epoch == self.total_iters else lr

    def _closed_form(self):
        f = 1.0 if self.last_epoch >= self.total_iters else self.factor
        return [b * f for b in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs: used alone,
    lr = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters).

    Parameters
    ----------
    optimizer : Optimizer
    start_factor : float, default 1/3
        In (0, 1].
    end_factor : float, default 1.0
        In [0, 1].
    total_iters : int, default 5
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> [s.get_last_lr()[0]] + [s.step() or s.get_last_lr()[0] for _ in range(3)]
    [0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        who = type(self).__name__
        self.start_factor = _number(who, "start_factor", start_factor, 0.0, 1.0, lo_open=True)
        self.end_factor = _number(who, "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _integer(who, "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def next_lr(self, lr, base_lr, initial):
        e, s, d, n = self.last_epoch, self.start_factor, self.end_factor - self.start_factor, \
            self.total_iters
        if e == 0:
            return lr * s
        if initial or e > n:
            return lr  # a resumed scheduler's first step keeps the lr, as in PyTorch
        # ratio of the factors at e and e - 1
        return lr * (1.0 + d / (n * s + (e - 1) * d))

    def _closed_form(self):
        e = min(self.total_iters, self.last_epoch)
        f = self.start_factor + (self.end_factor - self.start_factor) * e / self.total_iters
        return [b * f for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from base_lr down to ``eta_min`` over ``T_max`` epochs (and back up over
    the next ``T_max``): used alone,
    lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    Each step applies PyTorch's recursive form
    lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max)),
    so that changes made to the lr from outside are scaled along instead of being overwritten.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = _integer("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = _number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def next_lr(self, lr, base_lr, initial):
        t, T, lo = self.last_epoch, self.T_max, self.eta_min
        if initial:
            return lr
        if (t - 1 - T) % (2 * T) == 0:
            # leaving the minimum: the ratio below would divide by 1 + cos(pi) = 0, so add the
            # closed form's first increment instead
            return lr + (base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return lo + (lr - lo) * ratio

    def _closed_form(self):
        c = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (b - self.eta_min) * c for b in self.base_lrs]


def _plateau_options(who, mode, factor, patience, threshold, threshold_mode, cooldown, eps):
    """ReduceLROnPlateau's options, checked (TypeError / ValueError naming the argument)."""
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'min' or 'max', got {mode!r}")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"{who}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
    return {"mode": mode, "factor": _number(who, "factor", factor, 0.0, 1.0, True, True),
            "patience": _integer(who, "patience", patience, 0),
            "threshold": _number(who, "threshold", threshold, 0.0),
            "threshold_mode": threshold_mode, "cooldown": _integer(who, "cooldown", cooldown, 0),
            "eps": _number(who, "eps", eps, 0.0)}


class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` when a metric has not improved for ``patience`` epochs.

    Parameters
    ----------
    optimizer : Optimizer
    mode : {"min", "max"}
        Whether the metric should decrease or increase.
    factor : float in (0, 1)
    patience : int >= 0
        Epochs without improvement tolerated before the lr drops.
    threshold : float >= 0
        Least change that counts as an improvement, relative to the best value
        (``threshold_mode="rel"``) or absolute (``"abs"``).
    threshold_mode : {"rel", "abs"}
    cooldown : int >= 0
        Epochs after a drop during which bad epochs are not counted.
    min_lr : float >= 0 or list of them (one per param group)
    eps : float >= 0
        A drop smaller than ``eps`` is not applied.

    Examples
    --------
    >>> import autograd_c as ag
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> s = ag.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    >>> for loss in [1.0, 1.0, 1.0]: s.step(loss)
    >>> opt.param_groups[0]["lr"]
    0.5
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        who = "ReduceLROnPlateau"
        _check_optimizer(who, optimizer)
        options = _plateau_options(who, mode, factor, patience, threshold, threshold_mode,
                                   cooldown, eps)
        min_lrs = _per_group(who, "min_lr", min_lr, optimizer, lo=0.0)
        self.optimizer = optimizer
        self.__dict__.update(options)
        self.min_lrs = min_lrs
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _better(self, a, best):
        if self.mode == "min":
            ref = best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return a < ref
        ref = best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return a > ref

    def step(self, metrics):
        """Record one epoch's metric; lower the lrs after ``patience`` epochs without an
        improvement."""
        current = float(metrics)
        self.last_epoch += 1
        if self._better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for g, mn in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(g["lr"] * self.factor, mn)
                if g["lr"] - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates (one per param group) after the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self):
        """The scheduler's state: a dict of plain values (lists copied), without the
        optimizer."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
                if k != "optimizer"}

    def load_state_dict(self, state_dict):
        """Restore a state from :meth:`state_dict`, checked first: a state with missing or
        unknown entries, or with values the constructor would refuse, raises and changes
        nothing."""
        who = "ReduceLROnPlateau.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{who}: expected a dict, got {type(state_dict).__name__}")
        want = set(self.state_dict())
        missing, unknown = sorted(want - set(state_dict)), sorted(set(state_dict) - want)
        if missing or unknown:
            parts = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + \
                ([f"unexpected {', '.join(map(repr, unknown))}"] if unknown else [])
            raise ValueError(f"{who}: not a ReduceLROnPlateau state ({'; '.join(parts)})")
        sd = state_dict
        state = _plateau_options(who, sd["mode"], sd["factor"], sd["patience"], sd["threshold"],
                                 sd["threshold_mode"], sd["cooldown"], sd["eps"])
        opt = self.optimizer
        state["min_lrs"] = _per_group(who, "min_lrs", list(sd["min_lrs"]), opt, lo=0.0)
        state["_last_lr"] = _per_group(who, "_last_lr", list(sd["_last_lr"]), opt, lo=0.0)
        if not isinstance(sd["best"], numbers.Real) or isinstance(sd["best"], bool):
            raise TypeError(f"{who}: best must be a number, got {type(sd['best']).__name__}")
        state["best"] = float(sd["best"])
        for k in ("num_bad_epochs", "cooldown_counter", "last_epoch"):
            state[k] = _integer(who, k, sd[k], 0)
        self.__dict__.update(state)


def _check_schedulers(who, schedulers, optimizer):
    scheds = list(schedulers)
    if not scheds:
        raise ValueError(f"{who}: expected at least one scheduler, got none")
    optimizer = optimizer if optimizer is not None else getattr(scheds[0], "optimizer", None)
    for i, s in enumerate(scheds):
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{who}: scheduler {i} is a ReduceLROnPlateau, whose step() needs "
                             "a metric; it cannot be driven from here")
        if not hasattr(s, "optimizer") or not hasattr(s, "step"):
            raise TypeError(f"{who}: scheduler {i} is a {type(s).__name__}, not a scheduler")
        if s.optimizer is not optimizer:
            raise ValueError(f"{who}: scheduler {i} ({type(s).__name__}) drives another "
                             "optimizer; all schedulers must belong to the same optimizer")
    return scheds, optimizer


class _Composite:
    """state_dict / load_state_dict over sub-schedulers (kept in ``_schedulers``)."""

    def get_last_lr(self):
        """The learning rates (one per param group) set by the last ``step()``."""
        return list(self._last_lr)

    def _undo_initial_step(self):
        self.last_epoch -= 1
        for s in self._schedulers:
            s._undo_initial_step()

    def state_dict(self):
        """Own state plus ``_schedulers``: the sub-schedulers' state dicts."""
        out = {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
               if k not in ("optimizer", "_schedulers")}
        out["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return out

    def load_state_dict(self, state_dict):
        """Restore a state from :meth:`state_dict`, sub-schedulers included."""
        if not isinstance(state_dict, dict) or len(state_dict.get("_schedulers", ())) != \
                len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a state dict with "
                             f"{len(self._schedulers)} '_schedulers'")
        for s, sd in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(sd)
        self.__dict__.update({k: (list(v) if isinstance(v, list) else v)
                              for k, v in state_dict.items() if k != "_schedulers"})


class SequentialLR(_Composite):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its
    epoch 0) until ``milestones[1]``, and so on.

    At construction the lrs are reset to the groups' ``initial_lr`` and the schedulers'
    own initial steps are undone, so that only the active scheduler's epoch 0 is applied.  At a
    milestone the next scheduler restarts from epoch 0 with its closed form (from the base lrs)
    where it has one, as PyTorch's does.

    Parameters
    ----------
    optimizer : Optimizer
    schedulers : list of LRScheduler
        All attached to ``optimizer``.
    milestones : list of int
        ``len(schedulers) - 1`` non-decreasing epochs.
    last_epoch : int, default -1

    Examples
    --------
    >>> import autograd_c as ag
    >>> from autograd_c.optim import lr_scheduler as L
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> warm = L.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = L.ExponentialLR(opt, gamma=0.5)
    >>> s = L.SequentialLR(opt, [warm, decay], milestones=[2])
    >>> [s.get_last_lr()[0]] + [s.step() or s.get_last_lr()[0] for _ in range(4)]
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        who = type(self).__name__
        _check_optimizer(who, optimizer)
        scheds, _ = _check_schedulers(who, schedulers, optimizer)
        ms = [_integer(who, f"milestones[{i}]", m, 0) for i, m in enumerate(milestones)]
        if len(ms) != len(scheds) - 1:
            raise ValueError(f"{who}: expected {len(scheds) - 1} milestones (one fewer than the "
                             f"schedulers), got {len(ms)}")
        if ms != sorted(ms):
            raise ValueError(f"{who}: milestones must be non-decreasing, got {ms}")
        self._schedulers = scheds
        self._milestones = ms
        self.optimizer = optimizer
        self.last_epoch = _integer(who, "last_epoch", last_epoch, -1) + 1
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        for s in scheds:
            s._undo_initial_step()
        # the scheduler active at this epoch (not always the first: a milestone may be 0)
        active = scheds[bisect_right(ms, self.last_epoch)]
        active._initial_step()
        self._last_lr = active.get_last_lr()

    def step(self):
        """Advance one epoch, switching to (and restarting) the next scheduler at a milestone."""
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            s.step(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers of one optimizer together: each ``step()`` steps them in order,
    so their (chainable) factors multiply.

    Parameters
    ----------
    schedulers : sequence of LRScheduler
    optimizer : Optimizer, optional
        Defaults to the first scheduler's; all must share it.

    Examples
    --------
    >>> import autograd_c as ag
    >>> from autograd_c.optim import lr_scheduler as L
    >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=1.0)
    >>> c = L.ChainedScheduler([L.ConstantLR(opt, factor=0.5, total_iters=1),
    ...                         L.ExponentialLR(opt, gamma=0.5)])
    >>> [c.get_last_lr()[0]] + [c.step() or c.get_last_lr()[0] for _ in range(2)]
    [0.5, 0.5, 0.25]
    """

    def __init__(self, schedulers, optimizer=None):
        self._schedulers, self.optimizer = _check_schedulers(type(self).__name__, schedulers,
                                                             optimizer)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def step(self):
        """Step every scheduler once, in order."""
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
