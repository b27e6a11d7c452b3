"""Reductions walked in place (csrc/kernels/reduce_rows.h): a leading or middle axis by rows into a
row-length block of accumulators, and transposed, permuted or sliced views without a copy when
the reduced run or the last kept group has stride 1.  Checked against numpy's float64 answer,
the contiguous copy (NaN and signed-zero ties bit for bit), every kernel ISA, 1 and 2 threads,
math.fsum for float32 accuracy, and finite differences for the gradients."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd_c as ag
from autograd_c._config import available_isas

from _fd import fd_grad

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = [np.float32, np.float64]
OPS = ["sum", "prod", "max", "min", "mean"]


def _views(rng, dtype, scale=1.0):
    """(name, numpy array, the same as an autograd_c view) for each layout the walk covers,
    plus two it hands to the copy path (a column step and a reordering permutation); values
    1 + scale * N(0, 1) (for products) unless scale is 1."""
    a = rng.standard_normal((40, 66))
    b = rng.standard_normal((6, 7, 45))
    if scale != 1.0:
        a, b = 1 + scale * a, 1 + scale * b
    a, b = a.astype(dtype), b.astype(dtype)
    out = []
    for name, arr, f in [
        ("contiguous", a, lambda t: t),
        ("transpose", a, lambda t: t.T),
        ("row slice", a, lambda t: t[:, 5:61]),
        ("row step", a, lambda t: t[::3]),
        ("both slices", a, lambda t: t[2:37, 1:50].T),
        ("column step", a, lambda t: t[:, ::2]),
        ("3-d", b, lambda t: t),
        ("3-d permute (2, 0, 1)", b, lambda t: ag.permute(t, (2, 0, 1))),
        ("3-d permute (1, 0, 2)", b, lambda t: ag.permute(t, (1, 0, 2))),
        ("3-d middle slice", b, lambda t: t[:, 1:6, :40]),
    ]:
        v = f(ag.tensor(arr))
        out.append((name, v.numpy().copy(), v))
    return out


def _axes(ndim):
    cands = [0, 1, -1, None, (0, 1)] if ndim == 2 else [0, 1, 2, -2, (0, 1), (1, 2), (0, 2), None]
    return cands


def _np_ref(op, a, axis, keepdims):
    a64 = a.astype(np.float64)
    return getattr(np, op)(a64, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_every_layout_and_axis_matches_numpys_float64_answer(op, dtype):
    rng = np.random.default_rng(3)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    for name, arr, v in _views(rng, dtype, 0.01 if op == "prod" else 1.0):
        for axis in _axes(arr.ndim):
            for keepdims in (False, True):
                got = getattr(ag, op)(v, axis, keepdims=keepdims)
                want = _np_ref(op, arr, axis, keepdims)
                assert got.shape == want.shape and got.dtype == dtype, (name, axis, keepdims)
                if op in ("max", "min"):
                    np.testing.assert_array_equal(got.numpy(), want.astype(dtype), err_msg=f"{name} {axis}")
                else:
                    np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol * np.abs(arr).sum(),
                                               err_msg=f"{name} {axis}")


def _tricky(shape, dtype, seed):
    """Values with NaNs of both signs and ties of +0 and -0, where the first one decides."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=shape).astype(dtype) * 0.0
    x[rng.random(shape) < 0.5] = -0.0
    x[rng.random(shape) < 0.02] = np.nan
    x[rng.random(shape) < 0.02] = -np.nan
    x[rng.random(shape) < 0.1] = -1.0
    return x


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_views_keep_the_first_nan_and_the_first_of_tied_zeros_bit_for_bit(op, dtype):
    # the in-place walk of a view gives the bits of the contiguous copy (the C-order walk)
    for shape in [(300, 260), (7, 300), (300, 7), (2, 9), (9, 2)]:
        x = _tricky(shape, dtype, shape[0])
        for view, arr in [(ag.tensor(np.ascontiguousarray(x.T)).T, x),
                          (ag.tensor(x)[:, 1:], x[:, 1:]),
                          (ag.tensor(x)[1:], x[1:])]:
            np.testing.assert_array_equal(_bits(view.numpy()), _bits(arr))
            for axis in (0, 1, None):
                got = getattr(ag, op)(view, axis).numpy()
                want = getattr(ag, op)(ag.tensor(np.ascontiguousarray(arr)), axis).numpy()
                np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"{shape} {axis}")
                np.testing.assert_array_equal(got, getattr(np, op)(arr, axis=axis))


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_transposed_view_sums_as_the_tensor_it_transposes(dtype):
    x = np.random.default_rng(5).standard_normal((130, 517)).astype(dtype)
    t = ag.tensor(x)
    for op in ("sum", "prod", "max", "min"):
        np.testing.assert_array_equal(_bits(getattr(ag, op)(t.T, 0).numpy()),
                                      _bits(getattr(ag, op)(t, 1).numpy()), err_msg=op)
        np.testing.assert_array_equal(_bits(getattr(ag, op)(t.T, 1).numpy()),
                                      _bits(getattr(ag, op)(t, 0).numpy()), err_msg=op)
    # over a leading axis each column is the float64 row-by-row sum, rounded once
    np.testing.assert_array_equal(ag.sum(t.T, 1).numpy(),
                                  x.astype(np.float64).sum(axis=0).astype(dtype))


