"""Audit of numpy interop, dtype rules, elementwise ops and reductions: one regression test per
bug found (each failed before its fix), plus checks of the behaviours the audit chose."""
import os
import sys

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import _core

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_grad as _fd_grad  # noqa: E402


def _prod_hessian_exact(x):
    """d^2 prod(x) / dx_i dx_j = prod of the entries other than i and j (0 on the diagonal)."""
    n = x.size
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                H[i, j] = np.prod(np.delete(x, [i, j]))
    return H


# ------------------------------------------------------------------ prod: second derivatives
@pytest.mark.parametrize("x0", [[0.0, 2.0, 3.0], [0.0, 0.0, 3.0], [2.0, 0.0, 5.0, 0.0],
                                [0.0, 0.0, 0.0], [1.5, -2.0, 3.0], [0.0, -1.5, 2.0, 0.5]])
def test_prod_hessian_with_zeros_is_exact_in_both_modes(x0):
    # the gradient of prod at a zero was a constant where() branch: the Hessian of
    # prod([0, 2, 3]) came out [[0, 0, 0], [3, 0, 0], [2, 0, 0]] by reverse-over-reverse and
    # [[0, 3, 2], [0, 0, 0], [0, 0, 0]] by forward-over-reverse (exact: [[0, 3, 2], [3, 0, 0],
    # [2, 0, 0]]); prod([0, 0, 3]) gave all zeros (exact: 3 at (0, 1) and (1, 0))
    x0 = np.array(x0)
    want = _prod_hessian_exact(x0)
    np.testing.assert_allclose(ag.hessian(lambda x: ag.prod(x), x0).numpy(), want, atol=1e-12)
    fwd = ag.jacobian(lambda x: ag.grad(lambda y: ag.prod(y))(x), x0, mode="forward")
    np.testing.assert_allclose(fwd.numpy(), want, atol=1e-12)


def test_prod_over_an_axis_hvp_with_zeros_matches_finite_differences():
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((3, 4))
    x0[0, 1] = 0.0
    x0[2, 2] = x0[2, 3] = 0.0
    w = rng.standard_normal(3)
    u = rng.standard_normal(x0.shape)

    def grad_np(x):
        t = ag.tensor(x, requires_grad=True)
        (ag.prod(t, axis=1) * ag.tensor(w)).sum().backward()
        return t.grad.numpy().copy()

    want = _fd_grad(lambda x: float((grad_np(x) * u).sum()), x0)
    x = ag.tensor(x0, requires_grad=True)
    (g,) = _core._grad([(ag.prod(x, axis=1) * ag.tensor(w)).sum()], None, [x], True, True, False)
    (hv,) = _core._grad([(g * ag.tensor(u)).sum()], None, [x], False, False, False)
    np.testing.assert_allclose(hv.numpy(), want, atol=1e-6, rtol=1e-6)


def test_prod_third_derivative_with_one_zero():
    # d^3 (x0 x1 x2) / dx0 dx1 dx2 = 1, also at x0 = 0
    f = lambda x: ag.prod(x)  # noqa: E731
    x0 = np.array([0.0, 2.0, 3.0])
    d3 = ag.jacobian(lambda x: ag.hessian(f, x), x0, mode="reverse")
    want = np.zeros((3, 3, 3))
    for p in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        want[p] = 1.0
    np.testing.assert_allclose(d3.numpy(), want, atol=1e-12)


# ------------------------------------------------------------------ dtype rules
def test_tuples_give_float32_like_lists():
    # ag.tensor((1.0, 2.0)) was float64 while ag.tensor([1.0, 2.0]) is float32
    assert ag.tensor((1.0, 2.0)).dtype == np.float32
    assert ag.tensor(((1.0, 2.0), (3.0, 4.0))).dtype == np.float32
    assert ag.tensor([1.0, 2.0]).dtype == np.float32
    # a function applied to a Python list follows the same rule as ag.tensor (was float64,
    # while ag.exp(1.0) is float32)
    assert ag.exp([0.0, 1.0]).dtype == np.float32
    assert ag.sum((1.0, 2.0)).dtype == np.float32
    assert ag.exp(np.zeros(2)).dtype == np.float64      # a float64 array keeps its dtype
    assert ag.tensor((1.0, 2.0), dtype="float64").dtype == np.float64


