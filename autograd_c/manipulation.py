"""Array manipulation under numpy's names: flip, roll, moveaxis, tile, repeat, tril, triu,
diagonal, take_along_axis, sort and argsort.

Each is a view (``flip``, ``moveaxis``), a selection (``tril``, ``triu``) or one gather: numpy
applies the function to the tensor's flat indices (``np.arange(size)`` in the tensor's shape),
and the tensor is gathered at the result.  Argument checking, axis rules and result shapes are
therefore numpy's own, and the gradients in every mode come from the gather primitive (whose
VJP scatters and adds, so repeated elements sum their gradients).  ``sort`` gathers at the
order its own kernel finds (csrc/kernels/sort.c), which ``argsort`` returns.
"""
import numpy as np

from . import _core

__all__ = ["flip", "roll", "moveaxis", "tile", "repeat", "tril", "triu", "diagonal",
           "take_along_axis", "sort", "argsort"]


def _flat_index(x):
    return np.arange(x.size, dtype=np.int64).reshape(x.shape)


def _gather_by(x, index_fn):
    """x at index_fn(flat indices of x): the function's result on x's elements."""
    x = _core._coerce_public(x, None)
    index = index_fn(_flat_index(x))
    y = _core._take_flat(x, index)
    return _core._reshape(y, ()) if index.ndim == 0 else y   # the gather returns 1-d for 0-d


def _axes(axis, ndim, name):
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for a tensor of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axis!r}")
    return out


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
    return _gather_by(x, lambda i: np.roll(i, shift, axis))


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
    return _gather_by(x, lambda i: np.tile(i, reps))


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element along ``axis``),
    as numpy.repeat (flattened when axis is None).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.repeat(ag.tensor([1.0, 2.0]), 2)
    tensor([1., 1., 2., 2.])
    """
    return _gather_by(x, lambda i: np.repeat(i, repeats, axis))


def _triangle(x, k, name, keep_lower):
    x = _core._coerce_public(x, None)
    if x.ndim < 2:
        raise ValueError(f"{name}: needs at least 2 dimensions, got shape {x.shape}")
    n, m = x.shape[-2:]
    # lower: j <= i + k; upper: j >= i + k, the complement of the lower triangle of k - 1
    mask = np.tri(n, m, int(k), dtype=bool) if keep_lower else ~np.tri(n, m, int(k) - 1, dtype=bool)
    # a selection, not a product with the mask: inf and nan outside the triangle become 0
    return _core.where(mask, x, 0.0)


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
    return _gather_by(x, lambda i: np.diagonal(i, offset, axis1, axis2).copy())


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
    return _gather_by(x, lambda i: np.take_along_axis(i, indices, axis))


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
        As for :func:`sort`; an integer array is ordered by numpy on its own values (not
        rounded to float32 as a tensor of it would be).

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
        if a.dtype.kind in "biuf" and a.dtype not in (np.float32, np.float64):
            # integers (and float16 / longdouble) keep their own values: a float32 tensor of
            # them would round 2**24 + 1 to 2**24 and tie them
            return np.argsort(a, axis=axis, kind="stable")
    x = _core._coerce_public(x, None)
    if x.ndim == 0:                  # numpy sorts a 0-d array as one element
        x = _core.reshape(x, (1,))
    x, axis = _sort_axis("argsort", x, axis)
    if axis == x.ndim - 1:
        return _core._argsort_last(x)
    return np.ascontiguousarray(np.moveaxis(_core._argsort_last(moveaxis(x, axis, -1)), -1, axis))
