"""Array manipulation under numpy's names: flip, roll, moveaxis, tile, repeat, tril, triu,
diagonal, take_along_axis, sort and argsort.

Each is built from primitives whose rules give the gradients in every mode (VJP, JVP, any
order), at the cost its meaning needs:

- views: ``flip`` (negative-stride slices), ``moveaxis`` (a permutation);
- one copy per rolled axis: ``roll`` (the two parts of the axis swapped, by the concatenate
  op in its roll mode, whose transpose is the roll back);
- a slice and one copy: ``diagonal`` (the plane flattened, a slice of step m + 1, copied);
- a broadcast and one copy: ``tile`` and ``repeat`` with one count (a size-1 axis inserted next
  to each repeated one, broadcast, copied, merged), so repeated elements sum their gradients
  through the broadcast;
- a selection: ``tril``, ``triu`` (``where`` with a 0/1 mask, cached for small planes);
- one gather by flat index, built in O(result) from the index along the axis:
  ``take_along_axis``, ``repeat`` with one count per element (its VJP scatters and adds).
  ``sort`` gathers at the order its own kernel finds (csrc/kernels/sort.c), which ``argsort``
  returns.

Where the dimension limit (8) stops a broadcast, ``tile`` and ``repeat`` fall back to numpy's
function applied to the flat indices (``np.arange(size)``) and one gather at the result.
"""
import functools
import math
import operator

import numpy as np

from . import _core

__all__ = ["flip", "roll", "moveaxis", "tile", "repeat", "tril", "triu", "diagonal",
           "take_along_axis", "sort", "argsort"]


_MAXDIM = 8  # AG_MAXDIM of csrc/ag.h
_BROADCAST_MIN_ROW = 16  # repeat copies rows through a broadcast when they are this long
_MASK_CACHE_ELEMENTS = 1 << 18  # tril/triu keep masks of planes up to this size (16 at most)


def _flat_index(x):
    return np.arange(x.size, dtype=np.int64).reshape(x.shape)


def _gather_by(x, index_fn):
    """x at index_fn(flat indices of x): the function's result on x's elements (the fallback
    where a broadcast would pass the dimension limit)."""
    index = index_fn(_flat_index(x))
    y = _core._take_flat(x, index)
    return _core._reshape(y, ()) if index.ndim == 0 else y   # the gather returns 1-d for 0-d


def _axes(axis, ndim, name, repeats_allowed=False):
    try:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        axes = [operator.index(a) for a in axes]
    except TypeError:
        raise TypeError(f"{name}: axis must be an integer or a tuple of integers, got "
                        f"{type(axis).__name__} {axis!r}") from None
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for a tensor of dimension {ndim}")
        out.append(a % ndim)
    if not repeats_allowed and len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis!r}")
    return out


def _repeat_by_broadcast(x, shape, counts, each):
    """x viewed as ``shape`` with axis i repeated counts[i] times: each element in turn
    (numpy.repeat, ``each``) or the whole axis (numpy.tile).  A size-1 axis goes after (each)
    or before (tile) every repeated axis, is broadcast to the count, and one copy merges the
    pair; the broadcast's rule sums the gradients of the repeated elements.  None where the
    inserted axes would pass the dimension limit."""
    split, wide, out = [], [], []
    for s, c in zip(shape, counts):
        if c == 1:
            split.append(s)
            wide.append(s)
        else:
            split += [s, 1] if each else [1, s]
            wide += [s, c] if each else [c, s]
        out.append(s * c)
    if len(split) > _MAXDIM:
        return None
    y = _core._reshape(x, tuple(split))
    if wide != split:
        y = _core.broadcast_to(y, tuple(wide))
    # the copy always happens (a repeat by 1 too): the result never shares x's memory
    return _core._reshape(y.clone(), tuple(out))


def _gather_along(x, ax, index, name):
    """x at ``index`` along axis ``ax``: index has x's ndim, values in [0, x.shape[ax]), and
    its other axes broadcast against x's.  One gather by flat index; the flat index is built
    from ``index`` and the strides in O(result), not from an index of all of x."""
    shape = x.shape
    x_other = shape[:ax] + (1,) + shape[ax + 1:]
    i_other = index.shape[:ax] + (1,) + index.shape[ax + 1:]
    try:
        out = list(np.broadcast_shapes(x_other, i_other))
    except ValueError:
        raise ValueError(f"{name}: indices of shape {index.shape} do not broadcast against x of "
                         f"shape {shape} outside axis {ax}") from None
    out[ax] = index.shape[ax]
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    flat = np.empty(out, dtype=np.int64)
    np.multiply(index, strides[ax], out=flat, casting="unsafe")  # values are checked in range
    for d, n in enumerate(shape):
        if d != ax and n > 1:
            step = np.arange(n, dtype=np.int64) * strides[d]
            np.add(flat, step.reshape((n,) + (1,) * (len(shape) - 1 - d)), out=flat)
    return _core._take_flat(x, flat)


