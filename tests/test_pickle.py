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


# ---- modules, optimizers and fitted estimators

def _trained_model_and_optimizer():
    from autograd_c import nn, optim
    ag.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8, activation="tanh"), nn.Linear(8, 3))
    opt = optim.Adam(m.parameters(), lr=1e-2)
    x, y = ag.randn(5, 4), np.array([0, 1, 2, 0, 1])
    for _ in range(2):
        loss = nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m, opt, x, y


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_module_and_optimizer_round_trip_and_keep_training_identically(how):
    from autograd_c import nn
    m, opt, x, y = _trained_model_and_optimizer()
    m2, opt2 = (pickle.loads(pickle.dumps((m, opt))) if how == "pickle" else copy.deepcopy((m, opt)))
    np.testing.assert_array_equal(m2(x).numpy(), m(x).numpy())
    for o, mm in ((opt, m), (opt2, m2)):   # the optimizer state (moments, steps) came along
        loss = nn.functional.cross_entropy(mm(x), y)
        o.zero_grad()
        loss.backward()
        o.step()
    np.testing.assert_array_equal(m2(x).numpy(), m(x).numpy())
    p_new = next(iter(m2.parameters()))
    assert any(p is p_new for g in opt2.param_groups for p in g["params"])  # still shared


@pytest.mark.parametrize("name", ["MLPClassifier", "LogisticRegression", "MLPRegressor"])
def test_fitted_estimators_round_trip(name):
    import warnings
    from autograd_c import models
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = X[:, 0] + 0.1 * X[:, 1] if name == "MLPRegressor" else (X[:, 0] > 0).astype(int)
    kw = {"max_iter": 5} if name.startswith("MLP") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = getattr(models, name)(**kw).fit(X, y)
    for clone in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(clone.predict(X), est.predict(X))
        assert clone.get_params() == est.get_params()
