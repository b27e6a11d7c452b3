# _ops_torch.pxi -- PyTorch spellings that do not conflict with numpy's: clamp, is_tensor,
# allclose and the helpers behind Tensor.to / .norm / .data (included by _core.pyx).

def clamp(x, min=None, max=None):
    """Limit x to [min, max] (either may be None): ``clip`` with PyTorch's argument names.

    The gradient is 1 inside the interval and 0 outside.  As in PyTorch (and numpy's clip),
    ``min > max`` sets every element to ``max``.

    Parameters
    ----------
    x : Tensor or array_like
    min, max : float, one-element Tensor or None
        Scalar bounds (a Tensor bound that requires grad gets its gradient where it replaces
        x); use ``ag.maximum`` / ``ag.minimum`` for elementwise ones.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.clamp(ag.tensor([-2.0, 0.5, 2.0]), min=-1.0, max=1.0)
    tensor([-1. ,  0.5,  1. ])
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    for name, bound in (("min", min), ("max", max)):
        if bound is not None and np.size(bound) != 1:
            raise TypeError(f"clamp: {name} must be a scalar, got shape {np.shape(bound)}; "
                            "use ag.maximum / ag.minimum for elementwise bounds")
    if _differentiable_bound(min) or _differentiable_bound(max):
        return _clamp_recorded(_coerce(x, -1), min, max)    # (min > max too: every element max)
    if min is not None and max is not None and float(min) > float(max):
        # PyTorch's rule where clip refuses: every element becomes max (NaN stays NaN), with a
        # zero gradient
        tx = _coerce(x, -1)
        return where(tx != tx, tx, float(max))
    return clip(x, min, max)


def is_tensor(obj):
    """Whether ``obj`` is an autograd_c Tensor (PyTorch's ``is_tensor``).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.is_tensor(ag.ones(2)), ag.is_tensor(np.ones(2))
    (True, False)
    """
    return isinstance(obj, Tensor)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether ``|a - b| <= atol + rtol * |b|`` holds everywhere (broadcasting), on the values:
    a Python bool, outside any graph.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.allclose(ag.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    True
    """
    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol,
                            equal_nan=equal_nan))


cdef bint _is_device(object d) except -1:
    """Is d PyTorch's name of the CPU ("cpu", "cpu:0")?  Another device raises; not a device
    name at all (a dtype): False."""
    if not isinstance(d, str):
        return False
    name = d.split(":")[0]
    if name == "cpu":
        return True
    try:
        np.dtype(d)
    except TypeError:
        raise ValueError(f"to: {d!r} is neither a dtype (float32, float64) nor the device 'cpu' "
                         "(autograd_c computes on the CPU only)") from None
    return False


def _tensor_to(Tensor x, tuple args, dict kwargs):
    """Tensor.to(*args, **kwargs): see its docstring."""
    unknown = set(kwargs) - {"dtype", "device", "copy", "non_blocking", "memory_format"}
    if unknown:
        raise TypeError(f"to: unexpected keyword argument(s) {sorted(unknown)}")
    if len(args) > 2:
        raise TypeError(f"to: takes at most 2 positional arguments (device, dtype), got {len(args)}")
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype if dtype is None else dtype
        elif _is_device(a):
            device = a
        else:
            if dtype is not None:
                raise TypeError(f"to: dtype given twice ({dtype!r} and {a!r})")
            dtype = a
    if device is not None and not _is_device(device):
        raise ValueError(f"to: device must be 'cpu' (autograd_c computes on the CPU only), got {device!r}")
    r = x if dtype is None else x.astype(dtype)
    if kwargs.get("copy", False) and r is x:
        r = x.clone()
    return r


def _tensor_norm(Tensor x, p, dim, keepdim):
    """Tensor.norm: the 2-norm through linalg.norm, the 1- and inf-norms from abs."""
    from . import linalg
    if isinstance(p, str) and p == "fro" or (not isinstance(p, str) and p == 2):
        if dim is not None and not isinstance(dim, (tuple, list)):
            dim = (dim,)    # one axis or several: the 2-norm of their entries, as PyTorch's
        return linalg.norm(x, None, axis=None if dim is None else tuple(dim), keepdims=keepdim)
    if not isinstance(p, str) and p == 1:
        return sum(abs(x), dim, keepdim)
    if not isinstance(p, str) and p == np.inf:
        return max(abs(x), dim, keepdim)
    raise ValueError(f"norm: p={p!r} is not supported (use 2 or 'fro', 1 or float('inf'))")


cdef _set_data(Tensor x, object value):
    """``t.data = value``: copy value's data in (same shape and dtype)."""
    cdef Tensor v
    cdef int prev, st
    if not isinstance(value, Tensor):
        raise TypeError(f"data: assigned a {type(value).__name__}, expected a Tensor")
    v = <Tensor>value
    if v.shape != x.shape:
        raise ValueError(f"data: assigned a tensor of shape {v.shape} to a tensor of shape "
                         f"{x.shape} (autograd_c copies the data in place, so the shapes must match)")
    if v.t.dtype != x.t.dtype:
        raise TypeError(f"data: assigned a tensor of dtype {v.dtype} to a tensor of dtype "
                        f"{x.dtype} (convert it with .astype())")
    # as PyTorch's, outside the graph: a leaf that requires grad (a parameter) takes new values
    # (the version bump still makes a backward that saved the old ones raise)
    prev = ag_set_grad_enabled(0)
    st = ag_copy_into(x.t, v.t)
    ag_set_grad_enabled(prev)
    if st:
        _raise()
