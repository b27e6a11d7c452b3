"""Finite-difference gradients and gradient checking."""
import warnings

import numpy as np

from . import _core
from .autograd import enable_grad, no_grad

__all__ = ["numerical_grad", "gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with finite differences."""


def _as_float64(x):
    if isinstance(x, _core.Tensor):
        return np.array(x.numpy(), dtype=np.float64, order="C")
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"numerical_grad: inputs must be numeric, got dtype {a.dtype}")
    # C order: the perturbation loop writes through x.reshape(-1), which must be a view
    return np.array(a, dtype=np.float64, order="C")


def _scalar_value(out):
    if isinstance(out, _core.Tensor):
        if out.size != 1:
            raise ValueError(f"numerical_grad: f must return a scalar, got shape {out.shape}")
        return out.item()
    a = np.asarray(out)
    if a.dtype.kind not in "biuf":
        # None became NaN: every derivative silently NaN
        raise TypeError(f"numerical_grad: f must return a scalar, got {type(out).__name__}")
    a = a.astype(np.float64)
    if a.size != 1:
        raise ValueError(f"numerical_grad: f must return a scalar, got shape {a.shape}")
    return float(a.reshape(()))


def _step(eps, who):
    if eps is None:
        eps = np.finfo(np.float64).eps ** (1.0 / 3.0)
    eps = float(eps)
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"{who}: eps must be a finite positive number, got {eps}")
    return eps


def _differences(f, xs, eps, value, vshape=()):
    """Central differences of value(f(*xs)) (a float, or a float64 array of shape vshape) with
    respect to each float64 array of xs: one array of shape vshape + x.shape per input."""
    grads = []
    with no_grad():
        for x in xs:
            flat = x.reshape(-1)
            jac = np.zeros((flat.size,) + tuple(vshape))
            for i in range(flat.size):
                old = flat[i]
                h = eps * max(1.0, abs(old))
                flat[i] = old + h
                fp = value(f(*[_core.tensor(v, dtype="float64") for v in xs]))
                flat[i] = old - h
                fm = value(f(*[_core.tensor(v, dtype="float64") for v in xs]))
                flat[i] = old
                jac[i] = (fp - fm) / (2 * h)
            grads.append(np.moveaxis(jac, 0, -1).reshape(tuple(vshape) + x.shape))
    return grads


def numerical_grad(f, *inputs, eps=None):
    """Central-difference gradient of a scalar function, in float64.

    Each input is perturbed by ``h_i = eps * max(1, |x_i|)`` with ``eps`` defaulting to
    ``machine_eps ** (1/3)`` (about 6e-6), the step that balances truncation and rounding error
    for central differences.

    Parameters
    ----------
    f : callable
        Called with float64 tensors (one per input); returns a scalar.
    *inputs : array_like or Tensor
    eps : float, optional

    Returns
    -------
    list of numpy.ndarray, one per input (a single array when there is one input)

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> g = ag.numerical_grad(lambda x: (x * x).sum(), np.array([1.0, 2.0]))
    >>> np.allclose(g, [2.0, 4.0])
    True
    """
    eps = _step(eps, "numerical_grad")
    grads = _differences(f, [_as_float64(x) for x in inputs], eps, _scalar_value)
    return grads[0] if len(grads) == 1 else grads


def _array_value(shape):
    """value() for _differences: f's output as a float64 array of the given shape."""
    def value(out):
        a = np.asarray(out.numpy() if isinstance(out, _core.Tensor) else out)
        if a.dtype.kind not in "biuf" or a.shape != tuple(shape):
            raise ValueError(f"gradcheck: f returned {type(out).__name__} of shape {a.shape} at a "
                             f"perturbed point, {tuple(shape)} at the point given")
        return a.astype(np.float64)
    return value


