"""Module forward-pre, forward and full-backward hooks.

A module with no hooks is called straight through (``Module.__call__`` checks two dict entries);
only a hooked module pays for what follows.  The full backward hook is assembled from tensor
hooks, the one place where the C backward sweep calls Python:

- each positional input that requires grad is replaced by ``x.clone()`` (one recorded copy), so
  the hook on that clone sees the gradient that flows into the input *through this module only*;
- each output tensor gets a hook that records ``grad_output``;
- when the last input clone's gradient arrives (or, if no input requires grad, the last output's),
  the user's hooks run with ``(module, grad_input, grad_output)``.

The tensor hooks stay while the graph does (the core drops them with it), so a second backward
through a graph kept by ``retain_graph=True`` runs the module's hooks again.
"""
from collections import OrderedDict
import itertools

from .. import _core
from .._core import Tensor

# number of module hooks registered anywhere; Sequential unfuses its plan only when this is > 0
count = [0]
# the module attributes that hold hooks (an OrderedDict id -> hook each, created on first use)
HOOK_ATTRS = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks")


def has_hooks(module):
    d = module.__dict__
    return any(d.get(a) for a in HOOK_ATTRS)
_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_forward_pre_hook`` / ``register_forward_hook`` /
    ``register_full_backward_hook``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> h = ag.nn.Tanh().register_forward_hook(lambda m, i, o: None)
    >>> h.remove()
    >>> h.remove()  # removing twice is harmless
    """

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(_ids)

    def remove(self):
        """Unregister the hook (no effect if already removed)."""
        if self._hooks.pop(self.id, None) is not None:
            count[0] -= 1


def add_hook(module, attr, hook):
    if not callable(hook):
        raise TypeError(f"{attr.strip('_').replace('_', ' ')[:-1]}: hook must be callable, "
                        f"got {type(hook).__name__}")
    d = module.__dict__
    hooks = d.get(attr)
    if hooks is None:
        hooks = d[attr] = OrderedDict()
    h = RemovableHandle(hooks)
    hooks[h.id] = hook
    count[0] += 1
    return h


def call_with_hooks(module, args, kwargs):
    d = module.__dict__
    pre = d.get("_forward_pre_hooks")
    if pre:
        for fn in list(pre.values()):
            r = fn(module, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
    bw = d.get("_backward_hooks")
    in_idx = []
    if bw and _core.is_grad_enabled():
        args = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                args[i] = a.clone()
                in_idx.append(i)
        args = tuple(args)
    out = module.forward(*args, **kwargs)
    fw = d.get("_forward_hooks")
    if fw:
        for fn in list(fw.values()):
            r = fn(module, args, out)
            if r is not None:
                out = r
    if bw and _core.is_grad_enabled():
        _attach_backward(module, args, in_idx, out)
    return out


def _attach_backward(module, args, in_idx, out):
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    out_idx = [j for j, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not out_idx:
        return
    # the closures below must not hold the inputs or outputs: the core keeps the closures as
    # long as those tensors live, and a cycle through it is never collected
    nargs, nouts, nin, nout = len(args), len(outs), len(in_idx), len(out_idx)
    st = {}

    def reset():
        st.update(gin=[None] * nargs, gout=[None] * nouts, pending_in=nin, pending_out=nout)

    reset()

    def fire():
        result = None
        gin, gout = tuple(st["gin"]), tuple(st["gout"])
        reset()                   # ready for another backward through a retained graph
        for fn in list((module.__dict__.get("_backward_hooks") or {}).values()):
            r = fn(module, gin, gout)
            if r is not None:
                if len(in_idx) != 1:
                    raise RuntimeError(
                        f"full backward hook of {type(module).__name__}: returning a new "
                        f"grad_input is supported only for a module with one input that "
                        f"requires grad (this call has {len(in_idx)})")
                if not isinstance(r, (tuple, list)) or len(r) != nargs:
                    raise TypeError(
                        f"full backward hook of {type(module).__name__}: must return None or a "
                        f"tuple of {nargs} gradient(s) (one per input), got {r!r}")
                gin = tuple(r)
                result = r[in_idx[0]]
        return result

    def out_hook(j):
        def h(g):
            st["gout"][j] = g
            st["pending_out"] -= 1
            if st["pending_out"] == 0 and not in_idx:
                fire()
        return h

    def in_hook(i):
        def h(g):
            st["gin"][i] = g
            st["pending_in"] -= 1
            if st["pending_in"] == 0:
                return fire()
            return None
        return h

    for j in out_idx:
        outs[j].register_hook(out_hook(j))
    for i in in_idx:
        args[i].register_hook(in_hook(i))
