"""The strided copy behind contiguous(), astype, broadcast copies, concatenate, setitem and the
gradient scatter of slices and flips, against numpy, bit for bit.

The copy reorders and merges dimensions, walks negative strides backwards, copies rows of 2-4
elements without a call per row and replicates broadcast blocks from the destination; each
layout below reaches one of those paths (short rows, stride 0 inside and outside, negative
strides, permutations, 0-size, 0-d, eight dimensions).  The same view is built in numpy and here
from the same values (random bit patterns, so NaN payloads, -0.0, infinities and subnormals are
included), and the copies must agree in every bit.
"""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad

rng = np.random.default_rng(11)

# (name, base shape, view of the base: the same expression for numpy and for autograd_c)
LAYOUTS = [
    ("contiguous", (3, 4), lambda m, x: x),
    ("bcast_inner_1", (1,), lambda m, x: m.broadcast_to(x, (7, 1))),
    ("bcast_inner_2", (2,), lambda m, x: m.broadcast_to(x, (9, 2))),
    ("bcast_inner_3", (3,), lambda m, x: m.broadcast_to(x, (5, 3))),
    ("bcast_inner_4", (4,), lambda m, x: m.broadcast_to(x, (6, 4))),
    ("bcast_inner_5", (5,), lambda m, x: m.broadcast_to(x, (3, 5))),
    ("bcast_inner_64", (64,), lambda m, x: m.broadcast_to(x, (300, 64))),
    ("bcast_long", (2,), lambda m, x: m.broadcast_to(x, (20000, 2))),   # past the 16 KiB chunk
    ("bcast_big_block", (3, 2000), lambda m, x: m.broadcast_to(x, (5, 3, 2000))),
    ("bcast_column", (6, 1), lambda m, x: m.broadcast_to(x, (6, 3))),
    ("bcast_middle", (3, 1, 2), lambda m, x: m.broadcast_to(x, (3, 7, 2))),
    ("bcast_two_axes", (1, 3, 1), lambda m, x: m.broadcast_to(x, (4, 3, 5))),
    ("bcast_outer_and_inner", (2, 1, 3, 1), lambda m, x: m.broadcast_to(x, (2, 4, 3, 5))),
    ("bcast_0d", (), lambda m, x: m.broadcast_to(x, (6,))),
    ("bcast_of_flip", (3,), lambda m, x: m.broadcast_to(x[::-1], (4, 3))),
    ("flip_of_bcast", (3,), lambda m, x: m.broadcast_to(x, (4, 3))[::-1, ::-1]),
    ("bcast_of_slice", (4, 6), lambda m, x: m.broadcast_to(x[:, 1::2], (2, 4, 3))),
    ("zero_d", (), lambda m, x: x),
    ("flip_rows", (5, 6), lambda m, x: x[:, ::-1]),
    ("flip_cols", (5, 6), lambda m, x: x[::-1]),
    ("flip_all", (3, 4, 5), lambda m, x: x[::-1, ::-1, ::-1]),
    ("flip_step", (7, 9), lambda m, x: x[::-2, 7::-3]),
    ("transpose", (5, 7), lambda m, x: x.T),
    ("transpose_tiles", (37, 50), lambda m, x: x.T),                   # 8 x 8 tiles and edges
    ("batched_transpose_tiles", (3, 40, 21), lambda m, x: x.transpose((0, 2, 1))[:, :, ::-1]),
    ("permute3", (2, 3, 4), lambda m, x: x.transpose((2, 0, 1))),
    ("permute_flip", (3, 4, 5), lambda m, x: x.transpose((1, 2, 0))[::-1, :, 1::2]),
    ("rows_of_2", (6, 5), lambda m, x: x[:, 1:3]),
    ("rows_of_3_step", (8, 9), lambda m, x: x[::2, 4:7]),
    ("step_slices", (6, 7, 8), lambda m, x: x[1::2, ::3, 2:6]),
    ("unit_dims", (1, 5, 1, 3), lambda m, x: x[..., ::-1]),
    ("empty_slice", (4, 3), lambda m, x: x[:, 2:2]),
    ("empty_bcast", (3,), lambda m, x: m.broadcast_to(x, (0, 3))),
    ("eight_dims", (2, 1, 3, 1, 2, 1, 2, 2),
     lambda m, x: x.transpose((7, 0, 6, 1, 5, 2, 4, 3))[::-1, :, ::-1, :, :, ::-1]),
]
IDS = [c[0] for c in LAYOUTS]
UINT = {np.float32: np.uint32, np.float64: np.uint64}


