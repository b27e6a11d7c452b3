"""Round 9 polish: composite statistics name themselves in their errors; loss signatures in
PyTorch's positional order; adaptive optimizers' state in one order whether stepped or loaded;
repeat along the last axis as flat spread / group-sum passes."""
import inspect
import warnings

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F
from _fd import fd_grad

RNG = np.random.default_rng(9)


# ---- 1. statistics: errors name the public function, not the first op it calls ----

F32 = ag.tensor(np.ones(3, np.float32))
F64 = ag.tensor(np.ones(3))


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_log_add_dtype_mismatch_names_the_function(name):
    f = getattr(ag, name)
    with pytest.raises(TypeError, match=rf"^{name}: dtype mismatch, float32 and float64 "
                                        r"\(convert one with \.astype\(\)\)$"):
        f(F32, F64)
    with pytest.raises(TypeError, match=rf"^{name}: dtype mismatch, float64 and float32"):
        f(F64, F32)
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(3,\) and \(2,\) cannot be "
                                         "broadcast together$"):
        f(F64, ag.tensor(np.ones(2)))


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_log_add_operands_adopt_the_tensor_dtype_as_binary_ops_do(name):
    f, ref = getattr(ag, name), getattr(np, name)
    a = np.array([0.5, -2.0, 30.0])
    # a Python scalar or an array takes the tensor operand's dtype, on either side
    for x1, x2 in ((F32, 2.0), (2.0, F32), (F32, a), (a.astype(np.float32), F64)):
        y = f(x1, x2)
        assert y.dtype == ag.add(x1, x2).dtype
        np.testing.assert_allclose(y.numpy(), ref(np.asarray(x1, np.float64),
                                                  np.asarray(x2, np.float64)), rtol=1e-6)


def test_log_add_gradient_still_matches_finite_differences():
    a, b = RNG.standard_normal(5), RNG.standard_normal(5)
    for name in ("logaddexp", "logaddexp2"):
        f, ref = getattr(ag, name), getattr(np, name)
        x = ag.tensor(a, requires_grad=True)
        f(x, ag.tensor(b)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: ref(v, b).sum(), a),
                                   rtol=1e-7, atol=1e-9)


