"""Function transforms: grad, value_and_grad, vjp, jvp, jacobian, jacrev, jacfwd, hessian, hvp
(the last two in :mod:`autograd_c._second_order`).

All modes come from the per-op rules of the C core:

- reverse mode runs the VJP rules in the C backward sweep;
- forward mode attaches a tangent to each input; every op pushes it through its JVP rule in the
  same forward pass (a tangent may carry a leading batch axis: many directions in one pass);
- a reverse-mode Jacobian seeds the sweep with a cotangent that itself carries a batch of
  tangents (the rows of the identity): the VJP rules are linear in the cotangent, so the tangent
  of each input gradient is a batch of Jacobian rows, all from one backward pass;
- the Hessian is forward-over-reverse: a batch of tangents on x flows through the forward and
  then through the (differentiable) VJP rules of the backward.

As in torch.func, a result stays differentiable by an outer computation: by an enclosing
transform, and by ``backward`` through tensors that require grad, whether passed as arguments or
closed over by the function (a module's parameters: a gradient penalty).  Such a result is built
from recorded reverse passes (one per output element for a Jacobian or Hessian).  Under a
``no_grad()`` around the call the values are the same and the result is outside the graph.
"""
import functools
import operator
import sys
import threading
import weakref

import numpy as np

from . import _core
from ._core import Tensor
from .autograd import enable_grad

# Every transform evaluates f and runs its backward with recording on, whatever the caller's
# grad mode: a transform's result must not depend on a no_grad() around the call (under one, the
# reverse-mode transforms used to return zeros).  A no_grad() inside f is still respected, as
# in torch.func.  The caller's mode decides one thing only: under a no_grad() the result is not
# linked to the graph of tensors outside the transform (see _closes_over_grad), as no op is.
#
# The outermost transform on a thread also runs a forward-mode session (see ag.h): the tangents
# set or computed while it runs, jvp's, a forward Jacobian's, hessian's, are seen by ops only
# until it returns, so a tensor that escapes f (a cache, a list, an attribute) carries none
# afterwards, as when torch leaves its dual level.
def _recording(fn):
    @functools.wraps(fn)
    def recording(*args, **kwargs):
        prev = _caller_grad()
        _state.caller_grad = _core.is_grad_enabled()
        session = _core._fwd_session_begin()
        try:
            with enable_grad():
                return fn(*args, **kwargs)
        finally:
            if session:
                _core._fwd_session_end()
            _state.caller_grad = prev
            if _depth() == 0:
                _state.private = []     # see _private
    return recording


def _caller_grad():
    return getattr(_state, "caller_grad", True)


# How many transforms are evaluating their function on this thread right now.  A transform
# called while another one evaluates its function is nested in it: its result must stay
# differentiable (and keep its tangents), even when the outer transform's variable reaches it
# only through a closure, which the arguments do not show.
_state = threading.local()


def _depth():
    return getattr(_state, "depth", 0)


class _evaluating:
    """Context: a transform evaluates the user's function."""

    def __enter__(self):
        _state.depth = _depth() + 1

    def __exit__(self, *exc):
        _state.depth -= 1
        return False


def _call(f, xs, kwargs=None):
    with _evaluating():
        return f(*xs, **(kwargs or {}))


# Some transforms evaluate f a second (or third) time in one call: forward mode first, then
# recorded reverse passes when f turns out to close over tensors that require grad (a module's
# parameters), or jacobian's first "auto" call, which evaluates once to learn the output size.
# Those later evaluations are replays: state that a call of f updates as a side effect
# (BatchNorm's running statistics) must move once per call of the transform, as for a plain
# forward.  The flag is per thread and covers nested transforms run during a replay.
class _replay:
    """Context: f is evaluated again by a transform that has already evaluated it once."""

    def __init__(self, active=True):
        self.active = active

    def __enter__(self):
        if self.active:
            _state.replay = _replay_depth() + 1

    def __exit__(self, *exc):
        if self.active:
            _state.replay -= 1
        return False


def _replay_depth():
    return getattr(_state, "replay", 0)


