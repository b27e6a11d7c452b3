"""The fast paths of roll, tile, repeat, diagonal, take_along_axis, tril and triu (slices,
broadcasts, strided slices, flat indices built per result element, cached masks) against numpy
over the axis, count, offset, 0-size and layout cases, in every mode.

Each function is linear in x, so its exact Jacobian is known in numpy: apply numpy's function to
the flat indices of x (``np.arange(size) + 1``, 0 marking a zero) and every output element
names the input element it reads.  The VJP of w is then ``bincount(index, w)``, the JVP of t is
numpy's function of t, and the Hessian of sum(f(x)^3 * w) is diag(bincount(index, 6 f(x) w)).
"""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad

rng = np.random.default_rng(7)

CASES = [
    # roll: both signs, shifts beyond the length, repeated axes, broadcast shifts, 0-size, 0-d
    ("roll", (2, 3, 4), dict(shift=1)),
    ("roll", (2, 3, 4), dict(shift=-2, axis=0)),
    ("roll", (2, 3, 4), dict(shift=(1, 2), axis=(0, -1))),
    ("roll", (2, 3, 4), dict(shift=(1, 5), axis=(1, 1))),
    ("roll", (2, 3, 4), dict(shift=3, axis=(0, 2))),
    ("roll", (2, 3, 4), dict(shift=np.array([-7, 9]), axis=(2, 0))),
    ("roll", (3, 4), dict(shift=10 ** 15 + 1, axis=-1)),
    ("roll", (3, 4), dict(shift=0, axis=1)),
    ("roll", (3, 4), dict(shift=8, axis=1)),
    ("roll", (3, 4), dict(shift=(2, -3))),
    ("roll", (0, 3), dict(shift=1, axis=0)),
    ("roll", (3, 0), dict(shift=2)),
    ("roll", (), dict(shift=3)),
    # tile: reps shorter and longer than ndim, ones, zeros, 0-d, many axes
    ("tile", (2, 3), dict(reps=2)),
    ("tile", (2, 3), dict(reps=(2, 1, 2))),
    ("tile", (3,), dict(reps=(2, 2))),
    ("tile", (2, 3), dict(reps=(1, 1))),
    ("tile", (2, 3), dict(reps=0)),
    ("tile", (2, 3), dict(reps=(0, 2))),
    ("tile", (0, 3), dict(reps=2)),
    ("tile", (), dict(reps=())),
    ("tile", (), dict(reps=3)),
    ("tile", (1, 2, 1, 2), dict(reps=(2, 1, 3, 2))),
    ("tile", (1, 1, 1, 1, 2), dict(reps=(2, 1, 2, 1, 2, 1, 2)),),      # past 8 axes: the fallback
    # repeat: one count (also in a list), counts per element, zeros, 0-size, 0-d
    ("repeat", (2, 3), dict(repeats=2)),
    ("repeat", (2, 3), dict(repeats=[1, 0, 3], axis=1)),
    ("repeat", (2, 3), dict(repeats=2, axis=0)),
    ("repeat", (2, 3), dict(repeats=[2], axis=1)),
    ("repeat", (2, 3), dict(repeats=np.int64(3), axis=-1)),
    ("repeat", (2, 3), dict(repeats=0, axis=1)),
    ("repeat", (2, 3), dict(repeats=1, axis=0)),
    ("repeat", (2, 3), dict(repeats=[1, 2], axis=0)),
    ("repeat", (4,), dict(repeats=[1, 2, 0, 3])),
    ("repeat", (2, 3, 2), dict(repeats=[3, 1, 2], axis=1)),
    ("repeat", (0, 3), dict(repeats=2, axis=0)),
    ("repeat", (), dict(repeats=3)),
    ("repeat", (1, 1, 2, 1, 1, 1, 1, 2), dict(repeats=2, axis=2)),    # 8 axes: the gather
    ("repeat", (3, 16), dict(repeats=2, axis=0)),      # rows of 16 and more: a broadcast
    ("repeat", (2, 2, 17), dict(repeats=3, axis=1)),
    ("repeat", (2, 16), dict(repeats=1, axis=0)),
    ("repeat", (2, 8, 2), dict(repeats=0, axis=0)),
    # diagonal: offsets in and out of range, batches, axes apart and in reverse order
    ("diagonal", (3, 4), dict()),
    ("diagonal", (3, 4), dict(offset=1)),
    ("diagonal", (3, 4), dict(offset=-2)),
    ("diagonal", (3, 4), dict(offset=4)),
    ("diagonal", (3, 4), dict(offset=-3)),
    ("diagonal", (2, 3, 3), dict(offset=-1, axis1=-2, axis2=-1)),
    ("diagonal", (2, 3, 4), dict(axis1=0, axis2=2)),
    ("diagonal", (2, 3, 4), dict(offset=1, axis1=2, axis2=0)),
    ("diagonal", (4, 3, 2), dict(offset=-1, axis1=1, axis2=0)),
    ("diagonal", (0, 3), dict()),
    ("diagonal", (2, 0, 3), dict(axis1=0, axis2=2)),
    # take_along_axis: negative indices, broadcasting either way, 3-d, axis=None, empty
    ("take_along_axis", (3, 4), dict(indices=np.array([[1, 3], [0, 0], [-1, 2]]), axis=1)),
    ("take_along_axis", (3, 4), dict(indices=np.array([[2, 0, 1, -3]]), axis=0)),
    ("take_along_axis", (3, 4), dict(indices=np.array([[1, -2]]), axis=1)),
    ("take_along_axis", (1, 4), dict(indices=np.array([[1], [3], [0]]), axis=1)),
    ("take_along_axis", (2, 3, 4), dict(indices=np.array([[[2], [0], [1], [2], [2]]] * 2),
                                        axis=1)),
    ("take_along_axis", (2, 3), dict(indices=np.array([5, 0, -6, 3]), axis=None)),
    ("take_along_axis", (3, 4), dict(indices=np.zeros((3, 0), np.int32), axis=1)),
    # tril / triu: diagonals in and past the plane, batches, 0-size
    ("tril", (3, 4), dict()), ("tril", (3, 4), dict(k=2)), ("tril", (3, 4), dict(k=-5)),
    ("triu", (3, 4), dict(k=-1)), ("triu", (3, 4), dict(k=5)), ("triu", (2, 3, 3), dict(k=1)),
    ("tril", (2, 0, 4), dict()), ("triu", (0, 3), dict()),
]
IDS = [f"{n}-{'x'.join(map(str, s))}-{i}" for i, (n, s, kw) in enumerate(CASES)]


