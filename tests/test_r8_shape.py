"""Round 8, shape: the blocked reductions of csrc/ops/reduce.c (max/min/sum/prod of a contiguous x
whose reduced dims are one run) and roll as one op whose VJP is the roll back.

The reductions must give the bits of the general path they replace: max/min a NaN anywhere in
the reduced slice gives the first NaN of the slice (in C order), ties keep the first of equal
values (so -0.0 before 0.0 gives -0.0), the gradient is shared equally among tied extremes;
float32 sums and products are the float64 row-by-row accumulation rounded once.  Gradients are
checked against central differences in float64 and against exact answers.
"""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad

DTYPES = [np.float32, np.float64]


def _axes_of(ndim):
    """Every axis, every negative axis, runs of axes, a split pair, None."""
    out = [None] + list(range(ndim)) + list(range(-ndim, 0))
    out += [tuple(range(k)) for k in range(2, ndim + 1)]
    out += [tuple(range(k, ndim)) for k in range(1, ndim - 1)]
    if ndim >= 3:
        out.append((0, ndim - 1))
    return out


def _first_extreme(x, axis, keepdims, better):
    """The reference: each output element is the identity stepped over the reduced slice in C
    order, taking v when v is better or NaN, and staying once NaN (the old scalar step)."""
    axes = tuple(range(x.ndim)) if axis is None else \
        tuple(a % x.ndim for a in ((axis,) if np.isscalar(axis) else axis))
    kept = [d for d in range(x.ndim) if d not in axes]
    moved = np.moveaxis(x, kept + list(axes), range(x.ndim))
    flat = moved.reshape(tuple(x.shape[d] for d in kept) + (-1,))
    out = np.empty(flat.shape[:-1], x.dtype)
    for idx in np.ndindex(out.shape):
        acc = x.dtype.type(-np.inf if better(1, 0) else np.inf)
        for v in flat[idx]:
            if acc == acc and (better(v, acc) or v != v):
                acc = v
        out[idx] = acc
    if keepdims:
        out = out.reshape(tuple(1 if d in axes else x.shape[d] for d in range(x.ndim)))
    return out


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _tricky(shape, dtype, seed):
    """Small integers (many ties), NaNs of both signs, -inf, and zeros of both signs."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=shape).astype(dtype)
    x[rng.random(shape) < 0.15] = -0.0
    x[rng.random(shape) < 0.05] = -np.inf
    x[rng.random(shape) < 0.04] = np.nan
    x[rng.random(shape) < 0.04] = -np.nan
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 1030), (1030, 3), (3, 2, 4, 5), (2, 1, 3)])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_keep_the_first_nan_and_the_first_of_ties_bit_for_bit(op, shape, dtype):
    x = _tricky(shape, dtype, 7)
    better = (lambda v, a: v > a) if op == "max" else (lambda v, a: v < a)
    for axis in _axes_of(len(shape)):
        for keepdims in (False, True):
            got = getattr(ag, op)(ag.tensor(x), axis, keepdims=keepdims).numpy()
            want = _first_extreme(x, axis, keepdims, better)
            assert got.shape == want.shape, (axis, keepdims)
            np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"axis={axis}")
            # and numpy's value (NaN where numpy has NaN, equal elsewhere)
            np.testing.assert_array_equal(got, getattr(np, op)(x, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_of_non_contiguous_inputs_match_the_contiguous_copy(op, dtype):
    x = _tricky((12, 40), dtype, 3)
    base = ag.tensor(x)
    views = {"transpose": (base.T, x.T), "step": (base[:, ::3], x[:, ::3]),
             "flip": (ag.flip(base, 0), x[::-1]), "offset": (base[2:, 5:], x[2:, 5:])}
    for name, (t, a) in views.items():
        for axis in (0, 1, -1, None):
            got = getattr(ag, op)(t, axis).numpy()
            want = getattr(ag, op)(ag.tensor(np.ascontiguousarray(a)), axis).numpy()
            np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"{name} {axis}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_over_a_leading_axis_of_a_large_array_with_nan_columns(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1024, 1031)).astype(dtype)   # more than one block of 1024 outputs
    x[17, 3] = np.nan
    x[900, 3] = -np.nan      # the first NaN of column 3 is the positive one
    x[1000, 1030] = -np.nan
    x[:, 500] = -np.inf
    for op in ("max", "min"):
        got = getattr(ag, op)(ag.tensor(x), 0).numpy()
        want = getattr(np, op)(x, axis=0)
        np.testing.assert_array_equal(got, want)
        assert not np.signbit(got[3]) and np.signbit(got[1030])
    assert np.isneginf(ag.max(ag.tensor(x), 0).numpy()[500])


def _sequential(x, axis, op):
    """op over ``axis`` of x (2-d) stepped in C order from the identity, float32 sums and
    products in float64 rounded once: the general path's order for a strided inner loop."""
    wide = np.float64 if op in ("sum", "prod") else x.dtype
    v = np.moveaxis(x, axis, 0).astype(wide) if axis is not None else \
        x.reshape(-1).astype(wide)
    acc = np.full(v.shape[1:], {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}[op], wide)
    for row in v:
        if op == "sum":
            acc = acc + row
        elif op == "prod":
            acc = acc * row
        else:
            better = (row > acc) if op == "max" else (row < acc)
            acc = np.where((acc == acc) & (better | (row != row)), row, acc)
    return acc.astype(x.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "prod", "max", "min"])
