"""Audit of indexing, views, shape ops and in-place writes on them: values against numpy,
gradients against central differences (reverse, forward and second order), and the
regressions found by the audit."""
import numpy as np
import pytest

import autograd_c as ag

EPS = (2.2e-16) ** (1.0 / 3.0)


def _num_grad(g, x0):
    """Central differences of the scalar function g at the float64 array x0."""
    out = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        d = np.zeros_like(x0)
        d[i] = EPS
        out[i] = (g(ag.tensor(x0 + d)).item() - g(ag.tensor(x0 - d)).item()) / (2 * EPS)
    return out


# the same expression in numpy (for the values) and autograd_c
SHAPE_FUNCS = [
    ("repeated_indices", lambda x: x[[0, 0, 2, -1, 0]], (4,)),
    ("2d_advanced", lambda x: x[np.array([[0, 1], [1, 1]]), np.array([[2, 2], [0, -1]])], (3, 3)),
    ("advanced_then_basic", lambda x: x[:, [1, 1, 0], 1:], (2, 3, 3)),
    ("advanced_split_by_slice", lambda x: x[[0, 1, 1], :, [1, 1, 0]], (2, 3, 2)),   # axes go first
    ("newaxis_advanced_ellipsis", lambda x: x[None, [0, 0], ..., 1], (2, 3, 2)),
    ("mask_2d", lambda x: x[np.array([[True, False, True], [False, False, True]])], (2, 3)),
    ("mask_all_false", lambda x: x[np.zeros(3, bool)], (3, 2)),
    ("mask_0d", lambda x: x[np.array(True)], (2,)),
    ("mask_and_int", lambda x: x[np.array([True, False, True]), 1], (3, 2)),
    ("negative_steps", lambda x: x[::-2, 1::-1], (5, 3)),
    ("large_step", lambda x: x[1::100, ::-7], (3, 4)),
    ("negative_ints", lambda x: x[-1, -2], (3, 3)),
    ("0d_empty_tuple", lambda x: x[()] * x, ()),
    ("0d_newaxes", lambda x: x[None, ..., None], ()),
    ("view_of_transpose", lambda x: x.T[1:, [0, 0]], (3, 3)),
    ("reshape_non_contiguous", lambda x: x.T.reshape(2, 3), (3, 2)),
    ("chain", lambda x: x.reshape(2, 3)[:, ::-1].T[[0, 2]].reshape(-1), (6,)),
    ("permute", lambda x: x.permute(2, 0, 1), (2, 3, 2)),
    ("mT", lambda x: x.mT, (2, 3, 2)),
    ("expand", lambda x: x.expand(2, 3, 2), (3, 1)),
    ("broadcast_0d", lambda x: ag.broadcast_to(x, (2, 2)), ()),
    ("squeeze", lambda x: ag.squeeze(x, -1), (3, 1)),
    ("flatten", lambda x: ag.flatten(x, 1), (2, 2, 2)),
    ("concatenate", lambda x: ag.concatenate([x, x[:1] * 2.0, x], axis=0), (2, 2)),
    ("concatenate_empty_piece", lambda x: ag.concatenate([x[:, :0], x * 2.0], axis=-1), (2, 2)),
    ("concatenate_one", lambda x: ag.concatenate([x]), (2, 2)),
    ("stack_0d", lambda x: ag.stack([x, x * 3.0]), ()),
    ("split", lambda x: ag.split(x, [1], axis=1)[1] * 2.0, (2, 3)),
    ("where", lambda x: ag.where(x > 0, x, x * 3.0), (2, 3)),
]
IDS = [s[0] for s in SHAPE_FUNCS]