def _call(m, name, x, kw):
    return getattr(m, name)(x, **kw)


def _index_map(name, shape, kw):
    """numpy's function of the flat indices of x, + 1: 0 where the output is a zero."""
    flat = np.arange(1, int(np.prod(shape)) + 1, dtype=np.int64).reshape(shape)
    return np.asarray(_call(np, name, flat, kw))


def _vjp_exact(index, w, size):
    return np.bincount(index.ravel(), weights=w.ravel(), minlength=size + 1)[1:]


def _layouts(a):
    """(leaf, x with a's values, how the leaf's gradient reads in a's shape) for each layout
    the core makes: contiguous, transposed, reversed (negative strides), every other element."""
    yield "contiguous", (lambda: (lambda t: (t, t))(ag.tensor(a, requires_grad=True)), lambda g: g)
    if a.ndim >= 2:
        def transposed():
            t = ag.tensor(np.ascontiguousarray(a.T), requires_grad=True)
            return t, ag.transpose(t)
        yield "transposed", (transposed, lambda g: g.T)
    if a.ndim >= 1:
        def reversed_():
            t = ag.tensor(np.ascontiguousarray(np.flip(a, -1)), requires_grad=True)
            return t, ag.flip(t, -1)
        yield "reversed", (reversed_, lambda g: np.flip(g, -1))

        def stepped():
            wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
            wide[..., ::2] = a
            t = ag.tensor(wide, requires_grad=True)
            return t, t[..., ::2]
        yield "stepped", (stepped, lambda g: g[..., ::2])


@pytest.mark.parametrize("name,shape,kw", CASES, ids=IDS)
def test_values_and_exact_gradients_in_every_layout(name, shape, kw):
    a = rng.standard_normal(shape)
    want = np.asarray(_call(np, name, a, kw))
    index = _index_map(name, shape, kw)
    w = rng.standard_normal(want.shape)
    exact = _vjp_exact(index, w, a.size).reshape(shape)
    for layout, (make, read) in _layouts(a):
        leaf, x = make()
        y = _call(ag, name, x, kw)
        assert y.shape == want.shape and y.dtype == np.float64, layout
        np.testing.assert_array_equal(y.numpy(), want, err_msg=layout)
        (y * ag.tensor(w)).sum().backward()
        np.testing.assert_allclose(read(leaf.grad.numpy()), exact, rtol=1e-15, atol=0,
                                   err_msg=layout)


