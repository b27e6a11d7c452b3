"""Round 8 hostile review of the Tensor API: the bugs it found, each pinned by a test.

- numpy functions that write into their first argument (``np.add.at``, ``np.copyto``,
  ``np.put``...) wrote into a Tensor's memory behind the version counter: a backward that had
  saved the tensor used the new values (a silently wrong gradient).
- ``fill_``, ``full`` and ``clip`` / ``clamp`` read a value that requires grad with float()
  and dropped its gradient silently (``fill_`` also took strings).
- ``t // b``, ``t % b`` and ``divmod`` raised TypeError; they follow numpy's float semantics.
- ``round(x, decimals)`` raised NotImplementedError for decimals != 0.
- ``Tensor.__array__`` (numpy 2's ``dtype`` / ``copy`` protocol) was missing.
- advanced indexing built an index for every element of the tensor (x[[0]] of 10**7 elements:
  80 MB).
- ``set_num_threads(1.5)`` ran with 1 thread; ``copy_`` named ``setitem`` in its shape error.
"""
import numpy as np
import pytest

import autograd_c as ag
from _fd import fd_grad


# ---------------------------------------------------------------------------------------------
# numpy functions that write into a Tensor argument

WRITERS = [
    ("add.at", lambda t: np.add.at(t, [0, 0, 2], 1.0), lambda a: np.add.at(a, [0, 0, 2], 1.0)),
    ("negative.at", lambda t: np.negative.at(t, [1]), lambda a: np.negative.at(a, [1])),
    ("copyto", lambda t: np.copyto(t, 5.0), lambda a: np.copyto(a, 5.0)),
    ("put", lambda t: np.put(t, [0, 3], [7.0, 8.0]), lambda a: np.put(a, [0, 3], [7.0, 8.0])),
    ("place", lambda t: np.place(t, np.array([True, False, True, False]), [9.0]),
     lambda a: np.place(a, np.array([True, False, True, False]), [9.0])),
    ("putmask", lambda t: np.putmask(t, np.array([False, True, True, False]), -1.0),
     lambda a: np.putmask(a, np.array([False, True, True, False]), -1.0)),
    ("put_along_axis", lambda t: np.put_along_axis(t, np.array([2]), 4.0, 0),
     lambda a: np.put_along_axis(a, np.array([2]), 4.0, 0)),
]
WRITER_IDS = [w[0] for w in WRITERS]


@pytest.mark.parametrize("name,write,ref", WRITERS, ids=WRITER_IDS)
def test_numpy_write_into_a_saved_tensor_makes_backward_raise(name, write, ref):
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = ag.tensor(a)                       # no grad: mul saves it for w's gradient
    w = ag.tensor(np.ones(4), requires_grad=True)
    z = (w * b).sum()
    v0 = b._version
    assert write(b) is None
    expected = a.copy()
    ref(expected)
    np.testing.assert_array_equal(b.numpy(), expected)   # numpy's own values were written
    assert b._version > v0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()                       # was: w.grad = the new values, silently


@pytest.mark.parametrize("name,write,ref", WRITERS, ids=WRITER_IDS)
def test_numpy_write_into_a_detached_alias_of_a_graph_tensor_is_caught(name, write, ref):
    x = ag.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    y = x * 1.0
    z = (ag.exp(y)).sum()                  # exp saves y
    write(y.detach())                      # shares y's memory and version
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


@pytest.mark.parametrize("name,write,ref", WRITERS, ids=WRITER_IDS)
def test_numpy_write_into_a_leaf_that_requires_grad_raises_like_an_inplace_op(name, write, ref):
    w = ag.tensor(np.array([1.0, 2.0, 3.0, 4.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        write(w)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0, 3.0, 4.0])   # nothing written
    y = w * 2.0
    with pytest.raises(RuntimeError, match="recorded graph"):
        write(y)
    with ag.no_grad():                     # as w.add_(1) under no_grad: allowed
        write(w)
    expected = np.array([1.0, 2.0, 3.0, 4.0])
    ref(expected)
    np.testing.assert_array_equal(w.numpy(), expected)


def test_numpy_write_with_a_value_that_requires_grad_raises():
    t = ag.zeros(3)
    v = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(TypeError, match="requires grad"):
        np.copyto(t, v)
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0, 0.0])


