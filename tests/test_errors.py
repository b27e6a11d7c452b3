"""Bad input gets a clear Python exception whose message names the op, the shapes or dtypes."""
import re

import numpy as np
import pytest

import autograd_c as ag


def f64(*shape, requires_grad=False):
    return ag.tensor(np.ones(shape), dtype="float64", requires_grad=requires_grad)


# ---------------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("fn,op,shapes", [
    (lambda: f64(2, 3) + f64(4), "add", ["(2, 3)", "(4,)"]),
    (lambda: f64(2, 3) * f64(3, 2), "mul", ["(2, 3)", "(3, 2)"]),
    (lambda: ag.maximum(f64(2), f64(3)), "maximum", ["(2,)", "(3,)"]),
    (lambda: ag.where(f64(2), f64(3), f64(3)), "where", ["(2,)", "(3,)"]),
    (lambda: f64(2, 3) @ f64(4, 2), "matmul", ["(2, 3)", "(4, 2)"]),
    (lambda: ag.matmul(f64(5, 2, 3), f64(4, 3, 2)), "matmul", ["(5, 2, 3)", "(4, 3, 2)"]),
    (lambda: ag.reshape(f64(2, 3), (4, 2)), "reshape", ["(2, 3)", "(4, 2)"]),
    (lambda: ag.broadcast_to(f64(2, 3), (3, 3)), "broadcast_to", ["(2, 3)", "(3, 3)"]),
    (lambda: ag.concatenate([f64(2, 3), f64(2, 4)], axis=0), "concatenate", []),
    (lambda: ag.stack([f64(2, 3), f64(4)]), "stack", ["(2, 3)", "(4,)"]),
])
def test_shape_mismatch_names_op_and_shapes(fn, op, shapes):
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    assert op in msg
    for s in shapes:
        assert s in msg, f"{s} missing from {msg!r}"


def test_shape_mismatch_in_inplace_op():
    t = f64(2)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        t += f64(3)


def test_backward_grad_of_wrong_shape():
    y = f64(2, 3, requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3, 2\) but the output has shape \(2, 3\)"):
        y.backward(np.ones((3, 2)))


# ---------------------------------------------------------------------------------- axes


@pytest.mark.parametrize("fn,op", [
    (lambda x: ag.sum(x, axis=2), "sum"),
    (lambda x: ag.mean(x, axis=-3), "mean"),
    (lambda x: ag.max(x, axis=(0, 5)), "max"),
    (lambda x: ag.var(x, axis=2), "var"),
    (lambda x: ag.logsumexp(x, axis=7), "logsumexp"),
    (lambda x: ag.softmax(x, axis=2), "softmax"),
    (lambda x: ag.log_softmax(x, axis=-3), "log_softmax"),
    (lambda x: ag.swapaxes(x, 0, 2), "swapaxes"),
    (lambda x: ag.squeeze(x, 4), "squeeze"),
    (lambda x: ag.unsqueeze(x, 4), "unsqueeze"),
    (lambda x: ag.concatenate([x, x], axis=2), "concatenate"),
    (lambda x: ag.split(x, 2, axis=3), "split"),
    (lambda x: ag.flatten(x, 3), "flatten"),
])
def test_bad_axis_names_op(fn, op):
    with pytest.raises(ValueError) as info:
        fn(f64(2, 3))
    msg = str(info.value)
    assert msg.startswith(op + ":"), msg
    assert "out of bounds" in msg or "axis" in msg


def test_repeated_axis():
    with pytest.raises(ValueError, match="sum: repeated axis"):
        ag.sum(f64(2, 3), axis=(0, -2))


def test_bad_permutation():
    with pytest.raises(ValueError, match="permute"):
        ag.permute(f64(2, 3), (0, 0))
    with pytest.raises(ValueError, match="permute: expected 2 dimensions, got 1"):
        ag.permute(f64(2, 3), (0,))


# ---------------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("fn,op", [
    (lambda a, b: a + b, "add"), (lambda a, b: a * b, "mul"), (lambda a, b: a @ b, "matmul"),
    (lambda a, b: ag.maximum(a, b), "maximum"), (lambda a, b: ag.where(a > 0, a, b), "where"),
    (lambda a, b: ag.concatenate([a, b]), "concat"),
])
def test_float32_float64_mix_refused(fn, op):
    a = ag.tensor(np.ones((2, 2)), dtype="float64")
    b = ag.tensor(np.ones((2, 2)), dtype="float32")
    for x, y in ((a, b), (b, a)):
        with pytest.raises(TypeError) as info:
            fn(x, y)
        msg = str(info.value)
        assert op in msg and "float32" in msg and "float64" in msg, msg


def test_unsupported_dtypes():
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int32"):
        ag.tensor([1.0], dtype="int32")
    with pytest.raises(TypeError, match="complex"):
        ag.tensor(np.ones(2, dtype=np.complex128))
    with pytest.raises(TypeError, match="tensor"):
        ag.tensor(["a", "b"])
    with pytest.raises(ValueError, match="tensor: cannot convert list"):
        ag.tensor([1.0, [2.0, 3.0]])
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        ag.ones(2).astype(np.int64)