def _replaying():
    """True while a function transform re-evaluates its function (see :class:`_replay`): a
    module should not repeat a side effect, such as a running-statistics update, then."""
    return _replay_depth() > 0

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "jacrev", "jacfwd", "hessian", "hvp"]


# ------------------------------------------------------------------------------ helpers
def _dtype_for(x):
    if isinstance(x, Tensor):
        return x.dtype
    a = np.asarray(x)
    return np.float32 if a.dtype == np.float32 else np.float64


def _check_callable(f, who):
    """A TypeError naming the transform when f cannot be called (it used to surface as Python's
    bare "'int' object is not callable", or only when the transformed function was called)."""
    if not callable(f):
        raise TypeError(f"{who}: f must be callable, got {type(f).__name__}")


def _numeric(x, who, what):
    """x as a real numeric numpy array, or a TypeError naming the transform, the argument and
    what it got."""
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{who}: {what} must be a real numeric array, tensor or float, got "
                        f"{type(x).__name__}" + (f" of dtype {a.dtype}" if a.dtype.kind != "O" else ""))
    return a


def _input(x, requires_grad=True, who="grad", what="the argument"):
    """A differentiable stand-in for an input of a transform.

    A tensor already tracked by an outer transform (requires grad or carries a tangent) is wrapped
    by a recorded copy, so the outer transform sees through the inner one (grad of grad, jvp of
    grad).  Anything else becomes a fresh float64 leaf (float32 arrays stay float32).
    """
    if isinstance(x, Tensor):
        if x.requires_grad:
            return x.clone() if requires_grad else x
        t = _core.tensor(x, dtype=x.dtype, requires_grad=requires_grad)
        if x.tangent is not None:
            t._set_tangent(x.tangent)
        return _private(t) if requires_grad else t
    a = _numeric(x, who, what)
    t = _core.tensor(a, dtype=_dtype_for(x), requires_grad=requires_grad)
    return _private(t) if requires_grad else t


def _private(t):
    """t, a leaf a nested transform made for its own input: remembered (per thread, until the
    outermost transform returns) so that _closes_over_grad does not take it for a tensor the
    user's function closes over (jvp of grad returned a result in the graph)."""
    if _depth() > 0:
        if not hasattr(_state, "private"):
            _state.private = []
        _state.private.append(t)
    return t


def _index(n):
    try:
        return operator.index(n)  # int, numpy integer (as JAX accepts)
    except TypeError:
        return None


def _argnums_tuple(argnums, nargs, who):
    single = _index(argnums) is not None
    try:
        # a str is iterable too: its characters are no ints ("0" gave "out of range")
        nums = (_index(argnums),) if single else tuple(_index(n) for n in argnums)
        if isinstance(argnums, str) or None in nums:
            raise TypeError
    except TypeError:
        raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}") from None
    if not nums:
        raise ValueError(f"{who}: argnums must not be empty")
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(f"{who}: argnums {argnums!r} out of range for {nargs} positional arguments")
    return single, tuple(n % nargs for n in nums)


def _nested(args):
    """Is this transform nested in another one (see _depth), or given a tensor that an outer
    computation differentiates?"""
    grad_on = _caller_grad()
    return _depth() > 0 or any(isinstance(a, Tensor) and ((grad_on and a.requires_grad)
                                                          or a.tangent is not None) for a in args)


def _own(g):
    """g in memory of its own: the gradient of a sum is a broadcast view of one value, and an
    in-place update of it (g *= lr), or a write through g.numpy(), changed every element."""
    return g.contiguous()


def _closes_over_grad(out, own):
    """Does out depend on a tensor that requires grad other than the transform's own inputs (one
    the function closes over: a module's parameters)?  Then the result must stay in the graph,
    so that a backward through those tensors (a gradient penalty) sees it, as in torch.func."""
    return (_caller_grad() and out.requires_grad
            and _core._reaches_other_leaf(out, list(own) + getattr(_state, "private", [])))