def test_numpy_write_into_a_plain_array_still_reads_tensors():
    a = np.zeros(3)
    np.add.at(a, [0, 0], ag.tensor(np.array([1.0, 2.0])))
    np.copyto(a[1:], ag.tensor(np.array([5.0, 6.0])))
    np.testing.assert_array_equal(a, [3.0, 5.0, 6.0])


def test_numpy_write_into_a_broadcast_tensor_is_refused():
    t = ag.ones(1, 3).expand(2, 3)
    with pytest.raises((RuntimeError, ValueError)):
        np.copyto(t, 2.0)
    np.testing.assert_array_equal(t.numpy(), np.ones((2, 3)))


def test_numpy_write_inside_jvp_is_refused():
    def f(x):
        y = x * 1.0
        np.add.at(y, [0], 1.0)
        return y
    with pytest.raises((RuntimeError, TypeError)):
        ag.jvp(f, (ag.tensor(np.array([1.0, 2.0])),), (ag.tensor(np.array([1.0, 0.0])),))


# ---------------------------------------------------------------------------------------------
# fill_

def test_fill_with_a_value_that_requires_grad_raises_instead_of_dropping_it():
    x = ag.tensor(np.array([2.0, 3.0]), requires_grad=True)
    t = ag.zeros(2)
    with pytest.raises(RuntimeError, match="fill_.*requires grad"):
        t.fill_(x[0])
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0])
    t.fill_(x[0].detach())
    np.testing.assert_array_equal(t.numpy(), [2.0, 2.0])
    with ag.no_grad():
        t.fill_(x[1])
    np.testing.assert_array_equal(t.numpy(), [3.0, 3.0])


@pytest.mark.parametrize("value", ["1.5", None, b"1", [1.0, 2.0]])
def test_fill_takes_a_number_not_a_string_or_a_sequence(value):
    t = ag.ones(2)
    with pytest.raises(TypeError, match="fill_"):
        t.fill_(value)
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0])


def test_fill_with_numbers_and_one_element_values():
    t = ag.zeros(2, dtype="float64")
    for v, want in [(True, 1.0), (np.float32(0.5), 0.5), (np.int64(-3), -3.0), (ag.tensor(4.0), 4.0),
                    (np.array(7.0), 7.0)]:
        assert t.fill_(v) is t
        np.testing.assert_array_equal(t.numpy(), [want, want])
    with pytest.raises((ValueError, TypeError), match="fill_"):
        t.fill_(ag.ones(2))


# ---------------------------------------------------------------------------------------------
# floor division and remainder, numpy's float semantics

_GRID = np.array([-7.5, -3.0, -1.0, -0.0, 0.0, 0.3, 1.0, 2.5, 5.0, 7.0, 1e30, np.inf, -np.inf,
                  np.nan])


