"""Mini-batches over arrays: :func:`batches` and a small :class:`DataLoader`."""
import math
import operator
from collections.abc import Iterable, Iterator, Mapping, Sized

import numpy as np

from . import _core
from ._core import Tensor

__all__ = ["batches", "DataLoader"]


def _as_array(a, i):
    if isinstance(a, (Mapping, set, frozenset)) and not hasattr(a, "__array__"):
        raise TypeError(f"batches: argument {i} is a {type(a).__name__}, not an array of "
                        "samples; pass its arrays as separate arguments, DataLoader(X, y, ...)")
    if isinstance(a, Iterator) or (isinstance(a, Iterable) and not isinstance(
            a, (Sized, str, bytes)) and not hasattr(a, "__array__")):
        a = list(a)         # a generator / iterator of samples: read once, kept
    try:
        arr = a.numpy() if isinstance(a, Tensor) else np.asarray(a)
    except ValueError as e:
        if not isinstance(a, (list, tuple)):
            raise
        raise TypeError(f"batches: argument {i} (a {type(a).__name__}) is not one array: its "
                        f"items differ in shape ({e}).  Pass the arrays of a dataset as "
                        "separate arguments, DataLoader(X, y, ...) / batches(X, y, ...), or as "
                        "one tuple of numpy arrays or Tensors, DataLoader((X, y), ...)") from None
    if arr.ndim == 0:
        raise ValueError(f"batches: array {i} is a scalar; every array needs a leading sample axis")
    return arr


def _tuple_of_arrays(arrays):
    """``DataLoader((X, y))``: one tuple of numpy arrays / Tensors is the arrays of a dataset
    (what a PyTorch user wraps in a TensorDataset), not a dataset of len(tuple) samples."""
    if len(arrays) == 1 and isinstance(arrays[0], tuple) and arrays[0] and \
            all(isinstance(a, (np.ndarray, Tensor)) for a in arrays[0]):
        return arrays[0]
    return arrays


def _check(arrays, batch_size):
    arrays = _tuple_of_arrays(arrays)
    if not arrays:
        raise ValueError("batches: need at least one array")
    arrs = [_as_array(a, i) for i, a in enumerate(arrays)]
    n = len(arrs[0])
    for i, a in enumerate(arrs):
        if len(a) != n:
            raise ValueError(f"batches: all arrays must have the same length; array 0 has {n} "
                             f"samples, array {i} has {len(a)}")
    try:
        if isinstance(batch_size, (bool, np.bool_)):
            raise TypeError
        batch_size = operator.index(batch_size)
    except TypeError:
        raise TypeError(f"batches: batch_size must be an integer, got "
                        f"{type(batch_size).__name__} {batch_size!r}") from None
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    return arrs, n, batch_size


def _convert(a, to_tensor):
    if to_tensor and a.dtype.kind == "f":
        return _core.tensor(a, dtype=a.dtype if a.dtype in (np.float32, np.float64) else np.float32)
    # a batch of its own (a slice is a view): writing into it leaves the data alone
    return a.copy() if a.base is not None else a


def batches(*arrays, batch_size, shuffle=False, seed=None, drop_last=False, to_tensor=True):
    """Yield tuples of aligned mini-batches of ``arrays`` (a single array gives single items).

    Floating-point batches are converted to Tensors (float64 stays float64, other floats become
    float32); integer and other arrays (labels) are yielded as numpy arrays.

    Parameters
    ----------
    *arrays : array_like or Tensor, all with the same first dimension
        A single tuple of numpy arrays / Tensors, ``(X, y)``, is taken as those arrays (what
        PyTorch's ``TensorDataset(X, y)`` holds); a list stays one array (its rows); a
        generator or other iterator of samples is read once, into a list of its rows.
    batch_size : int
    shuffle : bool
        Visit the samples in a random order (a new order each call).
    seed : int or numpy Generator, optional
        Seed of the shuffle; None draws fresh entropy.
    drop_last : bool
        Skip a final batch smaller than ``batch_size``.
    to_tensor : bool
        Set False to get numpy arrays only.  numpy batches are copies: writing into one
        leaves the data unchanged.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in ag.data.batches(X, y, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """
    arrs, n, batch_size = _check(arrays, batch_size)      # checked at the call, not at next()
    rng = None
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return _batches(arrs, n, batch_size, rng, drop_last, to_tensor)


def _batches(arrs, n, batch_size, rng, drop_last, to_tensor):
    """The batches; shuffled by ``rng`` (a numpy Generator) unless it is None."""
    order = None if rng is None else rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n)
        if order is None:
            out = tuple(_convert(a[start:end], to_tensor) for a in arrs)
        else:
            idx = order[start:end]
            out = tuple(_convert(a[idx], to_tensor) for a in arrs)
        yield out[0] if len(out) == 1 else out


class DataLoader:
    """Re-iterable mini-batches over in-memory arrays; each pass reshuffles (when ``shuffle``)
    with a generator seeded once by ``seed``.

    ``DataLoader(X, y)`` and ``DataLoader((X, y))`` (a tuple of numpy arrays / Tensors, as a
    PyTorch ``TensorDataset``) are the same; the other arguments are those of :func:`batches`.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> dl = ag.data.DataLoader(np.zeros((10, 3)), np.zeros(10), batch_size=4)
    >>> len(dl), [xb.shape for xb, _ in dl]
    (3, [(4, 3), (4, 3), (2, 3)])
    """

    def __init__(self, *arrays, batch_size=32, shuffle=False, seed=None, drop_last=False,
                 to_tensor=True):
        self.arrays, self.n, self.batch_size = _check(arrays, batch_size)
        self.shuffle, self.drop_last, self.to_tensor = shuffle, drop_last, to_tensor
        self._rng = np.random.default_rng(seed)

    def __len__(self):
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def __iter__(self):
        return _batches(self.arrays, self.n, self.batch_size,
                        self._rng if self.shuffle else None, self.drop_last, self.to_tensor)
