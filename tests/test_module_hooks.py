"""Module.register_forward_hook / register_full_backward_hook."""
import numpy as np
import pytest

import autograd_c as ag
from autograd_c.nn import _hooks


def _net():
    ag.manual_seed(0)
    return ag.nn.Sequential(ag.nn.Linear(3, 5, dtype="float64"), ag.nn.Tanh(),
                            ag.nn.Linear(5, 2, dtype="float64"))


def test_forward_hook_sees_the_layer_input_and_output_inside_a_fused_sequential():
    net = _net()
    x = ag.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    seen = {}
    h1 = net[0].register_forward_hook(lambda m, inp, out: seen.__setitem__("lin", (inp, out)))
    h2 = net[1].register_forward_hook(lambda m, inp, out: seen.__setitem__("tanh", (inp, out)))
    y = net(x)
    (inp, z), (inp2, a) = seen["lin"], seen["tanh"]
    assert inp[0].shape == (4, 3) and z.shape == (4, 5) and a.shape == (4, 5)
    W, b = net[0].weight.numpy(), net[0].bias.numpy()
    np.testing.assert_allclose(z.numpy(), x.numpy() @ W.T + b, rtol=1e-12)
    np.testing.assert_allclose(a.numpy(), np.tanh(z.numpy()), rtol=1e-12)
    h1.remove()
    h2.remove()
    seen.clear()
    y2 = net(x)   # fused again, and no hook fires
    assert seen == {}
    np.testing.assert_allclose(y2.numpy(), y.numpy(), rtol=1e-12)


def test_forward_hook_can_replace_the_output():
    lin = ag.nn.Linear(2, 2)
    lin.register_forward_hook(lambda m, i, o: o * 0.0)
    assert np.all(lin(ag.ones(3, 2)).numpy() == 0.0)


def test_full_backward_hook_gives_grad_input_and_grad_output_matching_retained_grads():
    net = _net()
    X = np.random.default_rng(1).normal(size=(4, 3))
    seen = []
    net[2].register_full_backward_hook(
        lambda m, gin, gout: seen.append((gin[0].numpy().copy(), gout[0].numpy().copy())))
    # reference: same computation written out with retained grads
    W1, b1 = net[0].weight.numpy(), net[0].bias.numpy()
    W2, b2 = net[2].weight.numpy(), net[2].bias.numpy()
    A = np.tanh(X @ W1.T + b1)
    Y = A @ W2.T + b2
    x = ag.tensor(X)
    (net(x) ** 2).sum().backward()
    assert len(seen) == 1
    gin, gout = seen[0]
    np.testing.assert_allclose(gout, 2 * Y, rtol=1e-12)
    np.testing.assert_allclose(gin, (2 * Y) @ W2, rtol=1e-12)
    assert gin.shape == (4, 5) and gout.shape == (4, 2)


def test_backward_hook_on_first_layer_has_none_for_a_data_input_and_fires_once_per_backward():
    net = _net()
    calls = []
    h = net[0].register_full_backward_hook(lambda m, gin, gout: calls.append((gin, gout[0].shape)))
    x = ag.ones(2, 3, dtype="float64")
    net(x).sum().backward()
    net(x).sum().backward()
    assert len(calls) == 2 and calls[0][0] == (None,) and calls[0][1] == (2, 5)
    h.remove()
    net(x).sum().backward()
    assert len(calls) == 2


def test_backward_hook_that_doubles_grad_input_doubles_the_upstream_gradient():
    net = _net()
    x0 = np.random.default_rng(2).normal(size=(3, 3))
    x = ag.tensor(x0, requires_grad=True)
    net(x).sum().backward()
    ref = x.grad.numpy().copy()
    net[1].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 2,))
    x.grad = None
    net(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * ref, rtol=1e-12)


def test_hooks_leave_no_tensor_hook_entries_behind():
    from autograd_c import _core
    net = _net()
    net[0].register_full_backward_hook(lambda m, gin, gout: None)
    before = len(_core._hooks)
    x = ag.ones(2, 3, dtype="float64", requires_grad=True)
    for _ in range(5):
        net(x).sum().backward()
    assert len(_core._hooks) == before


def test_no_backward_hook_machinery_under_no_grad_and_counter_returns_to_zero():
    start = _hooks.count[0]
    lin = ag.nn.Linear(2, 2)
    h = lin.register_full_backward_hook(lambda *a: None)
    assert _hooks.count[0] == start + 1
    with ag.no_grad():
        out = lin(ag.ones(1, 2, requires_grad=True))
    assert not out.requires_grad
    h.remove()
    h.remove()
    assert _hooks.count[0] == start


def test_bad_hooks_are_refused():
    lin = ag.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="callable"):
        lin.register_forward_hook(3)
    lin.register_full_backward_hook(lambda m, gin, gout: gin[0])
    with pytest.raises(TypeError, match="tuple"):
        lin(ag.ones(1, 2, requires_grad=True)).sum().backward()