@pytest.mark.parametrize("name,f,shape", SHAPE_FUNCS, ids=IDS)
def test_shape_op_gradients_all_modes(name, f, shape, rng):
    x0 = rng.standard_normal(shape)
    if name == "where":
        x0[np.abs(x0) < 1e-3] = 0.5                     # away from the kink

    def g(x):                                          # nonlinear, so the Hessian is not zero
        return (f(x) ** 2).sum() * 0.5

    # values: the same expression on a numpy array where numpy has it
    if name not in ("broadcast_0d", "squeeze", "flatten", "concatenate", "concatenate_empty_piece",
                    "concatenate_one", "stack_0d", "split", "where", "mT", "expand", "permute"):
        np.testing.assert_array_equal(f(ag.tensor(x0)).numpy(), f(x0))
    # reverse
    x = ag.tensor(x0, requires_grad=True)
    g(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), _num_grad(g, x0), rtol=1e-6, atol=1e-8)
    # forward (jvp) against a central difference along the tangent
    t0 = rng.standard_normal(shape)
    _, jt = ag.jvp(f, (x0,), (t0,))
    fd = (f(ag.tensor(x0 + EPS * t0)).numpy() - f(ag.tensor(x0 - EPS * t0)).numpy()) / (2 * EPS)
    np.testing.assert_allclose(jt.numpy(), fd, rtol=1e-6, atol=1e-8)
    # forward and reverse Jacobians agree
    np.testing.assert_allclose(ag.jacobian(f, x0, mode="forward").numpy(),
                               ag.jacobian(f, x0, mode="reverse").numpy(), atol=1e-14)
    # second order: the Hessian of g against differences of the exact gradient
    H = ag.hessian(g, x0).numpy().reshape(x0.size, x0.size)
    gradg = ag.grad(g)
    Hn = np.stack([((gradg(ag.tensor(x0 + d)).numpy() - gradg(ag.tensor(x0 - d)).numpy()) / (2 * EPS)).ravel()
                   for d in (EPS * np.eye(x0.size)[i].reshape(shape) for i in range(x0.size))], axis=1)
    np.testing.assert_allclose(H, Hn, rtol=1e-5, atol=1e-6)
    # float32 and a non-contiguous input give the same values
    np.testing.assert_allclose(f(ag.tensor(x0.astype(np.float32))).numpy(), f(ag.tensor(x0)).numpy(),
                               rtol=1e-6, atol=1e-6)
    if x0.ndim >= 2 and min(x0.shape) > 1:
        xt = ag.tensor(np.ascontiguousarray(x0.T)).T
        assert not xt.is_contiguous()
        np.testing.assert_array_equal(f(xt).numpy(), f(ag.tensor(x0)).numpy())


def test_repeated_indices_accumulate_gradient():
    x = ag.tensor(np.arange(4.0), requires_grad=True)
    x[[0, 0, 3, -1, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 0.0, 2.0])


# ---------------------------------------------------------------------------------- regressions


@pytest.mark.parametrize("step", [10**20, -10**20, 2**63, -(2**63) - 1])
def test_slice_with_huge_step(step):
    # was: OverflowError converting the step to int64 (numpy selects the first / last element)
    a = np.arange(12.0).reshape(3, 4)
    x = ag.tensor(a, requires_grad=True)
    y = x[::step, 1::step]
    np.testing.assert_array_equal(y.numpy(), a[::step, 1::step])
    (y * 3.0).sum().backward()
    expected = np.zeros_like(a)
    expected[::step, 1::step] = 3.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_concatenate_or_stack_of_one_tensor_is_a_copy():
    # was: concatenate([x]) returned x itself, so writing into the result changed x
    a = np.arange(6.0).reshape(2, 3)
    x = ag.tensor(a)
    for r in (ag.concatenate([x]), ag.concatenate([x], axis=-1), ag.stack([x]), ag.stack([x], axis=2)):
        assert not np.shares_memory(r.numpy(), x.numpy())
        r += 1.0
        np.testing.assert_array_equal(x.numpy(), a)
    w = ag.tensor(a, requires_grad=True)
    (ag.concatenate([w]) * 2.0).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 2.0))


def test_squeeze_axis_as_numpy_integer_and_repeated_axis():
    x = ag.ones(1, 3, 1)
    # was: TypeError "'numpy.int64' object is not iterable"
    assert ag.squeeze(x, np.int64(0)).shape == (3, 1)
    assert x.squeeze(np.int32(-1)).shape == (1, 3)
    assert ag.squeeze(x, [0, np.int64(2)]).shape == (3,)
    # was: a repeated axis was accepted silently (numpy raises)
    with pytest.raises(ValueError, match=r"squeeze: repeated axis 0"):
        ag.squeeze(x, (0, -3))


def test_split_sections_as_numpy_integer():
    a = np.arange(8.0).reshape(4, 2)
    x = ag.tensor(a)
    # was: TypeError "'numpy.int64' object is not iterable"
    for sections in (np.int64(2), np.array(2)):
        parts = ag.split(x, sections)
        assert len(parts) == 2
        for p, q in zip(parts, np.split(a, 2)):
            np.testing.assert_array_equal(p.numpy(), q)
    parts = ag.split(x, np.array([1, 3]))
    for p, q in zip(parts, np.split(a, [1, 3])):
        np.testing.assert_array_equal(p.numpy(), q)