X2 = ag.tensor(np.array([[1.0, np.nan, 2.0], [3.0, 4.0, np.nan]]))


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanstd", "nancumsum", "nancumprod"])
def test_nan_reductions_and_scans_name_themselves_for_a_bad_axis(name):
    f = getattr(ag, name)
    with pytest.raises(ValueError, match=rf"^{name}: axis 5 is out of bounds for a tensor of "
                                         "dimension 2"):
        f(X2, axis=5)
    with pytest.raises(TypeError, match=rf"^{name}: axis must be"):
        f(X2, axis="a")


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanstd"])
def test_nan_reductions_name_themselves_for_a_repeated_axis(name):
    with pytest.raises(ValueError, match=rf"^{name}: repeated axis"):
        getattr(ag, name)(X2, axis=(0, 0))


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanstd", "nancumsum", "nancumprod"])
def test_nan_functions_with_valid_axes_still_match_numpy(name):
    v = np.asarray(X2)
    for axis in (None, 0, -1) if "cum" in name else (None, 0, -1, (0, 1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.testing.assert_allclose(getattr(ag, name)(X2, axis=axis).numpy(),
                                       getattr(np, name)(v, axis=axis), rtol=1e-12)


# ---- 2. losses: PyTorch's signatures, positional order included ----

def _params(f):
    return list(inspect.signature(f).parameters)


def test_loss_functions_take_pytorchs_positional_order():
    legacy = ["size_average", "reduce", "reduction"]
    assert _params(F.mse_loss) == ["input", "target"] + legacy
    assert _params(F.l1_loss) == ["input", "target"] + legacy
    assert _params(F.smooth_l1_loss) == ["input", "target"] + legacy + ["beta"]
    assert _params(F.kl_div) == ["input", "target"] + legacy + ["log_target"]
    assert _params(F.huber_loss) == ["input", "target", "reduction", "delta"]
    assert _params(F.nll_loss) == ["input", "target", "weight", "size_average", "ignore_index",
                                   "reduce", "reduction"]
    assert _params(F.cross_entropy) == ["input", "target", "weight", "size_average",
                                        "ignore_index", "reduce", "reduction", "label_smoothing"]


def test_loss_modules_take_pytorchs_positional_order():
    legacy = ["size_average", "reduce", "reduction"]
    assert _params(nn.MSELoss) == legacy
    assert _params(nn.L1Loss) == legacy
    assert _params(nn.SmoothL1Loss) == legacy + ["beta"]
    assert _params(nn.KLDivLoss) == legacy + ["log_target"]
    assert _params(nn.BCELoss) == ["weight"] + legacy
    assert _params(nn.BCEWithLogitsLoss) == ["weight"] + legacy + ["pos_weight"]
    assert _params(nn.CrossEntropyLoss) == ["weight", "size_average", "ignore_index", "reduce",
                                            "reduction", "label_smoothing"]
    assert _params(nn.NLLLoss) == ["weight", "size_average", "ignore_index", "reduce",
                                   "reduction"]
    assert _params(nn.HuberLoss) == ["reduction", "delta"]


# calls in this library's former order (reduction first): each must now fail, naming the fix
FORMER_POSITIONAL = [
    (lambda: nn.MSELoss("sum"), "MSELoss: size_average got the string 'sum'"),
    (lambda: nn.L1Loss("none"), "L1Loss: size_average got the string 'none'"),
    (lambda: nn.SmoothL1Loss("sum", 2.0), "SmoothL1Loss: size_average got the string 'sum'"),
    (lambda: nn.KLDivLoss("batchmean", True), "KLDivLoss: size_average got the string"),
    (lambda: nn.BCELoss("sum"), "BCELoss: weight got the string 'sum'"),
    (lambda: nn.BCELoss("mean", [1.0, 2.0]), "BCELoss: weight got the string 'mean'"),
    (lambda: nn.BCEWithLogitsLoss("sum", [2.0]), "BCEWithLogitsLoss: weight got the string"),
    (lambda: F.mse_loss(ag.ones(2), [0.0, 1.0], "sum"), "mse_loss: size_average got the string"),
    (lambda: F.l1_loss(ag.ones(2), [0.0, 1.0], "sum"), "l1_loss: size_average got the string"),
    (lambda: F.smooth_l1_loss(ag.ones(2), [0.0, 1.0], "none", 0.5),
     "smooth_l1_loss: size_average got the string 'none'"),
    (lambda: F.kl_div(ag.zeros(2), [0.5, 0.5], "batchmean"), "kl_div: size_average got"),
]


@pytest.mark.parametrize("call,msg", FORMER_POSITIONAL)
def test_a_reduction_passed_in_the_former_position_is_a_loud_error(call, msg):
    with pytest.raises(TypeError, match=msg + r".*pass reduction='\w+' by keyword"):
        call()


@pytest.mark.parametrize("kw,means", [(dict(size_average=False), "sum"),
                                      (dict(size_average=True), "mean"),
                                      (dict(reduce=False), "none"),
                                      (dict(size_average=False, reduce=True), "sum"),
                                      (dict(size_average=True, reduce=False), "none")])
def test_legacy_size_average_and_reduce_are_refused_naming_their_meaning(kw, means):
    x, t = ag.tensor(RNG.random((2, 3))), RNG.random((2, 3))
    msg = rf"deprecated size_average and reduce are not supported; pass reduction='{means}'"
    for f in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.kl_div, F.binary_cross_entropy,
              F.binary_cross_entropy_with_logits):
        with pytest.raises(TypeError, match=msg):
            f(x, t, **kw)
    for f in (F.cross_entropy, F.nll_loss):
        with pytest.raises(TypeError, match=msg):
            f(x, [0, 2], **kw)
    for cls in (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.KLDivLoss, nn.BCELoss,
                nn.BCEWithLogitsLoss, nn.CrossEntropyLoss, nn.NLLLoss):
        with pytest.raises(TypeError, match=rf"^{cls.__name__}: .*{msg}"):
            cls(**kw)


def test_pytorch_positional_calls_work_and_mean_what_they_mean_in_pytorch():
    x = RNG.standard_normal((4, 3))
    p = 1 / (1 + np.exp(-x))
    t = RNG.random((4, 3))
    w = RNG.random((4, 3)) + 0.5
    y = np.array([0, 2, 1, 2])
    cw = np.array([1.0, 2.0, 0.5])
    X = ag.tensor(x)
    # BCELoss(weight, size_average, reduce, reduction)
    got = nn.BCELoss(w, None, None, "sum")(ag.tensor(p), t)
    exp = -np.sum(w * (t * np.log(p) + (1 - t) * np.log1p(-p)))
    np.testing.assert_allclose(float(got), exp, rtol=1e-12)
    # BCEWithLogitsLoss(weight, size_average, reduce, reduction, pos_weight)
    pw = np.array([2.0, 1.0, 0.5])
    got = nn.BCEWithLogitsLoss(w, None, None, "none", pw)(X, t).numpy()
    exp = -w * (pw * t * np.log(p) + (1 - t) * np.log1p(-p))
    np.testing.assert_allclose(got, exp, rtol=1e-10)
    # MSELoss / F.mse_loss(input, target, size_average, reduce, reduction)
    np.testing.assert_allclose(float(nn.MSELoss(None, None, "sum")(X, t)), np.sum((x - t) ** 2),
                               rtol=1e-12)
    np.testing.assert_allclose(float(F.l1_loss(X, t, None, None, "sum")), np.sum(np.abs(x - t)),
                               rtol=1e-12)
    # SmoothL1Loss(size_average, reduce, reduction, beta)
    d = x - t
    exp = np.where(np.abs(d) < 0.5, 0.5 * d * d / 0.5, np.abs(d) - 0.25).sum()
    np.testing.assert_allclose(float(nn.SmoothL1Loss(None, None, "sum", 0.5)(X, t)), exp,
                               rtol=1e-12)
    # KLDivLoss(size_average, reduce, reduction, log_target)
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    q = np.exp(t) / np.exp(t).sum(1, keepdims=True)
    exp = np.sum(np.exp(np.log(q)) * (np.log(q) - lp)) / 4
    np.testing.assert_allclose(float(nn.KLDivLoss(None, None, "batchmean", True)(
        ag.tensor(lp), np.log(q))), exp, rtol=1e-12)
    # CrossEntropyLoss / F.cross_entropy(input, target, weight, size_average, ignore_index,
    # reduce, reduction, label_smoothing): ignore_index is the 5th positional
    keep = y != 1
    nll = -(x - np.log(np.exp(x).sum(1, keepdims=True)))[np.arange(4), y]
    exp = np.sum((cw[y] * nll)[keep])
    np.testing.assert_allclose(float(F.cross_entropy(X, y, cw, None, 1, None, "sum")), exp,
                               rtol=1e-12)
    np.testing.assert_allclose(float(nn.CrossEntropyLoss(cw, None, 1, None, "sum")(X, y)), exp,
                               rtol=1e-12)
    np.testing.assert_allclose(float(nn.NLLLoss(cw, None, 1, None, "sum")(ag.tensor(lp), y)),
                               -np.sum((cw[y] * lp[np.arange(4), y])[keep]), rtol=1e-12)


def test_keyword_calls_are_unchanged():
    x, t = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    X = ag.tensor(x, requires_grad=True)
    F.mse_loss(X, t, reduction="sum").backward()
    np.testing.assert_allclose(X.grad.numpy(), fd_grad(lambda v: np.sum((v - t) ** 2), x),
                               rtol=1e-7, atol=1e-9)
    assert repr(nn.SmoothL1Loss(beta=2.0)) == "SmoothL1Loss(reduction='mean', beta=2.0)"
    assert nn.KLDivLoss(reduction="sum", log_target=True).log_target is True


# ---- 3. adaptive optimizers: state in one order, stepped or loaded ----

@pytest.mark.parametrize("cls,keys", [
    (ag.optim.NAdam, ["step", "mu_product", "exp_avg", "exp_avg_sq"]),
    (ag.optim.Adamax, ["step", "exp_avg", "exp_inf"]),
    (ag.optim.RAdam, ["step", "exp_avg", "exp_avg_sq"]),
    (ag.optim.Adadelta, ["step", "square_avg", "acc_delta"]),
])
def test_state_dict_order_is_the_same_stepped_or_loaded(cls, keys):
    def fresh(values=(1.0, -2.0)):
        w = ag.tensor(np.array(values), requires_grad=True)
        return w, cls([w])

    w, opt = fresh()
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    opt.state[w]["note"] = 7          # an entry of the user's own, after the fused ones
    sd = opt.state_dict()
    assert list(sd["state"][0]) == keys + ["note"]
    w2, opt2 = fresh(w.numpy())       # the model's values (load_state_dict loads no parameter)
    opt2.load_state_dict(sd)
    for _ in range(2):                # loaded, read again, stepped: the same order each time
        sd2 = opt2.state_dict()
        assert list(sd2["state"][0]) == keys + ["note"]
        assert list(opt2.state[w2]) == keys + ["note"]
        for k in keys:
            np.testing.assert_array_equal(np.asarray(sd2["state"][0][k]),
                                          np.asarray(opt.state_dict()["state"][0][k]))
        for o, p in ((opt, w), (opt2, w2)):
            o.zero_grad()
            (p * p).sum().backward()
            o.step()
    np.testing.assert_array_equal(w.numpy(), w2.numpy())
    assert opt2.state[w2] is opt2.state[0]   # still the one persistent dict per parameter


def test_nadam_mu_product_survives_the_reordering():
    w = ag.tensor([1.0], requires_grad=True)
    opt = ag.optim.NAdam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    mu = 0.9 * (1 - 0.5 * 0.96 ** 0.004)
    assert opt.state[0]["mu_product"] == pytest.approx(mu, rel=1e-14)
    w2 = ag.tensor([1.0], requires_grad=True)
    opt2 = ag.optim.NAdam([w2], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[0]["mu_product"] == opt.state[0]["mu_product"]


# ---- 4. repeat along the last axis: spread forward, group-sum backward ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis,r", [((5, 7), -1, 2), ((5, 7), 1, 3), ((2, 3, 4), -1, 5),
                                          ((6,), 0, 4), ((3, 4), None, 2), ((3, 4), -1, 1)])
