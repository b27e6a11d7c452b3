"""Order statistics, NaN-skipping reductions, running products and log-sums under numpy's
names: median, quantile, percentile, their nan-variants, nansum, nanprod, nanmean, nanvar,
nanstd, nanmax, nanmin, cumprod, nancumsum, nancumprod, logaddexp, logaddexp2.

Order statistics sort the reduced axes (merged into one, last) with ``ag.sort`` and gather the
sorted rows at the positions numpy's method picks, interpolating between two of them where the
method does; the positions and weights are computed in numpy from the shape (and, for the
nan-variants, the count of non-NaN values in each slice).  The gradient therefore goes to the
order statistics used, weighted as in the interpolation, as in PyTorch and JAX; at ties, to the
elements the stable sort put at those places.  NaN-skipping reductions replace NaN entries with
the reduction's identity through ``ag.where``, so those entries get a zero gradient.
``cumprod`` is a parallel prefix product (log2 of the axis length rounds of one product of
shifted slices) made of multiplications only, so its gradients of every order are exact also
where the sequence holds zeros (no division by the running product).
"""
import warnings

import numpy as np

from . import _core
from .manipulation import _axes, sort

__all__ = ["median", "quantile", "percentile", "nanmedian", "nanquantile", "nanpercentile",
           "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
           "cumprod", "nancumsum", "nancumprod", "logaddexp", "logaddexp2"]


def _differentiated(x):
    return (x.requires_grad and _core.is_grad_enabled()) or x.tangent is not None


def _reduced(a, axis, name):
    """(rows, out_shape, keep_shape): a with the axes of ``axis`` (all for None) moved last and
    merged into one, as a 2-d (kept positions, reduced elements) tensor; the result's shape
    without the reduced axes and with them kept as 1."""
    a = _core._coerce_public(a, None)
    nd = a.ndim
    red = list(range(nd)) if axis is None else _axes(axis, nd, name)
    kept = [d for d in range(nd) if d not in red]
    out_shape = tuple(a.shape[d] for d in kept)
    keep_shape = tuple(1 if d in red else a.shape[d] for d in range(nd))
    n = int(np.prod([a.shape[d] for d in red], dtype=np.int64))
    if kept + red != list(range(nd)):
        a = _core.transpose(a, kept + red)
    return _core._reshape(a, (int(np.prod(out_shape, dtype=np.int64)), n)), out_shape, keep_shape


def _shaped(values, lead, out_shape, keep_shape, keepdims):
    """values (lead + (kept positions,)) in the result's shape: lead + the kept axes."""
    return _core._reshape(values, tuple(lead) + (keep_shape if keepdims else out_shape))


def _warn_empty(empty, what):
    if np.any(empty):
        warnings.warn(what, RuntimeWarning, stacklevel=3)


# ---- quantile positions: numpy's methods (H&F 1996), as index arithmetic on the counts ----

def _continuous(alpha, beta):
    return lambda n, q: n * q + (alpha + q * (1 - alpha - beta)) - 1


def _midpoint_gamma(gamma, index):
    return np.where(index % 1 == 0, 0.0, 0.5)


def _averaged_gamma(gamma, index):
    return np.where(gamma == 0, 0.5, 1.0)


def _boundary(index, take_previous):
    """A discrete method's position: the previous index where take_previous(gamma, index)
    holds, else the next one, clipped below at 0."""
    previous = np.floor(index)
    gamma = index - previous
    return np.maximum(np.where(take_previous(gamma, index), previous, previous + 1), 0)


