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