def test_expand_minus_one_keeps_the_dimension():
    # PyTorch's expand: -1 keeps an existing size (was: "cannot broadcast ... to shape (-1, 4)")
    a = np.arange(3.0).reshape(3, 1)
    x = ag.tensor(a, requires_grad=True)
    y = x.expand(2, -1, 4)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(a, (2, 3, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 1), 8.0))
    with pytest.raises(ValueError, match=r"broadcast_to: negative dimension -1 in shape \(-1, 3, 1\) "
                                         r"for a tensor of shape \(3, 1\)"):
        x.expand(-1, 3, 1)                          # a new leading axis has no size to keep
    with pytest.raises(ValueError, match=r"negative dimension -2"):
        ag.broadcast_to(x, (3, -2))


@pytest.mark.parametrize("write,name", [
    (lambda t, v: t.__setitem__(slice(0, 2), v), "setitem"),
    (lambda t, v: t.__setitem__(np.array([True, False, True]), v), "setitem"),
    (lambda t, v: t.__setitem__([2, 0], v), "setitem"),
    (lambda t, v: t.__iadd__(v), "in-place add"),
    (lambda t, v: t.__imul__(v), "in-place mul"),
    (lambda t, v: t.copy_(v), "copy_"),
], ids=["slice", "mask", "list", "+=", "*=", "copy_"])
def test_inplace_write_of_a_value_that_requires_grad_is_refused(write, name):
    # was: the write happened and the value's gradient was silently lost (t stayed outside the graph)
    t = ag.zeros(3, dtype="float64")
    w = ag.tensor(np.array([2.0, 3.0]), requires_grad=True)
    v = w * 3.0
    value = v[:2] if name == "setitem" else ag.concatenate([v, v[:1]])
    with pytest.raises(RuntimeError, match=rf"{name}: the value written in place requires grad.*"
                                           r"gradient would be lost"):
        write(t, value)
    np.testing.assert_array_equal(t.numpy(), np.zeros(3))     # nothing was written
    # under no_grad, or with the value detached, the write is an ordinary data write
    with ag.no_grad():
        write(t, value)
    write(t, value.detach())
    assert not t.requires_grad


# ---------------------------------------------------------------------------------- setitem


SETITEM_KEYS = [
    -1, (1, -2), slice(None, None, -2), (slice(None), None, 1), (Ellipsis, 0), (),
    [2, 0], [-1, -1], (np.array([[0, 1], [2, 2]]), 1), ([0, 2], slice(1, None)),
    (slice(None), [1, 1]), np.array([True, False, True]), np.zeros((3, 3), bool),
    np.array(True),
]


@pytest.mark.parametrize("key", SETITEM_KEYS, ids=[repr(k).replace(" ", "") for k in SETITEM_KEYS])
@pytest.mark.parametrize("value", ["scalar", "full", "broadcast", "tensor"])
def test_setitem_matches_numpy_and_writes_base(key, value, rng):
    a = rng.standard_normal((3, 3))
    base = ag.tensor(a)
    view = base.T.T[:, :]                          # a strided view of base
    target_shape = a[key].shape
    v = {"scalar": 2.5, "full": rng.standard_normal(target_shape),
         "broadcast": rng.standard_normal(target_shape[-1:]),
         "tensor": rng.standard_normal(target_shape)}[value]
    v0 = base._version
    view[key] = ag.tensor(v) if value == "tensor" else v
    expected = a.copy()
    expected[key] = v
    np.testing.assert_array_equal(base.numpy(), expected)
    assert base._version > v0


def test_setitem_on_a_non_contiguous_view_writes_the_base():
    a = np.arange(12.0).reshape(3, 4)
    base = ag.tensor(a)
    col = base.T[::-2]                              # rows 3 and 1 of the transpose
    col[:, 1] = ag.tensor(np.array([-1.0, -2.0]))
    expected = a.copy()
    expected.T[::-2][:, 1] = [-1.0, -2.0]
    np.testing.assert_array_equal(base.numpy(), expected)


