"""Audit of the machinery around training: tensor and module hooks, ag.save / ag.load,
ag.data, memory accounting (each test is a regression test for a bug found in the audit)."""
import gc
import os
import sys

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import _core

sys.path.insert(0, os.path.dirname(__file__))
from _threads import run_in_threads  # noqa: E402


def _counts():
    gc.collect()
    return ag.live_tensors(), ag.live_nodes(), len(_core._hooks)


# ------------------------------------------------------------------------------ tensor hooks

def test_leaf_hook_runs_once_on_the_total_gradient():
    # x feeds two products: dL/dx = 2 + 3 = 5; a hook squaring it must give 25 (it gave 4 + 9)
    x = ag.tensor(np.array([1.0, -2.0]), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * g)
    (x * 2 + x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [5.0, 5.0])
    np.testing.assert_array_equal(x.grad.numpy(), [25.0, 25.0])
    # a second backward: the hook sees that backward's gradient, .grad accumulates
    seen.clear()
    (x * 4).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), [25.0 + 16.0] * 2)


def test_hook_on_a_leaf_that_is_the_root_of_backward_runs():
    x = ag.tensor(np.array(2.0), requires_grad=True)
    x.register_hook(lambda g: g * 7)
    x.backward()
    assert x.grad.item() == 7.0


def test_leaf_hook_under_create_graph_is_differentiable():
    x0 = np.array([1.0, 2.0, -0.5])
    x = ag.tensor(x0, requires_grad=True)
    x.register_hook(lambda g: g * x)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.numpy(), 3 * x0 ** 3, rtol=1e-14)   # hook: 3x^2 * x
    x.grad = None
    g.sum().backward()                                               # d(3x^3) = 9x^2, hook: * x
    np.testing.assert_allclose(x.grad.numpy(), 9 * x0 ** 3, rtol=1e-14)


