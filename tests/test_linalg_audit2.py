"""Third audit of ag.linalg: regressions for the bugs it found (each failed before its fix).

Derivatives are checked against central finite differences in float64 (eps = 2.2e-16 ** (1/3)).
"""
import os
import sys

import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_jacobian  # noqa: E402
from _numpy_compat import NUMPY  # noqa: E402

rng = np.random.default_rng(20261204)


def T(a):
    return ag.tensor(a, dtype="float64")


def as_numpy(f):
    return lambda x: f(T(x)).numpy()


# --------------------------------------------------------------- solve: forward mode, batched tangents
A_BATCH = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
A_ONE = rng.standard_normal((3, 3)) + 3 * np.eye(3)
B_VEC = rng.standard_normal(3)
B_MAT = rng.standard_normal((3, 2))
B_BATCH = rng.standard_normal((2, 3, 2))

SOLVE_CASES = [
    # (name, f, x): the operand that does not vary is a constant of another batch shape
    ("batched A, vector b, d/db", lambda v: ag.linalg.solve(T(A_BATCH), v), B_VEC),
    ("batched A, matrix B, d/dB", lambda v: ag.linalg.solve(T(A_BATCH), v), B_MAT),
    ("one A, batched B, d/dA", lambda a: ag.linalg.solve(a, T(B_BATCH)), A_ONE),
    ("batched A, vector b, d/dA", lambda a: ag.linalg.solve(a, T(B_VEC)), A_BATCH),
]


@pytest.mark.parametrize("name,f,x", SOLVE_CASES, ids=[c[0] for c in SOLVE_CASES])
def test_solve_forward_jacobian_with_batch_on_one_operand(name, f, x):
    # the tangent's direction axis met the other operand's batch axis: ValueError
    J0 = fd_jacobian(as_numpy(f), x)
    for mode in ("forward", "reverse"):
        J = ag.functional.jacobian(f, x, mode=mode).numpy()
        np.testing.assert_allclose(J, J0, atol=1e-7, rtol=1e-6, err_msg=mode)


@pytest.mark.parametrize("name,f,x", SOLVE_CASES, ids=[c[0] for c in SOLVE_CASES])
def test_solve_hessian_with_batch_on_one_operand(name, f, x):
    # forward-over-reverse: the batched tangents flow through solve's backward (a solve too)
    w = T(rng.standard_normal(np.shape(as_numpy(f)(x))))
    s = lambda t: (f(t) ** 2 * w).sum()  # noqa: E731
    H0 = fd_jacobian(lambda xx: ag.grad(s)(T(xx)).numpy(), x)
    H = ag.hessian(s, x).numpy()
    np.testing.assert_allclose(H, H0, atol=1e-6, rtol=1e-5)


