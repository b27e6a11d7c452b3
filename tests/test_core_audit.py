"""Engine-core audit (round 3): the tape, leaf gradients, conversions."""
import gc
import threading

import numpy as np
import pytest

import autograd_c as ag


def counters():
    gc.collect()
    return ag.live_storages(), ag.live_tensors(), ag.live_nodes()


def test_threads_with_separate_graphs_sharing_a_leaf_lose_no_gradient_and_leak_nothing():
    """Each thread builds its own graph from one shared leaf (as PyTorch's hogwild training):
    every backward's contribution reaches .grad exactly once, and no .grad buffer leaks when
    two sweeps find .grad empty at the same time."""
    n, steps, nthreads = 50000, 60, 4
    x = ag.tensor(np.zeros(n), dtype="float64", requires_grad=True)
    start = counters()
    barrier = threading.Barrier(nthreads)
    errors = []

    def work(k):
        try:
            barrier.wait()
            for _ in range(steps):
                (x * float(k + 1)).sum().backward()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    for _ in range(3):
        x.grad = None
        ts = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        assert not errors, errors[0]
        want = steps * sum(range(1, nthreads + 1))
        np.testing.assert_array_equal(x.grad.numpy(), np.full(n, float(want)))
    x.grad = None
    assert counters() == start


@pytest.mark.parametrize("data", [[1.0, 2.0], [], np.zeros((0, 3))])
def test_truth_value_of_a_tensor_without_exactly_one_element_names_its_shape(data):
    t = ag.tensor(data)
    with pytest.raises(ValueError, match=r"ambiguous.*shape \(" ) as e:
        bool(t)
    if t.size == 0:
        assert "no element" in str(e.value)


def test_internal_grad_refuses_a_grad_outputs_list_of_the_wrong_length():
    """(the binding indexes the list without bounds checks: a short list read past its end)"""
    from autograd_c import _core
    x = ag.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="1 grad_outputs for 2 outputs"):
        _core._grad([y, y], [None], [x], True, False, False)
    g, = _core._grad([y, y], [None, 2.0], [x], True, False, False)
    np.testing.assert_allclose(g.numpy(), 3 * 2 * x.numpy())


@pytest.mark.parametrize("root_is_leaf", [False, True])
def test_create_graph_backward_does_not_make_grad_an_alias_of_the_grad_argument(root_is_leaf):
    """x.grad used to be the caller's grad tensor itself (passed through an add, or seeding a
    leaf root): the next backward accumulated into it in place, changing the caller's tensor."""
    x = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    v = ag.ones(3, dtype="float64")

    def root():
        return x if root_is_leaf else x + 1.0

    root().backward(v, create_graph=True)
    assert not np.shares_memory(x.grad.numpy(), v.numpy())
    root().backward(v)
    np.testing.assert_array_equal(v.numpy(), np.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0))


def test_create_graph_backward_never_makes_grad_a_leaf_that_requires_grad():
    """with a differentiable grad argument w, x.grad = w (the leaf itself) was accumulated into
    in place by the next backward; now x.grad is a recorded copy: d(x.grad)/dw still flows."""
    x = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    w = ag.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    (x * 1.0 + 1.0).backward(w, create_graph=True)
    g = x.grad
    assert g.requires_grad and not np.shares_memory(g.numpy(), w.numpy())
    (g * g).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.array([0.5, -1.0, 2.0]))
    x.grad = None
    (x + 1.0).backward(w, create_graph=True)
    (x + 1.0).backward(ag.ones(3, dtype="float64"))
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, -1.0, 2.0])


def test_retained_grad_is_not_an_alias_of_the_grad_argument():
    x = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = x + 1.0
    y.retain_grad()
    v = ag.ones(3, dtype="float64")
    y.backward(v, retain_graph=True)
    v.fill_(5.0)
    np.testing.assert_array_equal(y.grad.numpy(), np.ones(3))
    y.backward(v)
    np.testing.assert_array_equal(y.grad.numpy(), np.full(3, 6.0))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 6.0))


def test_an_exception_raised_by_a_hook_reaches_its_own_thread_only():
    """The pending hook exception was one global slot: another thread's unrelated error could
    raise it instead of its own, and the hook's thread then got a bare RuntimeError."""
    steps = 1500
    bad = []
    barrier = threading.Barrier(2)

    def hooked():
        x = ag.tensor(np.ones(1000), requires_grad=True)

        def hook(g):
            raise KeyError("from the hook")

        barrier.wait()
        for _ in range(steps):
            y = x * 2.0
            y.register_hook(hook)
            try:
                (y * y).sum().backward()
            except KeyError:
                pass
            except Exception as e:  # pragma: no cover - the failure being tested
                bad.append(e)

    def plain():
        x = ag.tensor(np.ones(1000), requires_grad=True)
        barrier.wait()
        for _ in range(steps):
            try:
                (x * 2.0).backward()
            except RuntimeError as e:
                if "implicitly created only for scalar" not in str(e):
                    bad.append(e)
            except Exception as e:  # pragma: no cover - the failure being tested
                bad.append(e)

    ts = [threading.Thread(target=hooked), threading.Thread(target=plain)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not bad, bad[:3]
