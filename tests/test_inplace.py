"""In-place ops: allowed on leaves outside the graph and under no_grad, refused on graph
tensors, and guarded by version counters so a stale saved value is an error, not a wrong
gradient."""
import numpy as np
import pytest

import autograd_c as ag

INPLACE = [
    ("+=", lambda t, v: t.__iadd__(v), np.add),
    ("-=", lambda t, v: t.__isub__(v), np.subtract),
    ("*=", lambda t, v: t.__imul__(v), np.multiply),
    ("/=", lambda t, v: t.__itruediv__(v), np.divide),
]
IDS = [i[0] for i in INPLACE]


@pytest.mark.parametrize("sym,iop,ref", INPLACE, ids=IDS)
@pytest.mark.parametrize("other", ["scalar", "tensor", "broadcast", "ndarray"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_arithmetic_on_plain_leaf(sym, iop, ref, other, dtype, rng):
    a = rng.uniform(0.5, 2.0, (3, 4)).astype(dtype)
    o = {"scalar": 1.5, "tensor": rng.uniform(0.5, 2.0, (3, 4)),
         "broadcast": rng.uniform(0.5, 2.0, (4,)), "ndarray": rng.uniform(0.5, 2.0, (3, 1))}[other]
    t = ag.tensor(a, dtype=dtype)
    view = t.numpy()
    v0 = t._version
    operand = ag.tensor(o, dtype=dtype) if other in ("tensor", "broadcast") else o
    r = iop(t, operand)
    assert r is t
    np.testing.assert_allclose(t.numpy(), ref(a, np.asarray(o, dtype=dtype)), rtol=1e-6)
    assert np.shares_memory(view, t.numpy())       # the same memory was written
    assert t._version > v0


def test_inplace_statement_form_keeps_identity():
    t = ag.tensor(np.ones(3))
    ident = id(t)
    t += 1.0
    t *= 3.0
    t -= ag.tensor(np.arange(3.0))
    t /= 2.0
    assert id(t) == ident
    np.testing.assert_allclose(t.numpy(), (6.0 - np.arange(3.0)) / 2.0)


def test_inplace_on_a_view_writes_through():
    base = ag.tensor(np.zeros((3, 4)))
    col = base[:, 1]
    col += 5.0
    row = base[2]
    row *= 0.0
    expected = np.zeros((3, 4))
    expected[:, 1] = 5.0
    expected[2] = 0.0
    np.testing.assert_array_equal(base.numpy(), expected)


def test_inplace_with_overlapping_operand():
    a = np.arange(9.0).reshape(3, 3)
    t = ag.tensor(a)
    t += t.T
    np.testing.assert_array_equal(t.numpy(), a + a.T)


@pytest.mark.parametrize("key", [1, (slice(None), 2), (Ellipsis, slice(1, 3)), [0, 2],
                                 np.array([True, False, True]), (slice(None, None, -1), 0)])
def test_setitem(key, rng):
    a = rng.standard_normal((3, 4))
    t = ag.tensor(a)
    v0 = t._version
    value = rng.standard_normal(np.shape(a[key]))
    t[key] = value
    expected = a.copy()
    expected[key] = value
    np.testing.assert_array_equal(t.numpy(), expected)
    assert t._version > v0
    t[key] = 7.0
    expected[key] = 7.0
    np.testing.assert_array_equal(t.numpy(), expected)


def test_setitem_with_tensor_value_and_mask_tensor():
    t = ag.tensor(np.array([-1.0, 2.0, -3.0, 4.0]))
    t[t < 0] = 0.0
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0, 0.0, 4.0])
    t[1:3] = ag.tensor(np.array([9.0, 8.0]))
    np.testing.assert_array_equal(t.numpy(), [0.0, 9.0, 8.0, 4.0])
    t[1:] = t[:-1]                                  # overlapping source: read before write
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0, 9.0, 8.0])


def test_zero_and_fill():
    t = ag.tensor(np.arange(6.0).reshape(2, 3))
    assert t.zero_() is t
    np.testing.assert_array_equal(t.numpy(), np.zeros((2, 3)))
    assert t.fill_(2.5) is t
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 2.5))
    t.T[1].fill_(-1.0)                              # through a non-contiguous view
    np.testing.assert_array_equal(t.numpy()[:, 1], [-1.0, -1.0])