def test_nonleaf_hook_under_create_graph_matches_finite_differences():
    x0 = np.array([0.3, -1.1, 2.0])
    eps = 2.2e-16 ** (1 / 3)

    def first(xv, create):
        x = ag.tensor(xv, requires_grad=True)
        y = ag.sin(x)
        y.register_hook(lambda g: g * x)        # dL/dx = cos(x) * x
        y.sum().backward(create_graph=create)
        return x, x.grad

    x, g = first(x0, True)
    np.testing.assert_allclose(g.numpy(), np.cos(x0) * x0, rtol=1e-14)
    x.grad = None
    g.sum().backward()
    fd = np.array([(first(x0 + eps * e, False)[1].numpy().sum()
                    - first(x0 - eps * e, False)[1].numpy().sum()) / (2 * eps)
                   for e in np.eye(3)])
    exact = np.cos(x0) - x0 * np.sin(x0)
    np.testing.assert_allclose(x.grad.numpy(), exact, rtol=1e-12)
    np.testing.assert_allclose(fd, exact, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("leaf", [True, False])
def test_hook_returning_another_dtype_is_refused_clearly(leaf):
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    t = x if leaf else x * 2
    t.register_hook(lambda g: ag.tensor(np.ones(2, np.float32)))
    with pytest.raises(TypeError, match="hook returned a gradient of dtype float32, expected float64"):
        (t * t).sum().backward()
    assert x.grad is None


def test_hook_callables_are_dropped_with_their_tensor():
    base = _counts()
    for _ in range(5):
        big = ag.ones(1000)
        x = ag.tensor(np.ones(3), requires_grad=True)
        x.register_hook(lambda g, big=big: g * big[:3])
        y = x * 2
        y.register_hook(lambda g, x=x: g * x)     # holds x: freed with y's graph
        del x, y, big
    assert _counts() == base
    # after a backward too, and with retain_graph
    x = ag.tensor(np.ones(3), requires_grad=True)
    y = x * 2
    y.register_hook(lambda g, x=x: g * 1.0)
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    del x, y, z
    assert _counts() == base


def test_module_backward_hook_without_backward_leaves_nothing_behind():
    net = ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.Tanh(), ag.nn.Linear(4, 1))
    net[2].register_full_backward_hook(lambda m, gi, go: None)
    x = ag.ones(2, 3)
    out = net(x)
    del out
    base = _counts()
    for _ in range(10):
        out = net(x)          # e.g. a validation pass with grad enabled: no backward
        del out
    assert _counts() == base
    # and one that fails inside backward
    out = net(x)
    out.register_hook(lambda g: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        out.sum().backward()
    del out
    assert _counts() == base


# ------------------------------------------------------------------------------ ag.save / ag.load

def _saved_bytes(obj):
    import io
    buf = io.BytesIO()
    ag.save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize("field,value", [(10, 99),        # compression method 99
                                         (8, 1 << 6),     # "strong encryption" flag
                                         (8, 1)])         # "encrypted" flag
def test_load_of_a_damaged_zip_header_raises_value_error(tmp_path, field, value):
    # zipfile answers these with NotImplementedError / RuntimeError, which escaped ag.load
    data = bytearray(_saved_bytes({"w": ag.ones(3), "step": 2}))
    pos = data.find(b"PK\x01\x02")            # every central-directory entry
    assert pos >= 0
    while pos >= 0:
        data[pos + field:pos + field + 2] = int(value).to_bytes(2, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    p = tmp_path / "bad.npz"
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not a .*autograd_c save file"):
        ag.load(p)


def test_load_of_randomly_damaged_files_raises_only_value_error():
    import io
    data = _saved_bytes({"a": ag.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True),
                         "b": [1, (2.0, "x")], "c": np.arange(5, dtype=np.int16)})
    rng = np.random.default_rng(0)
    for _ in range(1500):
        b = bytearray(data)
        for i in rng.integers(0, len(b), rng.choice([1, 2, 5, 20])):
            b[i] = int(rng.integers(0, 256))
        if rng.random() < 0.2:
            b = b[:int(rng.integers(0, len(b)))]
        try:
            ag.load(io.BytesIO(bytes(b)))
        except ValueError:
            pass


# ------------------------------------------------------------------------------ ag.data

def test_a_0d_tensor_is_refused_by_name_like_a_0d_array():
    for a in (ag.tensor(1.0), np.float64(1.0)):
        with pytest.raises(ValueError, match="array 1 is a scalar"):
            list(ag.data.batches(np.zeros(3), a, batch_size=1))
        with pytest.raises(ValueError, match="array 0 is a scalar"):
            ag.data.DataLoader(a, batch_size=1)


def test_dataloader_epochs_are_reproducible_permutations_with_string_labels():
    X = np.arange(20.0).reshape(10, 2)
    y = np.array(list("abcdefghij"))

    def run(seed):
        dl = ag.data.DataLoader(X, y, batch_size=4, shuffle=True, seed=seed, drop_last=True)
        return [[(xb.numpy().copy(), yb.copy()) for xb, yb in dl] for _ in range(3)]

    a, b = run(5), run(5)
    for ea, eb in zip(a, b):
        assert len(ea) == 2                       # drop_last: 10 // 4
        for (xa, ya), (xb, yb) in zip(ea, eb):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
            assert ya.dtype.kind == "U"
            np.testing.assert_array_equal(xa[:, 0] / 2, [ord(c) - ord("a") for c in ya])
    orders = [tuple(np.concatenate([yb for _, yb in ep])) for ep in a]
    assert len(set(orders)) > 1                   # a new order each epoch
    big = ag.data.DataLoader(X, y, batch_size=100)
    assert len(big) == 1 and [xb.shape for xb, _ in big] == [(10, 2)]
    assert len(ag.data.DataLoader(X, batch_size=100, drop_last=True)) == 0
    assert list(ag.data.DataLoader(X, batch_size=100, drop_last=True)) == []


# ------------------------------------------------------------------------------ ag.diagnostics

def test_gradient_report_on_a_hand_computed_relu_network():
    net = ag.nn.Sequential(ag.nn.Linear(2, 2), ag.nn.ReLU(), ag.nn.Linear(2, 1))
    with ag.no_grad():
        net[0].weight.copy_(ag.tensor([[1.0, 0.0], [0.0, -1.0]]))
        net[0].bias.copy_(ag.tensor([0.0, 0.0]))
        net[2].weight.copy_(ag.tensor([[2.0, 3.0]]))
        net[2].bias.copy_(ag.tensor([0.0]))
    X = np.array([[1.0, 1.0], [2.0, 2.0]])
    r = ag.diagnostics.gradient_report(net, X)
    # z0 = [[1,-1],[2,-2]]: unit 2 is dead; loss = sum(2 * relu(z0[:, 0])) = 6
    assert r["loss"] == 6.0
    np.testing.assert_allclose(r["grad_norm"], [np.sqrt(2 * (4 + 9)), np.sqrt(2)])
    np.testing.assert_allclose(r["weight_grad_norm"], [np.hypot(6, 6), 3.0])
    np.testing.assert_allclose(r["weight_norm"], [1.0, np.sqrt(13)])
    np.testing.assert_allclose(r["bound"], [np.sqrt(2) * np.sqrt(13), np.sqrt(2)])
    assert r["dead"] == [0.5, 0.0] and r["saturated"] == [0.5, 0.0]
    assert net[0].weight.grad is None


def test_gradient_report_names_a_wrong_size_target():
    lin = ag.nn.Linear(2, 1)
    with pytest.raises(ValueError, match=r"y has shape \(3,\).*output has shape \(4, 1\)"):
        ag.diagnostics.gradient_report(lin, np.ones((4, 2)), y=np.zeros(3))
    r = ag.diagnostics.gradient_report(lin, np.ones((4, 2)), y=ag.zeros(4))
    w, b = lin.weight.numpy().astype(np.float64), lin.bias.numpy().astype(np.float64)
    np.testing.assert_allclose(r["loss"], (w.sum() + b[0]) ** 2, rtol=1e-12)


def test_register_hook_refuses_a_non_callable_at_once():
    x = ag.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="register_hook: hook must be callable, got int"):
        x.register_hook(3)
    (x * 2).sum().backward()          # nothing was registered
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_module_backward_hook_runs_on_each_backward_of_a_retained_graph():
    lin = ag.nn.Linear(2, 1)
    calls = []
    lin.register_full_backward_hook(
        lambda m, gin, gout: calls.append((gin[0].numpy().copy(), gout[0].numpy().copy())))
    x = ag.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    out = lin(x)
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert len(calls) == 2            # it ran on the first backward only
    o = out.detach().numpy()
    w = lin.weight.detach().numpy()
    for gin, gout in calls:
        np.testing.assert_allclose(gout, 2 * o, rtol=1e-6)
        np.testing.assert_allclose(gin, 2 * o @ w, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * o @ w), rtol=1e-6)


