"""Regressions from the review of the round's Python changes (statistics, manipulation)."""
import numpy as np
import pytest

import autograd_c as ag


@pytest.mark.parametrize("name", ["nanmax", "nanmin"])
@pytest.mark.parametrize("shape, axis", [((0, 3), 1), ((0, 3), -1), ((3, 0), 0),
                                         ((2, 0, 3), 0), ((2, 0, 3), (0, 2))])
def test_nan_extreme_of_empty_kept_axes_is_empty(name, shape, axis):
    # numpy reduces a zero-size array fine when every reduced axis is non-empty: the result
    # is empty (only the kept axes are 0); it raises only when a reduced axis has size 0
    x = np.zeros(shape)
    expected = getattr(np, name)(x, axis=axis)
    y = getattr(ag, name)(ag.tensor(x), axis=axis)
    assert y.shape == expected.shape
    assert y.size == 0


@pytest.mark.parametrize("name", ["nanmax", "nanmin"])
@pytest.mark.parametrize("shape, axis", [((0, 3), 0), ((0, 3), None), ((2, 0, 3), 1)])
def test_nan_extreme_over_an_empty_axis_raises(name, shape, axis):
    with pytest.raises(ValueError, match=name):
        getattr(ag, name)(ag.tensor(np.zeros(shape)), axis=axis)


@pytest.mark.parametrize("name", ["nanmax", "nanmin"])
def test_nan_extreme_empty_keeps_gradient_shape(name):
    x = ag.tensor(np.zeros((0, 3)), requires_grad=True)
    y = getattr(ag, name)(x, axis=1)
    y.sum().backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("values", [[1.00000001, 1.0], [[0.1 + 1e-9, 0.1, 0.1 - 1e-9]],
                                    [2.0 ** 24 + 1, 2.0 ** 24]])
def test_argsort_of_a_float_list_orders_its_own_values(values):
    # argsort returns numpy indices outside the graph; a list of Python floats is ordered as
    # numpy orders it, not after rounding to float32 (which ties these values)
    expected = np.argsort(np.asarray(values), axis=-1, kind="stable")
    np.testing.assert_array_equal(ag.argsort(values), expected)
    np.testing.assert_array_equal(ag.argsort(values, axis=None),
                                  np.argsort(np.asarray(values), axis=None, kind="stable"))


def test_argsort_of_a_float_list_keeps_numpy_nan_and_zero_order():
    values = [np.nan, 1.0, -0.0, 0.0, -np.inf, 1.0, np.nan, -1.0]
    np.testing.assert_array_equal(ag.argsort(values),
                                  np.argsort(np.asarray(values), kind="stable"))


def test_argsort_refuses_non_numeric_input():
    with pytest.raises(TypeError):
        ag.argsort(["b", "a"])
