"""sort and argsort (the radix kernel of csrc/kernels/sort.c) against numpy's stable sort:
exact indices and bitwise values on random data, ties, NaN / inf / -0.0 / denormal mixes, every
axis and layout, 1 vs 2 threads; gradients by finite differences and exact routing on ties;
the Tensor methods, numpy's functions on a Tensor, and errors."""
import numpy as np
import pytest

import autograd_c as ag
from _threads import run_in_threads

rng = np.random.default_rng(7)
DTYPES = [np.float32, np.float64]
UINT = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}


def special(shape, dtype):
    """A mix of NaNs (both signs, assorted payloads), +-inf, +-0.0, denormals, extremes and a few
    ordinary values, drawn with many repeats."""
    fi = np.finfo(dtype)
    pool = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, fi.tiny, -fi.tiny,
                     fi.smallest_subnormal, -fi.smallest_subnormal, fi.tiny / 4, fi.max,
                     -fi.max, 1.0, -1.0, 0.5], dtype)
    a = pool[rng.integers(0, pool.size, shape)]
    bits = a.view(UINT[a.dtype])
    nan = np.isnan(a)
    bits[nan] |= rng.integers(1, 1 << 20, nan.sum()).astype(bits.dtype)   # NaN payloads
    return a


def draw(kind, shape, dtype):
    if kind == "normal":
        return rng.standard_normal(shape).astype(dtype)
    if kind == "ties":              # small integers: most elements tie, most digit passes skip
        return rng.integers(-3, 4, shape).astype(dtype)
    return special(shape, dtype)


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(UINT[a.dtype])


def check_against_numpy(a, axis, requires_grad):
    want_idx = np.argsort(a, axis=axis, kind="stable")
    want = np.sort(a, axis=axis, kind="stable")
    x = ag.tensor(a, requires_grad=requires_grad)
    idx = ag.argsort(x, axis=axis)
    assert idx.dtype == np.int64 and idx.shape == want_idx.shape
    np.testing.assert_array_equal(idx, want_idx)
    y = ag.sort(x, axis=axis)
    assert y.dtype == x.dtype and y.shape == want.shape and y.requires_grad == requires_grad
    np.testing.assert_array_equal(bits(y.numpy()), bits(want))      # -0.0 / NaN payloads too


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("n", [0, 1, 2, 24, 25, 300, 70000])
def test_1d_equals_numpys_stable_sort(dtype, kind, n):
    a = draw(kind, n, dtype)
    for requires_grad in (False, True):
        check_against_numpy(a, -1, requires_grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["normal", "ties", "special"])
@pytest.mark.parametrize("shape", [(7, 300), (3, 4, 50), (40, 1), (0, 5), (2, 3, 4, 5)])
def test_every_axis_equals_numpys_stable_sort(dtype, kind, shape):
    a = draw(kind, shape, dtype)
    for axis in list(range(-len(shape), len(shape))) + [None]:
        for requires_grad in (False, True):
            check_against_numpy(a, axis, requires_grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ordered_and_constant_rows(dtype):
    """Already sorted, reversed and constant rows (every digit pass skipped)."""
    up = np.linspace(-3, 3, 1000).astype(dtype)
    for a in (up, up[::-1].copy(), np.full(1000, 2.5, dtype), np.full(1000, np.nan, dtype)):
        for requires_grad in (False, True):
            check_against_numpy(a, -1, requires_grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_inputs(dtype):
    base = draw("ties", (6, 40), dtype)
    x = ag.tensor(base)
    views = {"transposed": (x.T, base.T), "strided": (x[:, ::3], base[:, ::3]),
             "flipped": (ag.flip(x, 1), base[:, ::-1]), "column": (x[:, 5], base[:, 5])}
    for name, (v, a) in views.items():
        assert not v.is_contiguous() or name == "column"
        for axis in range(-1, a.ndim):
            np.testing.assert_array_equal(ag.argsort(v, axis), np.argsort(a, axis, kind="stable"))
            np.testing.assert_array_equal(ag.sort(v, axis).numpy(), np.sort(a, axis, kind="stable"))


def test_large_single_row_and_many_rows_in_both_precisions():
    for dtype in DTYPES:
        big = rng.standard_normal(300_000).astype(dtype)
        big[::7] = big[3]                                   # long runs of ties
        np.testing.assert_array_equal(ag.argsort(big), np.argsort(big, kind="stable"))
        rows = draw("special", (500, 130), dtype)
        np.testing.assert_array_equal(ag.argsort(rows), np.argsort(rows, kind="stable"))


def test_one_and_two_threads_give_identical_orders():
    inputs = []
    for dtype in DTYPES:
        inputs += [draw("special", (400, 257), dtype),
                   rng.standard_normal((3, 50_000)).astype(dtype)]
    old = ag.get_num_threads()
    res = []
    try:
        for n in (1, 2):
            ag.set_num_threads(n)
            got = []
            for a in inputs:
                x = ag.tensor(a, requires_grad=True)
                got += [ag.argsort(a), bits(ag.sort(x).numpy()), bits(ag.sort(x, axis=0).numpy())]
            res.append(got)
    finally:
        ag.set_num_threads(old)
    for r1, r2 in zip(*res):
        assert r1.tobytes() == r2.tobytes()
    for a, got in zip(inputs, res[1][::3]):
        np.testing.assert_array_equal(got, np.argsort(a, kind="stable"))


def test_sorts_from_several_python_threads_at_once():
    a = rng.standard_normal((64, 4096))
    want = np.argsort(a, kind="stable")

    def work(seed):
        for _ in range(3):
            np.testing.assert_array_equal(ag.argsort(a), want)
            np.testing.assert_array_equal(ag.sort(ag.tensor(a, requires_grad=True)).numpy(),
                                          np.take_along_axis(a, want, -1))

    assert run_in_threads(work) == []


# ---- gradients ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, axis", [((7,), -1), ((4, 5), 0), ((4, 5), 1), ((2, 3, 4), -2),
                                         ((3, 4), None)])
