"""Tensor creation functions and the seeded random generator."""
import operator

import numpy as np

from . import _core

__all__ = ["zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn",
           "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "manual_seed",
           "get_rng"]

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
    """The numpy Generator that ``manual_seed`` seeds.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.manual_seed(0); a = ag.creation.get_rng().random()
    >>> ag.manual_seed(0); a == ag.creation.get_rng().random()
    True
    """
    return _rng[0]


def _shape(shape):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        if not np.iterable(shape[0]):
            raise TypeError(f"shape must be ints or a sequence of ints, got {shape[0]!r}")
        shape = tuple(shape[0])
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be ints or a sequence of ints, got {shape!r}") from None
    for s in shape:
        if s < 0:
            raise ValueError(f"negative dimension {s} in shape {shape}")
    return shape


def _dt(dtype):
    return np.float32 if dtype is None else np.dtype(dtype)


def _like_dtype(t, dtype):
    """The dtype of a ``*_like`` result: ``dtype``, else ``t``'s when it is float32 / float64
    (an integer or bool array gives the default float32, as ``tensor`` does)."""
    if dtype is not None:
        return dtype
    own = getattr(t, "dtype", None)
    return own if own in (np.float32, np.float64) else None


def _fill(fill_value):
    if isinstance(fill_value, _core.Tensor) and fill_value.requires_grad and _core.is_grad_enabled():
        # its value is read here, so its gradient would be lost without a word
        raise RuntimeError("full: fill_value requires grad, which a filled tensor cannot carry; "
                           "use ag.broadcast_to(value, shape) (recorded) or value.detach()")
    if np.size(fill_value) != 1:
        raise TypeError(f"fill_value must be a scalar, got shape {np.shape(fill_value)}")
    return float(np.asarray(fill_value).reshape(()))


def _requires_grad(value, name):
    """``requires_grad`` as a bool; anything but a bool (or numpy bool) is a TypeError naming
    the creation function, as PyTorch's ``zeros(2, requires_grad="yes")`` is."""
    return _core._bool_arg(value, f"{name}()", "requires_grad", True)


def _make(arr, dtype, requires_grad):
    return _core.tensor(arr, dtype=_dt(dtype), requires_grad=requires_grad)


def _filled(shape, value, dtype, requires_grad):
    """zeros / ones / full: made in C for float32 and float64 (a float64 numpy array converted
    to float32 cost 2.5 ms at 4e6 elements against 0.4 ms for a copy); any other dtype goes the
    general way, which names it in its error."""
    dt = _dt(dtype)
    if dt not in (np.float32, np.float64):
        return _make(np.full(shape, value), dtype, requires_grad)
    t = _core._full_tensor(shape, value, dt)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros (float32 unless ``dtype`` says otherwise).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.zeros(2, 3).shape
    (2, 3)
    """
    requires_grad = _requires_grad(requires_grad, "zeros")
    return _filled(_shape(shape), 0.0, dtype, requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.ones(2, dtype='float64')
    tensor([1., 1.], dtype=float64)
    """
    requires_grad = _requires_grad(requires_grad, "ones")
    return _filled(_shape(shape), 1.0, dtype, requires_grad)


def full(shape, fill_value, dtype=None, requires_grad=False):
    """A tensor filled with ``fill_value``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.full((2,), 7.0)
    tensor([7., 7.])
    """
    requires_grad = _requires_grad(requires_grad, "full")
    return _filled(_shape((shape,)), _fill(fill_value), dtype, requires_grad)


def empty(*shape, dtype=None, requires_grad=False):
    """An uninitialised tensor (here: zero-filled, for reproducibility).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.empty(2, 2).shape
    (2, 2)
    """
    requires_grad = _requires_grad(requires_grad, "empty")
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.arange(0, 3)
    tensor([0., 1., 2.])
    """
    requires_grad = _requires_grad(requires_grad, "arange")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    return _make(np.arange(start, stop, step, dtype=np.float64), dtype, requires_grad)


def linspace(start, stop, num=50, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from start to stop inclusive.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.linspace(0, 1, 3)
    tensor([0. , 0.5, 1. ])
    """
    requires_grad = _requires_grad(requires_grad, "linspace")
    return _make(np.linspace(start, stop, num), dtype, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """Identity matrix (n x m).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    requires_grad = _requires_grad(requires_grad, "eye")
    return _make(np.eye(n, m), dtype, requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.manual_seed(0)
    >>> x = ag.rand(100)
    >>> bool((x.numpy() >= 0).all() and (x.numpy() < 1).all())
    True
    """
    requires_grad = _requires_grad(requires_grad, "rand")
    return _make(_rng[0].random(_shape(shape)), dtype, requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from the seeded generator.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.manual_seed(0)
    >>> ag.randn(3, 4).shape
    (3, 4)
    """
    requires_grad = _requires_grad(requires_grad, "randn")
    return _make(_rng[0].standard_normal(_shape(shape)), dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape (and dtype) of ``t``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.zeros_like(ag.ones(2, dtype='float64'))
    tensor([0., 0.], dtype=float64)
    """
    requires_grad = _requires_grad(requires_grad, "zeros_like")
    return zeros(*np.shape(t), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape (and dtype) of ``t``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.ones_like(ag.zeros(2))
    tensor([1., 1.])
    """
    requires_grad = _requires_grad(requires_grad, "ones_like")
    return ones(*np.shape(t), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` with the shape (and dtype) of ``t``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.full_like(ag.zeros(2), 3.0)
    tensor([3., 3.])
    """
    requires_grad = _requires_grad(requires_grad, "full_like")
    return full(np.shape(t), fill_value, dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) with the shape (and dtype) of ``t``, from the seeded generator
    (PyTorch's ``rand_like``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.rand_like(ag.zeros(2, 3, dtype='float64')).dtype
    dtype('float64')
    """
    requires_grad = _requires_grad(requires_grad, "rand_like")
    return rand(*np.shape(t), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    """Standard normal samples with the shape (and dtype) of ``t``, from the seeded generator
    (PyTorch's ``randn_like``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.randn_like(ag.zeros(2, 3)).shape
    (2, 3)
    """
    requires_grad = _requires_grad(requires_grad, "randn_like")
    return randn(*np.shape(t), dtype=_like_dtype(t, dtype), requires_grad=requires_grad)