def _as_output(out, who):
    if isinstance(out, (tuple, list)):
        # numpy would stack the tensors into a constant, and every derivative would be zeros
        raise TypeError(f"{who}: the function returned a {type(out).__name__} of "
                        f"{len(out)} items, expected one tensor; stack or concatenate the outputs"
                        + " (or use has_aux=True to return (output, aux))")
    if not isinstance(out, Tensor):
        a = np.asarray(out)
        if a.dtype.kind not in "biuf":
            # e.g. a function that forgot to return: None would become a NaN constant, and
            # its gradient silent zeros
            raise TypeError(f"{who}: the function returned {type(out).__name__}, expected a "
                            "tensor or a number")
        out = _core.tensor(a.astype(np.float64), dtype="float64")
    return out


def _split_aux(res, has_aux, who):
    """f's result as (output, aux): aux is None without has_aux."""
    if not has_aux:
        return res, None
    if not (isinstance(res, tuple) and len(res) == 2):
        raise ValueError(f"{who}: with has_aux=True the function must return (output, aux), got "
                         + (f"a tuple of {len(res)} items" if isinstance(res, tuple) else type(res).__name__))
    return res


def _evaluate(f, xs, kwargs, has_aux, who):
    """f(*xs, **kwargs) as (output tensor, aux)."""
    out, aux = _split_aux(_call(f, xs, kwargs), has_aux, who)
    return _as_output(out, who), aux


def _with_aux(res, aux, has_aux, in_graph):
    """The tuple res, with aux appended when has_aux (JAX's conventions): aux detached as the
    result is, unless the result stays in the graph (nested), as grad's aux."""
    if not has_aux:
        return res
    return res + (aux if in_graph else _detach_all(aux),)


def _jacobian_by_rows(out, targets):
    """d out / d targets, one recorded (create_graph) backward pass per element of out.

    Nested in another transform, the Jacobian, Hessian and jvp are built this way instead of
    from tangents: tangents are not recorded on the tape, so an outer reverse pass could not
    differentiate them (it would see zeros).  Slower, m passes instead of one, but every result
    stays differentiable by both modes."""
    flat = _core._reshape(out, (-1,))
    rows = [[] for _ in targets]
    # an output that does not depend on the targets has no graph to pull through (a nested
    # jacobian of a constant function raised "output 0 does not require grad")
    for i in range(flat.size if out.requires_grad else 0):
        gs = _core._grad([flat[i]], None, targets, True, True, True)
        for k, (t, g) in enumerate(zip(targets, gs)):
            rows[k].append(_core.zeros_like_tensor(t) if g is None else g)
    res = []
    for k, t in enumerate(targets):
        shape = _jac_shape(out, t)
        if not rows[k]:
            res.append(_core.tensor(np.zeros(shape), dtype=_jac_dtype(out, t)))
        else:
            res.append(_core._reshape(_core.stack(rows[k]), shape).astype(_jac_dtype(out, t)))
    return res


_MAXDIM = 8  # AG_MAXDIM of csrc/ag.h


def _jac_shape(out, x, who="jacobian"):
    """out.shape + x.shape, or an error naming both when a tensor cannot have that many axes."""
    shape = tuple(out.shape) + tuple(x.shape)
    if len(shape) > _MAXDIM:
        raise ValueError(f"{who}: the result would have shape {shape} ({tuple(out.shape)} + "
                         f"{tuple(x.shape)}), {len(shape)} dimensions; tensors have at most "
                         f"{_MAXDIM}: reshape the input or the output")
    return shape


def _jac_dtype(out, x):
    """The dtype of d out / d x, whatever the mode: the promoted one, as numpy's product of a
    float32 and a float64 (the modes used to differ: forward gave out's, reverse x's)."""
    return np.result_type(out.dtype, x.dtype)