def _pairs(dtype):
    a, b = np.meshgrid(_GRID, _GRID, indexing="ij")
    return a.ravel().astype(dtype), b.ravel().astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floordiv_mod_divmod_match_numpy(dtype):
    a, b = _pairs(dtype)
    ta, tb = ag.tensor(a), ag.tensor(b)
    with np.errstate(all="ignore"):
        q_ref, r_ref = np.floor_divide(a, b), np.remainder(a, b)
    for got, ref in [(ta // tb, q_ref), (ta % tb, r_ref), (divmod(ta, tb)[0], q_ref),
                     (divmod(ta, tb)[1], r_ref), (a // tb, q_ref), (a % tb, r_ref),
                     (np.floor_divide(ta, tb), q_ref), (np.remainder(ta, tb), r_ref),
                     (np.mod(ta, b), r_ref), (np.divmod(ta, tb)[1], r_ref)]:
        assert isinstance(got, ag.Tensor) and got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got.numpy(), ref)
        np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(ref))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floordiv_mod_with_python_and_numpy_scalars(dtype):
    a = np.array([-7.0, -2.5, 0.0, 1.0, 5.5], dtype=dtype)
    t = ag.tensor(a)
    for s in [2, 2.5, -3, np.float64(0.75)]:
        v = np.asarray(s, dtype)
        with np.errstate(all="ignore"):
            pairs = [(t // s, a // v), (t % s, a % v), (s // t, v // a), (s % t, v % a)]
        for got, ref in pairs:
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(got.numpy(), ref)
    assert (1.0 // ag.tensor([0.1], dtype="float64")).tolist() == [9.0]   # numpy's 1 // 0.1
    assert (ag.tensor([5.0, -5.0], dtype="float64") % np.inf).tolist() == [5.0, np.inf]


def test_floordiv_mod_broadcast_views_and_errors():
    rng = np.random.default_rng(0)
    a = rng.uniform(-5, 5, (4, 6))
    b = rng.uniform(0.5, 2, (6,)) * np.where(np.arange(6) % 2, 1, -1)
    ta = ag.tensor(a)
    for v, va in [(ta[::-1], a[::-1]), (ta.T, a.T), (ta[:, ::2], a[:, ::2])]:
        bb = b[: va.shape[-1]]
        np.testing.assert_array_equal((v % ag.tensor(bb)).numpy(), va % bb)
        np.testing.assert_array_equal((v // ag.tensor(bb)).numpy(), va // bb)
    with pytest.raises(ValueError, match=r"\(4, 6\).*\(5,\)"):
        ta % ag.ones(5, dtype="float64")
    with pytest.raises(TypeError, match="dtype"):
        ta % ag.ones(6, dtype="float32")
    assert (ag.zeros(0, 3) % 2.0).shape == (0, 3)
    e = ag.tensor(np.ones((3, 0, 2)), requires_grad=True)
    d = ag.tensor(np.full(2, 0.7), requires_grad=True)
    (e % d).sum().backward()               # was: "assignment destination is read-only"
    assert e.grad.shape == (3, 0, 2) and d.grad.tolist() == [0.0, 0.0]
    assert (ag.tensor(7.0) // 2).shape == ()


def test_remainder_gradient_against_finite_differences_and_exact():
    a = np.array([[-7.3, 2.2, 5.9], [0.4, -1.6, 3.3]])
    b = np.array([2.0, -1.5, 0.7])
    x = ag.tensor(a, requires_grad=True)
    y = ag.tensor(b, requires_grad=True)
    w = np.arange(1.0, 7.0).reshape(2, 3)
    ((x % y) * ag.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), w)                          # d r / d a = 1
    np.testing.assert_allclose(y.grad.numpy(), -(w * np.floor(a / b)).sum(0))   # -floor(a / b)
    np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: ((v % b) * w).sum(), a), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), fd_grad(lambda v: ((a % v) * w).sum(), b), rtol=1e-6)
    # the reflected form and forward mode agree
    y2 = ag.tensor(b, requires_grad=True)
    (4.0 % y2).sum().backward()
    np.testing.assert_allclose(y2.grad.numpy(), -np.floor(4.0 / b))
    _, tangent = ag.jvp(lambda u: u % y.detach(), (ag.tensor(a),), (ag.tensor(w),))
    np.testing.assert_allclose(tangent.numpy(), w)


def test_floordiv_carries_no_gradient_like_floor():
    x = ag.tensor(np.array([3.5, -2.0]), requires_grad=True)
    q = x // 2.0
    assert not q.requires_grad and q.tolist() == [1.0, -1.0]
    (q * x).sum().backward()               # the floor-divided factor is a constant
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, -1.0])
    with pytest.raises(TypeError):
        x // "a"


def test_augmented_floordiv_mod_rebind_and_leave_the_original():
    t = ag.tensor(np.array([7.0, -7.0]))
    orig = t
    t //= 2.0
    assert t.tolist() == [3.0, -4.0] and orig.tolist() == [7.0, -7.0]
    t = orig
    t %= 3.0
    assert t.tolist() == [1.0, 2.0]


# ---------------------------------------------------------------------------------------------
# round with decimals

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
def test_round_decimals_matches_numpy(dtype, decimals):
    a = np.array([1.255, 2.675, -0.125, 1234.5678, -987.65, 0.0, -0.0, 1e20, np.inf, np.nan,
                  0.5, 1.5], dtype=dtype)
    x = ag.tensor(a, requires_grad=True)
    got = ag.round(x, decimals)
    assert got.dtype == np.dtype(dtype) and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), np.round(a, decimals))
    np.testing.assert_array_equal(x.round(decimals).numpy(), np.round(a, decimals))
    np.testing.assert_array_equal(np.round(x, decimals).numpy(), np.round(a, decimals))


def test_round_decimals_rejects_non_integers():
    with pytest.raises(TypeError):
        ag.round(ag.ones(2), 1.5)


# ---------------------------------------------------------------------------------------------
# __array__ (numpy 2's dtype / copy protocol), copy_'s message

