"""flip, roll, moveaxis, tile, repeat, tril, triu, diagonal, take_along_axis, sort: exact
gradients, the cases numpy's rules decide, and errors.  (Values against numpy, finite-difference
gradients, float32 and strided layouts: the table in test_ops.py.)"""
import numpy as np
import pytest

import autograd_c as ag


def test_gathers_add_the_gradients_of_repeated_elements():
    x = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    (ag.tile(x, 2) * ag.tensor(np.arange(6.0))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0 + 3, 1 + 4, 2 + 5])
    x.grad = None
    ag.repeat(x, [2, 0, 3]).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 0, 3])


def test_sort_sends_each_gradient_to_the_element_that_landed_there():
    a = np.array([3.0, -1.0, 2.0, -1.0])           # a tie: the stable order keeps index 1 first
    x = ag.tensor(a, requires_grad=True)
    y = ag.sort(x)
    np.testing.assert_array_equal(y.numpy(), np.sort(a))
    (y * ag.tensor(np.array([1.0, 10.0, 100.0, 1000.0]))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1000.0, 1.0, 100.0, 10.0])
    # forward mode: the tangent is permuted the same way
    _, t = ag.jvp(lambda v: ag.sort(v), (ag.tensor(a),), (ag.tensor(np.array([1.0, 2.0, 3.0, 4.0])),))
    np.testing.assert_array_equal(t.numpy(), [2.0, 4.0, 3.0, 1.0])


def test_tril_triu_select_so_inf_and_nan_outside_become_zero_with_zero_gradient():
    a = np.array([[1.0, np.inf], [np.nan, 2.0]])
    x = ag.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(ag.tril(x).numpy(), np.tril(a))
    np.testing.assert_array_equal(ag.triu(x).numpy(), np.triu(a))
    ag.tril(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.tril(np.ones((2, 2))))


def test_flip_and_moveaxis_are_views_of_their_input():
    base = np.arange(6.0).reshape(2, 3)
    x = ag.from_numpy(base)
    f, m = ag.flip(x, 1), ag.moveaxis(x, 0, 1)
    base[0, 0] = 100.0
    assert f.numpy()[0, 2] == 100.0 and m.numpy()[0, 0] == 100.0


def test_hessian_through_gathers():
    # f(x) = sum(sort(x)^3 * w): the Hessian is diag(6 x w_at_rank)
    a = np.array([0.5, -2.0, 1.0])
    w = np.array([1.0, 2.0, 3.0])
    h = ag.hessian(lambda v: (ag.sort(v) ** 3 * ag.tensor(w)).sum(), ag.tensor(a)).numpy()
    rank = np.argsort(np.argsort(a))
    np.testing.assert_allclose(h, np.diag(6 * a * w[rank]), rtol=1e-14)


def test_errors_name_the_argument():
    x = ag.zeros(2, 3)
    with pytest.raises(ValueError, match="flip: axis 2 is out of bounds for a tensor of dimension 2"):
        ag.flip(x, 2)
    with pytest.raises(ValueError, match="repeated axis"):
        ag.flip(x, (0, -2))
    with pytest.raises(ValueError, match="2 source axes but 1 destinations"):
        ag.moveaxis(x, [0, 1], [0])
    with pytest.raises(ValueError, match="tril: needs at least 2 dimensions"):
        ag.tril(ag.zeros(3))
    with pytest.raises(TypeError, match="indices must be integers"):
        ag.take_along_axis(x, np.zeros((2, 1)), 1)
    with pytest.raises(ValueError):
        ag.repeat(x, [1, 2], axis=1)          # numpy's own check: 2 counts for 3 columns
    with pytest.raises(ValueError):
        ag.diagonal(x, 0, 0, 0)
