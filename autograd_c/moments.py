"""Ranges, weighted means and second moments under numpy's names: ptp, amax, amin, average,
cov and corrcoef, composed from autograd_c's reductions and products (so every mode of
differentiation comes from those), with numpy's argument rules and results.
"""
import warnings

import numpy as np

from . import _core
from .creation import full_like
from .manipulation import _axes, diagonal

__all__ = ["ptp", "amax", "amin", "argmax", "argmin", "average", "cov", "corrcoef"]

amax = _core.max
amin = _core.min


def argmax(a, axis=None, keepdims=False):
    """Indices of the maxima along ``axis`` (flattened when None), as numpy.argmax: an int64
    numpy array (or int), outside the graph; the first occurrence wins a tie, and NaN counts as
    the maximum.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.argmax(ag.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]]), axis=1).tolist()
    [1, 0]
    """
    return np.argmax(np.asarray(_core._coerce_public(a, None)), axis=axis, keepdims=keepdims)


def argmin(a, axis=None, keepdims=False):
    """Indices of the minima along ``axis`` (flattened when None), as numpy.argmin: an int64
    numpy array (or int), outside the graph; the first occurrence wins a tie.

    Examples
    --------
    >>> import autograd_c as ag
    >>> int(ag.argmin(ag.tensor([3.0, 1.0, 1.0])))
    1
    """
    return np.argmin(np.asarray(_core._coerce_public(a, None)), axis=axis, keepdims=keepdims)


def ptp(a, axis=None, keepdims=False):
    """Range (maximum minus minimum) along ``axis``, as numpy.ptp.  The gradient splits evenly
    among tied maxima (+) and tied minima (-), as ``ag.max`` and ``ag.min`` do.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.ptp(ag.tensor([[4.0, 9.0, 2.0], [1.0, 1.0, 3.0]]), axis=1)
    tensor([7., 2.])
    """
    a = _core._coerce_public(a, None)
    return _core.subtract(_core.max(a, axis=axis, keepdims=keepdims),
                          _core.min(a, axis=axis, keepdims=keepdims))


