"""Hostile arguments at the binding: sizes, axes and indices beyond the C integer types get a
ValueError/IndexError naming the op and the argument (they raised a bare OverflowError, "value too
large to convert to int", naming neither), and the error paths leave no live tensor behind."""
import gc

import numpy as np
import pytest

import autograd_c as ag

HUGE_AXES = [2**31, 2**62, 2**63, -2**63 - 1, 2**70]


def _live():
    gc.collect()
    return ag.live_tensors(), ag.live_storages(), ag.live_nodes()


@pytest.mark.parametrize("axis", HUGE_AXES)
@pytest.mark.parametrize("name, call", [
    ("cumsum", lambda x, a: ag.cumsum(x, a)),
    ("softmax", lambda x, a: ag.softmax(x, a)),
    ("log_softmax", lambda x, a: x.log_softmax(a)),
    ("concatenate", lambda x, a: ag.cat([x, x], a)),
])
def test_huge_axis_is_a_valueerror_naming_the_op(name, call, axis):
    x = ag.randn(3, 4, requires_grad=True)
    with pytest.raises(ValueError, match=rf"{name}: axis {axis} is out of bounds for a tensor of dimension 2"):
        call(x * 2, axis)


@pytest.mark.parametrize("dims", [(2**62,), (2**40, 2**40), (0, 2**31)])
def test_permute_huge_entry_is_a_valueerror(dims):
    x = ag.randn(3, 4) if len(dims) == 2 else ag.randn(5)
    with pytest.raises(ValueError, match=r"permute: \d+ is not a valid permutation entry"):
        x.permute(*dims)


@pytest.mark.parametrize("make", [
    lambda s: ag.zeros(s), lambda s: ag.ones(s, 2), lambda s: ag.full((2, s), 1.0),
    lambda s: ag.empty(s),
])
def test_creation_shape_beyond_int64_is_a_valueerror(make):
    with pytest.raises(ValueError, match=r"dimension 9223372036854775808 in shape .* is too large"):
        make(2**63)


@pytest.mark.parametrize("op, call", [
    ("reshape", lambda x, s: x.reshape(s)),
    ("reshape", lambda x, s: x.view(s, -1)),
    ("reshape", lambda x, s: ag.reshape(x, (s,))),
    ("broadcast_to", lambda x, s: x.expand(s, 3, 4)),
    ("broadcast_to", lambda x, s: ag.broadcast_to(x, (s, 4))),
])
@pytest.mark.parametrize("size", [2**63, 2**70])
def test_shape_beyond_int64_is_a_valueerror_naming_the_op(op, call, size):
    x = ag.randn(3, 4)
    before = x.numpy().copy()
    with pytest.raises(ValueError, match=rf"{op}: dimension {size} in shape .* is too large"):
        call(x, size)
    np.testing.assert_array_equal(x.numpy(), before)


@pytest.mark.parametrize("key", [2**63, -2**63 - 1, (2**64, 0), (0, Ellipsis, np.uint64(2**63))])
def test_setitem_index_beyond_int64_is_an_indexerror_and_writes_nothing(key):
    x = ag.tensor(np.arange(12.0).reshape(3, 4))
    v0 = x._version
    with pytest.raises(IndexError, match="out of bounds"):
        x[key] = 1.0
    np.testing.assert_array_equal(x.numpy(), np.arange(12.0).reshape(3, 4))
    assert x._version == v0


def test_getitem_index_beyond_int64_is_an_indexerror():
    x = ag.randn(3, 4)
    for key in (2**63, (0, -2**63 - 1)):
        with pytest.raises(IndexError, match="out of bounds"):
            x[key]


def test_valid_axes_and_shapes_still_work():
    a = np.arange(12.0).reshape(3, 4)
    x = ag.tensor(a)
    np.testing.assert_allclose(ag.cumsum(x, -1).numpy(), np.cumsum(a, -1))
    np.testing.assert_allclose(ag.cat([x, x], -1).numpy(), np.concatenate([a, a], -1))
    np.testing.assert_allclose(x.permute(1, 0).numpy(), a.T)
    np.testing.assert_allclose(x.reshape(2, -1).numpy(), a.reshape(2, -1))
    np.testing.assert_allclose(x.expand(2, 3, 4).numpy(), np.broadcast_to(a, (2, 3, 4)))
    e = np.exp(a - a.max(0))
    np.testing.assert_allclose(ag.softmax(x, 0).numpy(), e / e.sum(0))
    assert ag.zeros(2, 0, 3).shape == (2, 0, 3)


@pytest.mark.parametrize("fn", [
    lambda x: ag.cumsum(x * 2, 2**63),
    lambda x: ag.cat([x * 2, x], 2**62),
    lambda x: (x * 2).reshape(2**63),
    lambda x: (x * 2).expand(2**63, 3, 4),
    lambda x: (x * 2).permute(2**62, 0),
])
def test_huge_argument_errors_leak_nothing(fn):
    x = ag.randn(3, 4, requires_grad=True)
    for _ in range(3):
        with pytest.raises(ValueError):
            fn(x)
    base = _live()
    for _ in range(200):
        with pytest.raises(ValueError):
            fn(x)
    assert _live() == base


@pytest.mark.parametrize("k", [2**40, 2**62, np.int64(2**62)])
def test_split_of_an_empty_axis_into_huge_sections_raises_at_once(k):
    # it looped building k + 1 bounds (hung) where numpy raises MemoryError
    with pytest.raises(MemoryError, match=rf"split: {k} sections of an axis of length 0"):
        ag.split(ag.zeros(0, 3), k)


def test_split_of_an_empty_axis_into_a_few_sections_still_works():
    parts = ag.split(ag.zeros(0, 3), 4)
    assert [p.shape for p in parts] == [(0, 3)] * 4
    assert [p.shape for p in ag.split(ag.zeros(6, 2), 3)] == [(2, 2)] * 3