def test_solve_forward_jacobian_of_vector_rhs_closed_form():
    # x = A_i^-1 b for each matrix A_i of the batch: dx_i/db = A_i^-1
    J = ag.functional.jacobian(lambda v: ag.linalg.solve(T(A_BATCH), v), B_VEC, mode="forward").numpy()
    np.testing.assert_allclose(J, np.linalg.inv(A_BATCH), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------- norm of a 0-size tensor along an axis
@pytest.mark.parametrize("shape,axis,keepdims", [((0, 3), -1, False), ((0, 3), 0, False),
                                                 ((0, 3), 0, True), ((2, 0, 3), (1, 2), False)])
def test_norm_of_zero_size_tensor_along_an_axis(shape, axis, keepdims):
    # raised "cannot reshape array of size 1"
    x = np.zeros(shape)
    got = ag.linalg.norm(x, axis=axis, keepdims=keepdims)
    want = np.linalg.norm(x, axis=axis, keepdims=keepdims)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    t = ag.tensor(x, requires_grad=True)
    ag.linalg.norm(t, axis=axis, keepdims=keepdims).sum().backward()
    assert t.grad.shape == shape


# --------------------------------------------------------------- trace of a vector / scalar
@pytest.mark.parametrize("x", [np.ones(3), np.float64(2.0)])
def test_trace_of_less_than_2d_input_names_the_shape(x):
    # was IndexError: tuple index out of range
    with pytest.raises(ValueError, match=r"trace: .*2-D.*shape \((3,)?\)"):
        ag.linalg.trace(x)


# --------------------------------------------------------------- det / slogdet forward mode at a singular matrix
def test_det_forward_mode_at_singular_matrix_says_which_derivative():
    # the message was the inverse's own ("inv: matrix is singular"), for a call that has no inv
    # (det itself is differentiable there now: tests/test_leftovers.py)
    S = np.array([[1.0, 2.0], [2.0, 4.0]])
    for fn in (lambda: ag.jvp(lambda a: ag.linalg.slogdet(a)[1], (S,), (np.eye(2),)),
               lambda: ag.functional.jacobian(lambda a: ag.linalg.slogdet(a)[1], S, mode="forward")):
        with pytest.raises(ag.LinAlgError, match="slogdet: no derivative at a singular matrix"):
            fn()


# --------------------------------------------------------------- float32 overflow as float64's
def test_float32_inverse_or_solution_that_overflows_raises_like_float64():
    # float64 raised LinAlgError; float32 returned inf, rounding a finite double result
    with pytest.raises(ag.LinAlgError, match="overflows float64"):
        ag.linalg.inv(np.eye(2) * 1e-310)
    with pytest.raises(ag.LinAlgError, match="overflows float32"):
        ag.linalg.inv(ag.tensor(np.eye(2) * 1e-39, dtype="float32"))
    with pytest.raises(ag.LinAlgError, match="overflows float32"):
        ag.linalg.solve(ag.tensor(np.eye(2) * 1e-30, dtype="float32"),
                        ag.tensor(np.full(2, 1e30), dtype="float32"))
    # in range: unchanged
    np.testing.assert_allclose(ag.linalg.inv(ag.tensor(np.eye(2) * 1e-37, dtype="float32")).numpy(),
                               np.eye(2, dtype=np.float32) * np.float32(1e37), rtol=1e-6)
    # NaN / inf input still gives NaN / inf, not an error
    assert np.isnan(ag.linalg.inv(ag.tensor([[np.nan, 0.0], [0.0, 1.0]], dtype="float32")).numpy()).all()
    x = ag.linalg.solve(ag.tensor(np.eye(2), dtype="float32"), ag.tensor([np.inf, 1.0], dtype="float32"))
    assert x.numpy()[0] == np.inf


# --------------------------------------------------------------- einsum
def test_einsum_broadcasts_size_one_axes_like_numpy():
    # raised "index 'j' has sizes 1 and 3"
    a, b = rng.standard_normal((2, 1)), rng.standard_normal((3, 4))
    c, d = rng.standard_normal((1, 2, 2)), rng.standard_normal((3, 2, 2))
    for spec, x, y in [("ij,jk->ik", a, b), ("bij,bjk->bik", c, d), ("ij,ij->", b, np.ones((1, 1))),
                       ("ij,kj->ik", b, np.ones((5, 1)))]:
        np.testing.assert_allclose(ag.einsum(spec, x, y).numpy(), np.einsum(spec, x, y), rtol=1e-12,
                                   err_msg=spec)
    # the gradient of the broadcast operand sums over the axis it was broadcast along
    assert ag.gradcheck(lambda t: (ag.einsum("ij,jk->ik", t, T(b)) ** 2).sum(), (a,), atol=1e-6, rtol=1e-5)
    assert ag.gradcheck(lambda t: (ag.einsum("bij,bjk->bik", t, T(d)) ** 2).sum(), (c,), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="index 'j' has sizes 3 and 4"):
        ag.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5)))


def test_einsum_rejects_two_arrows_with_a_clear_message():
    # was "too many values to unpack (expected 2)"
    with pytest.raises(ValueError, match="more than one '->'"):
        ag.einsum("i->i->i", np.ones(2))


# --------------------------------------------------------------- solve dtype mismatch names the operands
def test_solve_dtype_mismatch_names_a_and_b():
    with pytest.raises(TypeError, match="A is float32 but B is float64"):
        ag.linalg.solve(ag.tensor(np.eye(2), dtype="float32"), ag.tensor(np.ones(2), dtype="float64"))


# --------------------------------------------------------------- norm: ord=2 over one axis
@pytest.mark.parametrize("axis", [np.int64(1), (1,), (-1,), 0])
def test_norm_ord2_over_one_axis_of_a_matrix(axis):
    # a numpy integer or a 1-tuple axis raised "ord=2 is supported for vectors only"
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(ag.linalg.norm(x, ord=2, axis=axis).numpy(),
                               np.linalg.norm(x, ord=2, axis=axis), rtol=1e-14)
    with pytest.raises(ValueError, match="vectors only"):
        ag.linalg.norm(x, ord=2)
    with pytest.raises(ValueError, match="vectors only"):
        ag.linalg.norm(x, ord=2, axis=(0, 1))


def test_solve_vector_length_mismatch_names_the_vector_shape():
    # the message showed the reshaped (4, 1), a shape the caller never passed
    with pytest.raises(ValueError, match=r"A of shape \(2, 3, 3\) and b of shape \(4,\) do not match"):
        ag.linalg.solve(np.stack([np.eye(3)] * 2), np.ones(4))
    assert ag.linalg.solve(np.zeros((0, 0)), np.zeros(0)).shape == (0,)
    assert ag.linalg.solve(np.zeros((2, 0, 0)), np.zeros(0)).shape == (2, 0)


