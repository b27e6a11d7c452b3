"""numpy functions called on Tensors (__array_ufunc__ / __array_function__).

A numpy function with an autograd_c counterpart runs it (a Tensor with a graph comes back);
one without runs on the values when no gradient could be lost, and raises TypeError when a
Tensor argument requires grad.
"""
import math
import os
import sys

import numpy as np
import pytest

import autograd_c as ag
from autograd_c._numpy_dispatch import _UFUNCS

sys.path.insert(0, os.path.dirname(__file__))
from _fd import fd_hessian  # noqa: E402

rng = np.random.default_rng(11)

# a value inside every ufunc's domain (arccosh needs > 1, arcsin / arctanh |x| < 1)
_DOMAIN = {"arccosh": (1.2, 2.5), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9),
           "arctanh": (-0.9, 0.9), "log": (0.3, 2.0), "log2": (0.3, 2.0), "log10": (0.3, 2.0),
           "log1p": (0.3, 2.0), "sqrt": (0.3, 2.0), "power": (0.3, 2.0), "reciprocal": (0.3, 2.0),
           "divide": (0.3, 2.0)}
_NO_GRADIENT = {"sign", "floor", "ceil", "trunc", "rint", "equal", "not_equal", "less",
                "less_equal", "greater", "greater_equal"}


def _sample(name, shape):
    lo, hi = _DOMAIN.get(name, (-1.5, 1.5))
    return rng.uniform(lo, hi, shape)


@pytest.mark.parametrize("name", sorted(_UFUNCS))
def test_every_mapped_ufunc_runs_the_op_with_its_gradient(name):
    uf = getattr(np, name)
    shapes = [(3, 2), (2, 2)] if name == "matmul" else [(2, 3), (2, 3)]
    arrays = [_sample(name, s) for s in shapes[:uf.nin]]
    xs = [ag.tensor(a, requires_grad=True) for a in arrays]
    y = uf(*xs)
    assert isinstance(y, ag.Tensor)
    want = uf(*arrays)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-14, atol=1e-15)
    if name in _NO_GRADIENT:
        assert not y.requires_grad
        return
    # the gradient is the autograd_c function's, to the bit
    w = rng.standard_normal(want.shape)
    (y * ag.tensor(w)).sum().backward()
    ref_in = [ag.tensor(a, requires_grad=True) for a in arrays]
    fn = getattr(ag, _UFUNCS[name])
    (fn(*ref_in) * ag.tensor(w)).sum().backward()
    for x, r in zip(xs, ref_in):
        np.testing.assert_array_equal(x.grad.numpy(), r.grad.numpy())