def _weights_like(a, weights, axis):
    """weights as a tensor broadcastable against a: numpy's rule that weights of another shape
    than a's are the weights along ``axis`` (their axes in the order of ``axis``)."""
    w = _core._coerce_public(weights, a)
    if w.shape == a.shape:
        return w
    if axis is None:
        raise TypeError(f"average: weights of shape {w.shape} differ from a's shape {a.shape}; "
                        f"give the axis they run along (axis=None needs a's shape)")
    axes = _axes(axis, a.ndim, "average")
    if w.shape != tuple(a.shape[d] for d in axes):
        raise ValueError(f"average: weights of shape {w.shape} do not match a's shape {a.shape} "
                         f"along axis {axis!r} (expected {tuple(a.shape[d] for d in axes)})")
    order = [int(i) for i in np.argsort(axes)]
    if order != list(range(len(order))):
        w = _core.transpose(w, order)
    return _core._reshape(w, tuple(s if d in axes else 1 for d, s in enumerate(a.shape)))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean along ``axis``, as numpy.average: ``sum(a * w) / sum(w)``.

    Differentiable in ``a`` and, when it is a tensor that requires grad, in ``weights``.

    Parameters
    ----------
    a : Tensor or array_like
    axis : int, tuple of ints or None, default None
    weights : Tensor or array_like, optional
        a's shape, or the shape of a's axes ``axis`` (in that order); None: equal weights.
    returned : bool, default False
        Also return the sum of the weights (broadcast to the average's shape).
    keepdims : bool, default False

    Returns
    -------
    Tensor, or (Tensor, Tensor) when ``returned``

    Raises
    ------
    ZeroDivisionError
        Where the weights along ``axis`` sum to zero (numpy's error).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.average(ag.tensor([1.0, 2.0, 4.0]), weights=[3.0, 1.0, 0.0])
    tensor(1.25)
    >>> ag.average(ag.tensor([[1.0, 2.0], [3.0, 5.0]]), axis=1, returned=True)
    (tensor([1.5, 4. ]), tensor([2., 2.]))
    """
    a = _core._coerce_public(a, None)
    if weights is None:
        avg = _core.mean(a, axis=axis, keepdims=keepdims)
        scl = full_like(avg, a.size / max(avg.size, 1)) if returned else None
    else:
        w = _weights_like(a, weights, axis)
        scl = _core.sum(_core.broadcast_to(w, a.shape) if w.shape != a.shape else w,
                        axis=axis, keepdims=keepdims)
        if np.any(np.asarray(scl) == 0):
            raise ZeroDivisionError("average: the weights sum to zero along the axis, so they "
                                    "cannot be normalised")
        avg = _core.sum(a * w, axis=axis, keepdims=keepdims) / scl
    if not returned:
        return avg
    if scl.shape != avg.shape:
        scl = _core.Tensor.clone(_core.broadcast_to(scl, avg.shape))
    return avg, scl


def _observations(v, rowvar, like, arg):
    """v as a 2-d (variables, observations) tensor, as numpy.cov reads its m and y: a 1-d m
    is one variable, and so is a y of one row (neither is transposed for rowvar=False)."""
    v = _core._coerce_public(v, like)
    if v.ndim > 2:
        raise ValueError(f"cov: {arg} must be 1-d or 2-d (variables and observations), got "
                         f"shape {v.shape}")
    x = _core._reshape(v, (1, -1)) if v.ndim < 2 else v
    single = v.ndim < 2 if arg == "m" else x.shape[0] == 1
    return x if rowvar or single else _core.transpose(x)


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """Covariance matrix of the variables in m (and y), as numpy.cov.

    Each row of ``m`` is a variable and each column an observation (the other way round when
    ``rowvar`` is False); ``y`` adds variables.  The normalisation is ``N - ddof`` with ``ddof``
    1 by default, 0 when ``bias``.  The result keeps m's dtype (numpy's is float64 at least) and
    drops axes of length 1 (a 0-d tensor for one variable).

    Parameters
    ----------
    m, y : Tensor or array_like
        1-d or 2-d.
    rowvar, bias, ddof
        As numpy's.
    fweights, aweights : None
        numpy's observation weights are not supported (NotImplementedError).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.cov(ag.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    tensor([[ 1., -1.],
            [-1.,  1.]])
    """
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights= and aweights= are not supported")
    if ddof is not None and ddof != int(ddof):
        raise ValueError(f"cov: ddof must be an integer, got {ddof!r}")
    x = _observations(m, rowvar, None, "m")
    if x.shape[0] == 0:
        return _core.Tensor.clone(_core._reshape(x, (0, 0)))
    if y is not None:
        x = _core.concatenate([x, _observations(y, rowvar, x, "y")], 0)
    ddof = (0 if bias else 1) if ddof is None else int(ddof)
    fact = x.shape[1] - ddof
    if fact <= 0:
        warnings.warn("cov: degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    xc = x - _core.mean(x, axis=1, keepdims=True)
    c = _core.matmul(xc, _core.transpose(xc)) * (np.inf if fact == 0 else 1.0 / fact)
    return _core.squeeze(c) if 1 in c.shape else c


def corrcoef(x, y=None, rowvar=True):
    """Pearson correlation coefficients, as numpy.corrcoef: ``cov[i, j] / sqrt(cov[i, i]
    cov[j, j])``, clipped to [-1, 1] (clipped entries get a zero gradient).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.corrcoef(ag.tensor([[1.0, 2.0, 4.0], [2.0, 4.0, 8.0]]))
    tensor([[1., 1.],
            [1., 1.]])
    """
    c = cov(x, y, rowvar)
    if c.ndim == 0:
        return c / c
    s = _core.sqrt(diagonal(c))
    return _core.clip(c / s[:, None] / s[None, :], -1.0, 1.0)
