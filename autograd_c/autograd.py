"""Grad-mode context managers (thread-local, like PyTorch's)."""
import functools
import inspect

from . import _core

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "grad"]

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


class inference_mode(_GradMode):
    """PyTorch's ``inference_mode``: here the same as :class:`no_grad` (nothing is recorded),
    as a context manager or a decorator (bare or called).  ``inference_mode(False)`` leaves the
    grad mode as it is.

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.tensor([1.0], requires_grad=True)
    >>> with ag.inference_mode():
    ...     (w * 2).requires_grad
    False
    >>> @ag.inference_mode
    ... def f(x):
    ...     return x * 2
    >>> f(w).requires_grad
    False
    """

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        self._on = True
        # bare @inference_mode: decorate now (Python then skips __init__)
        return self(mode) if callable(mode) else self

    def __init__(self, mode=True):
        self._on = _core._bool_arg(mode, "inference_mode", "mode")

    def __enter__(self):
        # inference_mode(False) keeps the caller's mode (read at entry, not at construction)
        self._mode = False if self._on else _core.is_grad_enabled()
        return super().__enter__()

    def __call__(self, fn):
        if not self._on:
            return fn
        self._mode = False
        return super().__call__(fn)


def _as_tensors(x, who, name):
    """A tuple of tensors from a tensor or a sequence of them."""
    Tensor = _core.Tensor
    seq = (x,) if isinstance(x, Tensor) else tuple(x) if isinstance(x, (list, tuple)) else None
    if seq is None:
        raise TypeError(f"{who}: {name} must be a Tensor or a sequence of Tensors, got "
                        f"{type(x).__name__}")
    for i, t in enumerate(seq):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name}[{i}] is a {type(t).__name__}, not a Tensor")
    return seq


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, as PyTorch's
    ``torch.autograd.grad``: a tuple with one gradient per input; no ``.grad`` is changed.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
        Differentiated: the sum of ``outputs[i] * grad_outputs[i]`` over i.
    inputs : Tensor or sequence of Tensors
        Tensors that require grad (leaves or intermediate results) in the outputs' graph.
    grad_outputs : Tensor, sequence of Tensors/None, or None
        The cotangent of each output; None for an output with one element means 1.
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph : bool
        Record the gradient computation, so the results can be differentiated again.
    allow_unused : bool, optional
        An input that the outputs do not depend on gets None instead of raising
        (``materialize_grads=True``: zeros); defaults to ``materialize_grads``.
    materialize_grads : bool
        Zeros instead of None for unused inputs.

    Returns
    -------
    tuple of Tensor or None

    Examples
    --------
    >>> import autograd_c as ag
    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> ag.autograd.grad((x * x).sum(), x)
    (tensor([2., 4.]),)
    """
    outs = _as_tensors(outputs, "grad", "outputs")
    ins = _as_tensors(inputs, "grad", "inputs")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("grad: materialize_grads=True needs allow_unused True or None")
    if retain_graph is None:
        retain_graph = create_graph
    gos = None
    if grad_outputs is not None:
        gos = (grad_outputs,) if isinstance(grad_outputs, _core.Tensor) else tuple(grad_outputs)
        if len(gos) != len(outs):
            raise ValueError(f"grad: {len(gos)} grad_outputs for {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: inputs[{i}] does not require grad (shape {t.shape}); "
                               "only tensors that require grad can be differentiated")
    res = _core._grad(outs, gos, ins, bool(retain_graph), bool(create_graph), True)
    for i, g in enumerate(res):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: inputs[{i}] (shape {ins[i].shape}) was not used to "
                                   "compute the outputs; pass allow_unused=True to get None for it")
            if materialize_grads:
                res[i] = _core.zeros_like_tensor(ins[i])
    return tuple(res)