def test_numpy_style_function_is_differentiable_as_written():
    def f(x):
        return np.sum(np.sin(x) ** 2) + np.mean(np.exp(x)) + np.linalg.norm(np.cumsum(x))

    a = np.array([0.3, -1.1, 0.7])
    g = ag.grad(f)(ag.tensor(a)).numpy()
    c = np.cumsum(a)
    # d/dx: 2 sin cos + exp / n + (reversed cumsum of c / |c|)
    want = (2 * np.sin(a) * np.cos(a) + np.exp(a) / 3
            + np.flip(np.cumsum(np.flip(c / np.linalg.norm(c)))))
    np.testing.assert_allclose(g, want, rtol=1e-14)
    h = ag.hessian(f, ag.tensor(a)).numpy()

    def fnp(v):
        return float(np.sum(np.sin(v) ** 2) + np.mean(np.exp(v)) + np.linalg.norm(np.cumsum(v)))

    num = fd_hessian(fnp, a)
    np.testing.assert_allclose(h, num, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("call,ref", [
    (lambda x: np.sum(x, axis=1, keepdims=True), lambda x: ag.sum(x, axis=1, keepdims=True)),
    (lambda x: np.mean(x, 0), lambda x: ag.mean(x, 0)),
    (lambda x: np.prod(x), lambda x: ag.prod(x)),
    (lambda x: np.max(x, axis=-1), lambda x: ag.max(x, axis=-1)),
    (lambda x: np.amin(x, axis=0), lambda x: ag.min(x, axis=0)),
    (lambda x: np.var(x, axis=1, ddof=1), lambda x: ag.var(x, axis=1, ddof=1)),
    (lambda x: np.std(x), lambda x: ag.std(x)),
    (lambda x: np.cumsum(x, axis=0), lambda x: ag.cumsum(x, axis=0)),
    (lambda x: np.diff(x, n=2), lambda x: ag.diff(x, n=2)),
    (lambda x: np.reshape(x, (3, 4)), lambda x: ag.reshape(x, (3, 4))),
    (lambda x: np.reshape(x, -1), lambda x: ag.reshape(x, -1)),
    (lambda x: np.transpose(x), lambda x: ag.transpose(x)),
    (lambda x: np.swapaxes(x, 0, 1), lambda x: ag.swapaxes(x, 0, 1)),
    (lambda x: np.expand_dims(x, 1), lambda x: ag.expand_dims(x, 1)),
    (lambda x: np.broadcast_to(x, (2, 4, 3)), lambda x: ag.broadcast_to(x, (2, 4, 3))),
    (lambda x: np.concatenate([x, x * 2], axis=1), lambda x: ag.concatenate([x, x * 2], axis=1)),
    (lambda x: np.stack([x, x]), lambda x: ag.stack([x, x])),
    (lambda x: np.clip(x, -0.5, 0.5), lambda x: ag.clip(x, -0.5, 0.5)),
    (lambda x: np.where(x > 0, x, x * x), lambda x: ag.where(x > 0, x, x * x)),
    (lambda x: np.einsum("ij,ij->i", x, x), lambda x: ag.einsum("ij,ij->i", x, x)),
    (lambda x: np.trace(x[:3, :3]), lambda x: ag.trace(x[:3, :3])),
    (lambda x: np.linalg.norm(x), lambda x: ag.linalg.norm(x)),
    (lambda x: np.linalg.inv(x[:3, :3] + 3 * np.eye(3)),
     lambda x: ag.linalg.inv(x[:3, :3] + 3 * np.eye(3))),
    (lambda x: np.linalg.solve(x[:3, :3] + 3 * np.eye(3), x[3]),
     lambda x: ag.linalg.solve(x[:3, :3] + 3 * np.eye(3), x[3])),
    (lambda x: np.linalg.det(x[:3, :3]), lambda x: ag.linalg.det(x[:3, :3])),
    (lambda x: np.dot(x, x.T), lambda x: ag.dot(x, x.T)),
    (lambda x: np.inner(x, x), lambda x: ag.inner(x, x)),
    (lambda x: np.tensordot(x, x, axes=([0], [0])), lambda x: ag.tensordot(x, x, axes=([0], [0]))),
    (lambda x: np.add.reduce(x), lambda x: ag.sum(x, axis=0)),
    (lambda x: np.maximum.reduce(x, axis=1), lambda x: ag.max(x, axis=1)),
    (lambda x: np.add.accumulate(x, axis=1), lambda x: ag.cumsum(x, axis=1)),
])
def test_array_functions_run_the_counterpart(call, ref):
    a = rng.standard_normal((4, 3)) + 0.1
    x = ag.tensor(a, requires_grad=True)
    y = call(x)
    assert isinstance(y, ag.Tensor) and y.requires_grad
    with np.errstate(all="ignore"):
        want = call(a)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-13, atol=1e-14)
    w = ag.tensor(rng.standard_normal(np.shape(want)))
    (y * w).sum().backward()
    x2 = ag.tensor(a, requires_grad=True)
    (ref(x2) * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy())