def test_hooks_in_several_threads_are_all_dropped_with_their_graphs():
    base = _counts()

    def work(seed):
        rng = np.random.default_rng(seed)
        net = ag.nn.Sequential(ag.nn.Linear(3, 4), ag.nn.Tanh(), ag.nn.Linear(4, 1))
        net[2].register_full_backward_hook(lambda m, gi, go: None)
        X = ag.tensor(rng.normal(size=(5, 3)).astype(np.float32))
        for _ in range(100):
            h = net(X)
            h.register_hook(lambda g: g * 2.0)
            (h * h).mean().backward()
            net(X)                                  # no backward
        for p in net.parameters():
            assert np.isfinite(p.grad.numpy()).all()

    errors = run_in_threads(work)
    assert not errors
    assert _counts() == base


def test_assigning_a_grad_of_another_dtype_is_refused_at_once():
    # it was stored, then backward failed with "in-place add: dtype mismatch" and the
    # optimizers with "must be a contiguous tensor of the parameter's shape and dtype"
    x = ag.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="assigned gradient of dtype float32 to a tensor of dtype float64"):
        x.grad = ag.ones(2)
    assert x.grad is None
    x.grad = np.ones(2, np.float32)               # an array is converted, as everywhere
    assert x.grad.dtype == np.float64
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
