"""copy.deepcopy and pickle of tensors round-trip (data, dtype, shape, requires_grad).

Modules, optimizers and fitted estimators join this file when autograd_c.nn / optim / models land.
"""
import copy
import pickle

import numpy as np
import pytest

import autograd_c as ag


def _check_same(a, b):
    assert type(b) is ag.Tensor
    assert b.dtype == a.dtype
    assert b.shape == a.shape
    assert b.requires_grad == a.requires_grad
    np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


VALUES = [
    np.array(3.5),
    np.arange(6.0).reshape(2, 3),
    np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, 3e38]),
    np.zeros((0, 4)),
    np.random.default_rng(0).standard_normal((2, 1, 3, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("i", range(len(VALUES)))
@pytest.mark.parametrize("rg", [False, True])
@pytest.mark.parametrize("proto", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_roundtrip_leaf(dtype, i, rg, proto):
    t = ag.tensor(VALUES[i], dtype=dtype, requires_grad=rg)
    u = pickle.loads(pickle.dumps(t, protocol=proto))
    _check_same(t, u)
    assert u.is_leaf


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_deepcopy_is_independent(dtype):
    t = ag.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=dtype, requires_grad=True)
    u = copy.deepcopy(t)
    _check_same(t, u)
    # independent storage: writing one leaves the other unchanged
    with ag.no_grad():
        u += 10.0
    np.testing.assert_array_equal(np.asarray(t), [[1.0, 2.0], [3.0, 4.0]])
    # the copy is a leaf that trains on its own
    (u * u).sum().backward()
    assert t.grad is None
    np.testing.assert_allclose(np.asarray(u.grad), 2 * np.asarray(u))


def test_copy_copy_and_views():
    base = ag.tensor(np.arange(12.0).reshape(3, 4), dtype="float64")
    view = base.T[1:, ::2]          # non-contiguous, offset view
    for u in (copy.copy(view), copy.deepcopy(view), pickle.loads(pickle.dumps(view))):
        _check_same(view, u)
        assert u.is_contiguous()


def test_nonleaf_pickles_as_detached_data():
    x = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = ag.tanh(x) * 2.0
    u = pickle.loads(pickle.dumps(y))
    assert u.is_leaf and u.grad_fn is None and u.requires_grad
    np.testing.assert_array_equal(np.asarray(u), np.tanh([1.0, 2.0, 3.0]) * 2.0)
    # a gradient through the copy stops at the copy
    u.sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(np.asarray(u.grad), np.ones(3))


def test_pickle_in_containers_keeps_sharing():
    t = ag.tensor([1.0, 2.0])
    a, b = pickle.loads(pickle.dumps([t, t]))
    assert a is b                    # pickle memo: one object stays one object
    d = copy.deepcopy({"w": t, "again": t})
    assert d["w"] is d["again"]


def test_pickled_bytes_rebuild_does_not_leak():
    import gc
    gc.collect()
    base = ag.live_tensors()
    blob = pickle.dumps(ag.randn(4, 4))
    for _ in range(50):
        pickle.loads(blob)
    gc.collect()
    assert ag.live_tensors() == base


def test_rebuild_refuses_crafted_payload():
    # a crafted pickle that feeds the rebuild function a non-float array is refused clearly
    from autograd_c._core import _rebuild_tensor
    with pytest.raises(TypeError, match="float32/float64"):
        _rebuild_tensor(np.array(["a", "b"]), False)
    with pytest.raises(TypeError, match="float32/float64"):
        _rebuild_tensor([1.0, 2.0], False)
