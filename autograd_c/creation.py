"""Tensor creation functions and the seeded random generator."""
import operator

import numpy as np

from . import _core

__all__ = ["zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn",
           "zeros_like", "ones_like", "full_like", "manual_seed", "get_rng"]

_rng = [np.random.default_rng()]


def manual_seed(seed):
    """Seed the generator behind ``rand``, ``randn`` and ``nn.init``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.manual_seed(0); a = ag.randn(3).numpy().copy()
    >>> ag.manual_seed(0); bool((ag.randn(3).numpy() == a).all())
    True
    """
    _rng[0] = np.random.default_rng(operator.index(seed))


def get_rng():
    """The numpy Generator that ``manual_seed`` seeds."""
    return _rng[0]


def _shape(shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    shape = tuple(operator.index(s) for s in shape)
    for s in shape:
        if s < 0:
            raise ValueError(f"negative dimension {s} in shape {shape}")
    return shape


def _dt(dtype):
    return np.float32 if dtype is None else np.dtype(dtype)


def _make(arr, dtype, requires_grad):
    return _core.tensor(arr, dtype=_dt(dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros (float32 unless ``dtype`` says otherwise)."""
    return _make(np.zeros(_shape(shape)), dtype, requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones."""
    return _make(np.ones(_shape(shape)), dtype, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value``."""
    return _make(np.full(_shape((shape,)), float(fill_value)), dtype, requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    """An uninitialised tensor (here: zero-filled, for reproducibility)."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop)."""
    return _make(np.arange(start, stop, step, dtype=np.float64), dtype, requires_grad)


def linspace(start, stop, num=50, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from start to stop inclusive."""
    return _make(np.linspace(start, stop, num), dtype, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """Identity matrix (n x m)."""
    return _make(np.eye(n, m), dtype, requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator."""
    return _make(_rng[0].random(_shape(shape)), dtype, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from the seeded generator."""
    return _make(_rng[0].standard_normal(_shape(shape)), dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape (and dtype) of ``t``."""
    return zeros(*np.shape(t), dtype=dtype or getattr(t, "dtype", None), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape (and dtype) of ``t``."""
    return ones(*np.shape(t), dtype=dtype or getattr(t, "dtype", None), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` with the shape (and dtype) of ``t``."""
    return full(np.shape(t), fill_value, dtype=dtype or getattr(t, "dtype", None),
                requires_grad=requires_grad)
