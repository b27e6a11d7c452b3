"""Finite-difference gradients and gradient checking."""
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
    if eps is None:
        eps = np.finfo(np.float64).eps ** (1.0 / 3.0)
    eps = float(eps)
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"numerical_grad: eps must be a finite positive number, got {eps}")
    xs = [_as_float64(x) for x in inputs]
    grads = []
    with no_grad():
        for k, x in enumerate(xs):
            g = np.zeros_like(x)
            flat = x.reshape(-1)
            gflat = g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                h = eps * max(1.0, abs(old))
                flat[i] = old + h
                fp = _scalar_value(f(*[_core.tensor(v, dtype="float64") for v in xs]))
                flat[i] = old - h
                fm = _scalar_value(f(*[_core.tensor(v, dtype="float64") for v in xs]))
                flat[i] = old
                gflat[i] = (fp - fm) / (2 * h)
            grads.append(g)
    return grads[0] if len(grads) == 1 else grads


def gradcheck(f, inputs, atol=1e-5, rtol=1e-3, eps=None):
    """Compare reverse-mode gradients of scalar ``f`` with central differences in float64.

    Returns True, or raises :class:`GradcheckError` naming the input, the element index and
    both values at the first mismatch.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.gradcheck(lambda x: ag.tanh(x).sum(), (np.array([0.1, -0.4]),))
    True
    """
    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    points = [_as_float64(x) for x in inputs]
    xs = [_core.tensor(a, dtype="float64", requires_grad=True) for a in points]  # copies
    with enable_grad():     # the check does not depend on the caller's grad mode
        out = f(*xs)
        if not isinstance(out, _core.Tensor):
            raise ValueError(f"gradcheck: f must return a scalar tensor, got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(f"gradcheck: f must return a scalar tensor, got shape {out.shape}")
        # an output that does not depend on the inputs in the graph (f detached them, or went
        # through numpy) has a zero analytic gradient: compared, not an error of the sweep
        grads = (_core._grad([out], None, xs, False, False, True) if out.requires_grad
                 else [None] * len(xs))
    # at the points given, not at xs: f may have modified its arguments in place
    num = numerical_grad(f, *points, eps=eps)
    if len(xs) == 1:
        num = [num]
    for k, (x, g, n) in enumerate(zip(xs, grads, num)):
        a = np.zeros(x.shape) if g is None else np.asarray(g, dtype=np.float64)
        bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            hint = ""
            if out.dtype == np.float32:
                hint = ("; f returns float32: finite differences of a float32 computation are "
                        "too coarse for these tolerances, compute in float64")
            elif g is None:
                hint = "; the output does not depend on this input in the graph"
            raise GradcheckError(
                f"gradcheck: input {k}, index {idx}: analytic gradient {float(a[idx])!r} != "
                f"numerical {float(n[idx])!r} (atol={atol}, rtol={rtol}){hint}")
    return True