def test_repeat_last_axis_matches_numpy_and_its_gradient_is_the_group_sum(dtype, shape, axis, r):
    a = RNG.standard_normal(shape).astype(dtype)
    x = ag.tensor(a, requires_grad=True)
    y = ag.repeat(x, r, axis=axis)
    np.testing.assert_array_equal(y.numpy(), np.repeat(a, r, axis=axis))
    g = RNG.standard_normal(y.shape).astype(dtype)
    y.backward(ag.tensor(g))
    ax = -1 if axis is None else axis
    flat = g.reshape(-1) if axis is None else g
    exp = flat.reshape(flat.shape[:ax % flat.ndim] + (-1, r)).sum(-1).reshape(shape)
    np.testing.assert_allclose(x.grad.numpy(), exp, rtol=1e-6 if dtype == np.float32 else 1e-15)


def test_repeat_last_axis_gradient_matches_finite_differences():
    a = RNG.standard_normal((3, 4))
    c = RNG.standard_normal((3, 12))
    x = ag.tensor(a, requires_grad=True)
    (ag.repeat(x, 3, axis=-1) * c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(),
                               fd_grad(lambda v: np.sum(np.repeat(v, 3, axis=-1) * c), a),
                               rtol=1e-7, atol=1e-9)
    # second order and forward mode go through the same ops
    assert ag.gradcheck(lambda v: (ag.repeat(v, 2, axis=-1) ** 2 * c[:, :8]).sum(), (a,))
    t = RNG.standard_normal((3, 4))
    _, jt = ag.jvp(lambda v: ag.repeat(v, 2, axis=-1), (ag.tensor(a),), (ag.tensor(t),))
    np.testing.assert_array_equal(jt.numpy(), np.repeat(t, 2, axis=-1))