def flip(x, axis=None):
    """Reverse the order of elements along ``axis`` (all axes when None); a view.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.flip(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    tensor([[2., 1.],
            [4., 3.]])
    """
    x = _core._coerce_public(x, None)
    axes = range(x.ndim) if axis is None else _axes(axis, x.ndim, "flip")
    key = [slice(None)] * x.ndim
    for a in axes:
        key[a] = slice(None, None, -1)
    return x[tuple(key)]


def roll(x, shift, axis=None):
    """Shift elements along ``axis`` cyclically, as numpy.roll (flattened when axis is None).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.roll(ag.tensor([1.0, 2.0, 3.0]), 1)
    tensor([3., 1., 2.])
    """
    x = _core._coerce_public(x, None)
    if axis is None:                   # numpy's rule: roll the flattened tensor, shape it back
        return _core._reshape(roll(_core._reshape(x, (-1,)), shift, 0), x.shape)
    axes = _axes(axis, x.ndim, "roll", repeats_allowed=True)
    try:
        pairs = np.broadcast(shift, axes)
    except ValueError:
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} do not pair up (one shift, "
                         "or one per axis)") from None
    if pairs.ndim > 1:
        raise ValueError(f"roll: shift and axis must be integers or 1-d sequences, got shift "
                         f"{shift!r} and axis {axis!r}")
    total = {}
    for s, a in pairs:                 # shifts of a repeated axis add up, as in numpy
        if not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)):
            raise TypeError(f"roll: shift must be integers, got {shift!r}")
        total[int(a)] = total.get(int(a), 0) + int(s)
    y = x
    for a, s in total.items():
        n = x.shape[a]
        s = s % n if n else 0
        if s:                          # the last s elements, then the first n - s, in one op
            y = _core._roll_axis(y, a, s)
    return x.clone() if y is x else y  # a copy also when nothing moves, as numpy's


def moveaxis(x, source, destination):
    """Move axes to new positions, the others keeping their order; a view.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.moveaxis(ag.zeros(2, 3, 4), 0, -1).shape
    (3, 4, 2)
    """
    x = _core._coerce_public(x, None)
    src = _axes(source, x.ndim, "moveaxis")
    dst = _axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: {len(src)} source axes but {len(dst)} destinations")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _core.transpose(x, order)


def tile(x, reps):
    """Repeat the whole tensor ``reps`` times along each axis, as numpy.tile.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tile(ag.tensor([1.0, 2.0]), 2)
    tensor([1., 2., 1., 2.])
    """
    x = _core._coerce_public(x, None)
    try:
        reps = tuple(operator.index(r) for r in (reps if np.iterable(reps) else (reps,)))
    except TypeError:
        raise TypeError(f"tile: reps must be an integer or a sequence of integers, got "
                        f"{reps!r}") from None
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must not be negative, got {reps}")
    d = max(len(reps), x.ndim)
    shape = (1,) * (d - x.ndim) + x.shape
    y = _repeat_by_broadcast(x, shape, (1,) * (d - len(reps)) + reps, each=False)
    return y if y is not None else _gather_by(x, lambda i: np.tile(i, reps))