# ------------------------------------------------------------------------------ reverse mode
def value_and_grad(f, argnums=0, has_aux=False):
    """Like :func:`grad`, but the transformed function returns ``(value, gradient)``
    (``((value, aux), gradient)`` when ``has_aux``).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> v, g = ag.value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    >>> float(v), g.numpy().tolist()
    (5.0, [2.0, 4.0])
    """
    _check_callable(f, "grad")

    @_recording
    def transformed(*args, **kwargs):
        # keyword arguments are passed through, not differentiated (as in JAX and torch.func)
        if not args:
            raise TypeError("value_and_grad: the function needs at least one positional argument")
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        nested = _nested(args) or _nested(kwargs.values())
        xs = list(args)
        for i in nums:
            xs[i] = _input(args[i], who="grad", what=f"argument {i}")
        out, aux = _evaluate(f, xs, kwargs, has_aux, "grad")
        if out.size != 1:
            raise ValueError(f"grad: the function must return a scalar, got shape {out.shape}; "
                             "use jacobian or vjp for non-scalar outputs")
        targets = [xs[i] for i in nums]
        nested = nested or _closes_over_grad(out, targets)
        if out.requires_grad:
            gs = [_own(g) for g in _core._grad([out], None, targets, nested, nested, False)]
        else:
            gs = [_core.zeros_like_tensor(t) for t in targets]
        g = gs[0] if single else tuple(gs)
        value = out if nested else out.detach()
        if not nested:
            aux = _detach_all(aux)
        return ((value, aux) if has_aux else value), g
    transformed.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return transformed


def _detach_all(aux):
    """aux with its tensors (also in tuples, lists and dicts) detached, as the value is: kept
    across a loop (logits for a metric), an aux in the graph kept every step's graph alive."""
    if isinstance(aux, Tensor):
        return aux.detach()
    if isinstance(aux, (tuple, list)):
        return type(aux)(_detach_all(a) for a in aux)
    if isinstance(aux, dict):
        return {k: _detach_all(a) for k, a in aux.items()}
    return aux