def test_gradient_matches_finite_differences_and_the_exact_rule(shape, axis):
    a = rng.permutation(np.prod(shape)).reshape(shape) * 0.37 - 2.0      # distinct values
    w = rng.standard_normal(np.sort(a, axis=axis).shape)

    def f_np(v):
        return float((np.sort(v, axis=axis, kind="stable") ** 2 * w).sum())

    x = ag.tensor(a, requires_grad=True)
    (ag.sort(x, axis=axis) ** 2 * ag.tensor(w)).sum().backward()
    fd = ag.numerical_grad(lambda t: f_np(t.numpy()), a)
    np.testing.assert_allclose(x.grad.numpy(), fd, rtol=1e-7, atol=1e-8)
    # exact: d/dx_i = 2 x_i w[rank of x_i]; scatter 2 * sorted * w back through the order
    ax = -1 if axis is None else axis
    flat_a = a.reshape(-1) if axis is None else a
    order = np.argsort(flat_a, axis=ax, kind="stable")
    exact = np.zeros_like(flat_a)
    np.put_along_axis(exact, order, 2 * np.take_along_axis(flat_a, order, ax) * w, ax)
    np.testing.assert_allclose(x.grad.numpy(), exact.reshape(shape), rtol=1e-14)


def test_tied_elements_each_get_the_gradient_of_the_place_they_landed():
    # ties (incl. -0.0 == +0.0 and NaNs) land in input order: their gradients stay distinct
    a = np.array([1.0, np.nan, -0.0, 1.0, 0.0, -np.inf, np.nan, 1.0])
    order = np.argsort(a, kind="stable")
    assert order.tolist() == [5, 2, 4, 0, 3, 7, 1, 6]
    w = 10.0 ** np.arange(a.size)
    for axis in (-1, 0, None):
        x = ag.tensor(a, requires_grad=True)
        (ag.sort(x, axis=axis) * ag.tensor(w)).sum().backward()
        want = np.empty_like(w)
        want[order] = w
        np.testing.assert_array_equal(x.grad.numpy(), want)


def test_forward_mode_and_second_order_through_sort_along_an_inner_axis():
    a = rng.permutation(12).reshape(3, 4) * 0.5
    u = rng.standard_normal(a.shape)
    order = np.argsort(a, axis=0, kind="stable")
    _, t = ag.jvp(lambda v: ag.sort(v, axis=0), (ag.tensor(a),), (ag.tensor(u),))
    np.testing.assert_array_equal(t.numpy(), np.take_along_axis(u, order, 0))
    w = rng.standard_normal(a.shape)
    h = ag.hessian(lambda v: (ag.sort(v, axis=0) ** 3 * ag.tensor(w)).sum(), ag.tensor(a))
    rank_w = np.empty_like(w)
    np.put_along_axis(rank_w, order, w, 0)
    np.testing.assert_allclose(h.numpy().reshape(12, 12), np.diag((6 * a * rank_w).ravel()),
                               rtol=1e-14)


def test_argsort_is_outside_the_graph():
    x = ag.tensor([2.0, 1.0], requires_grad=True)
    idx = ag.argsort(x)
    assert isinstance(idx, np.ndarray) and idx.tolist() == [1, 0]