def _check_repeat_size(x, ax, repeats):
    """Refuse counts whose result could not exist (numpy 2.4's np.repeat crashes the process on
    np.repeat(np.arange(12), 2**62)): the total, in Python ints, against the int64 range."""
    r = np.asarray(repeats)
    if r.dtype.kind not in "iub" or r.size not in (1, x.shape[ax]):
        return  # numpy's own error for the wrong type or count
    counts = [int(c) for c in r.reshape(-1)]
    if min(counts, default=0) < 0:
        raise ValueError(f"repeat: repeats must be non-negative, got {min(counts)}")
    along = counts[0] * x.shape[ax] if len(counts) == 1 else sum(counts)
    total = along * math.prod(x.shape[:ax] + x.shape[ax + 1:])
    if along > 2**62 or total * np.dtype(x.dtype).itemsize > 2**62:
        raise MemoryError(f"repeat: the result would have {total} elements along a tensor of "
                          f"shape {x.shape} (repeats {repeats!r}), more than memory can hold")


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element along ``axis``),
    as numpy.repeat (flattened when axis is None).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.repeat(ag.tensor([1.0, 2.0]), 2)
    tensor([1., 1., 2., 2.])
    """
    x = _core._coerce_public(x, None)
    if axis is None:
        x, axis = _core._reshape(x, (-1,)), 0
    elif not isinstance(axis, (int, np.integer)):
        raise TypeError(f"repeat: axis must be an integer or None, got {type(axis).__name__}")
    ax = _axes(axis, x.ndim, "repeat")[0]
    _check_repeat_size(x, ax, repeats)
    # the index along the axis: O(axis length), and numpy's own checks of the counts
    along = np.repeat(np.arange(x.shape[ax], dtype=np.int64), repeats)
    inner = x.shape[ax + 1:]
    if np.size(repeats) == 1 and math.prod(inner) >= _BROADCAST_MIN_ROW:
        counts = [1] * x.ndim                  # one count, rows long enough to copy as rows
        counts[ax] = int(np.reshape(repeats, -1)[0])
        y = _repeat_by_broadcast(x, x.shape, counts, each=True)
        if y is not None:
            return y
    # one gather of the dims from the axis on (those before it a batch), by the index along
    # the axis spread over the elements after it
    k = math.prod(inner)
    index = along[:, None] * k + np.arange(k, dtype=np.int64)
    return _core._take_trailing(x, index.reshape(along.shape + inner), x.ndim - ax)


def _triangle(x, k, name, keep_lower):
    x = _core._coerce_public(x, None)
    if x.ndim < 2:
        raise ValueError(f"{name}: needs at least 2 dimensions, got shape {x.shape}")
    n, m = x.shape[-2:]
    make = _triangle_mask if n * m <= _MASK_CACHE_ELEMENTS else _triangle_mask.__wrapped__
    # a selection, not a product with the mask: inf and nan outside the triangle become 0
    return _core.where(make(n, m, int(k), keep_lower, x.dtype), x, 0.0)


@functools.lru_cache(maxsize=16)
def _triangle_mask(n, m, k, keep_lower, dtype):
    """The 0/1 tensor of the kept triangle (never returned to the user, so never written)."""
    # lower: j <= i + k; upper: j >= i + k, the complement of the lower triangle of k - 1
    tri = np.tri(n, m, k if keep_lower else k - 1, dtype=dtype)
    return _core.from_numpy(tri if keep_lower else 1 - tri)


def tril(x, k=0):
    """The lower triangle of the last two axes (below and on diagonal ``k``), zeros elsewhere.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tril(ag.ones(2, 2))
    tensor([[1., 0.],
            [1., 1.]])
    """
    return _triangle(x, k, "tril", True)


def triu(x, k=0):
    """The upper triangle of the last two axes (above and on diagonal ``k``), zeros elsewhere.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.triu(ag.ones(2, 2))
    tensor([[1., 1.],
            [0., 1.]])
    """
    return _triangle(x, k, "triu", False)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal ``offset`` of the plane (axis1, axis2), moved to the last axis, as
    numpy.diagonal (a copy, not numpy's read-only view).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.diagonal(ag.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([1., 4.])
    """
    x = _core._coerce_public(x, None)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    offset = operator.index(offset)
    a1, a2 = _axes((axis1, axis2), x.ndim, "diagonal")
    y = moveaxis(x, (a1, a2), (-2, -1))
    n, m = y.shape[-2:]
    # the plane flattened (a view where its strides allow): the diagonal is a slice of step m + 1
    if offset >= 0:
        start, length = offset, min(n, m - offset)
    else:
        start, length = -offset * m, min(n + offset, m)
    key = slice(start, start + (length - 1) * (m + 1) + 1, m + 1) if length > 0 else slice(0, 0)
    return _core._reshape(y, y.shape[:-2] + (n * m,))[..., key].clone()


def take_along_axis(x, indices, axis=-1):
    """Elements of x at ``indices`` along ``axis`` (broadcast against the other axes), as
    numpy.take_along_axis; repeated indices add their gradients.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.take_along_axis(ag.tensor([[10.0, 20.0], [30.0, 40.0]]), np.array([[1], [0]]), 1)
    tensor([[20.],
            [30.]])
    """
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {indices.dtype}")
    x = _core._coerce_public(x, None)
    if axis is None:                   # numpy's rule: the flattened tensor, 1-d indices
        if indices.ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None, indices must be 1-d, got shape "
                             f"{indices.shape}")
        x, axis = _core._reshape(x, (-1,)), 0
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices must have as many dimensions as x; got "
                         f"indices of shape {indices.shape} for x of shape {x.shape}")
    ax = _axes(axis, x.ndim, "take_along_axis")[0]
    n = x.shape[ax]
    if indices.size:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < -n or hi >= n:
            raise IndexError(f"take_along_axis: index {lo if lo < -n else hi} is out of bounds "
                             f"for axis {ax} with size {n}")
        if lo < 0:
            indices = np.where(indices < 0, indices + n, indices)
    return _gather_along(x, ax, indices, "take_along_axis")