def test_dunder_array_follows_numpys_protocol():
    t = ag.tensor(np.array([1.0, 2.0, 3.0]), dtype="float32")
    a = t.__array__()
    assert a.dtype == np.float32 and np.shares_memory(a, t.numpy())
    assert not np.shares_memory(t.__array__(copy=True), t.numpy())
    assert np.shares_memory(t.__array__(copy=False), t.numpy())
    d = t.__array__(np.float64)
    assert d.dtype == np.float64 and d.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="copy"):
        t.__array__(np.float64, copy=False)
    v = ag.tensor(np.arange(6.0).reshape(2, 3))[:, ::-1]
    np.testing.assert_array_equal(v.__array__(), np.arange(6.0).reshape(2, 3)[:, ::-1])
    assert np.array(t, dtype=np.float64, copy=True).dtype == np.float64


def test_copy_names_itself_in_its_shape_error():
    with pytest.raises(ValueError, match=r"copy_: .*\(2, 3\).*\(3,\)"):
        ag.ones(3).copy_(ag.ones(2, 3))


def test_numpy_fill_diagonal_into_a_saved_matrix_is_counted():
    m = ag.tensor(np.arange(9.0).reshape(3, 3))
    w = ag.tensor(np.ones((3, 3)), requires_grad=True)
    z = (w @ m).sum()                      # matmul saves m
    np.fill_diagonal(m, 0.0)
    np.testing.assert_array_equal(np.diag(m.numpy()), [0.0, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_numpy_floor_divide_and_remainder_keep_the_gradient():
    a = np.array([5.5, -3.25, 7.0])
    x = ag.tensor(a, requires_grad=True)
    r = np.remainder(x, 2.0)
    q = np.floor_divide(x, 2.0)
    assert isinstance(r, ag.Tensor) and r.requires_grad and not q.requires_grad
    np.testing.assert_array_equal(q.numpy(), np.floor_divide(a, 2.0))
    y = ag.tensor(np.array([2.0, 1.5, -4.0]), requires_grad=True)
    qq, rr = np.divmod(x, y)
    np.testing.assert_array_equal(rr.numpy(), np.remainder(a, [2.0, 1.5, -4.0]))
    (r.sum() + rr.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(y.grad.numpy(), -np.floor_divide(a, [2.0, 1.5, -4.0]))


# ---------------------------------------------------------------------------------------------
# advanced indexing of a large tensor

BIG_KEYS = [
    ([0, 5, -1], 3), (Ellipsis, [2, 2, 0]), ([[1], [0]], slice(None, None, -7), None),
    (slice(2, 9), [-3, 4]), (np.array([True] + [False] * 399), Ellipsis),
    ([3, 3], None, [7, -500]), (None, np.int64(-2), [0, 499]),
]


@pytest.mark.parametrize("key", BIG_KEYS, ids=[str(i) for i in range(len(BIG_KEYS))])
def test_advanced_indexing_of_a_large_tensor_matches_numpy_forward_and_backward(key):
    a = np.random.default_rng(5).standard_normal((400, 500))
    x = ag.tensor(a, requires_grad=True)
    y = x[key]
    want = a[key]
    np.testing.assert_array_equal(y.numpy(), want)
    w = np.random.default_rng(6).standard_normal(want.shape)
    (y * ag.tensor(w)).sum().backward()
    ref = np.zeros_like(a)
    np.add.at(ref, key, w)                 # repeated indices add up
    np.testing.assert_allclose(x.grad.numpy(), ref, rtol=1e-14)


def test_advanced_indexing_of_a_large_tensor_does_not_index_every_element():
    import tracemalloc
    x = ag.zeros(1000, 1000)               # 10**6 elements: an int64 index each would be 8 MB
    mask = x[:, 0] == 0
    x[[0, 5], 3]                           # warm up (imports, caches)
    tracemalloc.start()
    try:
        y = x[[0, 5, 7], 3]
        z = x[2, [1, 2]]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert y.shape == (3,) and z.shape == (2,)
    assert peak < 1_000_000, peak          # was 8 MB: np.arange(x.size)[key]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[1000], 0]
    with pytest.raises(IndexError):
        x[np.ones(999, dtype=bool)]
    assert x[mask].shape == (1000, 1000)


# ---------------------------------------------------------------------------------------------
# runtime controls

@pytest.mark.parametrize("bad,exc", [(1.5, TypeError), ("2", TypeError), (None, TypeError),
                                     (0, ValueError), (2 ** 40, ValueError)])
def test_set_num_threads_takes_a_positive_int_only(bad, exc):
    n = ag.get_num_threads()
    with pytest.raises(exc, match="set_num_threads"):
        ag.set_num_threads(bad)
    assert ag.get_num_threads() == n
    ag.set_num_threads(np.int64(1))
    assert ag.get_num_threads() == 1
    ag.set_num_threads(n)


# ---------------------------------------------------------------------------------------------
# clip / clamp with a bound that requires grad

def _clamp_ref(a, lo, hi):
    """PyTorch's clamp and its gradient: x's where lo <= x <= hi (the bound's outside), and the
    upper bound's wherever it wins (also when lo > hi)."""
    y = a.copy()
    g_x, g_lo, g_hi = np.ones_like(a), np.zeros_like(a), np.zeros_like(a)
    if lo is not None:
        below = a < lo
        y = np.where(below, lo, y)
        g_x[below], g_lo[below] = 0.0, 1.0
    if hi is not None:
        above = y > hi
        y = np.where(above, hi, y)
        g_x[above], g_lo[above], g_hi[above] = 0.0, 0.0, 1.0
    return y, g_x, g_lo.sum(), g_hi.sum()


@pytest.mark.parametrize("lo,hi", [(0.25, None), (None, 0.5), (-0.5, 0.75), (1.0, -1.0)])
@pytest.mark.parametrize("fn", ["clamp", "clip"])
def test_clamp_bound_that_requires_grad_gets_its_gradient(fn, lo, hi):
    a = np.array([-2.0, -0.3, 0.1, 0.6, 3.0])
    x = ag.tensor(a, requires_grad=True)
    tlo = None if lo is None else ag.tensor(lo, dtype="float64", requires_grad=True)
    thi = None if hi is None else ag.tensor(hi, dtype="float64", requires_grad=True)
    if fn == "clip" and lo is not None and hi is not None and lo > hi:
        with pytest.raises(ValueError, match="greater than"):
            ag.clip(x, tlo, thi)           # as clip with plain bounds (clamp: PyTorch's rule)
        return
    y = getattr(ag, fn)(x, tlo, thi)
    want, g_x, g_lo, g_hi = _clamp_ref(a, lo, hi)
    np.testing.assert_array_equal(y.numpy(), want)
    y.sum().backward()                     # was: the bounds' gradients silently None
    np.testing.assert_array_equal(x.grad.numpy(), g_x)
    if tlo is not None:
        assert tlo.grad.item() == g_lo
        assert tlo.grad.item() == pytest.approx(
            fd_grad(lambda v: _clamp_ref(a, float(v), hi)[0].sum(), np.array(lo)), abs=1e-6)
    if thi is not None:
        assert thi.grad.item() == g_hi


def test_clamp_bound_that_requires_grad_keeps_nan_and_checks_dtype():
    x = ag.tensor(np.array([np.nan, 2.0]), requires_grad=True)
    lo = ag.tensor(0.0, dtype="float64", requires_grad=True)
    y = ag.clamp(x, max=lo)
    assert np.isnan(y.numpy()[0]) and y.numpy()[1] == 0.0
    with pytest.raises(TypeError, match="dtype"):
        ag.clamp(x, min=ag.tensor(0.0, dtype="float32", requires_grad=True))
    with pytest.raises(TypeError, match="scalar"):
        ag.clamp(x, min=ag.tensor(np.zeros(2), requires_grad=True))
    with ag.no_grad():                     # nothing to record: the plain path
        assert ag.clamp(x, min=lo).tolist()[1] == 2.0


def test_full_refuses_a_fill_value_that_requires_grad():
    v = ag.tensor(3.0, requires_grad=True)
    for make in (lambda: ag.full((2,), v), lambda: ag.full_like(ag.zeros(2), v)):
        with pytest.raises(RuntimeError, match="fill_value requires grad"):
            make()                         # was: a plain tensor, v's gradient silently lost
    assert ag.full((2,), v.detach()).tolist() == [3.0, 3.0]
    with ag.no_grad():
        assert ag.full((2,), v).tolist() == [3.0, 3.0]
    y = ag.broadcast_to(v, (2,))           # the recorded spelling the message suggests
    y.sum().backward()
    assert v.grad.item() == 2.0