def _analytic(out, xs):
    """d out / d x for each x of xs by reverse mode, one backward per element of out (the
    plain sweep, as a user's backward runs it): an array of shape out.shape + x.shape per x, or
    None for an x that out does not reach in the graph."""
    if not out.requires_grad:
        return [None] * len(xs)
    if out.size == 1:
        gs = _core._grad([out], None, xs, False, False, True)
        return [None if g is None else np.asarray(g, dtype=np.float64).reshape(out.shape + x.shape)
                for g, x in zip(gs, xs)]
    jacs = [np.zeros((out.size,) + tuple(x.shape)) for x in xs]
    used = [False] * len(xs)
    seed = np.zeros(out.size, dtype=out.dtype)
    for i in range(out.size):
        seed[i] = 1
        ct = _core.tensor(seed.reshape(out.shape), dtype=out.dtype)
        seed[i] = 0
        for k, g in enumerate(_core._grad([out], [ct], xs, i + 1 < out.size, False, True)):
            if g is not None:
                jacs[k][i] = np.asarray(g, dtype=np.float64)
                used[k] = True
    return [j.reshape(out.shape + x.shape) if u else None for j, u, x in zip(jacs, used, xs)]


def gradcheck(f, inputs, atol=1e-5, rtol=1e-3, eps=None, raise_exception=True):
    """Compare reverse-mode derivatives of ``f`` with central differences in float64.

    ``f`` returns a tensor of any shape; for a non-scalar one every element's gradient (the
    whole Jacobian) is checked, as in ``torch.autograd.gradcheck``.  Inputs are checked on float64
    copies (a float32 input gets a warning: its float32 code paths are not exercised).

    Returns True, or raises :class:`GradcheckError` naming the output element (for a non-scalar
    output), the input, the element index and both values at the first mismatch
    (``raise_exception=False``: returns False instead).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.gradcheck(lambda x: ag.tanh(x).sum(), (np.array([0.1, -0.4]),))
    True
    >>> ag.gradcheck(lambda x: ag.tanh(x) * x, (np.array([0.1, -0.4]),))
    True
    """
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    for k, x in enumerate(inputs):
        if (x.dtype if isinstance(x, _core.Tensor) else np.asarray(x).dtype) == np.float32:
            warnings.warn(f"gradcheck: input {k} is float32; it is checked on a float64 copy "
                          "(finite differences in float32 are too coarse for the tolerances), so "
                          "float32 code paths are not exercised", UserWarning, stacklevel=2)
    points = [_as_float64(x) for x in inputs]
    xs = [_core.tensor(a, dtype="float64", requires_grad=True) for a in points]  # copies
    with enable_grad():     # the check does not depend on the caller's grad mode
        out = f(*xs)
        if not isinstance(out, _core.Tensor):
            raise TypeError(f"gradcheck: f must return a tensor, got {type(out).__name__}")
        # an output that does not depend on the inputs in the graph (f detached them, or went
        # through numpy) has a zero analytic gradient: compared, not an error of the sweep
        grads = _analytic(out, xs)
    shape = tuple(out.shape)
    # at the points given, not at xs: f may have modified its arguments in place
    num = _differences(f, points, _step(eps, "gradcheck"), _array_value(shape), shape)
    for k, (x, g, n) in enumerate(zip(xs, grads, num)):
        a = np.zeros(n.shape) if g is None else g
        bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
        if bad.any():
            if not raise_exception:
                return False
            pos = tuple(int(i) for i in np.argwhere(bad)[0])
            at, idx = pos[:len(shape)], pos[len(shape):]
            where = f"output {at}, " if out.size != 1 else ""
            hint = ""
            if out.dtype == np.float32:
                hint = ("; f returns float32: finite differences of a float32 computation are "
                        "too coarse for these tolerances, compute in float64")
            elif g is None:
                hint = "; the output does not depend on this input in the graph"
            raise GradcheckError(
                f"gradcheck: {where}input {k}, index {idx}: analytic gradient {float(a[pos])!r} != "
                f"numerical {float(n[pos])!r} (atol={atol}, rtol={rtol}){hint}")
    return True