@pytest.mark.parametrize("name,shape,kw", CASES, ids=IDS)
def test_gradient_matches_finite_differences(name, shape, kw):
    a = rng.standard_normal(shape)
    w = rng.standard_normal(np.shape(_call(np, name, a, kw)))
    x = ag.tensor(a, requires_grad=True)
    (_call(ag, name, x, kw) * ag.tensor(w)).sum().backward()
    num = fd_grad(lambda v: float((np.asarray(_call(np, name, v, kw)) * w).sum()), a)
    # a linear f: only rounding of the sums divided by the step (~1e-15 |f| / 6e-6) remains
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name,shape,kw", CASES, ids=IDS)
def test_forward_mode_is_exact(name, shape, kw):
    a = rng.standard_normal(shape)
    t = rng.standard_normal(shape)
    y, jt = ag.jvp(lambda v: _call(ag, name, v, kw), (ag.tensor(a),), (ag.tensor(t),))
    np.testing.assert_array_equal(jt.numpy(), np.asarray(_call(np, name, t, kw)))


# the Hessian's batch axis takes one of the 8 dimensions: the 8-d cases have none left
SECOND = [(c, i) for c, i in zip(CASES, IDS) if len(c[1]) < 8]


@pytest.mark.parametrize("name,shape,kw", [c for c, _ in SECOND], ids=[i for _, i in SECOND])
def test_second_order_is_exact(name, shape, kw):
    a = rng.standard_normal(shape)
    # Hessian of sum(f(x)^3 * w): diag(sum over the outputs reading x_i of 6 f(x) w)
    fa = np.asarray(_call(np, name, a, kw))
    w = rng.standard_normal(fa.shape)
    index = _index_map(name, shape, kw)
    h = ag.hessian(lambda v: (_call(ag, name, v.reshape(shape), kw) ** 3 * ag.tensor(w)).sum(),
                   ag.tensor(a.reshape(-1))).numpy()
    np.testing.assert_allclose(h, np.diag(_vjp_exact(index, 6 * fa * w, a.size)),
                               rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name,shape,kw", CASES, ids=IDS)
def test_float32_gives_numpys_float32_values(name, shape, kw):
    a = rng.standard_normal(shape).astype(np.float32)
    y = _call(ag, name, ag.tensor(a), kw)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), np.asarray(_call(np, name, a, kw)))


def test_a_broadcast_input_gives_numpys_values_and_sums_its_gradient():
    row = rng.standard_normal(4)
    a = np.broadcast_to(row, (3, 4))
    for name, kw in [("roll", dict(shift=1, axis=0)), ("tile", dict(reps=(1, 2))),
                     ("repeat", dict(repeats=2, axis=0)), ("diagonal", dict(offset=1)),
                     ("tril", dict())]:
        r = ag.tensor(row, requires_grad=True)
        y = _call(ag, name, ag.broadcast_to(r, (3, 4)), kw)
        np.testing.assert_array_equal(y.numpy(), np.asarray(_call(np, name, a, kw)), err_msg=name)
        w = rng.standard_normal(y.shape)
        (y * ag.tensor(w)).sum().backward()
        exact = _vjp_exact(_index_map(name, (3, 4), kw), w, 12).reshape(3, 4).sum(0)
        np.testing.assert_allclose(r.grad.numpy(), exact, rtol=1e-15, err_msg=name)


@pytest.mark.parametrize("call", [
    lambda x: ag.roll(x, 0, 1), lambda x: ag.roll(x, 3, 1), lambda x: ag.roll(x, 1),
    lambda x: ag.tile(x, 1), lambda x: ag.tile(x, (2, 1)), lambda x: ag.repeat(x, 1, 0),
    lambda x: ag.repeat(x[:1], 3, 0), lambda x: ag.repeat(x, [1, 2, 0], 1),

    lambda x: ag.diagonal(x), lambda x: ag.take_along_axis(x, np.array([[0], [2]]), 1),
], ids=["roll0", "roll", "roll_flat", "tile1", "tile", "repeat1", "repeat_row", "repeat_counts",

        "diagonal", "take_along_axis"])