# method: (virtual index of (count, q), gamma fix, or None for a discrete method)
_METHODS = {
    "linear": (lambda n, q: (n - 1) * q, lambda g, i: g),
    "lower": (lambda n, q: np.floor((n - 1) * q), None),
    "higher": (lambda n, q: np.ceil((n - 1) * q), None),
    "nearest": (lambda n, q: np.around((n - 1) * q), None),
    "midpoint": (lambda n, q: 0.5 * (np.floor((n - 1) * q) + np.ceil((n - 1) * q)),
                 _midpoint_gamma),
    "inverted_cdf": (lambda n, q: _boundary(n * q - 1, lambda g, i: g == 0), None),
    "averaged_inverted_cdf": (lambda n, q: n * q - 1, _averaged_gamma),
    "closest_observation": (lambda n, q: _boundary(
        n * q - 1.5, lambda g, i: (g == 0) & (np.floor(i) % 2 == 1)), None),
    "interpolated_inverted_cdf": (_continuous(0, 1), lambda g, i: g),
    "hazen": (_continuous(0.5, 0.5), lambda g, i: g),
    "weibull": (_continuous(0, 0), lambda g, i: g),
    "median_unbiased": (_continuous(1 / 3, 1 / 3), lambda g, i: g),
    "normal_unbiased": (_continuous(3 / 8, 3 / 8), lambda g, i: g),
}


def _positions(method, count, q):
    """numpy's (previous, next, gamma) for the quantiles q (k,) of slices of ``count`` (m,)
    valid elements, each (k, m); gamma is None for a discrete method (previous alone)."""
    index_of, fix_gamma = _METHODS[method]
    n, q = count[None, :].astype(np.float64), q[:, None]
    last = np.maximum(count - 1, 0)[None, :]
    virtual = np.broadcast_to(index_of(n, q), (q.shape[0], count.size))
    if fix_gamma is None:
        index = np.clip(virtual, 0, last).astype(np.int64)
        return index, index, None
    previous = np.floor(virtual)
    following = previous + 1
    above, below = virtual >= n - 1, virtual < 0
    # numpy takes the last element above the range (index -1, which enters gamma as -1) and the
    # first below it
    previous = np.where(above, -1.0, np.where(below, 0.0, previous))
    following = np.where(above, -1.0, np.where(below, 0.0, following))
    gamma = fix_gamma(virtual - previous, virtual)
    previous = np.where(previous < 0, last, previous).astype(np.int64)
    following = np.where(following < 0, last, following).astype(np.int64)
    return previous, following, gamma


def _lerp(a, b, gamma):
    """numpy's interpolation a + (b - a) t, written from b's side for t >= 0.5 (so that t = 1
    gives b exactly): the gradient is (1 - t) to a and t to b either way."""
    d = b - a
    return _core.where(gamma >= 0.5, b - d * (1 - gamma), a + d * gamma)


def _sorted_rows(a, axis, name, skip_nan):
    """(sorted rows, count of valid elements per row, rows holding NaN, shapes) for an order
    statistic: without skip_nan a row with NaN counts in full (numpy's result there is the
    sorted row's last element, a NaN)."""
    rows, out_shape, keep_shape = _reduced(a, axis, name)
    m, n = rows.shape
    nan = np.isnan(np.asarray(rows))
    has_nan = nan.any(axis=1)
    count = n - nan.sum(axis=1) if skip_nan else np.full(m, n, dtype=np.int64)
    return sort(rows, axis=-1), count, has_nan, (out_shape, keep_shape)


def _gather(s, positions):
    """s (m, n) at positions (k, m) along its rows: (k, m)."""
    m, n = s.shape
    return _core._take_flat(s, positions + np.arange(m, dtype=np.int64) * n)


def _check_q(name, q, scale):
    if isinstance(q, _core.Tensor) and _differentiated(q):
        raise TypeError(f"{name}: q is not differentiated here; pass its values "
                        f"(q.detach()), got a tensor that requires grad")
    q = np.asarray(q, dtype=np.float64) / scale
    if q.ndim > 1:
        raise ValueError(f"{name}: q must be a scalar or 1-d (as numpy documents), got shape "
                         f"{q.shape}")
    if not (q.size == 0 or (q.min() >= 0 and q.max() <= 1)):
        hi = "100" if scale == 100 else "1"
        raise ValueError(f"{name}: q must be in the range [0, {hi}], got {q * scale}")
    return q


