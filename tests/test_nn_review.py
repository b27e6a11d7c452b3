"""Review of today's nn additions (LayerNorm, BatchNorm1d, ModuleList/ModuleDict, the new
losses): regression tests for what the review found, each against numpy or PyTorch's documented
behaviour computed independently."""
import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F

RNG = np.random.default_rng(7)


def f64(a, rg=False):
    return ag.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


# ------------------------------------------------ BatchNorm1d running statistics in transforms

def _expected_stats(x, momentum=0.1):
    """PyTorch's update from zeros / ones after ONE training batch: unbiased batch variance."""
    axes = (0,) + tuple(range(2, x.ndim))
    n = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    var = x.var(axis=axes) * n / (n - 1)
    return momentum * mean, (1 - momentum) + momentum * var


_TRANSFORMS = {
    "grad": lambda f, x: ag.grad(lambda z: f(z).sum())(x),
    "value_and_grad": lambda f, x: ag.value_and_grad(lambda z: f(z).sum())(x),
    "vjp": lambda f, x: ag.vjp(f, x)[1](ag.ones(*x.shape, dtype="float64")),
    "jvp": lambda f, x: ag.jvp(f, (x,), (np.ones(x.shape),)),
    # auto, first call for this function: one evaluation to learn the output size, then
    # forward mode, since the input (15) is smaller than the output (30)
    "jacobian_auto": lambda f, x: ag.jacobian(lambda z: f(z).reshape(-1, 1) * np.ones((1, 2)), x),
    "jacobian_forward": lambda f, x: ag.jacobian(f, x, mode="forward"),
    "jacobian_reverse": lambda f, x: ag.jacobian(f, x, mode="reverse"),
    "hessian": lambda f, x: ag.hessian(lambda z: (f(z) ** 3).sum(), x),
    "hvp": lambda f, x: ag.hvp(lambda z: (f(z) ** 3).sum(), x, np.ones(x.shape)),
    "grad_of_jvp": lambda f, x: ag.grad(lambda z: ag.jvp(f, (z,), (np.ones(x.shape),))[1].sum())(x),
}


@pytest.mark.parametrize("transform", sorted(_TRANSFORMS))
def test_batch_norm_running_stats_move_once_per_transform_call(transform):
    # The transforms may evaluate the function more than once (forward mode first, then reverse
    # passes when it closes over parameters); the running statistics must still take exactly one
    # step per call of the module, as for a plain forward (torch.autograd.functional's behaviour).
    x = RNG.standard_normal((5, 3)) * 2 + 1
    bn = nn.BatchNorm1d(3, dtype="float64")
    _TRANSFORMS[transform](bn, f64(x))
    rm, rv = _expected_stats(x)
    assert float(bn.num_batches_tracked) == 1.0
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)


def test_batch_norm_called_twice_in_one_evaluation_steps_twice_under_jvp():
    # the once-per-call rule must not swallow genuine calls: two calls in f are two steps
    x1, x2 = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2))
    bn = nn.BatchNorm1d(2, dtype="float64", momentum=None)   # cumulative average
    ag.jvp(lambda a, b: bn(a) + bn(b), (f64(x1), f64(x2)), (np.ones((4, 2)), np.ones((4, 2))))
    assert float(bn.num_batches_tracked) == 2.0
    np.testing.assert_allclose(bn.running_mean.numpy(), (x1.mean(0) + x2.mean(0)) / 2, rtol=1e-12)


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (2, 3, 0)])
def test_batch_norm_empty_batch_in_training_gives_empty_output_and_keeps_statistics(shape):
    # PyTorch: an empty batch normalises to an empty output; the running statistics are left
    # alone (no NaN from a mean over nothing); num_batches_tracked still counts the call
    bn = nn.BatchNorm1d(3, dtype="float64")
    bn(f64(RNG.standard_normal((4, 3))))
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    x = f64(np.zeros(shape), True)
    y = bn(x)
    assert y.shape == shape
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)
    np.testing.assert_array_equal(bn.running_var.numpy(), rv)
    assert float(bn.num_batches_tracked) == 2.0
    y.sum().backward()
    assert x.grad.shape == shape and bn.weight.grad.shape == (3,)
    np.testing.assert_array_equal(bn.weight.grad.numpy(), 0.0)
    # the functional form, with and without running statistics
    m, v = f64(rm), f64(rv)
    assert F.batch_norm(f64(np.zeros(shape)), m, v, training=True).shape == shape
    np.testing.assert_array_equal(m.numpy(), rm)
    np.testing.assert_array_equal(v.numpy(), rv)
    assert F.batch_norm(f64(np.zeros(shape)), None, None, training=True).shape == shape
    # one value per channel is still refused, before anything moves
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        bn(f64(np.zeros((1, 3))))
    assert float(bn.num_batches_tracked) == 2.0


# ------------------------------------------------ constructor dtypes

