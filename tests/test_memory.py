"""The tape frees what it records: live storage/tensor/node counters return to their starting
values; long chains run backward without recursion."""
import gc
import os
import sys
import time

import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _threads import run_in_threads  # noqa: E402


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


# ---- the large-block cache (csrc/pool.c) ----------------------------------------------------
SANITIZED = bool(os.environ.get("AUTOGRAD_C_SANITIZED"))


def data_address(t):
    a = np.asarray(t)
    return a.__array_interface__["data"][0]


@pytest.fixture
def cache_limit():
    """restore the cache limit (and empty the cache) after the test"""
    old = ag.get_cache_limit()
    ag.empty_cache()
    yield old
    ag.set_cache_limit(old)
    ag.empty_cache()


def test_cache_reuses_a_freed_large_block_and_never_a_live_one(cache_limit):
    if SANITIZED:               # sanitizer builds keep nothing: every free is checked by ASan
        assert cache_limit == 0
        x = ag.full((300, 300), 7.0)
        del x
        assert ag.cached_bytes() == 0
        return
    assert cache_limit == 128 << 20
    x = ag.full((300, 300), 7.0)                  # 360 kB of float32
    nbytes = x.numpy().nbytes
    addr = data_address(x)
    keep = ag.full((300, 300), 1.0)               # a live block is never handed out
    assert data_address(keep) != addr
    del x
    assert ag.cached_bytes() >= nbytes
    y = ag.zeros((300, 300))                      # same size: the freed block comes back ...
    assert data_address(y) == addr
    assert ag.cached_bytes() == 0
    np.testing.assert_array_equal(y.numpy(), 0.0)  # ... holding the new values, not the old
    np.testing.assert_array_equal(keep.numpy(), 1.0)
    del y
    z = ag.zeros((150, 150))                      # far smaller (90 kB): not the 360 kB block
    assert data_address(z) != addr
    assert ag.cached_bytes() >= nbytes
    ag.empty_cache()
    assert ag.cached_bytes() == 0


def test_cache_limit_bounds_what_is_kept(cache_limit):
    ag.set_cache_limit(1 << 20)
    assert ag.get_cache_limit() == (0 if SANITIZED else 1 << 20)
    big = ag.zeros(80_000)                        # 320 kB > a quarter of 1 MiB: never kept
    del big
    assert ag.cached_bytes() == 0
    ts = [ag.zeros(50_000) for _ in range(10)]    # 200 kB each
    del ts
    kept = ag.cached_bytes()
    assert kept <= 1 << 20
    assert kept == (0 if SANITIZED else 5 * 200_000)   # the five newest fit under 1 MiB
    ag.set_cache_limit(450_000)                   # lowering the limit drops the oldest now
    assert ag.cached_bytes() == (0 if SANITIZED else 2 * 200_000)
    ag.set_cache_limit(0)
    assert ag.cached_bytes() == 0
    t = ag.zeros(50_000)
    del t
    assert ag.cached_bytes() == 0


def test_cache_limit_argument_errors(cache_limit):
    with pytest.raises(ValueError, match="set_cache_limit: nbytes must be >= 0, got -1"):
        ag.set_cache_limit(-1)
    with pytest.raises(TypeError, match="set_cache_limit: nbytes must be an int, got float"):
        ag.set_cache_limit(1.5)
    ag.set_cache_limit(2 ** 80)                   # larger than size_t: clamped, not an error
    assert ag.get_cache_limit() == (0 if SANITIZED else 2 ** 64 - 1)


def test_training_loop_reuses_its_buffers(cache_limit):
    """the working set of a step is reused: the cache and the live counters stay flat"""
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((256, 512)).astype(np.float32))
    t = ag.tensor(rng.standard_normal((256, 512)).astype(np.float32))
    w = ag.tensor(rng.standard_normal((512, 512)).astype(np.float32) * 0.05, requires_grad=True)

    def step():
        w.grad = None
        loss = ((x @ w - t) ** 2).mean()
        loss.backward()
        return loss.item()

    first = step()
    step()
    start, cached = counters(), ag.cached_bytes()
    for _ in range(20):
        assert step() == first                     # the same numbers from reused memory
    assert counters() == start
    assert ag.cached_bytes() == cached
    assert SANITIZED or cached > 0


def test_cache_is_safe_across_threads(cache_limit):
    """threads freeing and allocating large tensors at once get distinct, correct blocks"""

    def work(seed):
        r = np.random.default_rng(seed)
        for _ in range(40):
            a = r.standard_normal((200, 150))
            ta = ag.tensor(a)
            tb = ag.exp(ta) * 2.0 - ta
            np.testing.assert_allclose(tb.numpy(), np.exp(a) * 2.0 - a, rtol=1e-15)
            del ta, tb

    errors = run_in_threads(work)
    assert not errors
    assert ag.cached_bytes() <= ag.get_cache_limit()
