"""Grad-mode context managers (thread-local, like PyTorch's)."""
import functools
import inspect

from . import _core

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

is_grad_enabled = _core.is_grad_enabled


class _GradMode:
    _mode = True

    def __enter__(self):
        self._prev = _core._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        # the mode, not a fresh instance: set_grad_enabled's needs its argument (a decorated
        # function raised TypeError), and each call keeps its own previous mode (threads,
        # recursion)
        mode = self._mode
        if inspect.isgeneratorfunction(fn):
            return _generator_in_mode(fn, mode)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = _core._set_grad_enabled(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _core._set_grad_enabled(prev)
        return wrapper


def _generator_in_mode(fn, mode):
    """A generator function whose body runs in grad mode ``mode`` and its caller's code in the
    caller's: calling fn runs none of its body, so the mode is switched around each resumption
    (next, send, throw, close) instead.  A mode the body itself switches (an enable_grad block
    around a yield) is kept for its next resumption, and the caller's mode between them."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        inner = mode

        def resume(method, *arg):
            nonlocal inner
            outer = _core._set_grad_enabled(inner)
            try:
                return method(*arg)
            finally:
                inner = _core._set_grad_enabled(outer)

        try:
            value = resume(gen.send, None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    resume(gen.close)
                    raise
                except BaseException as e:     # thrown in by the caller: pass it on
                    value = resume(gen.throw, e)
                else:
                    value = resume(gen.send, sent)
        except StopIteration as stop:
            return stop.value
    return wrapper


class _BareDecorator(_GradMode):
    """Also usable as a bare decorator, ``@no_grad`` without the parentheses (as in PyTorch)."""

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        return self if fn is None else self(fn)


class no_grad(_BareDecorator):
    """Context manager (or decorator) in which no operation is recorded.

    On a generator function (as every grad-mode decorator), the mode holds inside the body each
    time it resumes, and the caller's mode holds between its yields, as in PyTorch.

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> with ag.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """
    _mode = False


class enable_grad(_BareDecorator):
    """Context manager (or decorator) that turns recording back on, e.g. inside ``no_grad``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> with ag.no_grad():
    ...     with ag.enable_grad():
    ...         ag.is_grad_enabled()
    True
    """
    _mode = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off: as a function call, or as a context manager.

    Examples
    --------
    >>> import autograd_c as ag
    >>> with ag.set_grad_enabled(False):
    ...     ag.is_grad_enabled()
    False
    """

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = _core._set_grad_enabled(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        # as a decorator (as in PyTorch): the mode applies inside fn only; the call that made
        # this object turned it on or off here, which was left so (grad off after the def)
        _core._set_grad_enabled(self._prev)
        return super().__call__(fn)