def test_results_are_copies_that_writes_do_not_cross(call):
    base = np.arange(6.0).reshape(2, 3)
    x = ag.from_numpy(base)
    y = call(x)
    before = y.numpy().copy()
    base[...] = -1.0                      # a write into x does not reach the result ...
    np.testing.assert_array_equal(y.numpy(), before)
    if y.size:
        y.numpy()[...] = 7.0              # ... and the result is writable, apart from x
        assert (base == -1.0).all()


def test_repeat_of_long_rows_copies_also_by_one_and_from_a_single_row():
    # a (1, n) row repeated along axis 0 merges, as a view, into a stride-0 tensor over x
    base = np.arange(40.0).reshape(2, 20)
    x = ag.from_numpy(base)
    for y in (ag.repeat(x[:1], 1, 0), ag.repeat(x[:1], 3, 0), ag.repeat(x, 2, 0)):
        before = y.numpy().copy()
        base[...] = -1.0
        np.testing.assert_array_equal(y.numpy(), before)
        y.numpy()[...] = 7.0
        assert (base == -1.0).all()
        base[...] = np.arange(40.0).reshape(2, 20)


def test_the_fast_paths_record_slices_broadcasts_and_copies_not_a_gather_of_all_of_x():
    x = ag.tensor(rng.standard_normal((4, 20)), requires_grad=True)
    assert ag.roll(x, 2, 1).grad_fn == "concat"
    assert ag.diagonal(x, 1).grad_fn == "copy"
    assert ag.tril(x).grad_fn == "where"
    for y in (ag.tile(x, (2, 3)), ag.repeat(x, 3, 0)):    # rows of 20: broadcast and copy
        assert y.grad_fn == "reshape"
    # short rows: one gather of the last axis by a 60-element index, the rows its batch
    y = ag.repeat(x, 3, 1)
    assert y.grad_fn == "take"
    np.testing.assert_array_equal(y.numpy(), np.repeat(x.detach().numpy(), 3, 1))


def test_tril_masks_are_cached_per_plane_and_dtype_and_stay_correct():
    for dtype in ("float32", "float64"):
        for k in (0, 1, 0):
            a = rng.standard_normal((2, 5, 5)).astype(dtype)
            np.testing.assert_array_equal(ag.tril(ag.tensor(a), k).numpy(), np.tril(a, k))
            np.testing.assert_array_equal(ag.triu(ag.tensor(a), k).numpy(), np.triu(a, k))


def test_errors_name_the_argument_and_the_values():
    x = ag.zeros(2, 3)
    with pytest.raises(TypeError, match="roll: shift must be integers"):
        ag.roll(x, 1.5, 0)
    with pytest.raises(ValueError, match="roll: shift .* and axis .* do not pair up"):
        ag.roll(x, (1, 2, 3), (0, 1))
    with pytest.raises(ValueError, match="roll: axis 2 is out of bounds"):
        ag.roll(x, 1, 2)
    with pytest.raises(ValueError, match="tile: reps must not be negative, got \\(-1,\\)"):
        ag.tile(x, -1)
    with pytest.raises(TypeError, match="tile: reps must be an integer or a sequence"):
        ag.tile(x, 1.5)
    with pytest.raises(TypeError, match="repeat: axis must be an integer or None"):
        ag.repeat(x, 2, (0,))
    with pytest.raises(ValueError):
        ag.repeat(x, -1, 0)                # numpy's own check of the counts
    with pytest.raises(ValueError, match="diagonal: needs at least 2 dimensions"):
        ag.diagonal(ag.zeros(3))
    with pytest.raises(IndexError, match="take_along_axis: index 3 is out of bounds for axis 1 "
                                         "with size 3"):
        ag.take_along_axis(x, np.array([[3], [0]]), 1)
    with pytest.raises(IndexError, match="index -4 is out of bounds"):
        ag.take_along_axis(x, np.array([[-4], [0]]), 1)
    with pytest.raises(ValueError, match="take_along_axis: indices must have as many dimensions"):
        ag.take_along_axis(x, np.array([0, 1]), 1)
    with pytest.raises(ValueError, match="with axis=None, indices must be 1-d"):
        ag.take_along_axis(x, np.array([[0]]), None)
    with pytest.raises(ValueError, match=r"indices of shape \(3, 1\) do not broadcast against x "
                                         r"of shape \(2, 3\)"):
        ag.take_along_axis(x, np.zeros((3, 1), np.int64), 1)
