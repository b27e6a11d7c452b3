"""Matrix calculus: gradients of traces by AD next to their closed forms.

With <G, H> = tr(G^T H), the gradient of f: R^{n x n} -> R is the G with df = tr(G^T dX).

    f(X) = tr(A X^T B):   df = tr(A dX^T B) = tr(dX^T B A)            =>  grad = B A
    f(X) = tr(A X^-1 B):  d(X^-1) = -X^-1 dX X^-1, so
                          df = -tr(A X^-1 dX X^-1 B) = -tr(X^-1 B A X^-1 dX)
                                                             =>  grad = -X^-T A^T B^T X^-T

Both gradients are computed by reverse mode (ag.grad), checked against the closed forms and
against central finite differences (eps = eps_m^(1/3)); a figure is not needed, the numbers are
printed.

Run: python examples/matrix_calculus.py [--small]
"""
import numpy as np

from _util import parse_args
import autograd_c as ag


def main():
    args = parse_args(__doc__.splitlines()[0], figure=False)
    n = 4 if args.small else 6
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(n, n)), rng.normal(size=(n, n))
    X = rng.normal(size=(n, n)) + n * np.eye(n)   # well conditioned, invertible

    def f1(X_):
        return ag.trace(ag.matmul(ag.matmul(A, ag.transpose(X_)), B))

    def f2(X_):
        return ag.trace(ag.matmul(ag.matmul(A, ag.linalg.inv(X_)), B))

    Xi = np.linalg.inv(X)
    cases = [("tr(A X^T B)", f1, B @ A, "B A"),
             ("tr(A X^-1 B)", f2, -Xi.T @ A.T @ B.T @ Xi.T, "-X^-T A^T B^T X^-T")]
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    for name, f, closed, formula in cases:
        g = ag.grad(f)(X).numpy()
        fd = ag.numerical_grad(f, X)
        print(f"grad of {name} by AD (n = {n}):")
        print(g)
        print(f"closed form {formula}:")
        print(closed)
        print(f"{name}: max |AD - closed form| = {np.max(np.abs(g - closed)):.2e}, "
              f"max |AD - central differences| = {np.max(np.abs(g - fd)):.2e}")
        print()


if __name__ == "__main__":
    main()