def _quantile(name, a, q, axis, method, keepdims, weights, skip_nan, scale):
    q = _check_q(name, q, scale)
    if weights is not None:
        raise NotImplementedError(f"{name}: weights= is not supported (numpy's inverted_cdf "
                                  f"weighting); got weights of shape {np.shape(weights)}")
    if method not in _METHODS:
        raise ValueError(f"{name}: method must be one of {sorted(_METHODS)}, got {method!r}")
    s, count, has_nan, shapes = _sorted_rows(a, axis, name, skip_nan)
    m, n = s.shape
    if n == 0 and not skip_nan:
        raise ValueError(f"{name}: cannot take a quantile of an empty slice (the reduced axes "
                         f"of the input have size 0)")
    empty = count == 0
    if n == 0:
        _warn_empty(m, "All-NaN slice encountered")
        value = _core.sum(s, axis=-1) * np.full((q.size, m), np.nan)
        return _shaped(value, q.shape, *shapes, keepdims)
    previous, following, gamma = _positions(method, count, q.reshape(-1))
    if not skip_nan:       # a slice with NaN: its last element (numpy's result, a NaN)
        previous = np.where(has_nan, n - 1, previous)
        following = np.where(has_nan, n - 1, following)
    value = _gather(s, previous)
    if gamma is not None:
        value = _lerp(value, _gather(s, following), gamma.astype(np.dtype(s.dtype)))
    if skip_nan and empty.any():
        _warn_empty(empty, "All-NaN slice encountered")
        value = _core.where(empty, np.nan, value)
    return _shaped(value, q.shape, *shapes, keepdims)


def _median(name, a, axis, keepdims, skip_nan):
    s, count, has_nan, shapes = _sorted_rows(a, axis, name, skip_nan)
    m, n = s.shape
    empty = count == 0
    if n == 0:
        _warn_empty(m, "Mean of empty slice" if not skip_nan else "All-NaN slice encountered")
        return _shaped(_core.sum(s, axis=-1) * np.full(m, np.nan), (), *shapes, keepdims)
    lower, upper = np.maximum(count - 1, 0) // 2, count // 2
    odd = (count % 2 == 1) | empty
    if not skip_nan:
        lower, upper = np.where(has_nan, n - 1, lower), np.where(has_nan, n - 1, upper)
        odd |= has_nan
    lo = _gather(s, lower[None])
    value = lo if odd.all() else _core.where(odd, lo, (lo + _gather(s, upper[None])) * 0.5)
    if skip_nan and empty.any():
        _warn_empty(empty, "All-NaN slice encountered")
        value = _core.where(empty, np.nan, value)
    return _shaped(value, (), *shapes, keepdims)


def median(a, axis=None, overwrite_input=False, keepdims=False):
    """The median along ``axis`` (int, tuple, or None for all), as numpy.median: the middle
    element of each sorted slice, or the mean of the two middle ones.

    A slice that contains NaN gives NaN.  The gradient goes to the middle element (1) or
    splits evenly between the two middle ones (0.5 each); at ties, to the tied element that the
    stable sort (input order) put at the middle place, so one element of a tie gets the whole
    gradient of an odd-length median, as in PyTorch.

    Parameters
    ----------
    a : Tensor or array_like
    axis : int, tuple of ints or None, default None
    overwrite_input : bool
        numpy's memory hint; ignored (the input is never modified).
    keepdims : bool, default False
        Keep the reduced axes with size 1.

    Returns
    -------
    Tensor
        ``a``'s dtype.  An empty slice gives NaN with a RuntimeWarning, as in numpy.

    Examples
    --------
    >>> import autograd_c as ag
    >>> x = ag.tensor([3.0, 1.0, 4.0, 1.5], requires_grad=True)
    >>> y = ag.median(x)
    >>> y
    tensor(2.25, grad_fn=<reshape>)
    >>> y.backward(); x.grad
    tensor([0.5, 0. , 0. , 0.5])
    """
    return _median("median", a, axis, keepdims, False)