@pytest.mark.parametrize("dtype", ["float16", "int64", np.int32, "complex128"])
@pytest.mark.parametrize("cls", [lambda dt: nn.LayerNorm(3, dtype=dt),
                                 lambda dt: nn.BatchNorm1d(3, dtype=dt)])
def test_norm_layers_refuse_a_dtype_they_cannot_hold(cls, dtype):
    # LayerNorm(dtype="float16") silently built float32 parameters
    with pytest.raises(TypeError, match=r"(LayerNorm|BatchNorm1d): dtype must be float32 or "
                                        r"float64, got " + np.dtype(dtype).name):
        cls(dtype)


@pytest.mark.parametrize("dtype", [None, "float32", np.float64])
def test_norm_layers_keep_the_dtype_given(dtype):
    want = np.dtype(dtype or np.float32)
    ln, bn = nn.LayerNorm(3, dtype=dtype), nn.BatchNorm1d(3, dtype=dtype)
    assert ln.weight.dtype == want and ln.bias.dtype == want
    assert all(t.dtype == want for t in bn.parameters() + bn.buffers())


# ------------------------------------------------ containers

def test_module_list_slice_assignment_says_it_is_unsupported():
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    # the message used to say "indices must be integers or slices, got slice"
    with pytest.raises(TypeError, match=r"ModuleList does not support slice assignment"):
        ml[0:1] = nn.Tanh()
    with pytest.raises(TypeError, match=r"ModuleList indices must be integers, got str"):
        ml["0"] = nn.Tanh()
    with pytest.raises(TypeError, match=r"ModuleList indices must be integers or slices, got str"):
        ml["0"]
    assert [type(m).__name__ for m in ml] == ["ReLU", "Tanh"]


# ------------------------------------------------ cross_entropy's plain path

class _CountingLabels:
    """Labels that count how often they are converted to an array."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)
        self.conversions = 0

    def __array__(self, dtype=None, copy=None):
        self.conversions += 1
        return self.labels if dtype is None else self.labels.astype(dtype)


@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 3, 4)])
def test_cross_entropy_converts_the_labels_once(shape):
    # the plain (N, C) path converted a list target to an array twice: a measurable cost
    # (about a fifth of the call for 4096 labels) that the fused path was meant to avoid
    x = RNG.standard_normal(shape)
    lab_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = RNG.integers(0, 3, lab_shape)
    lab = _CountingLabels(y)
    got = F.cross_entropy(f64(x), lab, reduction="none").numpy()
    assert lab.conversions == 1
    xc = np.moveaxis(x, 1, -1) if x.ndim > 2 else x
    logp = xc - np.log(np.exp(xc).sum(-1, keepdims=True))
    np.testing.assert_allclose(got, -np.take_along_axis(logp, y[..., None], -1)[..., 0],
                               rtol=1e-12)


# ------------------------------------------------ argument errors name the argument

@pytest.mark.parametrize("call,pattern", [
    (lambda: F.cross_entropy(ag.zeros(2, 3), [0, 1], label_smoothing="a"),
     r"cross_entropy: label_smoothing must be a real number, got str 'a'"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=None),
     r"CrossEntropyLoss: label_smoothing must be a real number, got NoneType None"),
    (lambda: nn.BatchNorm1d(3, momentum="a"),
     r"BatchNorm1d: momentum must be a real number, got str 'a'"),
    (lambda: nn.BatchNorm1d(3, eps=[1e-5]),
     r"BatchNorm1d: eps must be a real number, got list \[1e-05\]"),
    (lambda: F.batch_norm(ag.zeros(2, 3), None, None, training=True, momentum="x"),
     r"batch_norm: momentum must be a real number, got str 'x'"),
    (lambda: nn.LayerNorm(3, eps="small"),
     r"LayerNorm: eps must be a real number, got str 'small'"),
    (lambda: F.huber_loss(ag.zeros(2), [0.0, 0.0], delta="1"),
     r"huber_loss: delta must be a real number, got str '1'"),
    (lambda: nn.SmoothL1Loss(beta=None),
     r"SmoothL1Loss: beta must be a real number, got NoneType None"),
    (lambda: nn.ModuleList().insert("a", nn.ReLU()),
     r"ModuleList.insert: index must be an integer, got str"),
])
def test_bad_scalar_arguments_name_the_argument(call, pattern):
    # these raised bare "could not convert string to float" / "'<=' not supported" errors
    with pytest.raises(TypeError, match=pattern):
        call()


def test_kl_div_target_gradient_matches_the_documented_rule():
    # d/dt [t log t - t x] = log t + 1 - x where t > 0; documented as -x at t = 0
    x = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
    t = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.25]])
    tt = f64(t, True)
    F.kl_div(f64(x), tt, reduction="sum").backward()
    with np.errstate(divide="ignore"):
        want = np.where(t > 0, np.log(t) + 1 - x, -x)
    np.testing.assert_allclose(tt.grad.numpy(), want, rtol=1e-12)