def bit_values(shape, dtype):
    """Random bit patterns of dtype (NaNs with payloads, infinities, subnormals, -0.0)."""
    u = UINT[dtype]
    n = int(np.prod(shape))
    raw = rng.integers(0, np.iinfo(u).max, size=n, dtype=u, endpoint=True)
    return raw.view(dtype).reshape(shape)


def special_values(shape, dtype):
    """Finite values mixed with -0.0, +-inf, NaN and subnormals (for dtype conversions)."""
    a = rng.standard_normal(shape).astype(dtype) * dtype(1e3)
    flat = a.reshape(-1)
    specials = np.array([-0.0, np.inf, -np.inf, np.nan, 1e-310, 3e-39, 1e39, -1e-45], dtype=np.float64)
    with np.errstate(over="ignore"):
        flat[: min(flat.size, specials.size)] = specials[: flat.size].astype(dtype)
    return a


def bits(a):
    a = np.array(a, order="C")      # (ascontiguousarray makes a 0-d array 1-d)
    return a.view(UINT[a.dtype.type])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,shape,view", LAYOUTS, ids=IDS)
def test_contiguous_copies_every_bit(name, shape, view, dtype):
    a = bit_values(shape, dtype)
    want = np.array(view(np, a), order="C")
    got = view(ag, ag.tensor(a)).contiguous().numpy()
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(bits(got), bits(want))


@pytest.mark.parametrize("src,dst", [(np.float32, np.float64), (np.float64, np.float32)])
@pytest.mark.parametrize("name,shape,view", LAYOUTS, ids=IDS)
def test_astype_of_a_view_is_numpys_cast(name, shape, view, src, dst):
    a = special_values(shape, src)
    with np.errstate(over="ignore"):
        want = view(np, a).astype(dst)
    got = view(ag, ag.tensor(a)).astype(np.dtype(dst).name).numpy()
    np.testing.assert_array_equal(bits(got), bits(want))