def nanmedian(a, axis=None, overwrite_input=False, keepdims=False):
    """The median along ``axis`` ignoring NaN, as numpy.nanmedian; an all-NaN slice gives NaN
    with a RuntimeWarning.  NaN entries get a zero gradient; otherwise as :func:`median`.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanmedian(ag.tensor([[1.0, np.nan, 3.0], [4.0, 5.0, 9.0]]), axis=1)
    tensor([2., 5.])
    """
    return _median("nanmedian", a, axis, keepdims, True)


def quantile(a, q, axis=None, overwrite_input=False, method="linear", keepdims=False, *,
             weights=None):
    """The q-th quantiles along ``axis``, as numpy.quantile.

    ``method`` is one of numpy's: "linear" (default), "lower", "higher", "nearest",
    "midpoint", and the Hyndman & Fan methods "inverted_cdf", "averaged_inverted_cdf",
    "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull",
    "median_unbiased", "normal_unbiased".  An interpolating method gives ``(1 - t)`` of the
    gradient to the lower order statistic and ``t`` to the upper one; a discrete method gives
    it all to the one it picks; ties as in :func:`median`.  A slice with NaN gives NaN (the
    sorted slice's last element, whose gradient goes to that NaN element, as numpy's result
    is that element).  numpy's own result is kept where it is NaN for an infinite order
    statistic at q = 1 (``inf - inf`` in the interpolation).

    Parameters
    ----------
    a : Tensor or array_like
    q : float or array_like of floats in [0, 1]
        Scalar or 1-d (its shape leads the result's); not differentiated.
    axis : int, tuple of ints or None, default None
    overwrite_input : bool
        Ignored (the input is never modified).
    method : str, default "linear"
    keepdims : bool, default False
    weights : None
        numpy's weighted inverted_cdf is not supported (NotImplementedError).

    Returns
    -------
    Tensor
        ``a``'s dtype, shape ``q.shape`` + the reduced shape.

    Examples
    --------
    >>> import autograd_c as ag
    >>> x = ag.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    >>> ag.quantile(x, [0.25, 0.5])
    tensor([1.75, 2.5 ], grad_fn=<reshape>)
    >>> ag.quantile(x, 0.25).backward(); x.grad
    tensor([0.25, 0.75, 0.  , 0.  ])
    >>> ag.quantile(x, 0.4, method="nearest")
    tensor(2., grad_fn=<reshape>)
    """
    return _quantile("quantile", a, q, axis, method, keepdims, weights, False, 1)


def percentile(a, q, axis=None, overwrite_input=False, method="linear", keepdims=False, *,
               weights=None):
    """The q-th percentiles (q in [0, 100]) along ``axis``, as numpy.percentile: the
    quantiles at ``q / 100`` (see :func:`quantile`).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.percentile(ag.tensor([[1.0, 2.0, 3.0], [6.0, 4.0, 5.0]]), 50, axis=1)
    tensor([2., 5.])
    """
    return _quantile("percentile", a, q, axis, method, keepdims, weights, False, 100)


def nanquantile(a, q, axis=None, overwrite_input=False, method="linear", keepdims=False, *,
                weights=None):
    """The q-th quantiles along ``axis`` ignoring NaN, as numpy.nanquantile: each slice's
    quantile over its non-NaN elements (see :func:`quantile`); an all-NaN slice gives NaN with
    a RuntimeWarning.  NaN entries get a zero gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanquantile(ag.tensor([1.0, np.nan, 3.0]), 0.5)
    tensor(2.)
    """
    return _quantile("nanquantile", a, q, axis, method, keepdims, weights, True, 1)


