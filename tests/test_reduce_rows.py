"""Reductions over a leading axis, where each input row is added into a row of the output (the
contiguous row-into-row path of csrc/ops/reduce.c): the same adds in the same order as numpy's
float64 row-by-row accumulation, NaN rules of max/min kept, 1 and 2 threads alike."""
import numpy as np
import pytest

import autograd_c as ag


@pytest.mark.parametrize("shape,axis", [((37, 1030), 0), ((5, 16, 33), 0), ((5, 16, 33), (0, 1)),
                                        ((1024, 17), 0), ((3, 1), 0)])
def test_sum_and_prod_over_leading_axes_are_numpys_row_by_row_float64_accumulation(shape, axis):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    want = x.astype(np.float64).sum(axis=axis).astype(np.float32)   # rows added in order
    np.testing.assert_array_equal(ag.sum(ag.tensor(x), axis).numpy(), want)
    y = (1 + 0.01 * rng.standard_normal(shape)).astype(np.float32)
    np.testing.assert_array_equal(ag.prod(ag.tensor(y), axis).numpy(),
                                  np.prod(y.astype(np.float64), axis=axis).astype(np.float32))
    z = rng.standard_normal(shape)
    np.testing.assert_array_equal(ag.sum(ag.tensor(z), axis).numpy(), z.sum(axis=axis))


def test_max_min_over_a_leading_axis_keep_nan_and_match_numpy():
    x = np.random.default_rng(1).standard_normal((64, 40))
    x[3, 5] = np.nan
    x[60, 7] = np.nan
    x[:, 9] = -np.inf
    for f, g in ((ag.max, np.max), (ag.min, np.min)):
        np.testing.assert_array_equal(f(ag.tensor(x), 0).numpy(), g(x, axis=0))
        np.testing.assert_array_equal(f(ag.tensor(x.astype(np.float32)), 0).numpy(),
                                      g(x.astype(np.float32), axis=0))


def test_leading_axis_sum_is_the_same_on_one_and_two_threads():
    x = ag.tensor(np.random.default_rng(2).standard_normal((2000, 300)).astype(np.float32))
    prev = ag.get_num_threads()
    try:
        ag.set_num_threads(1)
        one = ag.sum(x, 0).numpy().copy()
        ag.set_num_threads(2)
        two = ag.sum(x, 0).numpy()
    finally:
        ag.set_num_threads(prev)
    np.testing.assert_array_equal(one, two)


def test_bias_gradient_of_a_linear_layer_is_the_column_sum():
    rng = np.random.default_rng(3)
    x = ag.tensor(rng.standard_normal((256, 64)).astype(np.float32))
    W = ag.tensor(rng.standard_normal((32, 64)).astype(np.float32), requires_grad=True)
    b = ag.tensor(np.zeros(32, np.float32), requires_grad=True)
    g = rng.standard_normal((256, 32)).astype(np.float32)
    ag.nn.functional.linear(x, W, b).backward(ag.tensor(g))
    np.testing.assert_array_equal(b.grad.numpy(), g.astype(np.float64).sum(0).astype(np.float32))