@pytest.mark.parametrize("fn", [ag.add, ag.subtract, ag.multiply, ag.divide, ag.power,
                                ag.maximum, ag.minimum])
def test_python_scalar_takes_the_other_operands_dtype_on_either_side(fn):
    # fn(1.0, float64 array) was float32 while fn(float64 array, 1.0) was float64
    a = np.array([1.0, 2.0])
    assert fn(a, 1.5).dtype == np.float64
    assert fn(1.5, a).dtype == np.float64
    np.testing.assert_allclose(fn(1.5, a).numpy(), fn(ag.tensor(1.5, dtype="float64"), a).numpy())
    assert fn(1.5, np.array([1.0], dtype=np.float32)).dtype == np.float32
    assert fn(1.5, 2.0).dtype == np.float32


def test_where_with_a_python_scalar_branch_takes_the_other_branchs_dtype():
    c = np.array([1.0, 0.0])
    r = ag.where(c, 0.5, np.array([3.0, 4.0]))
    assert r.dtype == np.float64
    np.testing.assert_array_equal(r.numpy(), [0.5, 4.0])
    assert ag.where(c, np.array([3.0, 4.0]), 0.5).dtype == np.float64


# ------------------------------------------------------------------ comparisons with None
def test_comparison_with_none_is_false_not_an_error():
    # t == None raised TypeError ("cannot convert NoneType"), so `t in [None, ...]` and
    # `if t == None` failed; torch answers False / True
    t = ag.tensor([1.0, 2.0])
    assert (t == None) is False  # noqa: E711
    assert (t != None) is True  # noqa: E711
    assert (None == t) is False  # noqa: E711
    assert t not in [None]
    assert t in [None, t]


# ------------------------------------------------------------------ var / std with ddof >= n
@pytest.mark.parametrize("x,ddof", [([1.0, 2.0], 2), ([1.0, 2.0], 3), ([1.0], 1),
                                    ([3.0, 3.0], 2), ([1.0, 2.0, 4.0], 1.5)])