def nanpercentile(a, q, axis=None, overwrite_input=False, method="linear", keepdims=False, *,
                  weights=None):
    """The q-th percentiles along ``axis`` ignoring NaN, as numpy.nanpercentile (see
    :func:`nanquantile`).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanpercentile(ag.tensor([1.0, np.nan, 3.0, 5.0]), 25)
    tensor(2.)
    """
    return _quantile("nanpercentile", a, q, axis, method, keepdims, weights, True, 100)


# ---- NaN-skipping reductions ----

def _masked(a, fill):
    """(a with NaN entries replaced by ``fill`` through a selection, NaN mask)."""
    a = _core._coerce_public(a, None)
    nan = np.isnan(np.asarray(a))
    return (_core.where(nan, fill, a) if nan.any() else a), nan


def _np_axis(axis, ndim, name):
    """axis checked as autograd_c's reductions check it, for numpy's reductions of a mask."""
    return None if axis is None else tuple(_axes(axis, ndim, name))


def nansum(a, axis=None, keepdims=False):
    """Sum along ``axis`` treating NaN as 0, as numpy.nansum; NaN entries get a zero gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nansum(ag.tensor([1.0, np.nan, 2.0]))
    tensor(3.)
    """
    x = _masked(a, 0.0)[0]
    return _core.sum(x, axis=_np_axis(axis, x.ndim, "nansum"), keepdims=keepdims)


def nanprod(a, axis=None, keepdims=False):
    """Product along ``axis`` treating NaN as 1, as numpy.nanprod; NaN entries get a zero
    gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanprod(ag.tensor([[2.0, np.nan], [3.0, 4.0]]), axis=1)
    tensor([ 2., 12.])
    """
    x = _masked(a, 1.0)[0]
    return _core.prod(x, axis=_np_axis(axis, x.ndim, "nanprod"), keepdims=keepdims)


def _nanmean(name, a, axis, keepdims):
    x, nan = _masked(a, 0.0)
    return x, nan, np.sum(~nan, axis=_np_axis(axis, x.ndim, name), keepdims=keepdims)


def nanmean(a, axis=None, keepdims=False):
    """Mean along ``axis`` over the non-NaN entries, as numpy.nanmean; an all-NaN slice gives
    NaN with a RuntimeWarning.  NaN entries get a zero gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanmean(ag.tensor([[1.0, np.nan], [2.0, 4.0]]), axis=1)
    tensor([1., 3.])
    """
    x, nan, count = _nanmean("nanmean", a, axis, keepdims)
    _warn_empty(count == 0, "Mean of empty slice")
    return _core.sum(x, axis=axis, keepdims=keepdims) / np.where(count == 0, np.nan, count)


def nanvar(a, axis=None, ddof=0, keepdims=False):
    """Variance along ``axis`` over the non-NaN entries, as numpy.nanvar: the sum of squared
    deviations from their mean over ``count - ddof``.  A slice with ``count - ddof <= 0``
    gives NaN with a RuntimeWarning (zero gradient); NaN entries get a zero gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanvar(ag.tensor([1.0, np.nan, 3.0]))
    tensor(1.)
    >>> ag.nanvar(ag.tensor([1.0, np.nan, 3.0]), ddof=1)
    tensor(2.)
    """
    return _nanvar("nanvar", a, axis, ddof, keepdims)


def _nanvar(name, a, axis, ddof, keepdims):
    x, nan, count = _nanmean(name, a, axis, True)
    mean = _core.sum(x, axis=axis, keepdims=True) / np.maximum(count, 1)
    dev = x - mean
    if nan.any():
        dev = _core.where(nan, 0.0, dev)
    dof = count - ddof
    if not keepdims:
        dof = np.squeeze(dof, axis=_np_axis(axis, x.ndim, name))
    bad = dof <= 0
    _warn_empty(bad, "Degrees of freedom <= 0 for slice.")
    var = _core.sum(dev * dev, axis=axis, keepdims=keepdims) / np.where(bad, 1, dof)
    return _core.where(bad, np.nan, var) if bad.any() else var


