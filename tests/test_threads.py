"""Threads and processes.

The rule (README, "Threads"): each thread builds and differentiates its own graphs.  Grad mode and
forward (tangent) mode are per-thread; the kernels and the backward sweep release the GIL, so
threads training separate models run in parallel.  A graph differentiated by two threads at once
is refused with a RuntimeError (each node is claimed by one sweep at a time).  Leaves whose .grad
several threads accumulate into at once lose no update (a per-leaf striped lock; the order of the
additions may vary, tests/test_core_audit.py); ag.grad returns gradients for a fixed-order sum.
After os.fork() the child's kernels run on one thread (OpenMP cannot be restarted after a fork).

Modules and optimizers join the training tests when autograd_c.nn / optim land.
"""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import autograd_c as ag

sys.path.insert(0, os.path.dirname(__file__))
from _tiny_mlp import loss_fn, make_data, make_params, sgd_step, train  # noqa: E402

SANITIZED = os.environ.get("AUTOGRAD_C_SANITIZED") == "1"


def _run_threads(target, args_list):
    errors = []
    barrier = threading.Barrier(len(args_list))

    def wrap(*a):
        try:
            barrier.wait()
            target(*a)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=a) for a in args_list]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not any(t.is_alive() for t in ts), "a thread hung"
    if errors:
        raise errors[0]


def test_four_threads_training_own_models_match_sequential():
    steps = 150 if SANITIZED else 500
    seeds = [11, 12, 13, 14]
    sequential = [train(s, steps) for s in seeds]
    results = {}
    _run_threads(lambda s: results.__setitem__(s, train(s, steps)), [(s,) for s in seeds])
    for s, want in zip(seeds, sequential):
        for got, w in zip(results[s], want):
            np.testing.assert_array_equal(got, w)


def _train_wide(seed, steps):
    """Large enough that the kernels run without the GIL (and with OpenMP)."""
    rng = np.random.default_rng(seed)
    X = ag.tensor(rng.standard_normal((256, 32)), dtype="float64")
    y = ag.tensor(rng.standard_normal((256, 1)), dtype="float64")
    params = [ag.tensor(rng.standard_normal(s) * 0.1, dtype="float64", requires_grad=True)
              for s in [(32, 160), (160,), (160, 1), (1,)]]
    for _ in range(steps):
        sgd_step(params, X, y, lr=0.01)
    return [p.numpy().copy() for p in params]


@pytest.mark.parametrize("kernel_threads,steps", [(1, 40), (2, 4)])
def test_four_threads_with_gil_free_kernels_match_sequential(kernel_threads, steps):
    seeds = [1, 2, 3, 4]
    prev = ag.get_num_threads()
    ag.set_num_threads(kernel_threads)     # (2: OpenMP teams inside each Python thread)
    try:
        _four_wide(seeds, steps)
    finally:
        ag.set_num_threads(prev)


def _four_wide(seeds, steps):
    sequential = [_train_wide(s, steps) for s in seeds]
    results = {}
    _run_threads(lambda s: results.__setitem__(s, _train_wide(s, steps)), [(s,) for s in seeds])
    for s, want in zip(seeds, sequential):
        for got, w in zip(results[s], want):
            np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-14)


def test_grad_mode_is_per_thread():
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def holder():
        with ag.no_grad():
            inside.set()
            release.wait(10)
            seen["holder"] = (ag.tensor([1.0], requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=holder)
    t.start()
    inside.wait(10)
    seen["main"] = (ag.tensor([1.0], requires_grad=True) * 2).requires_grad
    release.set()
    t.join(10)
    assert seen == {"main": True, "holder": False}


def test_tangent_mode_is_per_thread():
    out = {}

    def work(k):
        x = np.linspace(0.1, 1.0, 5) * k
        _, t = ag.jvp(lambda a: ag.sin(a) * a, (x,), (np.ones(5),))
        out[k] = t.numpy().copy()

    _run_threads(work, [(k,) for k in (1, 2, 3, 4)])
    for k in (1, 2, 3, 4):
        x = np.linspace(0.1, 1.0, 5) * k
        np.testing.assert_allclose(out[k], np.cos(x) * x + np.sin(x), rtol=1e-12)


def test_concurrent_backward_on_one_graph_is_refused():
    x = ag.tensor(np.linspace(-1, 1, 6), dtype="float64", requires_grad=True)
    h = ag.tanh(x * 3.0)
    y = (h * h).sum()
    started, done = threading.Event(), threading.Event()
    other = {}

    def second():
        started.wait(10)
        try:
            y.backward(retain_graph=True)
            other["result"] = "ran"
        except RuntimeError as e:
            other["result"] = str(e)
        done.set()

    def hook(g):
        # the first backward is mid-sweep here; let another thread try the same graph
        started.set()
        done.wait(10)
        return None

    h.register_hook(hook)
    t = threading.Thread(target=second)
    t.start()
    y.backward(retain_graph=True)
    t.join(10)
    assert "already being differentiated" in other["result"]
    assert "thread" in other["result"]
    # the first backward was not disturbed, and the graph is usable again afterwards
    hx = np.tanh(3 * np.linspace(-1, 1, 6))
    want = 2 * hx * (1 - hx ** 2) * 3
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    x.grad = None
    started.set()
    done.set()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


def test_reentrant_backward_from_a_hook_is_refused():
    x = ag.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    h = x * x
    y = h.sum()
    handle = h.register_hook(lambda g: y.backward(retain_graph=True))
    with pytest.raises(RuntimeError, match="already being differentiated"):
        y.backward(retain_graph=True)
    # the hook holds y, whose graph holds h: a cycle through the C graph that the garbage
    # collector cannot see (README, "Threads, processes, memory"); removing the hook breaks it
    handle.remove()
    h2 = x * 3.0
    y2 = h2.sum()      # a fresh graph still works after the failed one
    y2.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_hammering_one_graph_from_two_threads_never_corrupts():
    """Every backward either runs alone (its gradient counts exactly once) or is refused."""
    x = ag.tensor(np.linspace(0.2, 1.0, 64), dtype="float64", requires_grad=True)
    y = ag.sin(ag.exp(x) * x).sum()
    ok = [0, 0]

    def work(k):
        for _ in range(300):
            try:
                y.backward(retain_graph=True)
                ok[k] += 1
            except RuntimeError as e:
                assert "already being differentiated" in str(e)

    _run_threads(work, [(0,), (1,)])
    xv = np.linspace(0.2, 1.0, 64)
    one = np.cos(np.exp(xv) * xv) * (np.exp(xv) * xv + np.exp(xv))
    assert ok[0] + ok[1] > 0
    np.testing.assert_allclose(x.grad.numpy(), (ok[0] + ok[1]) * one, rtol=1e-10)


def test_shared_parameters_through_functional_grad():
    """Threads may share read-only parameters when they take gradients with ag.grad."""
    X, y = make_data(5)
    params = make_params(5)
    want = ag.grad(lambda *p: loss_fn(list(p), X, y), argnums=(0, 1, 2, 3))(*params)
    out = {}

    def work(k):
        for _ in range(50):
            g = ag.grad(lambda *p: loss_fn(list(p), X, y), argnums=(0, 1, 2, 3))(*params)
        out[k] = [t.numpy().copy() for t in g]

    _run_threads(work, [(k,) for k in range(4)])
    for k in range(4):
        for a, b in zip(out[k], want):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)
    assert all(p.grad is None for p in params)


