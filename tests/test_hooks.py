"""Tensor hooks and retained gradients (the only place the C sweep calls Python)."""
import numpy as np
import pytest

import autograd_c as ag


def test_hook_that_doubles_the_gradient_doubles_the_leaf_gradient():
    x0 = np.array([0.3, -1.2, 2.0])
    x = ag.tensor(x0, dtype="float64", requires_grad=True)
    h = ag.tanh(x)
    handle = h.register_hook(lambda g: g * 2)
    (h * h).sum().backward()
    t = np.tanh(x0)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * t * (1 - t * t), rtol=1e-12)
    handle.remove()
    x.grad = None
    h = ag.tanh(x)
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * t * (1 - t * t), rtol=1e-12)


def test_hook_on_leaf_sees_the_gradient_and_can_replace_it():
    x = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 0 + 5.0)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_hook_errors_propagate_and_bad_shapes_are_refused():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: (_ for _ in ()).throw(KeyError("boom")))
    with pytest.raises(KeyError, match="boom"):
        y.sum().backward()
    x2 = ag.tensor([1.0, 2.0], requires_grad=True)
    y2 = x2 * 2
    y2.register_hook(lambda g: np.ones(3))
    with pytest.raises(ValueError, match="hook returned a gradient of shape"):
        y2.sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        ag.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_for_non_leaves():
    x = ag.tensor([0.5, -0.5], dtype="float64", requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h ** 2).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 3 * np.array([0.5, -0.5]))
    k = x * 2
    (k ** 2).sum().backward()
    assert k.grad is None
