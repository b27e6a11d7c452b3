"""Round 9, fixes made on main: axis arguments of the wrong type name the function and the value."""
import re

import numpy as np
import pytest

import autograd_c as ag


@pytest.mark.parametrize("fn,name", [(ag.sum, "sum"), (ag.max, "max"), (ag.min, "min"),
                                     (ag.prod, "prod"), (ag.mean, "mean"), (ag.var, "var"),
                                     (ag.std, "std"), (ag.cumsum, "cumsum")])
@pytest.mark.parametrize("axis,shown", [("a", "str 'a'"), (1.5, "float 1.5"), ([0, "b"], "str 'b'")])
def test_a_non_integer_axis_names_the_function_and_the_value(fn, name, axis, shown):
    x = ag.ones((2, 3))
    if fn is ag.cumsum and isinstance(axis, list):
        shown = "list [0, 'b']"
    with pytest.raises(TypeError, match=rf"^{name}: axis must be an integer.*got {re.escape(shown)}$"):
        fn(x, axis=axis)


def test_integer_like_axes_still_reduce():
    a = np.arange(6.0).reshape(2, 3)
    x = ag.tensor(a)
    np.testing.assert_array_equal(ag.sum(x, axis=np.int64(1)).numpy(), a.sum(axis=1))
    np.testing.assert_array_equal(ag.sum(x, axis=(np.int32(0), 1)).numpy(), a.sum(axis=(0, 1)))
    np.testing.assert_array_equal(ag.mean(x, axis=[-1]).numpy(), a.mean(axis=-1))


def test_concatenate_axis_of_the_wrong_type():
    x = ag.ones((2, 3))
    with pytest.raises(TypeError, match=r"^concatenate: axis must be an integer.*got str 'x'$"):
        ag.concatenate([x, x], axis="x")


@pytest.mark.parametrize("name,kw", [("Adam", {}), ("SGD", {"momentum": 0.9}), ("RMSprop", {}),
                                     ("NAdam", {}), ("Adadelta", {})])
def test_state_entries_keep_one_order_stepped_or_loaded(name, kw):
    """step and the buffers first, then an entry of the user's own, whether or not the state
    was loaded (a load used to put the user's entry first for the base optimizers)"""
    cls = getattr(ag.optim, name)
    w = ag.nn.Parameter(ag.ones(3))
    opt = cls([w], lr=0.1, **kw)
    (w * w).sum().backward()
    opt.step()
    opt.state[w]["note"] = 1
    stepped = list(opt.state_dict()["state"][0])
    assert stepped[0] == "step" and stepped[-1] == "note"
    other = cls([w], lr=0.1, **kw)
    other.load_state_dict(opt.state_dict())
    assert list(other.state_dict()["state"][0]) == stepped
    assert other.state[w]["note"] == 1