# ---- Tensor methods and numpy functions on a Tensor --------------------------------------------
def test_tensor_sort_is_numpys_in_place_sort_and_argsort_numpys():
    a = draw("special", (4, 9), np.float64)
    t = ag.tensor(a)
    np.testing.assert_array_equal(t.argsort(axis=0), np.argsort(a, axis=0, kind="stable"))
    assert t.sort(axis=0) is None
    np.testing.assert_array_equal(bits(t.numpy()), bits(np.sort(a, axis=0, kind="stable")))
    v = ag.tensor(a)
    col = v[:, 2]                       # a strided view: sorted in place through the view
    col.sort()
    np.testing.assert_array_equal(bits(v.numpy()[:, 2]), bits(np.sort(a[:, 2], kind="stable")))
    leaf = ag.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="sort: a leaf tensor that requires grad"):
        leaf.sort()
    with pytest.raises(TypeError, match="axis=None"):
        ag.tensor(a).sort(axis=None)


def test_numpy_sort_and_argsort_on_a_tensor_run_ours():
    a = draw("ties", (5, 6), np.float64)
    x = ag.tensor(a, requires_grad=True)
    y = np.sort(x, axis=0)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), np.sort(a, axis=0, kind="stable"))
    idx = np.argsort(x, axis=None, kind="stable")
    assert isinstance(idx, np.ndarray)
    np.testing.assert_array_equal(idx, np.argsort(a, axis=None, kind="stable"))
    np.testing.assert_array_equal(np.argsort(x, 0), np.argsort(a, 0, kind="stable"))


def test_integer_arrays_are_ordered_exactly():
    # 2**24 + 1 and 2**24 are one float32: argsort of integers must not round them
    a = np.array([2 ** 24 + 1, 2 ** 24, -5, 2 ** 24])
    np.testing.assert_array_equal(ag.argsort(a), [2, 1, 3, 0])
    np.testing.assert_array_equal(ag.argsort(a.reshape(2, 2), axis=0), [[1, 0], [0, 1]])


# ---- errors ------------------------------------------------------------------------------------
def test_errors_name_the_argument():
    x = ag.zeros(2, 3)
    with pytest.raises(ValueError, match="sort: axis 2 is out of bounds for a tensor of dimension 2"):
        ag.sort(x, axis=2)
    with pytest.raises(ValueError, match="argsort: axis -3 is out of bounds"):
        ag.argsort(x, axis=-3)
    with pytest.raises(TypeError, match="argsort: axis must be an integer or None, got float"):
        ag.argsort(x, axis=1.0)
    with pytest.raises(ValueError, match="sort: kind must be one of .* got 'bogo'"):
        ag.sort(x, kind="bogo")
    with pytest.raises(ValueError, match="argsort: kind= and stable= cannot be given together"):
        ag.argsort(x, kind="stable", stable=True)
    with pytest.raises(ValueError, match="sort: order= applies to structured arrays"):
        ag.sort(x, order="f")
    with pytest.raises(ValueError, match="sort: axis -1 is out of bounds for a tensor of dimension 0"):
        ag.sort(ag.tensor(1.0))
    with pytest.raises(TypeError, match="complex"):
        ag.argsort(np.array([1j, 2]))
    # numpy's rule: argsort of a 0-d array sorts one element; axis=None flattens
    np.testing.assert_array_equal(ag.argsort(ag.tensor(1.0)), np.argsort(np.array(1.0)))
    np.testing.assert_array_equal(ag.sort(ag.tensor(1.0), axis=None).numpy(), [1.0])


def test_the_binding_refuses_a_0d_tensor_with_a_clear_message():
    with pytest.raises(ValueError, match="sort: a 0-d tensor has no axis to sort along"):
        ag._core._sort_last(ag.tensor(1.0))
    with pytest.raises(ValueError, match="argsort: a 0-d tensor has no axis to sort along"):
        ag._core._argsort_last(ag.tensor(1.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("what", ["zeros", "nans"])
def test_values_without_grad_keep_the_stable_order_of_zero_signs_and_nan_payloads(dtype, what):
    # numpy's default sort may swap equal elements; only zeros of both signs and NaNs with
    # different bits make that visible in the values
    n = 5000
    if what == "zeros":
        a = np.where(rng.random(n) < 0.5, -0.0, 0.0).astype(dtype)
        a[rng.random(n) < 0.2] = 1.5
    else:
        a = rng.standard_normal(n).astype(dtype)
        a[rng.random(n) < 0.3] = np.nan
        b = a.view(UINT[a.dtype])
        b[np.isnan(a)] |= rng.integers(1, 1 << 20, np.isnan(a).sum()).astype(b.dtype)
    for shaped, axis in ((a, -1), (a.reshape(50, 100), 0), (a.reshape(50, 100), 1)):
        y = ag.sort(ag.tensor(shaped), axis=axis)
        np.testing.assert_array_equal(bits(y.numpy()),
                                      bits(np.sort(shaped, axis=axis, kind="stable")))