def _check_sort_options(name, kind, order, stable):
    if order is not None:
        raise ValueError(f"{name}: order= applies to structured arrays; a Tensor has no fields")
    if kind is not None and stable is not None:
        raise ValueError(f"{name}: kind= and stable= cannot be given together (numpy's rule); "
                         f"got kind={kind!r}, stable={stable!r}")
    if kind not in (None, "quicksort", "mergesort", "heapsort", "stable"):
        raise ValueError(f"{name}: kind must be one of 'quicksort', 'mergesort', 'heapsort', "
                         f"'stable', got {kind!r}")


def _sort_axis(name, x, axis):
    """x and the axis to sort it along (x flattened for axis=None)."""
    if axis is None:
        return _core._reshape(x, (-1,)), 0
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an integer or None, got {type(axis).__name__}")
    return x, _axes(axis, x.ndim, name)[0]


def _sorted_values(a, axis):
    """np.sort(a, axis) as a stable sort would arrange it, or None where that takes the stable
    sort: numpy's fastest sort can only put equal elements in another order, and equal elements
    have equal bits unless they are zeros of both signs or NaNs."""
    v = np.sort(a, axis=axis)
    if v.size and np.isnan(np.take(v, -1, axis)).any():       # NaNs sort to the end of a row
        return None
    bits = a.view(np.uint32 if a.dtype == np.float32 else np.uint64)
    if (bits == np.array(-0.0, a.dtype).view(bits.dtype)).any():
        return None
    return v


def sort(x, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted along ``axis`` (flattened when None), as numpy.sort with the stable order:
    ascending, every NaN last, -0.0 and +0.0 equal, equal elements in their input order.

    The gradient of each output element goes to the input element that landed there (ties
    included: each tied element gets the gradient of its own place).

    Parameters
    ----------
    x : Tensor or array_like
    axis : int or None, default -1
        The axis to sort along; None sorts the flattened tensor.
    kind, stable : optional
        numpy's; accepted for compatibility (every kind gives the stable result), not both.
    order : None
        numpy's field order for structured arrays; a Tensor has none.

    Returns
    -------
    Tensor
        x's dtype, x's shape (1-d for ``axis=None``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sort(ag.tensor([3.0, 1.0, 2.0]))
    tensor([1., 2., 3.])
    >>> ag.sort(ag.tensor([[3.0, 1.0], [0.0, 2.0]]), axis=0)
    tensor([[0., 1.],
            [3., 2.]])
    """
    _check_sort_options("sort", kind, order, stable)
    x, axis = _sort_axis("sort", _core._coerce_public(x, None), axis)
    if not ((x.requires_grad and _core.is_grad_enabled()) or x.tangent is not None):
        v = _sorted_values(np.asarray(x), axis)
        if v is not None:
            return _core.from_numpy(v)
    if axis == x.ndim - 1:
        return _core._sort_last(x)
    y = _core._sort_last(moveaxis(x, axis, -1).contiguous())
    return moveaxis(y, -1, axis)


def argsort(x, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort ``x`` along ``axis`` (flattened when None), as numpy.argsort with the
    stable order: ascending, every NaN last, -0.0 and +0.0 equal, equal elements in their
    input order.

    Parameters
    ----------
    x, axis, kind, order, stable
        As for :func:`sort`; an array or list (not a Tensor) is ordered by numpy on its own
        values (not rounded to float32 as a tensor of a list of floats would be).

    Returns
    -------
    numpy.ndarray of int64
        Outside the graph: an order has no derivative (``take_along_axis`` of the tensor at it
        keeps one).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.argsort(ag.tensor([3.0, 1.0, 2.0, 1.0]))
    array([1, 3, 2, 0])
    """
    _check_sort_options("argsort", kind, order, stable)
    if not isinstance(x, _core.Tensor):
        a = np.asarray(x)
        if a.dtype.kind in "biuf":
            # an array or list keeps its own values (numpy's stable order is this one): a
            # float32 tensor of them would round 2**24 + 1 or 1 + 1e-8 and tie them
            return np.argsort(a, axis=axis, kind="stable")
    x = _core._coerce_public(x, None)
    if x.ndim == 0:                  # numpy sorts a 0-d array as one element
        x = _core.reshape(x, (1,))
    x, axis = _sort_axis("argsort", x, axis)
    if axis == x.ndim - 1:
        return _core._argsort_last(x)
    return np.ascontiguousarray(np.moveaxis(_core._argsort_last(moveaxis(x, axis, -1)), -1, axis))