def test_reductions_of_transposed_and_strided_views_keep_the_order_of_the_walk(op, dtype):
    # a view whose inner stride is not 1 is copied (C order) and reduced in blocks: the same
    # steps in the same order as the general path's walk of the view
    rng = np.random.default_rng(9)
    if op == "prod":
        x = (1 + 0.01 * rng.standard_normal((70, 90))).astype(dtype)
    elif op == "sum":
        x = (rng.standard_normal((70, 90)) * 10.0 ** rng.integers(-3, 4, (70, 90))).astype(dtype)
    else:
        x = _tricky((70, 90), dtype, 9)
    views = {"transpose": ag.tensor(np.ascontiguousarray(x.T)).T,
             "step": ag.tensor(np.repeat(x, 2, axis=1))[:, ::2],
             "flip": ag.flip(ag.tensor(np.ascontiguousarray(x[:, ::-1])), 1)}
    for name, t in views.items():
        np.testing.assert_array_equal(t.numpy(), x)
        for axis in (0, 1, -1, None):
            got = getattr(ag, op)(t, axis).numpy()
            want = _sequential(x, axis, op)
            if op == "sum" and name == "transpose" and axis == 0:
                # round 9: the view's reduced axis has stride 1, so it is summed in place as
                # the tensor it transposes (partial sums), not copied and stepped in order
                np.testing.assert_allclose(got, want, rtol=1e-12 if dtype == np.float64 else 1e-6)
                want = ag.sum(ag.tensor(np.ascontiguousarray(x.T)), 1).numpy()
            np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"{name} {axis}")


@pytest.mark.parametrize("n", [16, 33, 64, 100])
def test_float64_transposed_copies_are_exact(n):
    x = np.random.default_rng(n).standard_normal((n, n + 3))
    x[0, 1] = -np.nan
    t = ag.tensor(x)
    np.testing.assert_array_equal(_bits(t.T.contiguous().numpy()), _bits(x.T))
    np.testing.assert_array_equal(_bits(ag.tensor(x[:, 1:]).T.contiguous().numpy()),
                                  _bits(x[:, 1:].T))


