"""nn.Module: the container that tracks parameters, sub-modules and buffers.

Parameters are plain leaf :class:`autograd_c.Tensor` objects (``Tensor`` is a C extension type
that takes no attributes, so there is no Parameter subclass: calling :class:`Parameter` returns a
Tensor that it records in a weak registry, and ``isinstance(t, Parameter)`` consults it).  Assigning a leaf with ``requires_grad=True``, or any
tensor made by :func:`Parameter` (even with ``requires_grad=False``), as an attribute of a module
registers it as a parameter; the module keeps the attribute *name*, so a parameter frozen later
stays a parameter.  Assigning a Module registers a sub-module; :meth:`Module.register_buffer`
registers state that is saved in ``state_dict`` but not trained.  All three stay ordinary
attributes, so reading ``layer.weight`` costs nothing extra.
"""
from collections import OrderedDict, namedtuple
import weakref

import numpy as np

from .. import _core
from .._core import Tensor
from . import _hooks

__all__ = ["Module", "Parameter"]

# what load_state_dict returns, as in PyTorch: a tuple, also readable by field name
_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _ParameterType(type):
    """The type of :class:`Parameter`: ``isinstance(t, nn.Parameter)`` holds for a tensor made
    by ``Parameter()`` or registered as a module parameter (PyTorch code tests for parameters
    this way, e.g. in an ``apply(init_fn)``)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.is_leaf and _is_marked(obj)


class Parameter(metaclass=_ParameterType):
    """A trainable tensor: a leaf with ``requires_grad=True``.

    Calling ``Parameter(data)`` returns an :class:`autograd_c.Tensor` (the C type takes no
    subclass), recorded as a parameter: ``isinstance(t, nn.Parameter)`` is True for it and for
    every parameter of a module.  A Tensor argument is shared (detached alias of its memory);
    anything else is copied with :func:`autograd_c.tensor` (float64 numpy data stays float64,
    other data becomes float32); no data gives an empty float32 tensor, as in PyTorch.

    Examples
    --------
    >>> import autograd_c as ag
    >>> w = ag.nn.Parameter(ag.zeros(3))
    >>> w.requires_grad, w.is_leaf, isinstance(w, ag.nn.Parameter)
    (True, True, True)
    >>> isinstance(ag.zeros(3, requires_grad=True), ag.nn.Parameter)
    False
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = np.zeros(0, dtype=np.float32)
        if isinstance(data, Tensor):
            t = data.detach()
        else:
            arr = np.asarray(data)
            t = _core.tensor(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32)
        t.requires_grad = requires_grad
        _mark_param(t)
        return t


# id(tensor) -> weak reference, for every tensor made by Parameter() or registered as a parameter
# of some module.  A frozen parameter (requires_grad=False) cannot be told from a plain tensor by
# its own state, and a C Tensor takes no marker attribute, hence this side table.  Weak, so it
# never keeps a tensor alive; the reference is compared on lookup in case an id was reused.
_param_registry = {}


def _mark_param(t):
    key = id(t)
    ref = _param_registry.get(key)
    if ref is not None and ref() is t:
        return

    def forget(r, key=key):
        if _param_registry.get(key) is r:
            del _param_registry[key]
    _param_registry[key] = weakref.ref(t, forget)


def _is_marked(t):
    ref = _param_registry.get(id(t))
    return ref is not None and ref() is t


def _is_param(v):
    return isinstance(v, Tensor) and v.is_leaf and (v.requires_grad or _is_marked(v))