# ------------------------------------------------------------------ fork
FORK_SCRIPT = textwrap.dedent("""
    import os, sys, time, warnings
    import numpy as np, autograd_c as ag
    ag.set_num_threads(2)
    a = ag.randn(400, 400, dtype="float64"); b = ag.randn(400, 400, dtype="float64")
    ref = a.numpy() @ b.numpy()
    big = ag.randn(300, 300, dtype="float64")     # elementwise / softmax above the OpenMP threshold
    if PARENT_USES_THREADS:
        for _ in range(3):
            assert np.allclose((a @ b).numpy(), ref)
            ag.tanh(big), ag.softmax(big, axis=-1), big * big
    pid = os.fork()
    if pid == 0:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ag.set_num_threads(2)
        ok = all(np.allclose((a @ b).numpy(), ref) for _ in range(3))
        ok = ok and np.allclose(ag.tanh(big).numpy(), np.tanh(big.numpy()))
        ok = ok and np.allclose(ag.softmax(big, axis=-1).numpy().sum(-1), 1.0)
        ok = ok and np.allclose((big * big).numpy(), big.numpy() ** 2)
        x = ag.tensor(np.ones(3), requires_grad=True)
        (ag.tanh(x) * 2).sum().backward()
        ok = ok and np.allclose(x.grad.numpy(), 2 * (1 - np.tanh(1.0) ** 2))
        print("child threads", ag.get_num_threads(), "warned", len(w), flush=True)
        os._exit(0 if ok else 1)
    t0 = time.time()
    while time.time() - t0 < 60:
        r, st = os.waitpid(pid, os.WNOHANG)
        if r:
            sys.exit(os.WEXITSTATUS(st))
        time.sleep(0.02)
    os.kill(pid, 9)
    print("child hung", flush=True)
    sys.exit(3)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("parent_uses_threads", [True, False])
def test_matmul_in_forked_child(parent_uses_threads):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if "ASAN_OPTIONS" in env:     # under tools/sanitize.sh: the child interpreter's exit leaks
        env["ASAN_OPTIONS"] += ":detect_leaks=0"   # are CPython's; this test is about hangs
    code = FORK_SCRIPT.replace("PARENT_USES_THREADS", str(parent_uses_threads))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    # the child runs on one thread and says so when asked for more
    assert "child threads 1 warned 1" in r.stdout, r.stdout


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_scratch_of_finished_threads_is_freed(dtype):
    # Each thread that runs a packed (large) product keeps one packing buffer for its next
    # product; a thread that ends must give it back, or a program running products in
    # short-lived threads grows without bound.  The buffer is freed by a thread-exit destructor,
    # which runs after Thread.join() returns, so the count is polled.
    import time

    rng = np.random.default_rng(1)
    a = rng.standard_normal((600, 500)).astype(dtype)
    b = rng.standard_normal((500, 700)).astype(dtype)
    ta, tb = ag.tensor(a), ag.tensor(b)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-3 if dtype == np.float32 else 1e-10
    before = ag._core._gemm_scratch_bytes()
    held, results = [], []

    def work():
        results.append((ta @ tb).numpy())
        held.append(ag._core._gemm_scratch_bytes())

    for _ in range(6):
        t = threading.Thread(target=work)
        t.start()
        t.join()
    assert len(results) == 6
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=tol, atol=tol)
    assert max(held) > before          # the threads did take a buffer (the packed path ran)
    deadline = time.monotonic() + 10.0
    while ag._core._gemm_scratch_bytes() != before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ag._core._gemm_scratch_bytes() == before
