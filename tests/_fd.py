"""Finite-difference references shared by the tests."""
import numpy as np


def fd_hessian(f, a):
    """Hessian of the scalar numpy function f at a (1-D float64), by central differences of
    central differences with step machine_eps^(1/3)."""
    n = a.size
    eps = np.finfo(float).eps ** (1 / 3)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * eps, np.eye(n)[j] * eps
            h[i, j] = (f(a + ei + ej) - f(a + ei - ej) - f(a - ei + ej) + f(a - ei - ej)) / (4 * eps * eps)
    return h


def fd_grad(f, a):
    """Gradient of the scalar numpy function f at the float64 array a, by central differences
    with step machine_eps^(1/3) (scaled by max(1, |a_i|))."""
    x = np.array(a, dtype=np.float64)
    g = np.zeros_like(x)
    xf, gf = x.reshape(-1), g.reshape(-1)
    eps = np.finfo(float).eps ** (1 / 3)
    for i in range(xf.size):
        h = eps * max(1.0, abs(xf[i]))
        old = xf[i]
        xf[i] = old + h
        fp = f(x.copy())
        xf[i] = old - h
        fm = f(x.copy())
        xf[i] = old
        gf[i] = (fp - fm) / (2 * h)
    return g


def fd_jacobian(f, x):
    """Jacobian of the numpy function f at the float64 array x by central differences with step
    machine_eps^(1/3): shape f(x).shape + x.shape."""
    x = np.array(x, dtype=np.float64)
    eps = np.finfo(float).eps ** (1 / 3)
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        J[(Ellipsis,) + idx] = (np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)
    return J