def test_setitem_zero_size_and_0d():
    z = ag.zeros(0, 3, dtype="float64")
    z[:, 1] = 5.0
    z[np.zeros(0, bool)] = 1.0
    assert z.shape == (0, 3)
    s = ag.tensor(np.array(1.0))
    s[()] = 4.0
    s[...] = s * 2.0
    assert s.item() == 8.0


def test_setitem_errors():
    t = ag.tensor(np.zeros((2, 3)))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 1 with size 3"):
        t[0, 3] = 1.0
    with pytest.raises(IndexError, match="index -3 is out of bounds for axis 0 with size 2"):
        t[[-3]] = 1.0
    with pytest.raises(ValueError, match=r"could not broadcast .*\(4,\).*\(2, ?3\)"):
        t[...] = np.ones(4)
    e = ag.tensor(np.ones(3)).expand(2, 3)
    with pytest.raises(RuntimeError, match="setitem: in-place write into a broadcast"):
        e[0] = 1.0
    np.testing.assert_array_equal(t.numpy(), np.zeros((2, 3)))


# ---------------------------------------------------------------------------------- versions


def test_writing_a_base_invalidates_a_saved_view_and_not_a_saved_copy():
    b = ag.tensor(np.array([1.0, 2.0, 3.0]))
    w = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y_view = b[1:] * w                              # saves a view of b
    y_copy = b[[1, 2]] * w                          # saves a copy
    b[2] = 10.0
    with pytest.raises(RuntimeError, match=r"input 0 of mul was modified in place"):
        y_view.sum().backward()
    y_copy.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 3.0])