def grad(f, argnums=0, has_aux=False):
    """The gradient of a scalar function, as a function (JAX's ``grad``).

    Parameters
    ----------
    f : callable
        Returns a scalar tensor (or a pair ``(scalar, aux)`` with ``has_aux=True``).
    argnums : int or tuple of int
        Which positional arguments to differentiate.
    has_aux : bool
        ``f`` returns a pair ``(output, aux)``: only ``output`` is differentiated, and the
        transformed function returns ``(gradient, aux)`` (JAX's ``has_aux``); the tensors in
        ``aux`` come back detached, except inside another transform.

    Inputs may be numpy arrays, tensors or Python floats (those become float64).  Nesting works:
    ``grad(grad(f))`` differentiates the backward pass itself.

    Examples
    --------
    >>> import autograd_c as ag
    >>> d2 = ag.grad(ag.grad(lambda x: x ** 3))
    >>> float(d2(2.0))
    12.0
    """
    vg = value_and_grad(f, argnums, has_aux)

    def transformed(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    transformed.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return transformed


@_recording
def vjp(f, /, *primals, has_aux=False, **kwargs):
    """Evaluate ``f`` and return ``(out, vjp_fn)``; ``vjp_fn(cotangent)`` returns the tuple
    ``(u^T J_1, u^T J_2, ...)``, one entry per primal.  ``vjp_fn`` may be called many times.

    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and vjp returns
    ``(out, vjp_fn, aux)`` (JAX's convention); only ``output`` is differentiated, and the
    tensors in ``aux`` come back detached, except inside another transform (as ``grad``'s).
    Other keyword arguments are passed to ``f`` and not differentiated (``has_aux`` is the one
    reserved name).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> out, back = ag.vjp(lambda x: 3 * x, np.array([1.0, 2.0]))
    >>> back(np.array([1.0, 1.0]))[0].numpy().tolist()
    [3.0, 3.0]
    """
    _check_callable(f, "vjp")
    if not primals:
        raise TypeError("vjp: needs at least one primal")
    nested = _nested(primals) or _nested(kwargs.values())
    xs = [_input(p, who="vjp", what=f"primal {k}") for k, p in enumerate(primals)]
    with enable_grad():
        out, aux = _evaluate(f, xs, kwargs, has_aux, "vjp")
    nested = nested or _closes_over_grad(out, xs)

    @_recording
    def vjp_fn(cotangent):
        ct = cotangent if isinstance(cotangent, Tensor) else \
            _core.tensor(_numeric(cotangent, "vjp", "the cotangent"), dtype=out.dtype)
        if tuple(ct.shape) != tuple(out.shape):
            raise ValueError(f"vjp: cotangent of shape {tuple(ct.shape)} does not match the output "
                             f"shape {tuple(out.shape)}")
        if not out.requires_grad:
            return tuple(_core.zeros_like_tensor(x) for x in xs)
        # recorded when anything may differentiate the result, the cotangent included: u^T J
        # is linear in u, and grad / jacobian of vjp_fn (called inside them) need that graph
        record = nested or _depth() > 0 or (_caller_grad() and ct.requires_grad)
        return tuple(_own(g) for g in _core._grad([out], [ct], xs, True, record, False))

    return _with_aux(((out if nested else out.detach()), vjp_fn), aux, has_aux, nested)


# ------------------------------------------------------------------------------ forward mode
@_recording
def jvp(f, /, primals, tangents, *, has_aux=False, **kwargs):
    """Forward mode: ``(f(*primals), J @ tangents)`` from one pass that carries tangents.

    Parameters
    ----------
    primals, tangents : tuple
        Same length; each tangent has its primal's shape.
    has_aux : bool
        ``f`` returns ``(output, aux)``; jvp returns ``(out, tangent_out, aux)`` (JAX's
        convention), with the tensors in ``aux`` detached except inside another transform.
    **kwargs
        Passed to ``f``, not differentiated; ``primals``, ``tangents`` and ``has_aux`` are
        reserved (jvp's own).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> out, t = ag.jvp(lambda x: ag.sin(x), (np.array([0.0]),), (np.array([2.0]),))
    >>> t.numpy().tolist()
    [2.0]
    """
    _check_callable(f, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    # nested in another transform, or given a tensor that an outer computation differentiates
    # (as grad and vjp are): the result stays in the graph
    nested = _nested(primals) or _nested(tangents) or _nested(kwargs.values())
    xs, tans = [], []
    for k, (p, t) in enumerate(zip(primals, tangents)):
        if not isinstance(p, Tensor):
            x = _input(p, requires_grad=False, who="jvp", what=f"primal {k}")
        elif nested and (p.requires_grad or p.tangent is not None):
            # a recorded copy, with the outer transform's tangent if it has one: the outer
            # transform (reverse or forward) sees through this jvp
            x = p.clone()
        else:
            x = _core.tensor(p, dtype=p.dtype)
        tt = t if isinstance(t, Tensor) else _core.tensor(_numeric(t, "jvp", f"tangent {k}"), dtype=x.dtype)
        if tuple(tt.shape) != tuple(x.shape):
            raise ValueError(f"jvp: tangent {k} has shape {tuple(tt.shape)} but primal {k} has "
                             f"shape {tuple(x.shape)}")
        xs.append(x)
        tans.append(tt.astype(x.dtype))
    if nested:
        return _with_aux(*_jvp_by_reverse(f, xs, tans, kwargs, has_aux), has_aux, True)
    for x, tt in zip(xs, tans):
        x._set_tangent(tt)
    # recording on: the inputs do not require grad, so nothing is recorded for them, and a grad
    # inside f (jvp of grad: forward-over-reverse) must be able to record
    with enable_grad():
        out, aux = _evaluate(f, xs, kwargs, has_aux, "jvp")
    if _closes_over_grad(out, xs):
        # the inputs do not require grad: f closes over a tensor that does, and the tangent
        # must stay differentiable for it
        for x in xs:
            x._set_tangent(None)
        with _replay():
            return _with_aux(*_jvp_by_reverse(f, xs, tans, kwargs, has_aux), has_aux, True)
    t_out = out.tangent
    if t_out is None:
        t_out = _core.zeros_like_tensor(out)
    result = out.detach()
    return _with_aux((result, _core.tensor(t_out, dtype=out.dtype)), aux, has_aux, False)


def _jvp_by_reverse(f, xs, tans, kwargs, has_aux):
    """jvp nested in another transform, by two recorded reverse passes (see _jacobian_by_rows):
    g(u) = J^T u is linear in a cotangent u, and J t = d/du <g(u), t>.  The xs are jvp's own
    copies; a tangent they carry is the outer transform's and rides through both passes.
    Returns ((out, tangent_out), aux)."""
    leaves = []
    for x in xs:
        if not x.requires_grad:
            _private(x.requires_grad_(True))
        leaves.append(x)
    with enable_grad():
        out, aux = _evaluate(f, leaves, kwargs, has_aux, "jvp")
        if not out.requires_grad:
            return (out, _core.zeros_like_tensor(out)), aux
        u = _private(_core.tensor(np.zeros(tuple(out.shape)), dtype=out.dtype, requires_grad=True))
        gs = _core._grad([out], [u], leaves, True, True, True)
        s = None
        for g, t in zip(gs, tans):
            if g is not None:
                term = (g * t).sum()
                s = term if s is None else s + term
        if s is None or not s.requires_grad:
            return (out, _core.zeros_like_tensor(out)), aux
        t_out, = _core._grad([s], None, [u], True, True, True)
    return (out, (_core.zeros_like_tensor(out) if t_out is None else _own(t_out))), aux


# ------------------------------------------------------------------------------ Jacobians
_MODES = ("auto", "forward", "reverse")


def jacobian(f, /, *args, argnums=0, mode="auto", has_aux=False, **kwargs):
    """The Jacobian of ``f`` at ``args``, shaped ``out.shape + x.shape``.

    ``mode="forward"`` pushes all ``x.size`` tangent directions through ONE forward pass (the
    tangent carries a leading batch axis); ``"reverse"`` pulls all ``out.size`` cotangents
    through ONE backward pass; ``"auto"`` picks forward when x has fewer elements than the
    output.  (``"auto"`` learns the output size from the first call for a given function and
    input shapes, and remembers it.)  With a tuple ``argnums``, returns one Jacobian per argument.
    A Jacobian has the promoted dtype of the output and the argument (float64 if either is).

    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and jacobian returns ``(jac, aux)``
    (JAX's ``jacrev``/``jacfwd`` convention); the tensors in ``aux`` come back detached, except
    inside another transform.  Other keyword arguments are passed to ``f`` and not
    differentiated; ``argnums``, ``mode`` and ``has_aux`` are reserved (jacobian's own).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> ag.jacobian(lambda x: ag.matmul(A, x), np.array([1.0, 1.0])).shape
    (3, 2)
    """
    if mode not in _MODES:
        raise ValueError(f"jacobian: unknown mode {mode!r}; expected one of {_MODES}")
    _check_callable(f, "jacobian")
    return _jacobian_of(f, args, argnums, mode, has_aux, kwargs, "jacobian")


@_recording
def _jacobian_of(f, args, argnums, mode, has_aux, kwargs, who):
    """jacobian's work, for jacobian, jacrev and jacfwd (who: the one called, for messages)."""
    if not args:
        raise TypeError(f"{who}: needs at least one argument")
    single, nums = _argnums_tuple(argnums, len(args), who)
    # a repeated argnum is differentiated once (forward mode gave the first copy zeros: both
    # copies of the identity went to one input, the second overwriting the first)
    uniq = tuple(dict.fromkeys(nums))
    res, aux, in_graph = _jacobian(f, args, uniq, mode, kwargs, has_aux, who)
    jacs = _per_argnum(res, nums, uniq, lambda r: r.clone())
    jac = jacs[0] if single else tuple(jacs)
    return _with_aux((jac,), aux, True, in_graph) if has_aux else jac


def jacrev(f, argnums=0, has_aux=False):
    """The Jacobian of ``f`` as a function, by reverse mode (JAX's and torch.func's ``jacrev``):
    ``jacrev(f)(*args, **kwargs)`` is ``jacobian(f, *args, mode="reverse")``, all ``out.size``
    cotangents pulled through one backward pass; best when the output is smaller than the input.

    Parameters
    ----------
    f : callable
        Returns one tensor (or ``(output, aux)`` with ``has_aux=True``).
    argnums : int or tuple of int
        Which positional arguments to differentiate; a tuple gives a tuple of Jacobians.
    has_aux : bool
        The transformed function returns ``(jac, aux)``, the tensors in ``aux`` detached except
        inside another transform.

    Keyword arguments of the transformed function all reach ``f``, undifferentiated.  Nested,
    ``jacfwd(jacrev(f))`` is the Hessian of a scalar ``f``.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.jacrev(lambda x: x[:2] * x[1:])(np.array([1.0, 2.0, 3.0])).numpy().tolist()
    [[2.0, 1.0, 0.0], [0.0, 3.0, 2.0]]
    """
    return _jacobian_fn(f, argnums, has_aux, "reverse", "jacrev")


def jacfwd(f, argnums=0, has_aux=False):
    """The Jacobian of ``f`` as a function, by forward mode (JAX's and torch.func's ``jacfwd``):
    ``jacfwd(f)(*args, **kwargs)`` is ``jacobian(f, *args, mode="forward")``, all ``x.size``
    tangent directions pushed through one forward pass; best when the input is smaller than the
    output.  Parameters as :func:`jacrev`'s.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.jacfwd(lambda x, y: x * y, argnums=(0, 1))(np.array([2.0]), np.array([5.0]))[1].numpy().tolist()
    [[2.0]]
    """
    return _jacobian_fn(f, argnums, has_aux, "forward", "jacfwd")


def _jacobian_fn(f, argnums, has_aux, mode, who):
    _check_callable(f, who)
    _argnums_tuple(argnums, sys.maxsize, who)  # its type now; its range once the arguments come

    def transformed(*args, **kwargs):
        return _jacobian_of(f, args, argnums, mode, has_aux, kwargs, who)
    transformed.__name__ = f"{who}({getattr(f, '__name__', 'f')})"
    return transformed


def _per_argnum(res, nums, uniq, copy):
    """res (one entry per distinct argnum, in uniq's order) as one entry per argnum of nums; an
    argnum repeated gets a copy, so that no two results share memory."""
    seen, out = set(), []
    for n in nums:
        r = res[uniq.index(n)]
        out.append(copy(r) if n in seen else r)
        seen.add(n)
    return out


def _jacobian(f, args, nums, mode, kwargs, has_aux, who):
    """The Jacobians for distinct argnums, as a list; f's aux; whether they are in the graph."""
    if _nested(args) or _nested(kwargs.values()):
        xs, out, aux = _eval_reverse(f, args, nums, kwargs, has_aux, who)
        return _jacobian_by_rows(out, [xs[i] for i in nums]), aux, True
    d = int(sum(np.size(args[i]) if not isinstance(args[i], Tensor) else args[i].size for i in nums))
    out = None
    evaluated = False   # a later evaluation is a replay
    if mode == "auto":
        key = (nums,) + tuple(_signature(a) for a in args) + tuple(
            sorted((k, _kw_signature(v)) for k, v in kwargs.items()))
        m = _auto_lookup(f, key)
        if m is None:
            # first call: evaluate for reverse mode (it records the tape) and learn the size
            xs, out, aux = _eval_reverse(f, args, nums, kwargs, has_aux, who)
            evaluated = True
            m = out.size
            _auto_store(f, key, m)
        mode = "forward" if d < m else "reverse"
        if mode == "forward":
            out = None
    res = None
    if mode == "forward":
        with _replay(evaluated):
            res, aux = _jacobian_forward(f, args, nums, d, kwargs, has_aux, who)
        evaluated = True
        if res is not None:
            return res, aux, False
    if out is None:
        with _replay(evaluated):
            xs, out, aux = _eval_reverse(f, args, nums, kwargs, has_aux, who)
    targets = [xs[i] for i in nums]
    if _closes_over_grad(out, targets):
        return _jacobian_by_rows(out, targets), aux, True
    return _jacobian_reverse(out, targets), aux, False


_auto_sizes = weakref.WeakKeyDictionary()


def _signature(a):
    if isinstance(a, Tensor):
        return a.shape, a.dtype
    arr = np.asarray(a)
    return arr.shape, arr.dtype


def _kw_signature(v):
    """What of a keyword argument goes into "auto"'s key: an array's shape and dtype, a float's
    type (a value changed every call, a temperature, must not grow the cache), anything else
    itself (an int may set the output size; an unhashable value is not cached).  A wrong guess
    costs speed only: either mode gives the Jacobian."""
    if isinstance(v, (Tensor, np.ndarray)):
        return _signature(v)
    return float if isinstance(v, float) else v


def _auto_lookup(f, key):
    try:
        return _auto_sizes.get(f, {}).get(key)
    except TypeError:
        return None


def _auto_store(f, key, m):
    try:
        _auto_sizes.setdefault(f, {})[key] = m
    except TypeError:
        pass


def _jacobian_forward(f, args, nums, d, kwargs, has_aux, who):
    xs = list(args)
    for i in nums:
        a = args[i]
        if isinstance(a, Tensor) and a.requires_grad:
            xs[i] = a.clone()  # carries this jacobian's tangents, not the caller's tensor
        else:
            xs[i] = _input(a, requires_grad=False, who=who, what=f"argument {i}")
    targets = [xs[i] for i in nums]
    _set_identity_tangents(targets, d)
    out, aux = _evaluate(f, xs, kwargs, has_aux, who)
    if _caller_grad() and out.requires_grad:
        return None, aux  # f closes over a tensor that requires grad: rows by reverse mode instead
    tan = out.tangent
    if tan is None:
        tan = np.zeros((d,) + tuple(out.shape), dtype=out.dtype)
    tan = np.asarray(tan).reshape(d, out.size)  # (d, m); not -1: d may be 0
    res, off = [], 0
    for t in targets:
        n = t.size
        block = tan[off:off + n].T.reshape(_jac_shape(out, t))
        # np.array, not np.ascontiguousarray: that one turns a 0-d block into shape (1,)
        res.append(_core.tensor(np.array(block, order="C"), dtype=_jac_dtype(out, t)))
        off += n
    return res, aux


def _set_identity_tangents(targets, d):
    """Give the targets (d elements in all) the rows of the d x d identity as a batch of
    tangents, split by target: tangent k of the batch is the k-th input direction."""
    if len(targets) == 1:
        # the identity made by the core carries the diagonal hint (ops skip the dense work)
        targets[0]._set_tangent(_core.eye_batched_like(targets[0]))
        return
    off = 0
    for t in targets:
        n = t.size
        tan = np.zeros((d, n), dtype=t.dtype)
        tan[off:off + n] = np.eye(n, dtype=t.dtype)
        t._set_tangent(tan.reshape((d,) + tuple(t.shape)))
        off += n


def _eval_reverse(f, args, nums, kwargs, has_aux, who):
    xs = list(args)
    for i in nums:
        xs[i] = _input(args[i], requires_grad=True, who=who, what=f"argument {i}")
    return (xs,) + _evaluate(f, xs, kwargs, has_aux, who)


def _jacobian_reverse(out, targets):
    m = out.size
    if not out.requires_grad:
        return [_core.tensor(np.zeros(_jac_shape(out, t)), dtype=_jac_dtype(out, t))
                for t in targets]
    seed = _core.zeros_like_tensor(out)
    seed._set_tangent(_core.eye_batched_like(out))
    gs = _core._grad([out], [seed], targets, False, False, True)
    res = []
    for t, g in zip(targets, gs):
        tg = None if g is None else g.tangent
        shape = _jac_shape(out, t)
        if tg is None:
            res.append(_core.tensor(np.zeros(shape), dtype=_jac_dtype(out, t)))
        else:
            # the tangent is a fresh buffer: no copy (nor a cast, unless the dtypes differ)
            res.append(_own(_core._reshape(tg, shape).astype(_jac_dtype(out, t))))
    return res


# The second-order transforms live in their own module; they stay importable from here.
from ._second_order import hessian, hvp  # noqa: E402,F401