def test_operand_that_is_not_numeric():
    with pytest.raises(TypeError, match="NoneType"):
        f64(2) + None
    with pytest.raises(TypeError, match="dtype <U"):
        f64(2) * "abc"


# ---------------------------------------------------------------------------------- autograd misuse


def test_backward_on_non_scalar_without_grad():
    y = f64(2, 3, requires_grad=True) * 2.0
    with pytest.raises(RuntimeError,
                       match=r"grad can be implicitly created only for scalar outputs.*\(2, 3\)"):
        y.backward()


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (f64(2) * 2.0).sum().backward()


@pytest.mark.parametrize("data", [np.arange(3), np.array([True, False]), [1, 2, 3]])
def test_requires_grad_on_integer_array(data):
    kind = np.asarray(data).dtype
    with pytest.raises(TypeError, match=rf"only floating point data can require gradients, got {kind}"):
        ag.tensor(data, requires_grad=True)
    # the message's advice works
    assert ag.tensor(data, dtype="float32", requires_grad=True).requires_grad


@pytest.mark.parametrize("eps", [float("nan"), float("inf"), -float("inf"), 0.0, -1e-3])
def test_non_finite_eps_in_numerical_grad(eps):
    with pytest.raises(ValueError, match=re.escape(f"numerical_grad: eps must be a finite positive number, got {eps}")):
        ag.numerical_grad(lambda x: x.sum(), np.ones(2), eps=eps)


def test_numerical_grad_needs_scalar_output():
    with pytest.raises(ValueError, match=r"numerical_grad: f must return a scalar, got shape \(2,\)"):
        ag.numerical_grad(lambda x: x * 2.0, np.ones(2))


def test_second_backward_without_retain_graph():
    x = f64(3, requires_grad=True)
    y = (ag.exp(x) * x).sum()
    y.backward()
    with pytest.raises(RuntimeError) as info:
        y.backward()
    msg = str(info.value)
    assert "second time" in msg and "retain_graph=True" in msg and "sum" in msg


def test_second_backward_with_retain_graph_works():
    x = ag.tensor(np.array([0.5, 1.5]), requires_grad=True)
    y = (ag.exp(x) * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(x.numpy()) * (1 + x.numpy())))


def test_gradcheck_failure_names_input_index_and_values():
    def wrong(x, y):
        # the gradient w.r.t. y is hidden from the tape by a detach
        return (x * 2.0).sum() + (y.detach() * y * 1.0).sum()

    x0, y0 = np.array([1.0, 2.0]), np.array([[0.5, -1.0], [2.0, 3.0]])
    with pytest.raises(ag.GradcheckError) as info:
        ag.gradcheck(wrong, (x0, y0))
    msg = str(info.value)
    m = re.search(r"input (\d+), index \((\d+), (\d+)\): analytic gradient ([-\d.e]+) != numerical ([-\d.e]+)", msg)
    assert m, msg
    assert m.group(1) == "1" and (m.group(2), m.group(3)) == ("0", "0")
    assert float(m.group(4)) == pytest.approx(0.5)          # y: d(y_d * y) = y_d
    assert float(m.group(5)) == pytest.approx(1.0, rel=1e-6)  # 2 y numerically
    assert isinstance(info.value, AssertionError)
    assert ag.gradcheck(lambda x, y: (x * 2.0).sum() + (y * y).sum(), (x0, y0))


# ---------------------------------------------------------------------------------- indexing


@pytest.mark.parametrize("key,pattern", [
    (5, r"index 5 is out of bounds for axis 0 with size 2"),
    (-3, r"index -3 is out of bounds for axis 0 with size 2"),
    ((0, 3), r"index 3 is out of bounds for axis 1 with size 3"),
    ([0, 7], r"index 7 is out of bounds for axis 0 with size 2"),
    ((0, 0, 0), r"too many indices"),
    ((Ellipsis, 0, Ellipsis), r"single ellipsis"),
    (np.array([True, False, True]), r"boolean index did not match"),
    (1.5, r"only integers"),
])
def test_out_of_bounds_and_bad_index(key, pattern):
    x = f64(2, 3)
    with pytest.raises(IndexError, match=pattern):
        x[key]


def test_setitem_out_of_bounds():
    x = f64(2, 3)
    with pytest.raises(IndexError, match="out of bounds"):
        x[2, 0] = 1.0


def test_non_mask_tensor_index_refused():
    with pytest.raises(IndexError, match="boolean masks"):
        f64(3)[ag.tensor(np.array([2.0]))]


# ---------------------------------------------------------------------------------- misc


def test_too_many_dimensions():
    with pytest.raises(ValueError, match="at most 8 dimensions"):
        ag.zeros(*(1,) * 9)
    with pytest.raises(ValueError, match="reshape: at most 8 dimensions"):
        ag.reshape(f64(2), (1,) * 8 + (2,))


def test_item_of_non_scalar():
    with pytest.raises(ValueError, match=r"item: only a tensor with one element .* shape \(2, 3\)"):
        f64(2, 3).item()


def test_empty_reduction_without_identity():
    with pytest.raises(ValueError, match="max: zero-size reduction has no identity"):
        ag.max(ag.tensor(np.ones((0, 3))))


def test_tensor_constructor_refused():
    with pytest.raises(TypeError, match="autograd_c.tensor"):
        ag.Tensor([1.0])
