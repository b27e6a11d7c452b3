"""numpy 1.26 and 2.x alike: the numpy protocols must not depend on what one numpy release
exposes (numpy < 2 gives its C-implemented functions such as np.concatenate no signature)."""
import inspect

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import _numpy_dispatch

rng = np.random.default_rng(9)


@pytest.mark.parametrize("name", sorted(_numpy_dispatch._C_FUNCTION_SIGNATURES))
def test_c_function_signatures_are_numpys(name):
    func = getattr(np, name)
    stub = inspect.signature(_numpy_dispatch._C_FUNCTION_SIGNATURES[name])
    try:
        own = inspect.signature(func)
    except (TypeError, ValueError):     # numpy < 2: the dispatcher falls back on the stub
        own = None
    if own is None:
        assert _numpy_dispatch._signature(func) == stub
    else:                               # numpy 2: the stub names what numpy names
        assert [(p.name, p.kind) for p in own.parameters.values()
                if p.name != "device"] == [(p.name, p.kind) for p in stub.parameters.values()]
        assert _numpy_dispatch._signature(func) == own


@pytest.mark.parametrize("axis", [0, None])
def test_np_concatenate_with_axis_keyword_keeps_the_gradient(axis):
    # numpy 1.26: TypeError "its arguments ['axis'] have no autograd_c counterpart"
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((1, 3))
    x = ag.tensor(a, requires_grad=True)
    y = np.concatenate([x, b], axis=axis)
    want = np.concatenate([a, b], axis=axis)
    assert isinstance(y, ag.Tensor) and y.requires_grad and y.shape == want.shape
    np.testing.assert_array_equal(y.numpy(), want)
    w = rng.standard_normal(want.shape)
    (y * ag.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w.reshape(-1)[:6].reshape(2, 3) if axis is None
                                  else w[:2])


def test_np_where_and_dot_on_tensors_by_keyword_order():
    a, b = rng.standard_normal(4), rng.standard_normal(4)
    x = ag.tensor(a, requires_grad=True)
    y = np.where(a > 0, x, 0.0)
    np.testing.assert_array_equal(y.numpy(), np.where(a > 0, a, 0.0))
    d = np.dot(x, b)
    np.testing.assert_allclose(d.item(), a @ b, rtol=1e-14)
    (y.sum() + d).backward()
    np.testing.assert_array_equal(x.grad.numpy(), (a > 0) + b)
    with pytest.raises(TypeError, match="numpy.concatenate.*casting"):
        np.concatenate([x, b], casting="unsafe")  # no counterpart: refused, not dropped