def nanstd(a, axis=None, ddof=0, keepdims=False):
    """Standard deviation along ``axis`` over the non-NaN entries, as numpy.nanstd: the square
    root of :func:`nanvar` (whose gradient is infinite where the deviation is 0, as for
    ``ag.std``).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanstd(ag.tensor([1.0, np.nan, 3.0]))
    tensor(1.)
    """
    return _core.sqrt(_nanvar("nanstd", a, axis, ddof, keepdims))


def _nanextreme(name, a, axis, keepdims, fill, reduce):
    x, nan = _masked(a, fill)
    axes = _np_axis(axis, x.ndim, name)
    # as numpy: only a reduction over an empty axis has no value; empty kept axes are fine
    if x.size == 0 and (axes is None or any(x.shape[d] == 0 for d in axes)):
        raise ValueError(f"{name}: zero-size reduction (shape {x.shape}, axis {axis!r}) has no "
                         "maximum or minimum")
    allnan = np.all(nan, axis=axes, keepdims=keepdims)
    y = reduce(x, axis=axis, keepdims=keepdims)
    if allnan.any():
        _warn_empty(allnan, "All-NaN slice encountered")
        y = _core.where(allnan, np.nan, y)
    return y


def nanmax(a, axis=None, keepdims=False):
    """Maximum along ``axis`` ignoring NaN, as numpy.nanmax; an all-NaN slice gives NaN with a
    RuntimeWarning.  The gradient splits evenly among tied maxima (as ``ag.max``); NaN
    entries get zero.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanmax(ag.tensor([1.0, np.nan, 3.0]))
    tensor(3.)
    """
    return _nanextreme("nanmax", a, axis, keepdims, -np.inf, _core.max)


def nanmin(a, axis=None, keepdims=False):
    """Minimum along ``axis`` ignoring NaN, as numpy.nanmin (the counterpart of
    :func:`nanmax`: ties split the gradient as ``ag.min`` does).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nanmin(ag.tensor([[1.0, np.nan], [np.nan, -2.0]]), axis=0)
    tensor([ 1., -2.])
    """
    return _nanextreme("nanmin", a, axis, keepdims, np.inf, _core.min)


# ---- running products and log-sums ----

def cumprod(a, axis=None):
    """Running product along ``axis``, as numpy.cumprod (``axis=None``: over the flattened
    tensor).

    Computed as a parallel prefix product (Hillis & Steele: ``ceil(log2(n))`` rounds, each
    multiplying the tensor by itself shifted), from multiplications alone: the gradient is
    exact also where elements are 0 (``d y_i / d x_j`` is the product of the other ``x_k``,
    k <= i), and so are forward mode and higher derivatives.  The products are associated
    differently from numpy's left-to-right loop, so results may differ in the last bits.

    Examples
    --------
    >>> import autograd_c as ag
    >>> x = ag.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> y = ag.cumprod(x)
    >>> y
    tensor([2., 0., 0.], grad_fn=<concat>)
    >>> y.sum().backward(); x.grad
    tensor([1., 8., 0.])
    """
    return _cumprod("cumprod", _core._coerce_public(a, None), axis)


def _scan_axis(x, axis, name):
    """(x, axis) for a running product or sum: x flattened with axis 0 for None, else the axis
    checked (one integer, in range) with errors that name ``name``."""
    if axis is None:
        return _core._reshape(x, (-1,)), 0
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: axis must be an integer or None, got {axis!r}")
    return x, _axes(axis, x.ndim, name)[0]