def test_writing_through_a_view_invalidates_the_saved_base():
    x = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x
    with ag.no_grad():
        x[1:] += 1.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 3.0, 4.0])
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_inplace_on_a_graph_view_is_refused():
    x = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = ag.exp(x)
    with pytest.raises(RuntimeError, match="recorded graph"):
        y[0:2][0] = 1.0
    with pytest.raises(RuntimeError, match="recorded graph"):
        y.T[1:] *= 2.0


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn,exc,pattern", [
    (lambda x: x[::0], ValueError, "slice step cannot be zero"),
    (lambda x: x[0, 0, 0], IndexError, "too many indices"),
    (lambda x: x[[0], [0], [0]], IndexError, "too many indices"),
    (lambda x: x[1.0], IndexError, "only integers"),
    (lambda x: x[[2**63 - 1]], IndexError, "out of bounds for axis 0 with size 2"),
    (lambda x: ag.zeros(0, 3)[0], IndexError, "index 0 is out of bounds for axis 0 with size 0"),
    (lambda x: x.permute(0, 0), ValueError, "not a valid permutation"),
    (lambda x: x.reshape(4, -1), ValueError, r"cannot infer the unknown dimension .* \(2, 3\)"),
    (lambda x: x.reshape(4, 2), ValueError, r"cannot reshape a tensor of shape \(2, 3\) into shape \(4, 2\)"),
    (lambda x: ag.squeeze(x, 1), ValueError, "cannot select axis 1 of size 3"),
    (lambda x: ag.unsqueeze(x, 3), ValueError, "out of bounds"),
    (lambda x: ag.swapaxes(x, 0, 2), ValueError, "out of bounds"),
    (lambda x: ag.flatten(x, 1, 0), ValueError, "start_dim must not come after end_dim"),
    (lambda x: ag.concatenate([x, x.T]), ValueError, r"shapes \(2, 3\) and \(3, 2\) differ outside axis 0"),
    (lambda x: ag.concatenate([x], axis=2), ValueError, "axis 2 is out of bounds"),
    (lambda x: ag.stack([x, x.T]), ValueError, r"tensor 0 has \(2, 3\), tensor 1 has \(3, 2\)"),
    (lambda x: ag.stack([x, x], axis=3), ValueError, "stack: axis 3 is out of bounds for a result of dimension 3"),
    (lambda x: ag.stack([x, x.astype("float32")]), TypeError, "stack: dtype mismatch, tensor 0 is float64 and "
                                                              "tensor 1 is float32"),
    (lambda x: ag.split(x, 4, axis=1), ValueError, "length 3 cannot be split into 4 equal sections"),
    (lambda x: ag.broadcast_to(x, (3, 3)), ValueError, r"cannot broadcast a tensor of shape \(2, 3\)"),
])
def test_bad_arguments_raise_clear_errors(fn, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn(ag.tensor(np.zeros((2, 3))))


def test_view_shares_memory_or_refuses():
    a = np.arange(12.0).reshape(3, 4)
    x = ag.tensor(a)
    v = x.view(2, 6)
    v[0, 0] = 100.0                                 # a view: the write reaches x
    assert x.numpy()[0, 0] == 100.0
    assert x.T[1].view(1, 3).shape == (1, 3)        # strided but viewable
    # was: a silent copy, so writes into the "view" never reached x (PyTorch raises)
    with pytest.raises(RuntimeError, match=r"view: a tensor of shape \(4, 3\) with strides \(1, 4\) "
                                           r"cannot be viewed as shape \(12,\) without a copy; use reshape"):
        x.T.view(-1)
    np.testing.assert_array_equal(x.T.reshape(-1).numpy(), np.where(np.arange(12) == 0, 100.0, a.T.ravel()))
    assert ag.zeros(0, 3).T.view(-1).shape == (0,)


def test_reshape_to_a_numpy_shape_array():
    # was: TypeError "only integer scalar arrays can be converted to a scalar index"
    x = ag.tensor(np.arange(6.0))
    assert x.reshape(np.array([2, 3])).shape == (2, 3)
    assert ag.reshape(x, np.array([3, -1])).shape == (3, 2)
    assert x.reshape(np.int64(6)).shape == (6,)
    assert ag.broadcast_to(ag.tensor(np.ones(3)), np.array([2, 3])).shape == (2, 3)


@pytest.mark.parametrize("write", [
    lambda b, v: b.__setitem__(slice(0, 2), v), lambda b, v: b.__setitem__([1, 0], v),
    lambda b, v: b[:2].__iadd__(v), lambda b, v: b[:2].copy_(v),
], ids=["slice", "list", "+=", "copy_"])
def test_inplace_write_of_a_value_with_a_tangent_is_refused(write):
    # was: inside jvp the write dropped the value's tangent, so the jvp was silently 0
    def f(x):
        b = ag.zeros(3, dtype="float64")
        write(b, x)
        return b
    with pytest.raises(RuntimeError, match=r"the value written in place carries a forward-mode tangent"):
        ag.jvp(f, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
    with pytest.raises(RuntimeError, match=r"forward-mode tangent"):
        ag.jacobian(f, np.array([1.0, 2.0]), mode="forward")

    def f_detached(x):                              # writing the value's data is fine
        b = ag.zeros(3, dtype="float64")
        write(b, x.detach())
        return b + ag.concatenate([x, x[:1] * 0.0])
    _, t = ag.jvp(f_detached, (np.array([1.0, 2.0]),), (np.array([3.0, 4.0]),))
    np.testing.assert_array_equal(t.numpy(), [3.0, 4.0, 0.0])


@pytest.mark.parametrize("mutate,name", [
    (lambda y: y.__imul__(2.0), "mul"), (lambda y: y.__iadd__(1.0), "add"),
    (lambda y: y.__setitem__(0, 5.0), "setitem"), (lambda y: y.fill_(1.0), "fill_"),
    (lambda y: y[1:].zero_(), "fill_"), (lambda y: y.copy_(np.ones(2)), "copy_"),
], ids=["*=", "+=", "setitem", "fill_", "view zero_", "copy_"])
def test_inplace_on_a_tensor_with_a_tangent_is_refused(mutate, name):
    # was: y *= 2 inside jvp left y's tangent unchanged, so the jvp was wrong (1 instead of 2)
    def f(x):
        y = x * 1.0
        mutate(y)
        return y
    with pytest.raises(RuntimeError, match=rf"{name}: in-place modification of a tensor that carries a "
                                           r"forward-mode tangent"):
        ag.jvp(f, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))


def test_flatten_of_a_0d_tensor_checks_its_dims():
    s = ag.tensor(np.array(2.0))
    assert ag.flatten(s).shape == (1,) and s.flatten(0, -1).shape == (1,)
    # was: any start_dim / end_dim accepted for a 0-d tensor (PyTorch raises)
    with pytest.raises(ValueError, match=r"flatten: start_dim 2 / end_dim -1 out of bounds for a 0-d tensor"):
        ag.flatten(s, 2)
    assert ag.flatten(ag.ones(2, 3, 4), np.int64(1), np.int64(-1)).shape == (2, 12)