@pytest.mark.parametrize("op", ["max", "min"])
def test_ties_of_signed_zeros_keep_the_first(op):
    x = np.array([[-0.0, 0.0], [0.0, -0.0], [-0.0, -0.0]])
    got = getattr(ag, op)(ag.tensor(x), 0).numpy()
    np.testing.assert_array_equal(np.signbit(got), [True, False])
    got = getattr(ag, op)(ag.tensor(x), 1).numpy()
    np.testing.assert_array_equal(np.signbit(got), [True, False, True])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_a_long_trailing_run_keeps_the_sign_of_its_first_zero_and_its_first_nan(op, dtype):
    # long rows are scanned in interleaved lanes: the first zero in order (here -0.0 at 2,
    # +0.0 at 33, in lanes 2 and 1) and the first NaN must still win
    sign = -1 if op == "max" else 1
    x = np.full((3, 300), sign * 5.0, dtype)
    x[:, 2], x[:, 33] = -0.0, 0.0
    x[1, 40], x[1, 7] = np.nan, -np.nan
    x[2, 2], x[2, 33] = 0.0, -0.0
    got = getattr(ag, op)(ag.tensor(x), -1).numpy()
    np.testing.assert_array_equal(np.signbit(got), [True, True, False])
    assert got[0] == 0 and got[2] == 0 and np.isnan(got[1])
    got = getattr(ag, op)(ag.tensor(x), 1, keepdims=True).numpy()
    np.testing.assert_array_equal(_bits(got[:, 0]), _bits(_first_extreme(
        x, 1, False, (lambda v, a: v > a) if op == "max" else (lambda v, a: v < a))))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_an_empty_reduced_slice_raises_a_value_error(op, dtype):
    x = ag.tensor(np.zeros((0, 3), dtype))
    for axis in (0, -2, None, (0, 1)):
        with pytest.raises(ValueError, match=f"{op}.*zero-size"):
            getattr(ag, op)(x, axis)
    # reducing a non-empty axis of an empty array is an empty result, as numpy's
    assert getattr(ag, op)(x, 1).shape == (0,)
    assert getattr(ag, op)(x, 1, keepdims=True).shape == (0, 1)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_gradient_is_shared_among_ties_and_matches_finite_differences(op):
    # ties: the gradient of each output is split evenly among its tied extremes
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 2.0], [3.0, -1.0, 2.0]])
    t = ag.tensor(x, requires_grad=True)
    g = np.array([1.0, 2.0, 3.0])
    getattr(ag, op)(t, 0).backward(ag.tensor(g))
    want = {"max": [[0, 1, 1], [0.5, 1, 1], [0.5, 0, 1]],
            "min": [[1, 0, 1], [0, 0, 1], [0, 2, 1]]}[op]
    np.testing.assert_array_equal(t.grad.numpy(), want)
    # no ties: central differences, every axis layout
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 5))
    w = rng.standard_normal((3, 4, 5))
    for axis in _axes_of(3):
        f_np = lambda a: float(np.sum(getattr(np, op)(a, axis=axis, keepdims=True) * w.sum(
            axis=axis, keepdims=True)))
        t = ag.tensor(x, requires_grad=True)
        wk = ag.tensor(w.sum(axis=axis, keepdims=True))
        (getattr(ag, op)(t, axis, keepdims=True) * wk).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), fd_grad(f_np, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("shape,axis", [((2, 1030), 0), ((5, 2, 33), 1), ((7, 3, 1030), 1),
                                        ((1024, 17), 0), ((3000, 2), 1), ((40, 9), (0, 1)),
                                        ((2, 3, 4, 5), (1, 2))])
def test_sums_and_products_are_the_float64_row_by_row_accumulation(shape, axis):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    want = x.astype(np.float64).sum(axis=axis).astype(np.float32)
    np.testing.assert_array_equal(ag.sum(ag.tensor(x), axis).numpy(), want)
    y = (1 + 0.01 * rng.standard_normal(shape)).astype(np.float32)
    np.testing.assert_array_equal(ag.prod(ag.tensor(y), axis).numpy(),
                                  np.prod(y.astype(np.float64), axis=axis).astype(np.float32))
    z = rng.standard_normal(shape)
    np.testing.assert_allclose(ag.sum(ag.tensor(z), axis).numpy(), z.sum(axis=axis), rtol=1e-14)


def test_two_row_float32_sums_and_products_are_exact_at_extreme_exponents():
    # random bit patterns: huge, tiny and subnormal magnitudes, infinities; the float32 add of
    # two rows equals the float64 add rounded once (the general path's result)
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2 ** 32, size=(2, 50000), dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = np.where(np.isnan(x), np.float32(1.5), x)
    for axis, xx in ((0, x), (1, np.ascontiguousarray(x.T))):
        wide = xx.astype(np.float64)
        got = ag.sum(ag.tensor(xx), axis).numpy()
        with np.errstate(all="ignore"):
            want = wide.sum(axis=axis).astype(np.float32)
            want_p = wide.prod(axis=axis).astype(np.float32)
        np.testing.assert_array_equal(_bits(got), _bits(want))
        np.testing.assert_array_equal(_bits(ag.prod(ag.tensor(xx), axis).numpy()), _bits(want_p))


def test_sum_of_minus_zeros_is_plus_zero_as_before():
    # the accumulation starts from the identity 0.0 (0.0 + -0.0 = 0.0), on every path
    for shape, axis in (((2, 3), 0), ((3, 2), 1), ((5, 3), 0), ((20, 3), 0)):
        got = ag.sum(ag.tensor(np.full(shape, -0.0, np.float32)), axis).numpy()
        assert not np.signbit(got).any()


# ------------------------------------------------------------------------------------- roll
ROLLS = [((7,), 3, 0), ((7,), -9, None), ((4, 6), 1, 1), ((4, 6), -2, -1), ((4, 6), 5, 0),
         ((4, 6), 13, None), ((3, 4, 5), (1, 2), (0, 2)), ((3, 4, 5), (2, -1), (1, 1)),
         ((3, 4, 5), 6, -2), ((2, 3), 0, 1), ((2, 3), 3, 1), ((0, 3), 2, 0), ((2, 0), 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,shift,axis", ROLLS)
def test_roll_values_and_gradient_are_numpys_roll_and_the_roll_back(shape, shift, axis, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    t = ag.tensor(x, requires_grad=True)
    y = ag.roll(t, shift, axis)
    np.testing.assert_array_equal(y.numpy(), np.roll(x, shift, axis))
    g = rng.standard_normal(shape).astype(dtype)
    y.backward(ag.tensor(g))
    # the transpose of a roll is the roll back: exact
    back = np.roll(g, tuple(-s for s in np.atleast_1d(shift)), axis) if axis is not None else \
        np.roll(g.reshape(-1), -shift).reshape(shape)
    np.testing.assert_array_equal(t.grad.numpy(), back)


def test_roll_of_a_non_contiguous_input_and_no_aliasing():
    x = np.arange(24.0).reshape(4, 6)
    t = ag.tensor(x)
    np.testing.assert_array_equal(ag.roll(t.T, 2, 0).numpy(), np.roll(x.T, 2, 0))
    np.testing.assert_array_equal(ag.roll(t[:, ::-2], 1, 1).numpy(), np.roll(x[:, ::-2], 1, 1))
    y = ag.roll(t, 0, 1)                      # a copy also when nothing moves
    np.asarray(y)[0, 0] = 100.0
    assert t.numpy()[0, 0] == 0.0


def test_roll_gradient_matches_finite_differences_and_forward_mode():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5))
    w = rng.standard_normal((3, 5))
    f_np = lambda a: float(np.sum(np.roll(a, (2, -1), (0, 1)) ** 3 * w))
    f_ag = lambda a: (ag.roll(a, (2, -1), (0, 1)) ** 3 * ag.tensor(w)).sum()
    g = ag.grad(f_ag)(x)
    np.testing.assert_allclose(g.numpy(), fd_grad(f_np, x), rtol=1e-7, atol=1e-9)
    # forward mode: the tangent is rolled the same way
    v = rng.standard_normal((3, 5))
    out, tan = ag.jvp(lambda a: ag.roll(a, 4, 1), (x,), (v,))
    np.testing.assert_array_equal(tan.numpy(), np.roll(v, 4, 1))
    # second order: grad of the gradient (the roll back recorded) against differences of it
    h = ag.grad(lambda a: (ag.grad(f_ag)(a) * ag.tensor(w)).sum())(x)
    fd_h = fd_grad(lambda a: float(np.sum(3 * np.roll(np.roll(a, (2, -1), (0, 1)) ** 2 * w,
                                                      (-2, 1), (0, 1)) * w)), x)
    np.testing.assert_allclose(h.numpy(), fd_h, rtol=1e-6, atol=1e-8)


def test_roll_rejects_bad_arguments():
    t = ag.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        ag.roll(t, 1, 2)
    with pytest.raises(TypeError, match="shift must be integers"):
        ag.roll(t, 1.5, 0)
    with pytest.raises(ValueError, match="do not pair up"):
        ag.roll(t, (1, 2, 3), (0, 1))


# ------------------------------------------------------------------------------ tile, repeat
# fold: the gradient from g, in x's shape; gathered: repeat of single elements by 3, which
# gathers and scatter-adds in x's dtype (the others sum a broadcast: float64, rounded once)
@pytest.mark.parametrize("fn,np_fn,fold,gathered", [
    (lambda t: ag.tile(t, (2, 1)), lambda a: np.tile(a, (2, 1)),
     lambda g: g.reshape(2, 4, 6).sum(0), False),
    (lambda t: ag.tile(t, (1, 3)), lambda a: np.tile(a, (1, 3)),
     lambda g: g.reshape(4, 3, 6).sum(1), False),
    (lambda t: ag.tile(t, (3, 2, 1)), lambda a: np.tile(a, (3, 2, 1)),
     lambda g: g.reshape(3, 2, 4, 6).sum((0, 1)), False),
    (lambda t: ag.repeat(t, 2, 0), lambda a: np.repeat(a, 2, 0),
     lambda g: g.reshape(4, 2, 6).sum(1), False),
    (lambda t: ag.repeat(t, 3, 1), lambda a: np.repeat(a, 3, 1),
     lambda g: g.reshape(4, 6, 3).sum(2), True),
    (lambda t: ag.repeat(t, 2, -1), lambda a: np.repeat(a, 2, -1),
     lambda g: g.reshape(4, 6, 2).sum(2), True),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_tile_and_repeat_gradients_are_the_folded_sums(fn, np_fn, fold, gathered, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6)).astype(dtype)
    t = ag.tensor(x, requires_grad=True)
    y = fn(t)
    np.testing.assert_array_equal(y.numpy(), np_fn(x))
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(ag.tensor(g))
    want = fold(g) if gathered else fold(g.astype(np.float64)).astype(dtype)
    np.testing.assert_array_equal(t.grad.numpy(), want)
    if dtype == np.float64:
        w = rng.standard_normal(y.shape)
        f_np = lambda a: float(np.sum(np_fn(a) ** 2 * w))
        got = ag.grad(lambda a: (fn(a) ** 2 * ag.tensor(w)).sum())(x)
        np.testing.assert_allclose(got.numpy(), fd_grad(f_np, x), rtol=1e-7, atol=1e-9)


def test_repeated_backward_frees_the_graph():
    # a finished backward releases its graph: a second one without retain_graph raises
    t = ag.tensor(np.ones((3, 4)), requires_grad=True)
    y = ag.roll(t, 1, 1).sum()
    y.backward()
    with pytest.raises(RuntimeError):
        y.backward()