def _cumprod(name, x, axis):
    x, axis = _scan_axis(x, axis, name)
    n = x.shape[axis]
    if n <= 1:
        return _core.Tensor.clone(x)
    head = (slice(None),) * axis
    shift = 1
    while shift < n:        # y_i <- y_i * y_(i - shift): y_i then spans 2 * shift factors
        x = _core.concatenate([x[head + (slice(0, shift),)],
                               x[head + (slice(shift, None),)] * x[head + (slice(0, n - shift),)]],
                              axis)
        shift *= 2
    return x


def nancumsum(a, axis=None):
    """Running sum along ``axis`` treating NaN as 0, as numpy.nancumsum; NaN entries get a
    zero gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nancumsum(ag.tensor([1.0, np.nan, 2.0]))
    tensor([1., 1., 3.])
    """
    return _core.cumsum(*_scan_axis(_masked(a, 0.0)[0], axis, "nancumsum"))


def nancumprod(a, axis=None):
    """Running product along ``axis`` treating NaN as 1, as numpy.nancumprod (see
    :func:`cumprod`); NaN entries get a zero gradient.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.nancumprod(ag.tensor([2.0, np.nan, 3.0]))
    tensor([2., 2., 6.])
    """
    return _cumprod("nancumprod", _masked(a, 1.0)[0], axis)


def _operands(name, x1, x2):
    """(x1, x2) as tensors as the binary ops take them (a Python scalar or an array takes the
    tensor operand's dtype), refusing different dtypes and shapes that do not broadcast with
    errors that name ``name`` (not the first op of the composite)."""
    if isinstance(x1, _core.Tensor):
        x2 = _core._coerce_public(x2, x1)
    elif isinstance(x2, _core.Tensor) or (isinstance(x1, (int, float))
                                          and not isinstance(x1, np.generic)):
        x2 = _core._coerce_public(x2, None)
        x1 = _core._coerce_public(x1, x2)
    else:
        x1 = _core._coerce_public(x1, None)
        x2 = _core._coerce_public(x2, x1)
    if x1.dtype != x2.dtype:
        raise TypeError(f"{name}: dtype mismatch, {x1.dtype} and {x2.dtype} (convert one with "
                        ".astype())")
    try:
        np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{name}: shapes {x1.shape} and {x2.shape} cannot be broadcast "
                         "together") from None
    return x1, x2


def _log_add(name, x1, x2, softplus_neg, at_tie):
    """max(x1, x2) + softplus_neg(|x1 - x2|), and max + at_tie where x1 == x2 (which covers
    equal infinities, where the difference is NaN).  The difference is replaced by 0 there
    before the softplus, so no NaN reaches a gradient; maximum's tie rule (half each) is the
    exact derivative at a tie."""
    x1, x2 = _operands(name, x1, x2)
    m = _core.maximum(x1, x2)
    d = _core.subtract(x1, x2)
    tie = np.asarray(_core.equal(x1, x2)) != 0
    if tie.any():
        d = _core.where(tie, 0.0, d)
    y = m + softplus_neg(_core.neg(_core.abs(d)))
    return _core.where(tie, m + at_tie, y) if tie.any() else y


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` without overflow, as numpy.logaddexp (broadcasting).

    The gradient is ``exp(x1 - y)`` to x1 and ``exp(x2 - y)`` to x2 (a half each at a tie).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.logaddexp(ag.tensor([0.0, 1000.0]), ag.tensor([0.0, 1000.0]))
    tensor([6.9315e-01, 1.0007e+03])
    """
    return _log_add("logaddexp", x1, x2, lambda t: _core.log1p(_core.exp(t)), np.log(2.0))


def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)`` without overflow, as numpy.logaddexp2 (broadcasting).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.logaddexp2(ag.tensor([3.0, 0.0]), ag.tensor([3.0, 1.0]))
    tensor([4.   , 1.585])
    """
    return _log_add("logaddexp2", x1, x2,
                    lambda t: _core.log1p(_core.exp2(t)) * (1 / np.log(2.0)), 1.0)