def test_a_float32_sum_of_a_million_values_is_float64_accurate():
    rng = np.random.default_rng(11)
    x = rng.random(10**6).astype(np.float32) + np.float32(0.5)
    exact = math.fsum(x.astype(np.float64))
    one_ulp = float(np.spacing(np.float32(exact)))
    cases = {"flat": ag.sum(ag.tensor(x)).item(),
             "leading axis": ag.sum(ag.tensor(x.reshape(10**6, 1)), 0).numpy()[0],
             "transposed": ag.sum(ag.tensor(x.reshape(1000, 1000)).T, (0, 1)).item(),
             "stepped run": ag.sum(ag.tensor(x.reshape(10**6 // 2, 2)).T, 1).numpy().sum(dtype=np.float64)}
    for name, got in cases.items():
        assert abs(float(got) - exact) <= one_ulp, (name, float(got), exact)
    # a leading axis of a million rows, two columns: each column against fsum
    y = x.reshape(-1, 2)
    got = ag.sum(ag.tensor(y)[:, :1], 0).numpy()[0]
    col = math.fsum(y[:, 0].astype(np.float64))
    assert abs(float(got) - col) <= float(np.spacing(np.float32(col))) / 2 + 1e-300


def _results(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2050, 1030)).astype(dtype)
    x[17, 3] = np.nan
    t = ag.tensor(x)
    out = []
    for v in (t, t.T, t[:, 3:1000], t[::2]):
        for op in ("sum", "prod", "max", "min"):
            for axis in (0, 1):
                out.append(_bits(getattr(ag, op)(v, axis).numpy()))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_and_two_threads_give_the_same_bits(dtype):
    prev = ag.get_num_threads()
    try:
        ag.set_num_threads(1)
        one = _results(dtype)
        ag.set_num_threads(2)
        two = _results(dtype)
    finally:
        ag.set_num_threads(prev)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_every_kernel_isa_gives_the_same_bits(tmp_path):
    here = np.concatenate([r.view(np.uint8) for dt in DTYPES for r in _results(dt)])
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            "import numpy as np, test_r9_reduce as m; "
            f"np.save({str(tmp_path / 'r.npy')!r}, np.concatenate([r.view(np.uint8) "
            "for dt in m.DTYPES for r in m._results(dt)]))")
    for isa in available_isas():
        env = dict(os.environ, AUTOGRAD_C_ISA=isa, PYTHONPATH=ROOT)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        np.testing.assert_array_equal(np.load(tmp_path / "r.npy"), here, err_msg=isa)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_axes_of_views(dtype):
    t = ag.tensor(np.zeros((0, 5), dtype=dtype))
    np.testing.assert_array_equal(ag.sum(t.T, 1).numpy(), np.zeros(5, dtype=dtype))
    np.testing.assert_array_equal(ag.prod(t.T, 1, keepdims=True).numpy(), np.ones((5, 1), dtype=dtype))
    assert ag.sum(t.T, 0).shape == (0,)
    assert np.isnan(ag.mean(t.T, -1).numpy()).all()
    with pytest.raises(ValueError, match="max"):
        ag.max(t.T, 1)
    with pytest.raises(ValueError, match="min"):
        ag.min(ag.tensor(np.zeros((4, 0, 3), dtype=dtype))[:, :, 1:], 1)


def _loss(op, view, axis, w):
    return lambda a: (getattr(np, op)(view(a), axis=axis) * w).sum()


@pytest.mark.parametrize("op", OPS)
def test_gradients_through_views_match_finite_differences(op):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((9, 12))
    if op == "prod":
        a = 1 + 0.1 * a
    for vname, view_ag, view_np in [("T", lambda t: t.T, lambda x: x.T),
                                    ("slice", lambda t: t[1:8, 2:11], lambda x: x[1:8, 2:11]),
                                    ("3-d middle", lambda t: ag.reshape(t, (3, 3, 12))[:, :, 1:],
                                     lambda x: x.reshape(3, 3, 12)[:, :, 1:])]:
        for axis in (0, 1):
            shape = np.delete(np.array(view_np(a).shape), axis)
            w = rng.standard_normal(tuple(shape))
            t = ag.tensor(a, requires_grad=True)
            y = ag.sum(getattr(ag, op)(view_ag(t), axis) * ag.tensor(w))
            y.backward()
            want = fd_grad(_loss(op, view_np, axis, w), a)
            np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-6, atol=1e-8,
                                       err_msg=f"{op} {vname} {axis}")


def _eight_partial_sums(x):
    """Each row of x (2-d) summed as the contiguous kernel does, in float64: 8 interleaved
    partial sums over the whole chunks of 8 (each stepped in order), combined pairwise, then
    the tail added in order."""
    x = x.astype(np.float64)
    n8 = x.shape[1] // 8 * 8
    p = x[:, :n8].reshape(x.shape[0], -1, 8).sum(axis=1)    # numpy adds the chunks in order
    a = ((p[:, 0] + p[:, 1]) + (p[:, 2] + p[:, 3])) + ((p[:, 4] + p[:, 5]) + (p[:, 6] + p[:, 7]))
    a = 0.0 + a
    for j in range(n8, x.shape[1]):
        a = a + x[:, j]
    return a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 3, 4, 5, 9])
@pytest.mark.parametrize("n", [16, 23, 517])
def test_trailing_sums_are_the_eight_partial_sums_for_any_number_of_rows(rows, n, dtype):
    # runs are summed four at a time where there are four: the same bits as one at a time
    x = (np.random.default_rng(n + rows).standard_normal((rows, n))
         * 10.0 ** np.random.default_rng(1).integers(-4, 5, (rows, n))).astype(dtype)
    want = _eight_partial_sums(x).astype(dtype)
    t = ag.tensor(x)
    for got in (ag.sum(t, 1), ag.sum(t.T, 0), ag.sum(ag.tensor(np.pad(x, ((0, 0), (0, 5))))[:, :n], 1),
                ag.stack([ag.sum(t[i], 0) for i in range(rows)])):
        np.testing.assert_array_equal(_bits(got.numpy()), _bits(want))