class Module:
    """Base class of layers and models.

    Subclasses set parameters and sub-modules as attributes in ``__init__`` and define
    ``forward``.  Calling the module calls ``forward``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> class Affine(ag.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = ag.nn.Parameter(ag.ones(2))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    def __init__(self):
        d = self.__dict__
        d["_param_names"] = []
        d["_buffer_names"] = []
        d["_module_names"] = []
        d["training"] = True

    # ---- registration through attribute assignment
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_param_names" not in d:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called "
                                 f"(call super().__init__() first in {type(self).__name__})")
        kind = None
        if isinstance(value, Module):
            kind = d["_module_names"]
        elif name in d["_buffer_names"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} "
                                "(a Tensor or None expected)")
        elif _is_param(value):
            kind = d["_param_names"]
            _mark_param(value)  # so it stays recognisable if frozen and assigned elsewhere
        elif isinstance(value, Tensor) and name in d["_param_names"]:
            # as in PyTorch: silently turning a parameter into a plain attribute would drop it
            # from parameters() and state_dict()
            raise TypeError(f"cannot assign a non-parameter Tensor (requires_grad="
                            f"{value.requires_grad}, is_leaf={value.is_leaf}) to parameter "
                            f"{name!r}: wrap it with ag.nn.Parameter(...), assign None, or "
                            f"delete the attribute first")
        # a name that keeps its kind keeps its place, as in PyTorch: tying b.weight to a.weight
        # leaves the order of named_parameters() and state_dict() unchanged
        for lst in (d["_param_names"], d["_module_names"]):
            if lst is not kind and name in lst:
                lst.remove(name)
        if kind is not None and name not in kind:
            kind.append(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        d = self.__dict__
        for lst in (d["_param_names"], d["_module_names"], d["_buffer_names"]):
            if name in lst:
                lst.remove(name)
        d.get("_non_persistent", set()).discard(name)
        object.__delattr__(self, name)

    def _check_new_name(self, what, name, own):
        # as in PyTorch: a name that state_dict() could not round-trip, or one that already
        # names another kind of attribute (a parameter registered as a buffer would be listed
        # by parameters() and saved twice), is refused
        if not isinstance(name, str):
            raise TypeError(f"{what}: name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{what}: name must be non-empty and contain no '.', got {name!r}")
        if name not in own and hasattr(self, name):
            raise KeyError(f"{what}: attribute {name!r} already exists")

    def register_parameter(self, name, param):
        """Register ``param`` (a leaf tensor, or None) under ``name``.  A leaf with
        ``requires_grad=False`` is registered as a frozen parameter (kept in ``parameters()``
        and ``state_dict``, left alone by optimizers since it gets no gradient)."""
        if param is not None and not (isinstance(param, Tensor) and param.is_leaf):
            raise TypeError(f"register_parameter: {name!r} must be a leaf Tensor or None "
                            "(see nn.Parameter)")
        self._check_new_name("register_parameter", name, self._param_names)
        if param is None:
            object.__setattr__(self, name, None)
            if name not in self._param_names:
                self._param_names.append(name)
        else:
            _mark_param(param)
            setattr(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-trainable tensor saved in ``state_dict`` (e.g. running statistics);
        with ``persistent=False`` it is left out of ``state_dict`` (a constant such as a mask),
        as in PyTorch, but still listed by ``buffers()`` and converted by ``to()``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        persistent = _core._bool_arg(persistent, "register_buffer", "persistent")
        self._check_new_name("register_buffer", name, self._buffer_names)
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        # a set created on first use: modules pickled before the option existed have none
        transient = self.__dict__.setdefault("_non_persistent", set())
        if persistent:
            transient.discard(name)
        else:
            transient.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        """Register ``module`` as a sub-module called ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        self._check_new_name("add_module", name, self._module_names)
        setattr(self, name, module)

    # ---- calling
    def forward(self, *args, **kwargs):
        """The computation of this module; every subclass defines it.

        Call the module (``module(x)``) rather than ``forward`` itself, so that the forward and
        backward hooks run.  The base class's raises NotImplementedError.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        if not d.get("_forward_hooks") and not d.get("_backward_hooks") and \
                not d.get("_forward_pre_hooks"):
            return self.forward(*args, **kwargs)
        return _hooks.call_with_hooks(self, args, kwargs)

    # ---- hooks (see autograd_c/nn/_hooks.py)
    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward call.

        ``inputs`` is the tuple of positional arguments; a non-None return value replaces the
        output.  Inside :class:`Sequential` a hooked Linear or activation is run on its own
        (not fused), so the hook sees the layer's real input and output.

        Returns
        -------
        handle : object with a ``remove()`` method

        Examples
        --------
        >>> import autograd_c as ag
        >>> layer = ag.nn.Linear(3, 2)
        >>> shapes = []
        >>> h = layer.register_forward_hook(lambda m, inp, out: shapes.append(out.shape))
        >>> _ = layer(ag.ones(4, 3))
        >>> h.remove()
        >>> _ = layer(ag.ones(4, 3))
        >>> shapes
        [(4, 2)]
        """
        return _hooks.add_hook(self, "_forward_hooks", hook)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before every forward call.

        ``inputs`` is the tuple of positional arguments; a non-None return value replaces it (a
        single value is wrapped into a 1-tuple), as in PyTorch.  Inside :class:`Sequential` a
        hooked layer runs on its own (not fused).  Returns a handle with ``remove()``.

        >>> import autograd_c as ag
        >>> layer = ag.nn.Linear(3, 2)
        >>> h = layer.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
        >>> layer(ag.ones(4, 3)).tolist() == layer.bias.expand(4, 2).tolist()
        True
        """
        return _hooks.add_hook(self, "_forward_pre_hooks", hook)

    def register_full_backward_hook(self, hook):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's inputs have been computed.

        ``grad_output`` holds the gradients of the loss with respect to the module's output
        tensors, ``grad_input`` those with respect to its positional tensor inputs (None for an
        input that does not require grad).  They are taken from tensor hooks on the module's
        inputs and outputs during the backward sweep.  If the module has a single input that
        requires grad, a tuple returned by the hook replaces ``grad_input``.

        Returns
        -------
        handle : object with a ``remove()`` method

        Examples
        --------
        >>> import autograd_c as ag
        >>> layer = ag.nn.Linear(3, 2)
        >>> seen = []
        >>> def hook(m, gin, gout):
        ...     seen.append((gin[0].shape, gout[0].shape))
        >>> h = layer.register_full_backward_hook(hook)
        >>> x = ag.ones(4, 3, requires_grad=True)
        >>> layer(x).sum().backward()
        >>> seen
        [((4, 3), (4, 2))]
        """
        return _hooks.add_hook(self, "_backward_hooks", hook)

    # ---- traversal
    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first, recursively) and then on
        this module, as PyTorch does; returns ``self``.

        Examples
        --------
        >>> import autograd_c as ag
        >>> net = ag.nn.Sequential(ag.nn.Linear(2, 2), ag.nn.ReLU())
        >>> seen = []
        >>> _ = net.apply(lambda m: seen.append(type(m).__name__))
        >>> seen
        ['Linear', 'ReLU', 'Sequential']
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def named_children(self):
        """(name, module) for each direct sub-module."""
        d = self.__dict__
        for name in d["_module_names"]:
            m = d[name]
            if m is not None:
                yield name, m

    def children(self):
        """Direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and all its descendants (each once)."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = list(m.named_children())
            for cname, c in reversed(kids):
                stack.append((f"{name}.{cname}" if name else cname, c))

    def modules(self):
        """This module and all its descendants."""
        for _, m in self.named_modules():
            yield m

    def _named_members(self, kind, prefix, recurse, remove_duplicate):
        """(dotted name, tensor) for the attributes listed in ``kind`` ("_param_names" or
        "_buffer_names") of this module (and its descendants when ``recurse``); a tensor shared
        by two modules appears once, under its first name, unless ``remove_duplicate=False``."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            d = m.__dict__
            for name in d[kind]:
                t = d[name]
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mname}.{name}" if mname else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) pairs; a parameter shared by two modules appears once (under
        its first name) unless ``remove_duplicate=False``.  Frozen parameters
        (``requires_grad=False``) are included."""
        return self._named_members("_param_names", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """All parameters (for an optimizer)."""
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) pairs, each buffer once as in :meth:`named_parameters`."""
        return self._named_members("_buffer_names", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """All buffers (running statistics...)."""
        return [b for _, b in self.named_buffers(recurse=recurse)]

    # ---- modes
    def train(self, mode=True):
        """Set training mode (dropout active) on this module and its descendants."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ValueError(f"train: training mode is expected to be boolean, got "
                             f"{type(mode).__name__} {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self):
        """Set evaluation mode (dropout off): ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of all parameters (release them, or zero them in place)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter (freeze with False); returns self."""
        requires_grad = _core._bool_arg(requires_grad, "requires_grad_", "requires_grad")
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # ---- state
    def state_dict(self):
        """An ordered dict name -> numpy array copy of every parameter and buffer.

        As in PyTorch, a tensor reachable under several names (tied weights, a sub-module used
        twice) is saved under each of them, though ``parameters()`` lists it once.

        Examples
        --------
        >>> import autograd_c as ag
        >>> sorted(ag.nn.Linear(2, 3).state_dict())
        ['bias', 'weight']
        """
        return OrderedDict((name, np.array(t.numpy(), copy=True))
                           for name, t in self._state_tensors().items())

    def _state_tensors(self):
        """name -> tensor for every path to a parameter or buffer, in PyTorch's order: each
        module's parameters, then its buffers, then its children's, depth first."""
        items = []

        def walk(prefix, m, active):
            # no de-duplication (each path is a name), but a module that contains itself would
            # recurse forever: skip a module already on the current path
            if id(m) in active:
                return
            active.add(id(m))
            d = m.__dict__
            transient = d.get("_non_persistent", ())
            for name in d["_param_names"] + d["_buffer_names"]:
                if d[name] is not None and name not in transient:
                    items.append((prefix + name, d[name]))
            for cname, c in m.named_children():
                walk(f"{prefix}{cname}.", c, active)
            active.discard(id(m))

        walk("", self, set())
        return OrderedDict(items)

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Everything is checked before anything is written: with ``strict=True`` missing or
        unexpected keys raise KeyError; a value of the wrong shape always raises ValueError; on
        error the module is unchanged.  Returns ``(missing_keys, unexpected_keys)``, a named
        tuple with those fields, as PyTorch does.

        A tensor shared under several names is written from each name present (the last wins);
        a name is reported missing only when none of the names of its tensor is in the dict, so
        a dict that lists a tied weight once (as older versions saved it) still loads strictly.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping, got {type(state_dict).__name__}")
        own = self._state_tensors()
        present = {id(t) for k, t in own.items() if k in state_dict}
        missing = [k for k, t in own.items() if id(t) not in present]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + "; ".join(parts))
        staged = []
        for k, t in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            arr = np.asarray(v.numpy() if isinstance(v, Tensor) else v)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"load_state_dict: value for {k!r} has dtype {arr.dtype}, "
                                "expected numbers")
            if arr.shape != t.shape:
                raise ValueError(f"load_state_dict: size mismatch for {k!r}: the module has shape "
                                 f"{t.shape}, the state dict has {arr.shape}")
            staged.append((t, arr))
        with _NoGrad():
            for t, arr in staged:
                t.copy_(np.asarray(arr, dtype=t.dtype, order="C"))  # 0-d stays 0-d
        return _IncompatibleKeys(missing, unexpected)

    def to(self, *args, **kwargs):
        """Convert every parameter and buffer to a dtype (float32 or float64), in place of
        the attributes (new tensors; an optimizer built before must be rebuilt).

        Takes PyTorch's forms: ``to(dtype)``, ``to("cpu")`` (the only device: nothing to do),
        ``to("cpu", dtype)``, ``to(tensor)`` (its dtype), keywords ``dtype=``, ``device=``,
        ``non_blocking=`` (ignored).  Returns self.

        Each distinct tensor is converted once, so tied weights stay tied, and a parameter
        keeps its ``requires_grad``.

        Examples
        --------
        >>> import numpy as np, autograd_c as ag
        >>> layer = ag.nn.Linear(2, 2).to("cpu", np.float64)
        >>> layer.weight.dtype
        dtype('float64')
        """
        dtype = _module_to_dtype(args, kwargs)
        if dtype is None:
            return self
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"to: dtype must be float32 or float64, got {dt}")
        # id -> (old, new); the old tensor is held so its id cannot be reused during the loop
        done = {}

        def convert(t, param):
            hit = done.get(id(t))
            if hit is None:
                new = t
                if t.dtype != dt:
                    new = _core.tensor(t.numpy(), dtype=dt,
                                       requires_grad=t.requires_grad if param else False)
                if param:
                    _mark_param(new)
                hit = done[id(t)] = (t, new)
            return hit[1]

        for m in self.modules():
            d = m.__dict__
            for name in d["_param_names"]:
                if d[name] is not None:
                    object.__setattr__(m, name, convert(d[name], True))
            for name in d["_buffer_names"]:
                if d[name] is not None:
                    object.__setattr__(m, name, convert(d[name], False))
        return self

    def cpu(self):
        """self: everything lives on the CPU (PyTorch's ``module.cpu()``)."""
        return self

    def float(self):
        """Convert every parameter and buffer to float32 in place: ``to(float32)``; returns
        self."""
        return self.to(np.float32)

    def double(self):
        """Convert every parameter and buffer to float64 in place: ``to(float64)``; returns
        self."""
        return self.to(np.float64)

    # ---- pickle / copy.deepcopy
    def __setstate__(self, state):
        # Unpickling fills __dict__ without __setattr__: re-record the restored parameters as
        # such (the registry is per process) and count restored hooks, so Sequential does not
        # fuse a hooked layer of the copy once the original's hooks are gone.
        self.__dict__.update(state)
        d = self.__dict__
        for name in d.get("_param_names", ()):
            p = d.get(name)
            if isinstance(p, Tensor):
                _mark_param(p)
        for attr in _hooks.HOOK_ATTRS:
            hooks = d.get(attr)
            if hooks:
                _hooks.count[0] += len(hooks)

    # ---- repr
    def extra_repr(self):
        """The module's own settings shown inside its ``repr`` (e.g. ``in_features=2``);
        override it in a subclass.  The base class shows nothing."""
        return ""

    def __repr__(self):
        kids = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not kids:
            return head + ")"
        lines = [head]
        for name, m in kids:
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        return "\n".join(lines) + "\n)"


def _is_cpu(d):
    """Is ``d`` PyTorch's name of the CPU ("cpu", "cpu:0")?  Another device name raises
    ValueError; anything else (a dtype) is not a device: False."""
    if not isinstance(d, str):
        return False
    if d.split(":")[0] == "cpu":
        return True
    try:
        np.dtype(d)
    except TypeError:
        raise ValueError(f"to: {d!r} is neither a dtype (float32, float64) nor the device 'cpu' "
                         "(autograd_c computes on the CPU only)") from None
    return False


def _module_to_dtype(args, kwargs):
    """The dtype asked for by ``Module.to(*args, **kwargs)`` (None: only the device)."""
    unknown = set(kwargs) - {"dtype", "device", "non_blocking", "memory_format"}
    if unknown:
        raise TypeError(f"to: unexpected keyword argument(s) {sorted(unknown)}")
    if len(args) > 2:
        raise TypeError(f"to: takes at most 2 positional arguments (device, dtype), got {len(args)}")
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    for a in args:
        if _is_cpu(a):
            device = a
            continue
        a = a.dtype if isinstance(a, Tensor) else a
        if dtype is not None:
            raise TypeError(f"to: dtype given twice ({dtype!r} and {a!r})")
        dtype = a
    if device is not None and not _is_cpu(device):
        raise ValueError(f"to: device must be 'cpu' (autograd_c computes on the CPU only), "
                         f"got {device!r}")
    return dtype


class _NoGrad:
    def __enter__(self):
        self.prev = _core._set_grad_enabled(False)

    def __exit__(self, *exc):
        _core._set_grad_enabled(self.prev)
        return False
