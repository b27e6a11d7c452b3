"""The learning-rate scheduler base class and the helpers the schedulers share (see
:mod:`autograd_c.optim.lr_scheduler` for the public names)."""
import copy
import math
import numbers
import types

__all__ = ["LRScheduler"]


def _check_optimizer(who, optimizer):
    if not hasattr(optimizer, "param_groups"):
        raise TypeError(f"{who}: expected an optimizer, got {type(optimizer).__name__}")


def _number(who, name, value, lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False):
    """``value`` as a float, checked to be a finite real in the interval [lo, hi] (or open)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__}")
    v = float(value)
    bad = (not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo)
           or (hi_open and v == hi))
    if bad:
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{who}: {name} must be in {lb}{lo}, {hi}{rb}, got {value!r}")
    return v


def _integer(who, name, value, lo):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be an integer, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{who}: {name} must be an integer >= {lo}, got {value}")
    return int(value)


def _per_group(who, name, value, optimizer, **bounds):
    """One checked float per param group: ``value`` itself or, if a list/tuple, its entries."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{who}: expected {n} values of {name} (one per param group), got "
                             f"{len(value)}")
        return [_number(who, f"{name}[{i}]", v, **bounds) for i, v in enumerate(value)]
    return [_number(who, name, value, **bounds)] * n


def _callable_state(fn):
    """What a state dict keeps of a user callable: nothing (None) for functions and lambdas, as
    PyTorch does, else a copy of the callable object's attributes."""
    if isinstance(fn, types.FunctionType) or not hasattr(fn, "__dict__"):
        return None
    return copy.deepcopy(fn.__dict__)


def _set_momentum(optimizer, values):
    """Write each group's momentum: beta1 of ``betas`` where the optimizer has betas, else
    ``momentum`` (OneCycleLR and CyclicLR cycle it against the lr)."""
    for g, m in zip(optimizer.param_groups, values):
        if "betas" in g:
            g["betas"] = (m,) + tuple(g["betas"][1:])
        else:
            g["momentum"] = m


def _check_cycles_momentum(who, optimizer):
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{who}: cycle_momentum=True needs an optimizer with a 'momentum' or "
                         f"'betas' option, {type(optimizer).__name__} has neither (pass "
                         "cycle_momentum=False)")