@pytest.mark.parametrize("mutate", [
    lambda t: t.__iadd__(1.0), lambda t: t.__imul__(2.0), lambda t: t.__isub__(1.0),
    lambda t: t.__itruediv__(2.0), lambda t: t.__setitem__(0, 1.0), lambda t: t.zero_(),
    lambda t: t.fill_(3.0),
], ids=["+=", "*=", "-=", "/=", "setitem", "zero_", "fill_"])
def test_inplace_under_no_grad_on_requires_grad_leaf(mutate):
    w = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with ag.no_grad():
        mutate(w)
    assert w.requires_grad and w.is_leaf
    (w * w).sum().backward()                        # the graph built after the update is fine
    np.testing.assert_allclose(w.grad.numpy(), 2 * w.numpy())


@pytest.mark.parametrize("mutate,name", [
    (lambda t: t.__iadd__(1.0), "add"), (lambda t: t.__imul__(2.0), "mul"),
    (lambda t: t.__isub__(1.0), "sub"), (lambda t: t.__itruediv__(2.0), "div"),
    (lambda t: t.__setitem__(0, 1.0), "setitem"), (lambda t: t.zero_(), "fill_"),
    (lambda t: t.fill_(3.0), "fill_"),
], ids=["+=", "*=", "-=", "/=", "setitem", "zero_", "fill_"])
def test_inplace_refused_on_requires_grad_leaf_and_graph_tensors(mutate, name):
    w = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    before = w.numpy().copy()
    with pytest.raises(RuntimeError, match=rf"{name}: a leaf tensor that requires grad .*no_grad"):
        mutate(w)
    np.testing.assert_array_equal(w.numpy(), before)  # nothing was written
    y = ag.exp(w)
    with pytest.raises(RuntimeError, match=rf"{name}: in-place modification of a tensor that is part of a "
                                           r"recorded graph \(output of exp\)"):
        mutate(y)
    v = w[0:1]                                      # a view of a requires-grad leaf is in the graph
    with pytest.raises(RuntimeError, match="recorded graph"):
        mutate(v)


def test_inplace_refused_on_broadcast_view():
    e = ag.tensor(np.ones(3)).expand(2, 3)
    with pytest.raises(RuntimeError, match="broadcast"):
        e += 1.0
    with pytest.raises(RuntimeError, match="broadcast"):
        e.fill_(0.0)


# ---------------------------------------------------------------------------------- versions


@pytest.mark.parametrize("build,op", [
    (lambda x: x * x, "mul"), (lambda x: ag.sin(x), "sin"), (lambda x: x / 2.0 * x, "mul"),
    (lambda x: x @ x, "matmul"), (lambda x: ag.prod(x), "prod"), (lambda x: x ** 3, "pow"),
    (lambda x: ag.maximum(x, 0.5), "maximum"),
])
def test_modified_saved_input_makes_backward_raise(build, op):
    x = ag.tensor(np.array([0.3, 0.7, 1.1]), requires_grad=True)
    y = build(x)
    with ag.no_grad():
        x += 1.0
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert op in msg and "modified in place" in msg, msg


@pytest.mark.parametrize("build,op", [
    (lambda x: ag.exp(x), "exp"), (lambda x: ag.tanh(x), "tanh"), (lambda x: ag.sigmoid(x), "sigmoid"),
    (lambda x: ag.softmax(x, axis=0), "softmax"), (lambda x: ag.sqrt(x), "sqrt"),
])
def test_modified_saved_output_makes_backward_raise(build, op):
    x = ag.tensor(np.array([0.3, 0.7, 1.1]), requires_grad=True)
    y = build(x)
    with ag.no_grad():
        y *= 2.0
    with pytest.raises(RuntimeError, match=rf"the output of {op} was modified in place"):
        y.sum().backward()


def test_modification_through_another_view_is_detected():
    x = ag.tensor(np.array([0.3, 0.7, 1.1]), requires_grad=True)
    alias = x.detach()                              # shares storage and its version counter
    y = x * x
    alias[0] = 5.0
    with pytest.raises(RuntimeError, match=r"input 0 of mul was modified in place"):
        y.sum().backward()


def test_modifying_an_unsaved_input_is_allowed():
    x = ag.tensor(np.array([0.3, 0.7]), requires_grad=True)
    y = x + 2.0                                    # add does not read x in its backward
    with ag.no_grad():
        x += 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_grad_buffer_can_be_zeroed_in_place():
    x = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).sum().backward()
    x.grad.zero_()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_update_loop_like_an_optimizer():
    w = ag.tensor(np.array([2.0, -3.0]), requires_grad=True)
    for _ in range(200):
        loss = (w * w).sum()
        loss.backward()
        with ag.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
    np.testing.assert_allclose(w.numpy(), np.array([2.0, -3.0]) * 0.8 ** 200, atol=1e-15)