def test_var_std_with_ddof_at_least_n_follow_numpy(x, ddof):
    # ddof >= n gave NaN; numpy divides by max(n - ddof, 0): inf, or NaN when the squares sum to 0
    with np.errstate(divide="ignore", invalid="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want_v = np.var(np.array(x), ddof=ddof)
            want_s = np.std(np.array(x), ddof=ddof)
    t = ag.tensor(np.array(x))
    np.testing.assert_array_equal(ag.var(t, ddof=ddof).numpy(), want_v)
    np.testing.assert_array_equal(ag.std(t, ddof=ddof).numpy(), want_s)
    np.testing.assert_array_equal(t.var(ddof=ddof).numpy(), want_v)


def test_var_with_nan_ddof_is_nan():
    # a NaN ddof gave inf (n - NaN > 0 is false); numpy gives NaN
    assert np.isnan(ag.var(ag.tensor(np.array([1.0, 2.0])), ddof=float("nan")).item())


# ------------------------------------------------------------------ numpy functions on tensors
@pytest.mark.parametrize("npf,agf", [(np.sum, ag.sum), (np.mean, ag.mean), (np.max, ag.max),
                                     (np.min, ag.min), (np.prod, ag.prod), (np.var, ag.var),
                                     (np.std, ag.std), (np.amax, ag.max), (np.amin, ag.min)])
def test_numpy_reductions_of_a_tensor_return_a_recorded_tensor(npf, agf):
    # np.sum(t) raised "sum() got an unexpected keyword argument 'out'" (numpy calls the
    # method with out= / dtype=); now it is the tensor's reduction, with its graph
    a = np.array([[1.0, 2.0], [3.0, 5.0]])
    t = ag.tensor(a, requires_grad=True)
    r = npf(t)
    assert isinstance(r, ag.Tensor) and r.requires_grad
    np.testing.assert_allclose(r.numpy(), npf(a))
    np.testing.assert_allclose(npf(t, axis=0).numpy(), npf(a, axis=0))
    np.testing.assert_allclose(npf(t, axis=-1, keepdims=True).numpy(), npf(a, axis=-1, keepdims=True))
    r.backward()
    x = ag.tensor(a, requires_grad=True)
    agf(x).backward()
    np.testing.assert_allclose(t.grad.numpy(), x.grad.numpy())


def test_numpy_reduction_dtype_and_out_arguments():
    t = ag.tensor(np.array([1.0, 2.0, 4.0]))
    assert np.mean(t, dtype=np.float32).dtype == np.float32
    np.testing.assert_allclose(np.var(t, ddof=1).numpy(), np.var([1.0, 2.0, 4.0], ddof=1))
    with pytest.raises(TypeError, match="sum: out= is not supported"):
        np.sum(t, out=np.zeros(()))
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        np.sum(t, dtype=np.int64)


# ------------------------------------------------------------------ argument errors
def test_axis_that_does_not_fit_an_int_is_a_clear_value_error():
    # axis=2**40 raised OverflowError("value too large to convert to int")
    x = ag.tensor(np.ones((2, 3)))
    for fn in (ag.sum, ag.mean, ag.var, ag.max):
        with pytest.raises(ValueError, match=r"axis 1099511627776 is out of bounds .* dimension 2"):
            fn(x, axis=2 ** 40)
        with pytest.raises(ValueError, match=r"axis -1099511627776 is out of bounds"):
            fn(x, axis=(0, -2 ** 40))


def test_clip_with_a_nan_bound_or_an_array_bound_is_refused_clearly():
    x = ag.tensor(np.array([1.0, 5.0]))
    # a NaN bound was silently ignored (clip(x, nan, 2) gave [1, 2]; numpy gives [nan, nan])
    with pytest.raises(ValueError, match="clip: a bound is NaN"):
        ag.clip(x, float("nan"), 2.0)
    with pytest.raises(ValueError, match="clip: a bound is NaN"):
        ag.clip(x, None, float("nan"))
    # an array bound raised numpy's "only 0-dimensional arrays can be converted"
    with pytest.raises(TypeError, match=r"clip: a_min must be a scalar, got shape \(2,\)"):
        ag.clip(x, np.array([0.0, 6.0]), None)
    np.testing.assert_array_equal(ag.clip(x, np.float64(2.0), ag.tensor(3.0)).numpy(), [2.0, 3.0])


# ------------------------------------------------------------------ NaN in maximum / minimum
@pytest.mark.parametrize("fn", [ag.maximum, ag.minimum])
def test_maximum_minimum_send_the_gradient_to_the_nan_operand(fn):
    # the result is the NaN operand (as numpy's); its gradient went to the other operand, on
    # which the result does not depend (d maximum(nan, y) / dy was 1)
    nan = np.nan
    a0 = np.array([nan, 0.0, nan, 1.0, 2.0])
    b0 = np.array([0.0, nan, nan, 1.0, 3.0])
    out = fn(ag.tensor(a0), ag.tensor(b0)).numpy()
    np.testing.assert_array_equal(out, (np.maximum if fn is ag.maximum else np.minimum)(a0, b0))
    a = ag.tensor(a0, requires_grad=True)
    b = ag.tensor(b0, requires_grad=True)
    fn(a, b).sum().backward()
    picks_b = 1.0 if fn is ag.maximum else 0.0      # at (2, 3)
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 0.0, 1.0, 0.5, 1.0 - picks_b])
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 1.0, 0.0, 0.5, picks_b])
    _, t = ag.jvp(lambda u: fn(u, ag.tensor(b0)), (ag.tensor(a0),), (ag.tensor(np.ones(5)),))
    np.testing.assert_array_equal(t.numpy(), a.grad.numpy())


# ------------------------------------------------------------------ creation functions
@pytest.mark.parametrize("fn", [ag.zeros_like, ag.ones_like, lambda t: ag.full_like(t, 2.0)])
def test_like_functions_of_integer_or_bool_arrays_give_float32(fn):
    # zeros_like(int array) raised "dtype must be float32 or float64, got int64"; ag.tensor
    # converts such arrays to float32, and so do the *_like functions now
    for a in (np.ones((2, 3), dtype=np.int64), np.array([True, False]), np.ones(2, np.float16)):
        r = fn(a)
        assert r.dtype == np.float32 and r.shape == a.shape
    assert fn(np.ones(2)).dtype == np.float64                  # float64 is kept
    assert fn(ag.ones(2, dtype="float64")).dtype == np.float64
    assert ag.zeros_like(np.ones(2, dtype=np.int64), dtype="float64").dtype == np.float64