def test_arrays_and_numpy_scalars_on_the_left_keep_the_graph_and_the_tensor_dtype():
    t = ag.tensor([1.0, 2.0], requires_grad=True)          # float32
    for y in (np.array([3.0, 4.0]) * t, np.float64(2.0) + t, np.array(2.0) ** t,
              np.array([[1.0, 0.0], [0.0, 1.0]]) @ t):
        assert isinstance(y, ag.Tensor) and y.requires_grad and y.dtype == np.float32
    c = np.array([1.0, 5.0]) < t
    assert isinstance(c, ag.Tensor) and c.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("call,name", [
    (lambda x: np.convolve(x, x), "numpy.convolve"),
    (lambda x: np.fmod(x, 1.0), "numpy.fmod"),
    (lambda x: np.sum(x, initial=1.0), "numpy.sum"),
    (lambda x: np.i0(x), "numpy.i0"),
    (lambda x: np.add.outer(x, x), "numpy.add.outer"),
    (lambda x: np.unwrap(x), "numpy.unwrap"),
])
def test_no_counterpart_with_a_gradient_raises_instead_of_dropping_it(call, name):
    x = ag.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    with pytest.raises(TypeError, match=name.replace(".", r"\.") + r".*requires grad"):
        call(x)
    # without a gradient to lose, numpy's own answer on the values
    v = np.array([0.5, -1.0, 2.0])
    got = call(x.detach())
    assert not isinstance(got, ag.Tensor)
    np.testing.assert_allclose(got, call(v), rtol=1e-15)


def test_results_without_a_derivative_come_from_numpy_even_with_a_gradient():
    a = np.array([0.5, np.nan, 2.0, -np.inf])
    x = ag.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(np.isnan(x), np.isnan(a))
    np.testing.assert_array_equal(np.isfinite(x), np.isfinite(a))
    assert np.argmax(ag.tensor([1.0, 3.0, 2.0], requires_grad=True)) == 1
    assert np.shape(x) == (4,) and np.ndim(x) == 1
    assert np.allclose(ag.tensor([1.0], requires_grad=True), 1.0)


def test_out_into_a_tensor_is_refused_and_leaves_it_unchanged():
    t = ag.tensor([1.0, 2.0])
    for call in (lambda: np.add(t, 1.0, out=t), lambda: np.sin(np.ones(2), out=(t,)),
                 lambda: np.sum(np.ones((2, 2)), axis=0, out=t)):
        with pytest.raises(TypeError, match="cannot write into a Tensor"):
            call()
        assert t.tolist() == [1.0, 2.0]
    # into a numpy array, from a tensor without a gradient: numpy's own behaviour
    out = np.zeros(2, dtype=np.float32)
    np.add(t, 1.0, out=out)
    assert out.tolist() == [2.0, 3.0]


def test_float32_stays_float32_through_numpy_functions():
    x = ag.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    for y in (np.exp(x), np.sum(x, axis=0), np.cumsum(x), np.arctan2(x, 2.0), np.mean(x)):
        assert y.dtype == np.float32 and isinstance(y, ag.Tensor)
    assert math.isclose(float(np.mean(x)), 2.5)


def test_tensordot_dot_inner_errors_name_the_shapes():
    a, b = ag.zeros(2, 3), ag.zeros(4, 5)
    with pytest.raises(ValueError, match=r"axis 1 of a \(2, 3\) has 3 elements, axis 0 of b"):
        ag.tensordot(a, b, axes=1)
    with pytest.raises(ValueError, match="axes=3 does not fit"):
        ag.tensordot(a, b, axes=3)
    with pytest.raises(ValueError, match="out of bounds for b"):
        ag.tensordot(a, b, axes=([0], [2]))
    with pytest.raises(ValueError, match="repeated axis"):
        ag.tensordot(ag.zeros(2, 2), ag.zeros(2, 2), axes=([0, 0], [0, 1]))
    with pytest.raises(ValueError, match="1 axes of a against 2"):
        ag.tensordot(a, b, axes=([0], [0, 1]))
    with pytest.raises(ValueError):
        ag.dot(ag.zeros(3), ag.zeros(4))
