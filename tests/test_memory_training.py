"""Memory in training: RSS stays flat, a kept loss keeps exactly its graph alive, no leaks through
second derivatives or hooks (the 1,000,000-op chains are in test_memory.py).  (RSS is read from /proc on Linux.)"""
import gc
import os
import sys

import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _tiny_mlp import loss_fn, make_data, make_params, sgd_step  # noqa: E402

SANITIZED = os.environ.get("AUTOGRAD_C_SANITIZED") == "1"


def _counts():
    gc.collect()
    return ag.live_tensors(), ag.live_storages(), ag.live_nodes()


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
@pytest.mark.skipif(SANITIZED, reason="ASan's quarantine holds freed memory: RSS is not meaningful")
def test_rss_flat_over_20000_training_steps():
    X, y = make_data(0)
    params = make_params(0)
    for _ in range(2000):                     # warm-up: allocator pools, caches
        sgd_step(params, X, y)
    gc.collect()
    rss0 = _rss_bytes()
    base = _counts()
    first = float(loss_fn(params, X, y))
    for _ in range(20000):
        sgd_step(params, X, y)
    gc.collect()
    growth = _rss_bytes() - rss0
    assert _counts() == base                  # no C object survives a step
    assert growth < 5 * 2 ** 20, f"RSS grew by {growth / 2 ** 20:.2f} MiB over 20,000 steps"
    assert float(loss_fn(params, X, y)) < first   # and it did train


def test_kept_loss_keeps_exactly_its_graph():
    X, y = make_data(1)
    params = make_params(1)
    base = _counts()[2]
    loss_a = loss_fn(params, X, y)
    n_graph = ag.live_nodes() - base
    assert n_graph > 5                        # matmul, add, tanh, matmul, add, sub, pow, mean
    loss_b = loss_fn(params, X, y)
    assert ag.live_nodes() - base == 2 * n_graph
    del loss_b                                # dropping one graph frees exactly that graph
    assert ag.live_nodes() - base == n_graph
    loss_a.backward()                         # backward frees saved values, the root node stays
    assert ag.live_nodes() - base <= n_graph
    del loss_a
    assert ag.live_nodes() == base
    for p in params:
        assert p.grad is not None


def test_intermediate_reference_keeps_its_subgraph_only():
    x = ag.tensor(np.ones(3), requires_grad=True)
    base = ag.live_nodes()
    h = ag.tanh(x * 2.0)                      # 2 nodes
    out = (h.sum() + 1.0) * 3.0               # 3 more
    assert ag.live_nodes() - base == 5
    del out
    assert ag.live_nodes() - base == 2        # h's graph survives, the rest is gone
    del h
    assert ag.live_nodes() == base


def test_second_derivative_of_log_does_not_leak_regression():
    # regression: the VJP of division leaked one tensor per composed backward (d/db of a/b)
    f = ag.grad(ag.grad(ag.log))
    f(0.7)
    base = _counts()
    for _ in range(5):
        np.testing.assert_allclose(f(0.7).item(), -1 / 0.49, rtol=1e-12)
    assert _counts() == base
    g = ag.grad(lambda a, b: (a / b).sum(), argnums=1)
    h = ag.grad(lambda b: g(2.0, b))
    h(1.5)
    base = _counts()
    np.testing.assert_allclose(h(1.5).item(), 2 * 2.0 / 1.5 ** 3, rtol=1e-12)
    assert _counts() == base


@pytest.mark.parametrize("ret", ["none", "same", "new"])
def test_backward_hooks_do_not_leak_regression(ret):
    # regression: a hook returning None (or its argument) leaked the gradient tensor every call
    x = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    hook = {"none": lambda g: None, "same": lambda g: g, "new": lambda g: g * 1.0}[ret]

    def once():
        h = x * 2.0
        h.register_hook(hook)
        (h * h).sum().backward()

    once()
    x.grad = None
    base = _counts()
    for _ in range(10):
        once()
    x.grad = None
    assert _counts() == base
    np.testing.assert_allclose(x.numpy(), [1.0, 2.0])