class LRScheduler:
    """Base class of the epoch-driven schedulers.

    The constructor records each group's ``initial_lr`` (its lr when the first scheduler was
    attached) as ``base_lrs`` and makes one initial step (epoch 0).  Resuming with
    ``last_epoch >= 0`` needs ``initial_lr`` in every group (restored with the optimizer's
    state_dict), else KeyError, as in PyTorch; the initial step is then epoch last_epoch + 1.  Every ``step()`` then sets
    each group's lr from ``_compute_lrs``, by default ``next_lr(lr, base_lr, initial)`` with the
    group's *current* lr (the chainable form, so that several schedulers can drive one optimizer
    and an lr set by hand is carried along).  ``step(epoch)`` (PyTorch's deprecated form, which
    SequentialLR uses to restart a scheduler) jumps to ``epoch`` using the closed form where the
    scheduler has one (``_closed_form``).

    ``state_dict()`` holds everything but the optimizer and user callables (see LambdaLR).
    """

    _callables = ()  # attributes holding user callables: kept out of state_dict

    def __init__(self, optimizer, last_epoch=-1):
        who = type(self).__name__
        _check_optimizer(who, optimizer)
        _integer(who, "last_epoch", last_epoch, -1)
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    # PyTorch's error: resuming needs the base lrs of the interrupted run
                    raise KeyError(f"{who}: param 'initial_lr' is not specified in "
                                   f"param_groups[{i}] when resuming with last_epoch="
                                   f"{last_epoch}; load the optimizer's state_dict from the "
                                   "interrupted run first (it holds initial_lr), or pass "
                                   "last_epoch=-1 to start a new schedule")
        self.optimizer = optimizer
        self.base_lrs = self._initial_base_lrs()
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_base_lrs(self):
        return [g["initial_lr"] for g in self.optimizer.param_groups]

    def _initial_step(self):
        self._advance(initial=True)

    def next_lr(self, lr, base_lr, initial):
        """The new lr of one group from its current ``lr`` (at epoch ``self.last_epoch``)."""
        raise NotImplementedError(f"{type(self).__name__}: a scheduler defines get_lr() (the lr "
                                  "of every param group at self.last_epoch, as in PyTorch) or "
                                  "next_lr(lr, base_lr, initial)")

    def get_lr(self):
        """PyTorch's method for a custom scheduler: override it to return the lr of every param
        group at epoch ``self.last_epoch`` (``self.base_lrs`` holds their initial lrs); it is
        then called by the constructor and by every ``step()``.  The built-in schedulers
        define ``next_lr`` instead.

        Examples
        --------
        >>> import autograd_c as ag
        >>> class Warmup(ag.optim.lr_scheduler.LRScheduler):
        ...     def get_lr(self):
        ...         return [b * min(1.0, (self.last_epoch + 1) / 4) for b in self.base_lrs]
        >>> opt = ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=0.8)
        >>> s = Warmup(opt)
        >>> for _ in range(2): opt.step(); s.step()
        >>> s.get_last_lr()
        [0.6000000000000001]
        """
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr()")

    def _compute_lrs(self, initial):
        if type(self).get_lr is not LRScheduler.get_lr:   # a PyTorch-style custom scheduler
            lrs = list(self.get_lr())
            n = len(self.optimizer.param_groups)
            if len(lrs) != n:
                raise ValueError(f"{type(self).__name__}.get_lr() returned {len(lrs)} learning "
                                 f"rates for {n} param groups")
            return lrs
        return [self.next_lr(g["lr"], base, initial)
                for g, base in zip(self.optimizer.param_groups, self.base_lrs)]

    def _closed_form(self):
        """The lrs at ``self.last_epoch`` from ``base_lrs`` alone, or None (no closed form)."""
        return None

    def get_last_lr(self):
        """The learning rates (one per param group) set by the last ``step()``."""
        return list(self._last_lr)

    def step(self, epoch=None):
        """Advance one epoch, or jump to ``epoch`` (closed form where there is one)."""
        if epoch is None:
            self._advance(initial=False)
            return
        self.last_epoch = _integer(type(self).__name__, "epoch", epoch, 0)
        lrs = self._closed_form()
        self._set_lrs(self._compute_lrs(initial=False) if lrs is None else lrs)

    def _advance(self, initial):
        self.last_epoch += 1
        self._set_lrs(self._compute_lrs(initial))

    def _set_lrs(self, lrs):
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _undo_initial_step(self):
        self.last_epoch -= 1

    def state_dict(self):
        """The scheduler's state: a dict of plain values (no optimizer, no functions)."""
        skip = ("optimizer",) + self._callables
        out = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in skip})
        for name in self._callables:
            fns = getattr(self, name)
            out[name] = ([_callable_state(f) for f in fns] if isinstance(fns, list)
                         else _callable_state(fns))
        return out

    def load_state_dict(self, state_dict):
        """Restore a state from :meth:`state_dict`.  User callables keep their identity; a
        callable object gets its saved attributes back."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict, got "
                            f"{type(state_dict).__name__}")
        state = copy.deepcopy(state_dict)
        for name in self._callables:
            saved = state.pop(name, None)
            fns = getattr(self, name)
            pairs = zip(fns, saved) if isinstance(fns, list) and saved else [(fns, saved)]
            for fn, attrs in pairs:
                if attrs is not None and hasattr(fn, "__dict__"):
                    fn.__dict__.update(attrs)
        state.pop("optimizer", None)
        self.__dict__.update(state)
