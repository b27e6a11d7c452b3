"""The tape frees what it records: live storage/tensor/node counters return to their starting
values; long chains run backward without recursion."""
import gc
import time

import numpy as np
import pytest

import autograd_c as ag


def counters():
    gc.collect()
    return ag.live_storages(), ag.live_tensors(), ag.live_nodes()


def small_graph_step(w, b, x):
    h = ag.tanh(x @ w + b)
    loss = (ag.log_softmax(h, axis=-1)[:, 0] * -1.0).mean() + (w * w).sum() * 1e-3
    loss.backward()
    return loss


def test_counters_return_to_start_after_1000_passes():
    rng = np.random.default_rng(0)
    w = ag.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = ag.tensor(rng.standard_normal(3), requires_grad=True)
    x = ag.tensor(rng.standard_normal((5, 4)))
    small_graph_step(w, b, x)              # first pass creates the .grad buffers
    start = counters()
    for _ in range(1000):
        small_graph_step(w, b, x)
    assert counters() == start
    w.grad = None
    b.grad = None
    s, t, n = counters()
    assert (s, t, n) == (start[0] - 2, start[1] - 2, start[2])


def test_counters_with_views_indexing_and_retain_graph():
    x = ag.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    x.grad = np.zeros((3, 4))
    start = counters()
    for _ in range(200):
        y = (x.T[1:, ::-1] * x[[0, 2, 2]].T[1:]).sum() + ag.concatenate(ag.split(x, 2, axis=1), 0).max()
        y.backward(retain_graph=True)
        y.backward()
        del y
    assert counters() == start


def test_create_graph_frees_everything():
    x = ag.tensor(np.array([0.3, -0.2, 0.9]), requires_grad=True)
    start = counters()
    for _ in range(100):
        (ag.sin(x) * ag.exp(x)).sum().backward(create_graph=True)
        g = x.grad
        x.grad = None
        g.sum().backward()
        x.grad = None
        del g
    assert counters() == start


def test_dropping_the_loss_frees_its_graph():
    x = ag.tensor(np.ones(8), requires_grad=True)
    start = counters()
    loss = ag.tanh(ag.exp(x) * 2.0 + 1.0).sum()
    assert ag.live_nodes() - start[2] == 5
    assert ag.live_tensors() > start[1]
    del loss
    assert counters() == start


def test_intermediates_kept_alive_by_graph_until_loss_dropped():
    x = ag.tensor(np.ones(4), requires_grad=True)
    start = counters()
    y = ag.exp(x)
    z = (y * y).sum()
    del y                                        # still referenced by the graph of z
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2.0))
    del z
    x.grad = None
    assert counters() == start


def test_backward_frees_saved_buffers_without_retain_graph():
    x = ag.tensor(np.ones(1000), requires_grad=True)
    y = ag.exp(ag.sin(x))
    loss = y.sum()
    before = ag.live_storages()
    loss.backward()
    x.grad = None
    # sin's saved input alias / exp's saved output are released by the sweep
    assert ag.live_storages() < before


@pytest.mark.parametrize("op", ["mul", "add"])
def test_million_node_chain_backward_no_stack_overflow(op):
    n = 1_000_000
    x = ag.tensor(np.array([1.0]), requires_grad=True)
    start_nodes = ag.live_nodes()
    y = x
    t0 = time.perf_counter()
    if op == "mul":
        for _ in range(n):
            y = y * 1.0000001
    else:
        for _ in range(n):
            y = y + 1e-7
    assert ag.live_nodes() - start_nodes == n
    y.sum().backward()
    elapsed = time.perf_counter() - t0
    expected = 1.0000001 ** n if op == "mul" else 1.0
    np.testing.assert_allclose(x.grad.numpy(), [expected], rtol=1e-9)
    del y
    gc.collect()
    assert ag.live_nodes() == start_nodes        # freeing the chain is iterative too
    assert elapsed < 60.0, f"{n}-node chain took {elapsed:.1f}s"   # sanity bound only


def test_million_node_chain_dropped_without_backward():
    x = ag.tensor(np.array([1.0]), requires_grad=True)
    start = counters()
    y = x
    for _ in range(1_000_000):
        y = ag.tanh(y)
    del y                                        # the release walks the chain without recursion
    assert counters() == start
