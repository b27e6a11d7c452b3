"""Round 8 fixes made on main: std's derivative at a constant slice, and axis= together with
PyTorch's dim= refused where the axis default is an int."""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad, fd_hessian


def _t(a, rg=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), dtype="float64", requires_grad=rg)


@pytest.mark.parametrize("ddof", [0, 1])
def test_std_of_a_constant_slice_has_zero_gradient_as_pytorch(ddof):
    x = _t([[2.0, 2.0, 2.0], [1.0, 3.0, 4.0]], rg=True)
    s = ag.std(x, axis=1, ddof=ddof)
    np.testing.assert_allclose(s.numpy(), np.std(x.numpy(), axis=1, ddof=ddof), rtol=1e-15)
    s.sum().backward()
    g = x.grad.numpy()
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[0], 0.0)
    # the non-constant row: (x - mean) / ((n - ddof) std), and finite differences
    r = x.numpy()[1]
    np.testing.assert_allclose(g[1], (r - r.mean()) / ((3 - ddof) * np.std(r, ddof=ddof)),
                               rtol=1e-12)
    fd = fd_grad(lambda a: np.std(a, ddof=ddof), r)
    np.testing.assert_allclose(g[1], fd, rtol=1e-7, atol=1e-9)


def test_std_forward_mode_and_hessian_at_a_constant_slice_are_finite():
    x = _t([[5.0, 5.0], [1.0, 3.0]])
    J = ag.jacobian(lambda t: ag.std(t, axis=1), x, mode="forward").numpy()
    Jr = ag.jacobian(lambda t: ag.std(t, axis=1), x, mode="reverse").numpy()
    np.testing.assert_array_equal(J, Jr)
    np.testing.assert_array_equal(J[0], 0.0)
    np.testing.assert_allclose(J[1, 1], [-0.5, 0.5])
    v = np.array([1.0, 3.0, 4.0])
    H = ag.hessian(lambda t: ag.std(t), _t(v)).numpy()
    np.testing.assert_allclose(H, fd_hessian(np.std, v), rtol=1e-4, atol=1e-6)
    assert float(ag.std(_t([2.0, 2.0]))) == 0.0


x23 = ag.ones(2, 3)
BOTH = {
    "cat": lambda: ag.cat([x23, x23], 0, dim=1),
    "concatenate": lambda: ag.concatenate([x23, x23], axis=0, dim=1),
    "stack": lambda: ag.stack([x23, x23], 0, dim=1),
    "split": lambda: ag.split(x23, 1, 0, dim=1),
    "softmax": lambda: ag.softmax(x23, -1, dim=0),
    "log_softmax": lambda: ag.log_softmax(x23, axis=-1, dim=0),
    "Tensor.softmax": lambda: x23.softmax(-1, dim=0),
    "Tensor.log_softmax": lambda: x23.log_softmax(-1, dim=0),
    "diff": lambda: ag.diff(x23, 1, -1, dim=0),
}


@pytest.mark.parametrize("name", sorted(BOTH))
def test_axis_equal_to_its_default_and_dim_together_raise(name):
    with pytest.raises(TypeError, match="both axis=.* and dim="):
        BOTH[name]()


def test_dim_alone_and_axis_alone_still_work():
    a = ag.tensor(np.arange(6.0).reshape(2, 3))
    assert ag.cat([a, a], dim=1).shape == (2, 6)
    assert ag.cat([a, a], 0).shape == ag.cat([a, a]).shape == (4, 3)
    assert ag.stack([a, a], dim=2).shape == (2, 3, 2)
    assert [t.shape for t in ag.split(a, 3, dim=1)] == [(2, 1)] * 3
    np.testing.assert_allclose(a.softmax(dim=0).numpy().sum(axis=0), 1.0)
    np.testing.assert_allclose(ag.softmax(a).numpy().sum(axis=1), 1.0)
    np.testing.assert_array_equal(ag.diff(a, dim=0).numpy(), np.diff(a.numpy(), axis=0))
    assert ag.concatenate.__doc__.startswith("concatenate(tensors, axis=0, *, dim=None)")


