"""The Tensor object: construction and dtype rules, zero-copy views, creation functions,
attributes, grad modes."""
import numpy as np
import pytest

import autograd_c as ag

# ---------------------------------------------------------------------------------- dtype rules


@pytest.mark.parametrize("data,expected", [
    (np.array([1.0, 2.0]), np.float64),
    (np.array([1.0, 2.0], dtype=np.float32), np.float32),
    ([1.0, 2.0], np.float32),
    ([[1, 2], [3, 4]], np.float32),
    (1.5, np.float32),
    (3, np.float32),
    (np.array([1, 2, 3]), np.float32),
    (np.array([True, False]), np.float32),
    (np.array(2.5), np.float64),
    (np.float64(2.5), np.float64),
])
def test_tensor_dtype_rules(data, expected):
    t = ag.tensor(data)
    assert t.dtype == expected
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=expected))
    assert t.shape == np.shape(data)


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32, np.float64, float])
def test_tensor_explicit_dtype(dtype):
    t = ag.tensor([1.0, 2.0, 3.0], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    t2 = ag.tensor(np.arange(3.0), dtype=dtype)
    assert t2.dtype == np.dtype(dtype)


def test_tensor_copies_its_input():
    a = np.arange(4.0)
    t = ag.tensor(a)
    a[0] = 100.0
    assert t.numpy()[0] == 0.0


def test_tensor_of_tensor_copies_and_casts():
    t = ag.tensor(np.arange(3.0))
    u = ag.tensor(t)
    v = ag.tensor(t, dtype="float32")
    assert u.dtype == np.float64 and v.dtype == np.float32
    t.numpy()[0] = 7.0
    assert u.numpy()[0] == 0.0 and v.numpy()[0] == 0.0


def test_tensor_of_noncontiguous_array():
    a = np.arange(12.0).reshape(3, 4)[:, ::-2].T
    t = ag.tensor(a)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.is_contiguous()


def test_scalar_tensors_are_0d():
    for data in (1.5, np.array(1.5), np.float32(1.5)):
        t = ag.tensor(data)
        assert t.shape == () and t.ndim == 0 and t.size == 1
        assert t.item() == 1.5


# ---------------------------------------------------------------------------------- zero copy


def test_np_asarray_is_zero_copy_both_ways():
    t = ag.tensor(np.zeros((2, 3)))
    view = np.asarray(t)
    view[1, 2] = 5.0
    assert t.numpy()[1, 2] == 5.0
    assert (t * 1.0).numpy()[1, 2] == 5.0           # the core sees the write
    t.numpy()[0, 0] = -1.0
    assert view[0, 0] == -1.0
    assert np.shares_memory(np.asarray(t), t.numpy())


def test_numpy_view_keeps_tensor_memory_alive():
    t = ag.tensor(np.arange(5.0))
    v = t.numpy()
    del t
    np.testing.assert_array_equal(v, np.arange(5.0))


def test_numpy_of_views_has_their_strides():
    t = ag.tensor(np.arange(12.0).reshape(3, 4))
    tt = t.T
    v = tt.numpy()
    assert v.shape == (4, 3)
    np.testing.assert_array_equal(v, np.arange(12.0).reshape(3, 4).T)
    assert np.shares_memory(v, t.numpy())
    s = t[:, 1::2].numpy()
    np.testing.assert_array_equal(s, np.arange(12.0).reshape(3, 4)[:, 1::2])
    assert np.shares_memory(s, t.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_from_numpy_shares_memory(dtype):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    t = ag.from_numpy(a)
    assert t.dtype == dtype and t.shape == (2, 3)
    a[0, 1] = 42
    assert t.numpy()[0, 1] == 42
    t.numpy()[1, 2] = -3
    assert a[1, 2] == -3
    assert np.shares_memory(t.numpy(), a)


def test_from_numpy_keeps_the_array_alive_and_its_strides():
    a = np.arange(12.0).reshape(3, 4)
    t = ag.from_numpy(a[:, ::2])
    del a
    np.testing.assert_array_equal(t.numpy(), np.arange(12.0).reshape(3, 4)[:, ::2])
    assert not t.is_contiguous()


def test_from_numpy_refuses_other_dtypes():
    with pytest.raises(TypeError, match="float32 and float64"):
        ag.from_numpy(np.arange(3))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        ag.from_numpy([1.0, 2.0])


# ---------------------------------------------------------------------------------- creation


@pytest.mark.parametrize("fn,ref", [
    (lambda **k: ag.zeros(2, 3, **k), np.zeros((2, 3))),
    (lambda **k: ag.zeros((2, 3), **k), np.zeros((2, 3))),
    (lambda **k: ag.ones(4, **k), np.ones(4)),
    (lambda **k: ag.full((2, 2), 7.5, **k), np.full((2, 2), 7.5)),
    (lambda **k: ag.empty(3, **k), None),
    (lambda **k: ag.arange(5, **k), np.arange(5.0)),
    (lambda **k: ag.arange(1, 2, 0.25, **k), np.arange(1, 2, 0.25)),
    (lambda **k: ag.linspace(0, 1, 5, **k), np.linspace(0, 1, 5)),
    (lambda **k: ag.eye(3, **k), np.eye(3)),
    (lambda **k: ag.eye(2, 3, **k), np.eye(2, 3)),
    (lambda **k: ag.zeros_like(ag.ones(2, 3), **k), np.zeros((2, 3))),
    (lambda **k: ag.ones_like(ag.ones(2, 3), **k), np.ones((2, 3))),
])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_creation_functions(fn, ref, dtype):
    t = fn(dtype=dtype) if dtype else fn()
    assert t.dtype == (np.float64 if dtype else np.float32)
    if ref is not None:
        np.testing.assert_array_equal(t.numpy(), ref.astype(t.dtype))
    else:
        assert t.shape == (3,)
    r = fn(dtype="float64", requires_grad=True)
    assert r.requires_grad and r.is_leaf


def test_zeros_like_keeps_dtype():
    base = ag.ones(2, dtype="float64")
    assert ag.zeros_like(base).dtype == np.float64
    assert ag.ones_like(base).dtype == np.float64


@pytest.mark.parametrize("fn", [ag.rand, ag.randn])
def test_random_creation_reproducible_with_manual_seed(fn):
    ag.manual_seed(123)
    a = fn(4, 5).numpy().copy()
    b = fn(4, 5).numpy().copy()
    ag.manual_seed(123)
    a2 = fn(4, 5).numpy().copy()
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, b)
    ag.manual_seed(124)
    assert not np.array_equal(fn(4, 5).numpy(), a)
    assert a.dtype == np.float32 and fn(2, dtype="float64").dtype == np.float64


def test_random_distributions():
    ag.manual_seed(0)
    u = ag.rand(20000).numpy()
    n = ag.randn(20000, dtype="float64").numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03


def test_negative_dimension_refused():
    with pytest.raises(ValueError, match="negative dimension"):
        ag.zeros(2, -1)


# ---------------------------------------------------------------------------------- attributes


def test_metadata():
    t = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.size == 24 and len(t) == 2
    assert t.dtype == np.float64
    assert t.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(t.T.numpy(), np.arange(24.0).reshape(2, 3, 4).T)


def test_item():
    assert ag.tensor(np.array([[2.5]])).item() == 2.5
    assert isinstance(ag.tensor(3.0).item(), float)
    assert float(ag.tensor(np.array(-1.5))) == -1.5


def test_astype():
    t = ag.tensor(np.array([1.0, 2.0 + 1e-12]))
    f = t.astype("float32")
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.numpy(), np.array([1.0, 2.0], dtype=np.float32))
    assert t.astype(np.float64) is t or t.astype(np.float64).dtype == np.float64
    # astype is recorded: the gradient flows back in the original dtype
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x.astype("float32") * 3.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_copy_is_independent_and_outside_graph():
    x = ag.tensor(np.arange(3.0), requires_grad=True)
    c = x.copy()
    assert not c.requires_grad and c.is_leaf
    c.numpy()[0] = 9.0
    assert x.numpy()[0] == 0.0
    y = (x * 2.0).copy()
    assert not y.requires_grad


