"""ag.linalg and the matrix helpers against numpy and finite differences."""
import numpy as np
import pytest

import autograd_c as ag

rng = np.random.default_rng(7)


def spd(n):
    m = rng.standard_normal((n, n))
    return m @ m.T + n * np.eye(n)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_values_match_numpy(dtype, tol):
    A = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    B = rng.standard_normal((2, 4, 3))
    At, Bt = ag.tensor(A, dtype=dtype), ag.tensor(B, dtype=dtype)
    np.testing.assert_allclose(ag.linalg.inv(At).numpy(), np.linalg.inv(A), rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(ag.linalg.solve(At, Bt).numpy(), np.linalg.solve(A, B), rtol=tol * 10, atol=tol)
    s, l = ag.linalg.slogdet(At)
    s0, l0 = np.linalg.slogdet(A)
    np.testing.assert_array_equal(s.numpy(), s0)
    np.testing.assert_allclose(l.numpy(), l0, rtol=tol * 10)
    np.testing.assert_allclose(ag.linalg.det(At).numpy(), np.linalg.det(A), rtol=tol * 100)
    S = spd(4)
    np.testing.assert_allclose(ag.linalg.cholesky(ag.tensor(S, dtype=dtype)).numpy(), np.linalg.cholesky(S),
                               rtol=tol * 10, atol=tol)
    v = rng.standard_normal(5)
    np.testing.assert_allclose(ag.linalg.norm(ag.tensor(v, dtype=dtype)).item(), np.linalg.norm(v), rtol=tol * 10)
    np.testing.assert_allclose(ag.linalg.norm(At[0]).item(), np.linalg.norm(A[0]), rtol=tol * 10)


def test_solve_vector_rhs_and_broadcast():
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal(3)
    np.testing.assert_allclose(ag.linalg.solve(A, b).numpy(), np.linalg.solve(A, b), rtol=1e-12)
    B = rng.standard_normal((5, 3, 2))
    np.testing.assert_allclose(ag.linalg.solve(A, B).numpy(), np.linalg.solve(A, B), rtol=1e-12)


def test_singular_matrices_raise_linalg_error():
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ag.LinAlgError, match="singular"):
        ag.linalg.inv(S)
    with pytest.raises(ag.LinAlgError, match="singular"):
        ag.linalg.solve(S, np.ones(2))
    with pytest.raises(ag.LinAlgError, match="positive definite"):
        ag.linalg.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
    s, l = ag.linalg.slogdet(S)
    assert s.item() == 0.0 and l.item() == -np.inf
    assert issubclass(ag.LinAlgError, ValueError)


def test_shape_errors():
    with pytest.raises(ValueError, match="square"):
        ag.linalg.inv(np.ones(3))
    with pytest.raises(ValueError, match="do not match"):
        ag.linalg.solve(np.eye(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="ord"):
        ag.linalg.norm(np.ones(3), ord=1)


WEIGHTS = rng.standard_normal((3, 3))


@pytest.mark.parametrize("name,f,x", [
    ("inv", lambda X: (ag.linalg.inv(X) * ag.tensor(WEIGHTS, dtype="float64")).sum(),
     rng.standard_normal((3, 3)) + 3 * np.eye(3)),
    ("det", lambda X: ag.linalg.det(X), rng.standard_normal((3, 3)) + 3 * np.eye(3)),
    ("cholesky", lambda X: (ag.linalg.cholesky(X @ X.T + ag.tensor(np.eye(3), dtype="float64")) ** 2).sum(),
     rng.standard_normal((3, 3))),
    ("batched_solve", lambda X: ag.linalg.solve(X, ag.tensor(np.ones((2, 3, 1)), dtype="float64")).sum(),
     rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)),
    ("trace_diag_outer", lambda X: ag.trace(X) * ag.diag(X).sum() + ag.outer(X[0], X[1]).sum(), rng.standard_normal((3, 3))),
    ("einsum_bij_bjk", lambda X: ag.einsum("bij,bjk->bik", X, X).sum(), rng.standard_normal((2, 3, 3))),
    ("einsum_ii_i", lambda X: (ag.einsum("ii->i", X) ** 2).sum() + ag.einsum("ij->ji", X)[0, 1], rng.standard_normal((3, 3))),
])
def test_gradients_against_finite_differences(name, f, x):
    assert ag.gradcheck(f, (x,), atol=1e-6, rtol=1e-5)


def test_einsum_against_numpy():
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    v, w = rng.standard_normal(4), rng.standard_normal(4)
    bb = rng.standard_normal((2, 3, 4))
    cases = [("ij,jk->ik", a, b), ("i,i->", v, w), ("ij->ji", a), ("ii->", a[:, :3]), ("bij,bjk->bik", bb, bb.transpose(0, 2, 1)),
             ("ij,jk", a, b), ("ij->", a), ("i,j->ij", v, w)]
    for spec, *ops in cases:
        np.testing.assert_allclose(ag.einsum(spec, *ops).numpy(), np.einsum(spec, *ops), rtol=1e-12, atol=1e-12,
                                   err_msg=spec)
    assert ag.diag(np.arange(3.0), k=1).shape == (4, 4)
    np.testing.assert_array_equal(ag.diag(np.arange(9.0).reshape(3, 3)).numpy(), [0.0, 4.0, 8.0])
