"""Helpers shared by the loss functions: reduction, input and target coercion."""
import numpy as np

from .. import _core
from .._core import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, name, allowed=_REDUCTIONS):
    if reduction not in allowed:
        names = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{name}: reduction must be one of {names}, got {reduction!r}")


def _real_arg(value, name, arg):
    """``value`` (a scalar argument such as eps or delta) as a float, or a TypeError naming the
    argument: float() alone would take the string "1" and say nothing useful about None."""
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: {arg} must be a real number, got {type(value).__name__} "
                        f"{value!r}") from None


def _legacy_flag(value, name, arg):
    """bool(value) for the message of _legacy_args; a value without one truth value (an array of
    several flags) is refused naming the argument, not with numpy's bare ambiguity error"""
    try:
        return bool(value)
    except Exception:
        raise TypeError(f"{name}: {arg} must be None (PyTorch's deprecated flag is not supported; "
                        f"pass reduction='mean', 'sum' or 'none'), got {type(value).__name__} "
                        f"of shape {np.shape(value)}") from None


def _legacy_args(name, size_average, reduce, weight=None):
    """PyTorch's deprecated ``size_average`` / ``reduce`` (before ``reduction`` in its positional
    order) are refused with a TypeError naming the reduction they mean in PyTorch, rather than
    emulated; a string there or in ``weight`` is a reduction passed by position under this
    library's former order (reduction first), refused with a TypeError that says so."""
    for arg, value in (("weight", weight), ("size_average", size_average), ("reduce", reduce)):
        if isinstance(value, str):
            raise TypeError(f"{name}: {arg} got the string {value!r}; in PyTorch's argument "
                            f"order {arg} comes before reduction: pass reduction={value!r} by "
                            "keyword")
    if size_average is not None or reduce is not None:
        # the reduction PyTorch reads from them (reduce=False wins; then size_average)
        keep = reduce is None or _legacy_flag(reduce, name, "reduce")
        means = "mean" if keep and (size_average is None or
                                    _legacy_flag(size_average, name, "size_average")) else \
            "sum" if keep else "none"
        given = ", ".join(f"{a}={v!r}" for a, v in (("size_average", size_average),
                                                    ("reduce", reduce)) if v is not None)
        raise TypeError(f"{name}: {given}: PyTorch's deprecated size_average and reduce are not "
                        f"supported; pass reduction={means!r} (their meaning in PyTorch) instead")


def _reduce(loss, reduction, name):
    _check_reduction(reduction, name)
    if reduction == "mean":
        return _core.mean(loss)
    if reduction == "sum":
        return _core.sum(loss)
    return loss


def _as_tensor(x, name, arg):
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {arg} must be numeric, got dtype {arr.dtype}")
    return _core.tensor(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32)


def _target_like(target, inp, name):
    """Target as an array/tensor of the input's dtype and shape (checked): a Tensor must have
    the input's dtype, a numpy array or list is converted to it."""
    if isinstance(target, Tensor):
        if target.dtype != inp.dtype:
            raise TypeError(f"{name}: target has dtype {target.dtype} but the input has dtype "
                            f"{inp.dtype}; float32 and float64 tensors do not mix (convert one "
                            "with .astype, or pass the target as a numpy array)")
        t = target
        shape = t.shape
    else:
        arr = np.asarray(target)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name}: target must be numeric, got dtype {arr.dtype}")
        t = np.asarray(arr, dtype=inp.dtype, order="C")  # 0-d stays 0-d
        shape = t.shape
    if shape != inp.shape:
        raise ValueError(f"{name}: input has shape {inp.shape} but target has shape {shape}; "
                         "they must match")
    return t