# (destination key, value shape): writes through flipped, stepped and permuted destinations
SETITEM = [
    ((slice(None, None, -1), slice(None)), (7,)),
    ((slice(None), slice(None, None, -2)), (5, 4)),
    ((slice(None, None, -2), slice(1, 3)), (2,)),
    ((slice(None, None, -1), slice(None, None, -1)), ()),
    ((slice(1, 4), slice(None, None, 3)), (3, 1)),
    ((slice(2, 2), slice(None)), (7,)),
    ((3, slice(None, None, -1)), (7,)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("key,vshape", SETITEM, ids=[str(i) for i in range(len(SETITEM))])
def test_setitem_through_a_strided_destination(key, vshape, dtype):
    a = bit_values((5, 7), dtype)
    v = bit_values(vshape, dtype)
    want = a.copy()
    want[key] = v
    t = ag.tensor(a.copy())
    t[key] = ag.tensor(v)
    np.testing.assert_array_equal(bits(t.numpy()), bits(want))


def test_setitem_into_a_broadcast_view_raises_instead_of_writing_one_place_twice():
    b = ag.broadcast_to(ag.zeros(3), (4, 3))
    with pytest.raises(RuntimeError, match="broadcast"):
        b[::-1] = ag.tensor(np.arange(3.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_concatenate_of_strided_inputs(axis, dtype):
    a = bit_values((4, 6, 5), dtype)
    parts_np = [a[:, :, ::-1], a.transpose((0, 1, 2))[::-1, :, :],
                np.broadcast_to(a[:1, :1, :1], (4, 6, 5)), a[:, ::-1, :]]
    parts_ag_base = ag.tensor(a)
    parts_ag = [parts_ag_base[:, :, ::-1], parts_ag_base[::-1, :, :],
                ag.broadcast_to(parts_ag_base[:1, :1, :1], (4, 6, 5)), parts_ag_base[:, ::-1, :]]
    want = np.concatenate(parts_np, axis=axis)
    got = ag.concatenate(parts_ag, axis=axis).numpy()
    np.testing.assert_array_equal(bits(got), bits(want))


def test_concatenate_rows_of_two_into_a_wide_result():
    a = rng.standard_normal((1000, 2))
    parts = [a, a[::-1], a * 2]
    want = np.concatenate(parts, axis=1)
    got = ag.concatenate([ag.tensor(p) for p in parts], axis=1).numpy()
    np.testing.assert_array_equal(got, want)


# basic-indexing keys: their gradient is w placed at the selected places, zeros elsewhere
SLICES = [
    (slice(None, None, -1),),
    (slice(None), slice(None, None, -1)),
    (slice(None, None, -1), slice(None, None, -1), slice(None, None, -1)),
    (slice(None, None, -2),),
    (slice(1, None, 2), slice(None, None, -3)),
    (Ellipsis, slice(3, 0, -1)),
    (2, slice(None, None, -1)),
    (None, slice(None, None, -1), 1),
    (slice(None), slice(1, 3)),
    (slice(2, 2),),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("key", SLICES, ids=[str(i) for i in range(len(SLICES))])
def test_slice_gradient_is_w_at_the_selected_places_and_zero_elsewhere(key, dtype):
    a = rng.standard_normal((4, 5, 6)).astype(dtype)
    w = rng.standard_normal(a[key].shape).astype(dtype)
    want = np.zeros_like(a)
    want[key] = w
    x = ag.tensor(a, requires_grad=True)
    (x[key] * ag.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), want)
    # the gradient of a plain sum reaches the scatter as a broadcast of one value
    x.grad = None
    x[key].sum().backward()
    ones = np.zeros_like(a)
    ones[key] = 1
    np.testing.assert_array_equal(x.grad.numpy(), ones)


@pytest.mark.parametrize("key", SLICES, ids=[str(i) for i in range(len(SLICES))])
def test_slice_gradient_matches_finite_differences(key):
    a = rng.standard_normal((4, 5, 6))
    w = rng.standard_normal(a[key].shape)
    x = ag.tensor(a, requires_grad=True)
    (ag.sin(x[key]) * ag.tensor(w)).sum().backward()
    num = fd_grad(lambda v: float((np.sin(v[key]) * w).sum()), a)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-7, atol=1e-9)


FLIP_AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", FLIP_AXES, ids=[str(a) for a in FLIP_AXES])
def test_flip_gradient_is_the_flipped_cotangent(axis, dtype):
    a = rng.standard_normal((3, 4, 5)).astype(dtype)
    w = bit_values(a.shape, dtype)      # moved, never summed: every bit must survive
    x = ag.tensor(a, requires_grad=True)
    ag.flip(x, axis).backward(ag.tensor(w))
    np.testing.assert_array_equal(bits(x.grad.numpy()), bits(np.flip(w, axis)))


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (1,)])
def test_flip_gradient_of_0d_and_0_size_tensors(shape):
    a = rng.standard_normal(shape)
    w = rng.standard_normal(shape)
    x = ag.tensor(a, requires_grad=True)
    (ag.flip(x) * ag.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.flip(w))


def test_scatter_into_reused_memory_fills_the_unselected_places_with_zeros():
    # a freed storage of the same size comes back from the block cache holding NaNs; a flip
    # covers every place (written in one pass), a stepped slice covers half (zeros first)
    a = rng.standard_normal((300, 400))
    w = rng.standard_normal((300, 400))
    for key, wk in [((slice(None, None, -1), slice(None, None, -1)), w),
                    ((slice(None), slice(None, None, -2)), w[:, ::2]),
                    ((slice(None, None, -1), slice(0, 1)), w[:, :1])]:
        dirty = ag.tensor(np.full((300, 400), np.nan)) * 1.0
        del dirty
        want = np.zeros_like(a)
        want[key] = wk
        x = ag.tensor(a, requires_grad=True)
        x[key].backward(ag.tensor(np.ascontiguousarray(wk)))
        np.testing.assert_array_equal(x.grad.numpy(), want)


def test_second_order_through_the_flip_scatter():
    # f(x) = sum(w * flip(x)^3): Hessian-vector product v -> 6 * flip(flip(x) * w * flip(v))
    a = rng.standard_normal((4, 5))
    w = rng.standard_normal((4, 5))
    v = rng.standard_normal((4, 5))
    x = ag.tensor(a, requires_grad=True)
    (ag.flip(x, 1) ** 3 * ag.tensor(w)).sum().backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.numpy(), np.flip(3 * np.flip(a, 1) ** 2 * w, 1), rtol=1e-14)
    x.grad = None
    (g * ag.tensor(v)).sum().backward()
    want = np.flip(6 * np.flip(a, 1) * w * np.flip(v, 1), 1)
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-14)


def test_one_and_two_threads_copy_the_same_bits():
    a = bit_values((700, 3), np.float32)
    w = bit_values((600, 900), np.float64)
    results = []
    old = ag.get_num_threads()
    try:
        for n in (1, 2):
            ag.set_num_threads(n)
            b = ag.broadcast_to(ag.tensor(a)[:, ::-1], (4, 700, 3)).contiguous().numpy()
            x = ag.tensor(np.zeros((600, 900)), requires_grad=True)
            ag.flip(x).backward(ag.tensor(w))
            results.append((bits(b).copy(), bits(x.grad.numpy()).copy()))
    finally:
        ag.set_num_threads(old)
    for r1, r2 in zip(*results):
        np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(results[0][1], bits(np.flip(w)))