# --------------------------------------------------------------- solve: each matrix of A factored once
@pytest.mark.parametrize("ashape,bshape", [((2, 1, 3, 3), (1, 4, 3, 2)), ((3, 1, 2, 3, 3), (4, 1, 3, 2)),
                                           ((3, 3), (5, 3, 2)), ((2, 3, 3), (3, 1)), ((1, 3, 3), (2, 2, 3, 1))])
def test_solve_broadcast_batches_match_numpy(ashape, bshape):
    # solve no longer expands A to the broadcast batch: A's matrix index follows its own strides
    A = rng.standard_normal(ashape) + 3 * np.eye(3)
    B = rng.standard_normal(bshape)
    # numpy < 2 reads a B of A's ndim - 1 dimensions as a batch of vectors; numpy 2 (and
    # autograd_c) only a 1-d b, so there the reference is matmul's broadcast of inv(A)
    want = np.linalg.solve(A, B) if NUMPY >= "2.0.0" else np.linalg.inv(A) @ B
    np.testing.assert_allclose(ag.linalg.solve(A, B).numpy(), want, rtol=1e-12, atol=1e-13)


def test_solve_nan_in_one_matrix_of_a_broadcast_batch():
    A = np.stack([2 * np.eye(2), np.full((2, 2), np.nan)])
    x = ag.linalg.solve(A, np.ones((3, 1, 2, 1))).numpy()
    assert x.shape == (3, 2, 2, 1)
    np.testing.assert_array_equal(x[:, 0], 0.5)
    assert np.isnan(x[:, 1]).all()
    with pytest.raises(ag.LinAlgError, match="singular"):
        ag.linalg.solve(np.stack([np.eye(2), np.zeros((2, 2))]), np.ones((3, 1, 2, 1)))


def test_forward_jacobian_of_solve_in_b_is_the_inverse():
    # one LU for all n tangent directions (A was expanded to n copies: O(n^4) work, n^3 memory)
    n = 60
    A = rng.standard_normal((n, n)) + n * np.eye(n)
    J = ag.functional.jacobian(lambda v: ag.linalg.solve(T(A), v), rng.standard_normal(n), mode="forward")
    np.testing.assert_allclose(J.numpy(), np.linalg.inv(A), rtol=1e-10, atol=1e-15)


# --------------------------------------------------------------- forward Jacobian of a 0-size input
@pytest.mark.parametrize("f", [ag.linalg.inv, ag.linalg.det, ag.linalg.cholesky, lambda a: ag.linalg.slogdet(a)[1]])
@pytest.mark.parametrize("shape", [(0, 3, 3), (2, 0, 0)])
def test_forward_jacobian_of_a_zero_size_batch(f, shape):
    # raised "cannot reshape array of size 0 into shape (0,newaxis)" (functional.py)
    x = np.zeros(shape)
    out_shape = tuple(f(x).shape)
    for mode in ("forward", "reverse"):
        J = ag.functional.jacobian(f, x, mode=mode)
        assert J.shape == out_shape + shape


def test_solve_batch_of_vectors_error_explains_numpy2_rule():
    A = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"do not match \(B is read as a matrix.*b\[\.\.\., None\]"):
        ag.linalg.solve(A, b)
    if NUMPY >= "2.0.0":
        with pytest.raises(ValueError):
            np.linalg.solve(A, b)       # numpy 2 refuses it too
    x = ag.linalg.solve(A, T(b)[..., None])[..., 0]
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(A, b[..., None])[..., 0], rtol=1e-12)
    # the singular-derivative message of slogdet covers an overflowing inverse too
    with pytest.raises(ag.LinAlgError, match="singular matrix .*or overflows"):
        ag.grad(lambda a: ag.linalg.slogdet(a)[1])(np.array([[1.0, 2.0], [2.0, 4.0]]))


def test_errors_name_the_failing_matrix_of_a_batch():
    bad = np.stack([np.eye(2), np.eye(2), np.zeros((2, 2))])
    with pytest.raises(ag.LinAlgError, match="inv: matrix 2 of the batch is singular"):
        ag.linalg.inv(bad)
    with pytest.raises(ag.LinAlgError, match="solve: matrix A 2 of the batch is singular"):
        ag.linalg.solve(bad, np.ones(2))
    with pytest.raises(ag.LinAlgError, match=r"cholesky: matrix 1 of the batch is not positive definite \(leading minor 2\)"):
        ag.linalg.cholesky(np.stack([np.eye(2), np.ones((2, 2))]))
    with pytest.raises(ag.LinAlgError, match=r"cholesky: matrix is not positive definite \(leading minor 1\)"):
        ag.linalg.cholesky(-np.eye(2))