def test_detach_shares_memory_and_leaves_graph():
    x = ag.tensor(np.arange(3.0), requires_grad=True)
    y = x * 2.0
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.numpy())
    z = d * x
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(3.0) * 2.0)   # no path through d


def test_requires_grad_grad_is_leaf():
    x = ag.tensor([1.0, 2.0])
    assert not x.requires_grad and x.grad is None and x.is_leaf
    x.requires_grad = True
    assert x.requires_grad
    y = x * x
    assert y.requires_grad and not y.is_leaf and y.grad_fn == "mul"
    y.sum().backward()
    assert isinstance(x.grad, ag.Tensor)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert y.grad is None                          # non-leaf grads are not kept by default
    x.grad = None
    assert x.grad is None
    z = ag.tensor([1.0]) * 2.0
    assert not z.requires_grad and z.is_leaf


def test_retain_grad_keeps_intermediate_gradient():
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * np.array([3.0, 6.0]))


def test_repr():
    r = repr(ag.tensor([1.0, 2.0]))
    assert r.startswith("tensor(") and "1." in r and "2." in r and "float64" not in r
    r64 = repr(ag.tensor(np.array([0.5]), requires_grad=True))
    assert "dtype=float64" in r64 and "requires_grad=True" in r64
    r_fn = repr(ag.tensor(np.array([0.5]), requires_grad=True) * 2.0)
    assert "grad_fn=<mul>" in r_fn
    assert repr(ag.tensor(2.0)).startswith("tensor(2")
    # an empty tensor's "[]" is ambiguous: its shape is shown unless it is 1-D
    assert repr(ag.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(ag.zeros(2, 0, dtype="float64")) == "tensor([], size=(2, 0), dtype=float64)"
    assert repr(ag.zeros(0)) == "tensor([])"


# ---------------------------------------------------------------------------------- grad modes


def test_no_grad_records_nothing():
    w = ag.tensor([1.0, 2.0], requires_grad=True)
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        y = w * 2.0
        assert not y.requires_grad and y.is_leaf
        with ag.enable_grad():
            assert ag.is_grad_enabled()
            z = w * 2.0
            assert z.requires_grad
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    assert not y.requires_grad


def test_no_grad_as_decorator_and_restores_on_exception():
    w = ag.tensor([1.0], requires_grad=True)

    @ag.no_grad()
    def f(v):
        return v * 3.0

    assert not f(w).requires_grad
    assert ag.is_grad_enabled()
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError("boom")
    assert ag.is_grad_enabled()


def test_set_grad_enabled():
    with ag.set_grad_enabled(False):
        assert not ag.is_grad_enabled()
    assert ag.is_grad_enabled()
    ag.set_grad_enabled(False)
    try:
        assert not ag.is_grad_enabled()
    finally:
        ag.set_grad_enabled(True)
    assert ag.is_grad_enabled()


def test_readme_example_runs_as_written():
    x = ag.tensor(np.random.randn(3), dtype="float64", requires_grad=True)
    y = x[0] * x[1] * ag.sin(x[2]) + ag.exp(x[0] * x[1])
    y.backward()
    g = np.asarray(x.grad)
    x0 = x.numpy()
    e = np.exp(x0[0] * x0[1])
    np.testing.assert_allclose(g, [x0[1] * np.sin(x0[2]) + x0[1] * e,
                                   x0[0] * np.sin(x0[2]) + x0[0] * e,
                                   x0[0] * x0[1] * np.cos(x0[2])], rtol=1e-12)
    assert np.shares_memory(g, x.grad.numpy())


def test_membership_compares_elements_like_numpy():
    t = ag.tensor([[1.0, 2.0], [3.0, np.nan]], requires_grad=True)
    assert 2.0 in t and 3 in t and np.float32(1.0) in t
    assert 5.0 not in t and float("nan") not in t
    assert ag.tensor([3.0, 4.0]) in ag.tensor([[1.0, 2.0], [3.0, 4.0]])   # any equal element, as numpy