def test_creation_argument_errors_are_clear():
    with pytest.raises(TypeError, match="shape must be ints or a sequence of ints, got 2.5"):
        ag.zeros(2.5)                       # was "'float' object is not iterable"
    with pytest.raises(TypeError, match="shape must be ints"):
        ag.ones(2, 1.5)
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        ag.arange(0, 1, 0)                  # was ZeroDivisionError("division by zero")
    with pytest.raises(TypeError, match=r"fill_value must be a scalar, got shape \(2,\)"):
        ag.full((2,), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(ag.full((2,), ag.tensor(3.0)).numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(ag.full((2,), np.float32(2.5)).numpy(), [2.5, 2.5])


# ------------------------------------------------------------------ buffer protocol
def test_buffer_consumers_that_need_contiguous_memory_refuse_a_strided_view():
    # hashlib / file.write take the buffer without strides and read buf.len bytes from buf.buf:
    # for t[::2] they hashed the wrong elements, for t[::-1] they read past the end of the storage
    import hashlib
    import io
    base = np.arange(6.0)
    for view, ref in ((ag.tensor(base)[::2], base[::2]), (ag.tensor(base)[::-1], base[::-1]),
                      (ag.tensor(base).reshape(2, 3).T, base.reshape(2, 3).T),
                      (ag.tensor(np.array([1.0, 2.0])).expand(3, 2), np.broadcast_to([1.0, 2.0], (3, 2)))):
        with pytest.raises(BufferError, match="non-contiguous view"):
            hashlib.sha256(view)
        with pytest.raises(BufferError):
            io.BytesIO().write(view)
        # consumers that take strides still get a zero-copy view
        np.testing.assert_array_equal(np.asarray(view), ref)
        assert memoryview(view).tolist() == ref.tolist()
        assert bytes(view) == np.ascontiguousarray(ref).tobytes()
        c = view.contiguous()
        assert hashlib.sha256(c).hexdigest() == hashlib.sha256(np.ascontiguousarray(ref)).hexdigest()
    t = ag.tensor(base)
    assert hashlib.sha256(t).hexdigest() == hashlib.sha256(base).hexdigest()


def test_plain_byte_consumers_accept_a_contiguous_multidimensional_tensor():
    # hashlib refused any 2-D tensor ("Buffer must be single dimension"): a consumer that does
    # not ask for a shape now gets plain bytes, as from a numpy array
    import hashlib
    a = np.arange(6.0).reshape(2, 3)
    t = ag.tensor(a)
    assert hashlib.sha256(t).hexdigest() == hashlib.sha256(a).hexdigest()
    assert memoryview(t).shape == (2, 3) and memoryview(t).format == "d"
    np.testing.assert_array_equal(np.frombuffer(t), a.ravel())


def test_format_spec_on_a_scalar_tensor_formats_its_value():
    # f"{loss:.4f}" raised "unsupported format string passed to Tensor.__format__"
    loss = ag.tensor(np.array(1.23456))
    assert f"{loss:.3f}" == "1.235"
    assert "{:>10.2e}".format(loss) == f"{1.23456:>10.2e}"
    assert f"{loss}" == str(loss)
    with pytest.raises(TypeError):
        f"{ag.tensor([1.0, 2.0]):.2f}"


# ------------------------------------------------------------------ float32 accuracy
def test_float32_logsumexp_over_a_leading_axis_accumulates_in_double():
    # the sum of exp(x - max) over a non-trailing axis accumulated in float32: over 2e6 rows the
    # result was off by 5e-5 (the trailing-axis path: 2e-6)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2_000_000, 2)).astype(np.float32)
    want = np.log(np.exp(x.astype(np.float64)).sum(axis=0))
    got = ag.logsumexp(ag.tensor(x), axis=0)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=2e-6)
    got_k = ag.logsumexp(ag.tensor(x), axis=0, keepdims=True)
    np.testing.assert_allclose(got_k.numpy(), want[None], rtol=0, atol=2e-6)