def test_repeat_with_counts_per_element_still_scatters():
    a = RNG.standard_normal((2, 3))
    x = ag.tensor(a, requires_grad=True)
    y = ag.repeat(x, [1, 0, 3], axis=-1)
    np.testing.assert_array_equal(y.numpy(), np.repeat(a, [1, 0, 3], axis=-1))
    g = RNG.standard_normal(y.shape)
    y.backward(ag.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(),
                                  np.stack([g[:, 0], np.zeros(2), g[:, 1:].sum(1)], 1))


def test_a_gather_that_only_looks_like_a_repeat_is_not_taken_for_one():
    a = RNG.standard_normal((4, 3))
    x = ag.tensor(a, requires_grad=True)
    y = x[:, [0, 0, 1, 2, 2, 2]]      # the index of a repeat by 2 ... except the last pair
    np.testing.assert_array_equal(y.numpy(), a[:, [0, 0, 1, 2, 2, 2]])
    g = RNG.standard_normal(y.shape)
    y.backward(ag.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), np.stack(
        [g[:, 0] + g[:, 1], g[:, 2], g[:, 3] + g[:, 4] + g[:, 5]], 1), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("r", [2, 3, 5])
def test_repeat_last_axis_is_bitwise_the_same_for_one_and_two_threads(dtype, r):
    a = RNG.standard_normal((256, 200)).astype(dtype)    # past the parallel threshold
    g = RNG.standard_normal((256, 200 * r)).astype(dtype)
    before = ag.get_num_threads()
    out = []
    try:
        for n in (1, 2):
            ag.set_num_threads(n)
            x = ag.tensor(a, requires_grad=True)
            y = ag.repeat(x, r, axis=-1)
            y.backward(ag.tensor(g))
            out.append((y.numpy().copy(), x.grad.numpy().copy()))
    finally:
        ag.set_num_threads(before)
    for i in range(2):
        assert out[0][i].tobytes() == out[1][i].tobytes()
    np.testing.assert_allclose(out[0][1], g.reshape(256, 200, r).sum(-1),
                               rtol=1e-5 if dtype == np.float32 else 1e-14)


def test_repeat_backward_frees_its_memory():
    x = ag.tensor(RNG.standard_normal((64, 64)), requires_grad=True)
    ag.repeat(x, 2, axis=-1).sum().backward()
    x.grad = None
    base = ag.live_tensors()
    for _ in range(3):
        ag.repeat(x, 2, axis=-1).sum().backward()
        x.grad = None
    assert ag.live_tensors() == base