@pytest.mark.parametrize("view", [lambda t: t.reshape(6), lambda t: t.T, lambda t: ag.roll(t, 1, 1),
                                  lambda t: t[:, ::-1]])
def test_grad_through_a_view_is_never_an_alias_of_the_callers_gradient(view):
    # the sweep drops a node's incoming gradient before passing its input gradients on (so that a
    # view of it can become a .grad without a copy); the caller's tensor must still not be aliased
    x = ag.tensor(np.arange(6.0).reshape(2, 3), dtype="float64", requires_grad=True)
    y = view(x)
    g = ag.tensor(np.arange(1.0, 7.0).reshape(y.shape), dtype="float64")
    y.backward(g)
    expect = x.grad.numpy().copy()
    g.add_(100.0)
    np.testing.assert_array_equal(x.grad.numpy(), expect)
    # a second backward accumulates into .grad in place without touching the first gradient
    y2 = view(x)
    y2.backward(ag.ones(*y2.shape, dtype="float64"))
    np.testing.assert_array_equal(x.grad.numpy(), expect + 1.0)
    np.testing.assert_array_equal(g.numpy(), np.arange(101.0, 107.0).reshape(y.shape))


def test_chain_of_views_into_a_leaf_and_into_a_gradient_slot():
    x = ag.tensor(np.arange(12.0), dtype="float64", requires_grad=True)
    h = x * 2.0                      # a non-leaf whose gradient slot receives view gradients
    y = h.reshape(3, 4).T.reshape(12) + h.reshape(4, 3).reshape(12)
    (y * ag.tensor(np.arange(12.0), dtype="float64")).sum().backward()
    w = np.arange(12.0)
    expect = 2.0 * (w.reshape(4, 3).T.reshape(12) + w)
    np.testing.assert_array_equal(x.grad.numpy(), expect)


def test_repeat_with_counts_no_memory_can_hold_raises_instead_of_crashing():
    # numpy 2.4's np.repeat(np.arange(12), 2**62) kills the process; run it in a child so that a
    # regression is a failure, not the end of the test session
    import subprocess
    import sys
    code = (
        "import autograd_c as ag\n"
        "x = ag.randn(3, 4)\n"
        "for args in [(2**62,), (2**62, 0), ([2**62, 1, 1], 0), (2**63,)]:\n"
        "    try:\n"
        "        ag.repeat(x, *args)\n"
        "    except MemoryError as e:\n"
        "        assert 'repeat: the result would have' in str(e), e\n"
        "    else:\n"
        "        raise SystemExit('no error for %r' % (args,))\n"
        "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stdout, r.stderr)


def test_repeat_refuses_negative_counts_and_keeps_numpys_results():
    x = ag.tensor(np.arange(12.0).reshape(3, 4))
    with pytest.raises(ValueError, match="non-negative"):
        ag.repeat(x, -1)
    with pytest.raises(ValueError, match="non-negative"):
        ag.repeat(x, [1, -2, 1], axis=0)
    for args in [(2,), (2, 1), ([1, 0, 2], 0), (0,), (np.int64(3), 0)]:
        np.testing.assert_array_equal(ag.repeat(x, *args).numpy(), np.repeat(x.numpy(), *args))


def test_diff_of_a_huge_order_is_empty_at_once_with_a_zero_gradient():
    x = ag.tensor(np.arange(12.0).reshape(3, 4), dtype="float64", requires_grad=True)
    for n in (3, 4, 5, 2**62):
        y = ag.diff(x, n, axis=0)
        assert y.shape == np.diff(np.zeros((3, 4)), min(n, 5), axis=0).shape == (0, 4)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    np.testing.assert_array_equal(ag.diff(x, 2, axis=0).numpy(), np.diff(x.numpy(), 2, axis=0))
