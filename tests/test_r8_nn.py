"""Round-8 hostile review of nn, optim and the estimators, as PyTorch / scikit-learn users use
them: Sequential editing (and the stale fusion plan after a layer is removed), load_state_dict's
result, train() with a non-bool, optimizer options broken between steps, nn.utils, and the
scikit-learn warm_start rules of the MLPs."""
import warnings

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.models import ConvergenceWarning, MLPClassifier, MLPRegressor, SoftmaxRegression


def quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*a, **k)


def _layers(n_in=3):
    ag.manual_seed(0)
    return nn.Linear(n_in, 4), nn.ReLU(), nn.Linear(4, 2)


def _by_hand(mods, x):
    for m in mods:
        x = m(x)
    return x.numpy()


# ---- Sequential: a layer removed after the first forward kept running (stale fusion plan)
def test_sequential_forward_after_delattr_drops_the_layer(rng):
    a, r, b = _layers()
    net = nn.Sequential(a, r, b)
    x = ag.tensor(rng.normal(size=(5, 3)).astype(np.float32))
    assert net(x).shape == (5, 2)                 # builds the fused plan
    delattr(net, "2")
    out = net(x)
    assert out.shape == (5, 4)                    # was (5, 2): the deleted Linear still ran
    np.testing.assert_array_equal(out.numpy(), _by_hand([a, r], x))


# ---- Sequential: PyTorch's editing API (assign / delete / insert / extend / pop by index)
def test_sequential_setitem_delitem_insert_extend_pop(rng):
    a, r, b = _layers()
    net = nn.Sequential(a, r, b)
    x = ag.tensor(rng.normal(size=(6, 3)).astype(np.float32))
    net(x)
    t = nn.Tanh()
    net[1] = t                                    # replaces the fused ReLU
    assert net[1] is t and list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_allclose(net(x).numpy(), _by_hand([a, t, b], x), rtol=1e-6, atol=1e-7)
    net[-1] = b
    del net[-1]
    assert len(net) == 2 and [n for n, _ in net.named_children()] == ["0", "1"]
    np.testing.assert_allclose(net(x).numpy(), _by_hand([a, t], x), rtol=1e-6, atol=1e-7)
    net.insert(1, r)                              # Linear, ReLU, Tanh: renumbered 0, 1, 2
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Tanh"]
    assert [n for n, _ in net.named_children()] == ["0", "1", "2"]
    np.testing.assert_allclose(net(x).numpy(), _by_hand([a, r, t], x), rtol=1e-6, atol=1e-7)
    assert net.extend([b]) is net and len(net) == 4
    assert net(x).shape == (6, 2)
    assert net.pop(2) is t and len(net) == 3
    np.testing.assert_allclose(net(x).numpy(), _by_hand([a, r, b], x), rtol=1e-6, atol=1e-7)
    del net[0:2]
    assert len(net) == 1 and net[0] is b and list(net.state_dict()) == ["0.weight", "0.bias"]
    net.insert(-1, a)                             # before the last, as list.insert
    assert [m for m in net] == [a, b]
    net.insert(len(net), r)                       # at the end
    assert net[2] is r


def test_sequential_bad_index_and_value_errors():
    net = nn.Sequential(*_layers())
    with pytest.raises(IndexError, match=r"index 3 is out of range.*length 3"):
        net[3]
    with pytest.raises(IndexError, match=r"index -4 is out of range"):
        net[-4] = nn.ReLU()
    with pytest.raises(TypeError, match="indices must be integers or slices, got str"):
        net["0"]
    with pytest.raises(TypeError, match="expected a Module, got int"):
        net[0] = 3
    with pytest.raises(TypeError, match="expected a Module, got list"):
        net.insert(0, [nn.ReLU()])
    with pytest.raises(TypeError, match="expected a Module, got int"):
        net.extend([nn.ReLU(), 3])
    assert len(net) == 3                          # a bad extend adds nothing
    with pytest.raises(IndexError):
        net.pop(7)
    with pytest.raises(TypeError, match="slice assignment"):
        net[0:1] = [nn.ReLU()]


def test_sequential_named_keys_edit_keeps_names():
    from collections import OrderedDict
    enc, act = nn.Linear(2, 2), nn.ReLU()
    net = nn.Sequential(OrderedDict(enc=enc, act=act))
    new = nn.Tanh()
    net[1] = new                                  # PyTorch: the key stays "act"
    assert [n for n, _ in net.named_children()] == ["enc", "act"] and net.act is new


# ---- Module.load_state_dict returns PyTorch's (missing_keys, unexpected_keys) named tuple
def test_load_state_dict_result_has_named_fields():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    sd = net.state_dict()
    del sd["1.bias"]
    sd["extra.weight"] = np.zeros(1)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["1.bias"] and res.unexpected_keys == ["extra.weight"]
    missing, unexpected = res                     # still unpacks as the tuple it was
    assert (missing, unexpected) == (["1.bias"], ["extra.weight"])
    ok = net.load_state_dict(net.state_dict())
    assert ok.missing_keys == [] and ok.unexpected_keys == [] and ok == ([], [])


# ---- train(mode): PyTorch refuses a mode that is not a bool (train("False") trained)
@pytest.mark.parametrize("bad", ["False", None, 0.0, [1]])
def test_train_mode_must_be_bool(bad):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train(bad)
    assert not any(m.training for m in net.modules())  # unchanged
    assert net.train(np.bool_(True)) is net and all(m.training for m in net.modules())


# ---- optimizer options broken between steps: the error names the option
@pytest.mark.parametrize("opt_cls,key,value", [
    (ag.optim.SGD, "lr", None), (ag.optim.SGD, "momentum", "0.9"),
    (ag.optim.Adam, "lr", "0.1"), (ag.optim.Adam, "eps", None),
    (ag.optim.RMSprop, "alpha", None), (ag.optim.Adagrad, "lr_decay", "x"),
    (ag.optim.NAdam, "momentum_decay", None), (ag.optim.Adadelta, "rho", None),
])
def test_step_with_an_option_of_the_wrong_type_names_it(opt_cls, key, value):
    p = ag.tensor(np.ones(3), requires_grad=True)
    opt = opt_cls([p], lr=0.1)
    p.grad = ag.tensor(np.ones(3))
    opt.param_groups[0][key] = value
    with pytest.raises(TypeError, match=f"{opt_cls.__name__}: {key} must be a number"):
        opt.step()
    np.testing.assert_array_equal(p.numpy(), np.ones(3))


# ---- nn.utils: where PyTorch users look for the gradient clipping helpers
def test_nn_utils_clip_grad():
    w = ag.tensor([3.0, 4.0], requires_grad=True)
    w.grad = ag.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_([w], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    nn.utils.clip_grad_value_(w, 0.7)
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.7], rtol=1e-6)


# ---- MLP warm_start, scikit-learn's rules
@pytest.fixture
def cls_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.array(["a", "b", "c"])[np.argmax(X @ rng.normal(size=(3, 3)), axis=1)]
    return X, y


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_fit_with_other_classes_raises(cls_data, solver):
    X, y = cls_data
    m = quiet(MLPClassifier((4,), solver=solver, warm_start=True, max_iter=3,
                            random_state=0).fit, X, y)
    before = [c.copy() for c in m.coefs_]
    two = np.where(y == "c", "b", y)
    with pytest.raises(ValueError, match=r"warm_start.*same classes.*\['a', 'b', 'c'\].*\['a', 'b'\]"):
        m.fit(X, two)
    for a, b in zip(before, m.coefs_):
        np.testing.assert_array_equal(a, b)
    m.set_params(warm_start=False)
    assert list(quiet(m.fit, X, two).classes_) == ["a", "b"]   # a fresh fit may change them


def test_warm_start_classes_check_also_for_the_linear_models(cls_data):
    X, y = cls_data
    m = quiet(SoftmaxRegression(warm_start=True, max_iter=3).fit, X, y)
    with pytest.raises(ValueError, match="same classes"):
        m.fit(X, np.where(y == "c", "b", y))


@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_loss_curve_accumulates_like_sklearn(cls_data, early_stopping):
    # scikit-learn: with warm_start the stochastic solvers append to loss_curve_ (and to
    # validation_scores_) across fit calls, while n_iter_ counts the epochs of the last call
    X, y = cls_data
    m = MLPClassifier((4,), warm_start=True, max_iter=3, tol=0, random_state=0,
                      early_stopping=early_stopping)
    curves, scores = [], []
    for _ in range(3):
        quiet(m.fit, X, y)
        assert m.n_iter_ == 3
        curves.append(list(m.loss_curve_))
        if early_stopping:
            scores.append(list(m.validation_scores_))
            assert m.best_validation_score_ == max(m.validation_scores_[-3:])
    assert [len(c) for c in curves] == [3, 6, 9]
    assert curves[2][:6] == curves[1] and curves[1][:3] == curves[0]
    assert m.loss_ == m.loss_curve_[-1]
    if early_stopping:
        assert [len(s) for s in scores] == [3, 6, 9] and scores[2][:6] == scores[1]
    # a fresh fit (warm_start off) starts a new curve
    quiet(m.set_params(warm_start=False).fit, X, y)
    assert len(m.loss_curve_) == 3


def test_warm_start_with_max_iter_1_loop_records_every_epoch():
    # the common monitoring idiom: warm_start=True, max_iter=1, fit in a loop, plot loss_curve_
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = X[:, 0] - 2 * X[:, 1]
    ref = quiet(MLPRegressor((5,), max_iter=4, tol=0, random_state=0).fit, X, y)
    m = MLPRegressor((5,), max_iter=1, warm_start=True, tol=0, random_state=0)
    for _ in range(4):
        quiet(m.fit, X, y)
    assert len(m.loss_curve_) == 4
    # the first epoch is the same start; later epochs continue from the fitted weights
    assert m.loss_curve_[0] == ref.loss_curve_[0]
    assert m.loss_curve_[-1] < m.loss_curve_[0]


# ---- early_stopping on one sample: the message scikit-learn's checks look for
def test_early_stopping_one_sample_message():
    with pytest.raises(ValueError, match="n_samples=1"):
        MLPRegressor(early_stopping=True).fit(np.ones((1, 2)), [1.0])


# ---- param_groups edited by hand: the fused C groups were built from the original lists, so
# an appended parameter was skipped, a replaced one was not the one updated, and after a popped
# group the next group's parameters took the popped group's options, all silently
def _two_group_sgd():
    p = ag.tensor(np.zeros(2), requires_grad=True)
    q = ag.tensor(np.zeros(2), requires_grad=True)
    opt = ag.optim.SGD([{"params": [p], "lr": 1.0}, {"params": [q], "lr": 0.01}], lr=0.1)
    p.grad = ag.tensor(np.ones(2))
    q.grad = ag.tensor(np.ones(2))
    return p, q, opt


@pytest.mark.parametrize("edit", ["append", "replace", "setitem", "pop_group", "swap_groups"])
def test_param_groups_edited_by_hand_raise(edit):
    p, q, opt = _two_group_sgd()
    r = ag.tensor(np.zeros(2), requires_grad=True)
    r.grad = ag.tensor(np.ones(2))
    g = opt.param_groups
    if edit == "append":
        g[0]["params"].append(r)
    elif edit == "replace":
        g[0]["params"] = [r]
    elif edit == "setitem":
        g[1]["params"][0] = r
    elif edit == "pop_group":
        g.pop(0)
    else:
        g.reverse()
    for call in (opt.step, opt.zero_grad, opt.state_dict):
        with pytest.raises(RuntimeError, match="param_groups.*(changed|groups).*add_param_group"):
            call()
    for t in (p, q, r):
        np.testing.assert_array_equal(t.numpy(), np.zeros(2))
        np.testing.assert_array_equal(t.grad.numpy(), np.ones(2))


def test_add_param_group_and_option_edits_still_allowed():
    p, q, opt = _two_group_sgd()
    r = ag.tensor(np.zeros(2), requires_grad=True)
    opt.add_param_group({"params": [r], "lr": 0.5})
    r.grad = ag.tensor(np.ones(2))
    opt.param_groups[1]["lr"] = 0.25              # options may change between steps
    opt.step()
    np.testing.assert_array_equal(p.numpy(), [-1.0, -1.0])
    np.testing.assert_array_equal(q.numpy(), [-0.25, -0.25])
    np.testing.assert_array_equal(r.numpy(), [-0.5, -0.5])
    import copy
    import pickle
    for clone in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):
        for g in clone.param_groups:              # a copied Tensor does not keep its .grad
            for t in g["params"]:
                t.grad = ag.tensor(np.ones(2))
        clone.step()                              # the copies' own parameters, still checked
        assert [t.numpy().tolist() for g in clone.param_groups for t in g["params"]] == \
            [[-2.0, -2.0], [-0.5, -0.5], [-1.0, -1.0]]


# ---- estimator hyper-parameters: NaN / inf passed the range checks (the error, if any, came
# from inside Adam naming its lr / weight_decay); a str where a bool belongs was truthy
@pytest.mark.parametrize("make,kw", [
    (MLPClassifier, dict(alpha=np.nan)), (MLPClassifier, dict(learning_rate_init=np.inf)),
    (MLPClassifier, dict(learning_rate_init=np.nan)), (MLPRegressor, dict(alpha=np.inf)),
    (MLPRegressor, dict(momentum=np.nan, solver="sgd")), (SoftmaxRegression, dict(alpha=np.nan)),
    (MLPRegressor, dict(tol=np.nan)), (MLPClassifier, dict(validation_fraction=np.nan)),
])
def test_non_finite_hyper_parameters_are_named(make, kw, cls_data):
    X, y = cls_data
    if make is MLPRegressor:
        y = X[:, 0]
    name = next(iter(kw))
    with pytest.raises(ValueError, match=f"{make.__name__}: invalid {name}=(nan|inf)"):
        make(max_iter=2, **kw).fit(X, y)


def test_infinite_tol_is_allowed(cls_data):
    X, y = cls_data
    m = quiet(MLPClassifier((3,), tol=np.inf, n_iter_no_change=2, max_iter=50,
                            random_state=0).fit, X, y)
    # the first epoch sets the best loss, no later one improves on it by more than inf, and
    # training stops once n_iter_no_change (2) has been exceeded: after epoch 1 + 3
    assert m.n_iter_ == 4


@pytest.mark.parametrize("make,name", [
    (MLPClassifier, "shuffle"), (MLPClassifier, "early_stopping"), (MLPRegressor, "warm_start"),
    (MLPClassifier, "nesterovs_momentum"), (SoftmaxRegression, "fit_intercept"),
])
def test_bool_hyper_parameters_refuse_strings(make, name, cls_data):
    X, y = cls_data
    if make is MLPRegressor:
        y = X[:, 0]
    with pytest.raises(ValueError, match=f"{name} must be a bool.*'no'"):
        make(max_iter=2, **{name: "no"}).fit(X, y)
    quiet(make(max_iter=2, **{name: np.bool_(False)}).fit, X, y)  # numpy bools are bools


# ---- PyTorch's traversal keywords: buffers(recurse=...), named_buffers(prefix, recurse,
# remove_duplicate), named_parameters(remove_duplicate=...) raised TypeError; a buffer shared
# by two modules was listed twice
class _Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.BatchNorm1d(2)
        self.b = nn.BatchNorm1d(2)
        self.b.running_mean = self.a.running_mean       # one buffer, two names
        self.lin = nn.Linear(2, 2)
        self.lin2 = nn.Linear(2, 2)
        self.lin2.weight = self.lin.weight
        self.register_buffer("scale", ag.ones(1))


def test_traversal_keywords_like_pytorch():
    m = _Shared()
    top = [n for n, _ in m.named_buffers(recurse=False)]
    assert top == ["scale"] and len(m.buffers(recurse=False)) == 1
    names = [n for n, _ in m.named_buffers(prefix="net")]
    assert names == ["net.scale", "net.a.running_mean", "net.a.running_var",
                     "net.a.num_batches_tracked", "net.b.running_var",
                     "net.b.num_batches_tracked"]
    assert len(m.buffers()) == 6
    every = [n for n, _ in m.named_buffers(remove_duplicate=False)]
    assert "b.running_mean" in every and len(every) == 7
    assert [n for n, _ in m.named_parameters(recurse=False)] == []
    assert [n for n, _ in m.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias",
                                                     "lin.weight", "lin.bias", "lin2.bias"]
    dup = [n for n, _ in m.named_parameters(remove_duplicate=False)]
    assert dup[-3:] == ["lin.bias", "lin2.weight", "lin2.bias"] and len(dup) == 8
    assert len(m.parameters()) == 7


# ---- nn.ReLU(inplace=True) and friends: PyTorch model code raised TypeError
@pytest.mark.parametrize("make", [
    lambda f: nn.ReLU(inplace=f), lambda f: nn.LeakyReLU(0.2, inplace=f),
    lambda f: nn.ELU(0.5, f), lambda f: nn.SiLU(inplace=f),
])
def test_inplace_flag_accepted_and_computed_out_of_place(make, rng):
    x0 = rng.normal(size=(4, 3))
    x = ag.tensor(x0, requires_grad=True)
    y = make(True)(x)
    ref = make(False)(ag.tensor(x0)).numpy()
    np.testing.assert_array_equal(y.numpy(), ref)
    np.testing.assert_array_equal(x.numpy(), x0)          # the input is left as it was
    y.sum().backward()                                     # and backward can use it
    xr = ag.tensor(x0, requires_grad=True)
    make(False)(xr).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xr.grad.numpy())
    assert "inplace=True" in repr(make(True)) and "inplace" not in repr(make(False))
    with pytest.raises(TypeError, match="inplace must be a bool"):
        make("yes")


def test_inplace_relu_in_sequential_still_fuses_and_matches(rng):
    ag.manual_seed(0)
    lin = nn.Linear(3, 4, dtype=np.float64)
    x = ag.tensor(rng.normal(size=(5, 3)))
    fused = nn.Sequential(lin, nn.ReLU(inplace=True), nn.Dropout(0.3, inplace=True)).eval()
    np.testing.assert_allclose(fused(x).numpy(), np.maximum(lin(x).numpy(), 0), rtol=1e-12)
    with pytest.raises(TypeError, match="Dropout: inplace must be a bool"):
        nn.Dropout(0.1, inplace=None)


# ---- data: a float or bool batch_size (True was a batch size of 1) gets a message naming it
@pytest.mark.parametrize("bad", [2.0, True, "4", None])
def test_batches_batch_size_must_be_an_integer(bad):
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        list(ag.data.batches(np.zeros(5), batch_size=bad))
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        ag.data.DataLoader(np.zeros(5), batch_size=bad)
    assert [b.shape for b in ag.data.batches(np.zeros(5), batch_size=np.int64(2))] == \
        [(2,), (2,), (1,)]


# ---- state_dict order: PyTorch lists each module's parameters and buffers before its
# children's; all the buffers came last, so code that pairs two state dicts by position (a
# PyTorch checkpoint converted key by key) paired a Linear's weight with running statistics
def test_state_dict_order_is_pytorchs():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    assert list(net.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "2.weight", "2.bias"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("step", ag.zeros(1))
            self.body = nn.BatchNorm1d(2, affine=False)
            self.w = nn.Parameter(ag.ones(2))

    assert list(Block().state_dict()) == ["w", "step", "body.running_mean", "body.running_var",
                                          "body.num_batches_tracked"]


# ---- optimizer.state[p]: PyTorch code indexes the state by the parameter (KeyError before)
@pytest.mark.parametrize("opt_cls", [ag.optim.SGD, ag.optim.Adam, ag.optim.NAdam])
def test_optimizer_state_indexed_by_parameter(opt_cls):
    p = ag.tensor(np.ones(3), requires_grad=True)
    q = ag.tensor(np.ones(2), requires_grad=True)
    opt = opt_cls([{"params": [p]}, {"params": [q]}], lr=0.1)
    q.grad = ag.tensor(np.ones(2))
    opt.step()
    st = opt.state
    assert st[q] is st[1] and st.get(q) is st[1] and st[q]["step"] == 1 and st[p]["step"] == 0
    assert p in st and q in st and 0 in st and ag.ones(3) not in st and 5 not in st
    assert list(st) == [0, 1] and st.get(ag.ones(3)) is None and st.get(7, "x") == "x"
    with pytest.raises(KeyError, match="not one of the optimizer's parameters"):
        st[ag.ones(3)]
    if opt_cls is ag.optim.Adam:
        np.testing.assert_allclose(st[q]["exp_avg"].numpy(), 0.1 * np.ones(2))


# ---- Module.to in PyTorch's forms: model.to(device) / to("cpu", dtype) / to(device=...)
# raised TypeError ("data type 'cpu' not understood"), though Tensor.to takes them
def test_module_to_device_and_dtype_forms():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = net[0].weight
    assert net.to("cpu") is net and net.to(device="cpu:0") is net and net.cpu() is net
    assert net[0].weight is w                             # nothing converted
    assert net.to("cpu", np.float64) is net and net[0].weight.dtype == np.float64
    assert net[1].running_mean.dtype == np.float64
    net.to(dtype="float32", non_blocking=True)
    assert net[0].weight.dtype == np.float32
    net.to(ag.ones(1, dtype=np.float64))                  # another tensor's dtype
    assert net[0].bias.dtype == np.float64 and net[0].weight.requires_grad
    with pytest.raises(ValueError, match="CPU only"):
        net.to("cuda")
    with pytest.raises(ValueError, match="device must be 'cpu'"):
        net.to(device=np.float64)
    with pytest.raises(TypeError, match="dtype given twice"):
        net.to(np.float32, np.float64)
    with pytest.raises(TypeError, match="unexpected keyword"):
        net.to(dtyp=np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        net.to(np.float16)
    assert net[0].weight.dtype == np.float64              # the failed calls changed nothing


# ---- isinstance(x, nn.Parameter): Parameter was a function, so this PyTorch idiom raised
# "isinstance() arg 2 must be a type"
def test_isinstance_parameter(rng):
    import copy
    import pickle
    lin = nn.Linear(2, 2)
    assert isinstance(lin.weight, nn.Parameter) and isinstance(lin.bias, nn.Parameter)
    lin.bias.requires_grad = False                       # a frozen parameter stays one
    assert isinstance(lin.bias, nn.Parameter)
    out = lin(ag.ones(1, 2))
    assert not isinstance(out, nn.Parameter)             # not a leaf
    assert not isinstance(ag.zeros(2, requires_grad=True), nn.Parameter)  # never registered
    assert not isinstance(np.zeros(2), nn.Parameter) and not isinstance(None, nn.Parameter)
    for clone in (copy.deepcopy(lin), pickle.loads(pickle.dumps(lin))):
        assert isinstance(clone.weight, nn.Parameter)
    p = nn.Parameter(rng.normal(size=3))
    assert isinstance(p, nn.Parameter) and isinstance(p, ag.Tensor) and p.dtype == np.float64
    e = nn.Parameter()                                   # PyTorch: an empty parameter
    assert e.shape == (0,) and e.requires_grad and isinstance(e, nn.Parameter)
    seen = []
    net = nn.Sequential(lin, nn.ReLU())
    net.apply(lambda m: seen.extend(v for v in vars(m).values() if isinstance(v, nn.Parameter)))
    assert len(seen) == 2


# ---- register_buffer(..., persistent=False): PyTorch's constant buffers (masks, tables) raised
# TypeError; they are listed and converted like buffers but not saved
class _Masked(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.register_buffer("mask", ag.tensor(np.tril(np.ones((3, 3), np.float32))),
                             persistent=False)
        self.register_buffer("count", ag.zeros(1))

    def forward(self, x):
        return self.lin(x) * self.mask


def test_non_persistent_buffer():
    import pickle
    m = _Masked()
    assert list(m.state_dict()) == ["count", "lin.weight", "lin.bias"]   # own, then children
    assert [n for n, _ in m.named_buffers()] == ["mask", "count"]
    sd = m.state_dict()
    assert m.load_state_dict(sd) == ([], [])             # strict: the mask is not expected
    sd["mask"] = np.zeros((3, 3))
    with pytest.raises(KeyError, match=r"unexpected keys \['mask'\]"):
        m.load_state_dict(sd)
    m.double()
    assert m.mask.dtype == np.float64
    c = pickle.loads(pickle.dumps(m))
    assert list(c.state_dict()) == ["count", "lin.weight", "lin.bias"]
    np.testing.assert_array_equal(c.mask.numpy(), np.tril(np.ones((3, 3))))
    m.register_buffer("mask", ag.ones(3, 3))             # re-registered: persistent again
    assert "mask" in m.state_dict()
    m.register_buffer("mask2", ag.ones(1), persistent=False)
    del m.mask2
    m.register_buffer("mask2", ag.ones(1))
    assert "mask2" in m.state_dict()
    with pytest.raises(TypeError, match="persistent must be a bool"):
        m.register_buffer("other", ag.ones(1), persistent="no")


# ---- register_forward_pre_hook (AttributeError before), also on a fused Sequential layer
def test_forward_pre_hook(rng):
    a, r, b = _layers()
    net = nn.Sequential(a, r, b)
    x = ag.tensor(rng.normal(size=(4, 3)).astype(np.float32))
    plain = net(x).numpy()                                # fused plan
    seen = []

    def double(m, inp):
        seen.append((type(m).__name__, len(inp), inp[0].shape))
        return inp[0] * 2                                 # a single value: wrapped in a tuple

    h = r.register_forward_pre_hook(double)
    out = net(x).numpy()
    relu = nn.ReLU()                                      # an unhooked one, for the reference
    np.testing.assert_allclose(out, _by_hand([a, lambda t: relu(t * 2), b], x), rtol=1e-6)
    assert seen == [("ReLU", 1, (4, 4))]
    h2 = net.register_forward_pre_hook(lambda m, inp: (inp[0] * 0,))
    np.testing.assert_allclose(net(x).numpy(), _by_hand([a, lambda t: relu(t * 2), b], x * 0),
                               rtol=1e-6)
    h2.remove()
    h.remove()
    h.remove()                                            # harmless twice
    np.testing.assert_array_equal(net(x).numpy(), plain)  # fused again, same result
    assert len(seen) == 2
    keep = r.register_forward_pre_hook(lambda m, inp: None)   # None keeps the inputs
    np.testing.assert_array_equal(net(x).numpy(), plain)
    keep.remove()
    with pytest.raises(TypeError, match="callable"):
        r.register_forward_pre_hook(3)


# ---- label errors print plain values (they showed np.str_('b') and [np.int64(0), ...])
def test_label_errors_show_plain_values(cls_data):
    X, y = cls_data
    with pytest.raises(ValueError, match=r"label 'b' is not one of the classes \[0, 1\]"):
        MLPClassifier((3,)).partial_fit(X, np.where(y == "a", "a", "b"), classes=[0, 1])
    m = MLPClassifier((3,), random_state=0).partial_fit(X, y, classes=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"classes=\['a', 'b'\] differs from the classes of the "
                                         r"first partial_fit \['a', 'b', 'c'\]"):
        m.partial_fit(X, y, classes=np.array(["a", "b"]))
    with pytest.raises(ValueError, match=r"label 'zz' is not one of the classes \['a', 'b', 'c'\]"):
        m.partial_fit(X[:1], ["zz"])


# ---- Module.requires_grad_("no") froze nothing and unfroze everything ("no" is truthy)
@pytest.mark.parametrize("bad", ["no", None, 0, 2.5])
def test_requires_grad_needs_a_bool(bad):
    lin = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(TypeError, match="requires_grad must be a bool"):
        lin.requires_grad_(bad)
    assert not any(p.requires_grad for p in lin.parameters())
    assert lin.requires_grad_(np.bool_(True)) is lin
    assert all(p.requires_grad is True for p in lin.parameters())


def test_append_to_a_slice_does_not_replace_a_layer(rng):
    a, r, b = _layers()
    tail = nn.Sequential(a, r, b)[1:]                    # names "1", "2", as in PyTorch
    assert [n for n, _ in tail.named_children()] == ["1", "2"]
    t = nn.Tanh()
    tail.append(t)
    assert [m for m in tail] == [r, b, t]
    assert [n for n, _ in tail.named_children()] == ["1", "2", "3"]
    x = ag.tensor(rng.normal(size=(2, 4)).astype(np.float32))
    np.testing.assert_allclose(tail(x).numpy(), _by_hand([r, b, t], x), rtol=1e-6)
    named = nn.Sequential(__import__("collections").OrderedDict(enc=a, act=r))
    named.append(b)
    assert [n for n, _ in named.named_children()] == ["enc", "act", "2"]


# ---- a PyTorch-style custom scheduler (subclass LRScheduler, define get_lr) failed with a bare
# NotImplementedError from the constructor
def test_custom_scheduler_with_get_lr():
    S = ag.optim.lr_scheduler

    class Warmup(S.LRScheduler):
        def __init__(self, optimizer, warmup, last_epoch=-1):
            self.warmup = warmup
            super().__init__(optimizer, last_epoch)

        def get_lr(self):
            f = min(1.0, (self.last_epoch + 1) / self.warmup)
            return [b * f for b in self.base_lrs]

    p = ag.tensor(np.zeros(1), requires_grad=True)
    opt = ag.optim.SGD([{"params": [p]}, {"params": [ag.tensor(np.zeros(1), requires_grad=True)],
                                           "lr": 0.1}], lr=1.0)
    s = Warmup(opt, 4)
    seen = [s.get_last_lr()]
    for _ in range(5):
        opt.step()
        s.step()
        seen.append(s.get_last_lr())
    np.testing.assert_allclose(seen, [[f, 0.1 * f] for f in (0.25, 0.5, 0.75, 1, 1, 1)])
    sd = s.state_dict()
    assert sd["warmup"] == 4 and sd["last_epoch"] == 5
    # chained with a built-in one: the factors multiply from the current lr... and the custom
    # one sets its own value each step, as a PyTorch get_lr scheduler does
    opt2 = ag.optim.SGD([p], lr=1.0)
    seq = S.SequentialLR(opt2, [Warmup(opt2, 2), S.ExponentialLR(opt2, 0.5)], milestones=[2])
    lrs = [opt2.param_groups[0]["lr"]]
    for _ in range(4):
        opt2.step()
        seq.step()
        lrs.append(opt2.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.5, 1.0, 1.0, 0.5, 0.25])

    class Bad(S.LRScheduler):
        def get_lr(self):
            return [1.0, 2.0]

    with pytest.raises(ValueError, match="returned 2 learning rates for 1 param groups"):
        Bad(ag.optim.SGD([p], lr=1.0))

    class Nothing(S.LRScheduler):
        pass

    with pytest.raises(NotImplementedError, match="defines get_lr"):
        Nothing(ag.optim.SGD([p], lr=1.0))


# ---- a PyTorch-style custom optimizer keeps its own state in self.state[p]: each read of
# Optimizer.state built fresh dicts, so that state was silently dropped every step
class _HeavyBall(ag.optim.Optimizer):
    """p -= lr * b,  b = mu * b + g  (hand-written, PyTorch style)."""
    _name = "HeavyBall"

    def __init__(self, params, lr=0.1, mu=0.9):
        super().__init__(params, dict(lr=lr, mu=mu))

    def step(self, closure=None):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if "buf" not in st:
                    st["buf"] = ag.tensor(np.zeros(p.shape))
                    st["n"] = 0
                st["buf"] = st["buf"] * g["mu"] + p.grad
                st["n"] += 1
                p.numpy()[...] -= g["lr"] * st["buf"].numpy()


def test_custom_optimizer_state_persists_and_round_trips():
    p = ag.tensor(np.ones(2), requires_grad=True)
    opt = _HeavyBall([p], lr=0.1, mu=0.5)
    b, w = 0.0, 1.0
    for _ in range(3):
        p.grad = ag.tensor(np.ones(2))
        opt.step()
        b = 0.5 * b + 1.0
        w -= 0.1 * b
    np.testing.assert_allclose(p.numpy(), [w, w])        # momentum was lost before: 1 - 0.3
    assert opt.state[p]["n"] == 3 and opt.state[0]["step"] == 0
    sd = opt.state_dict()
    np.testing.assert_allclose(sd["state"][0]["buf"], [b, b])
    q = ag.tensor(p.numpy().copy(), requires_grad=True)
    opt2 = _HeavyBall([q], lr=0.1, mu=0.5)
    opt2.load_state_dict(sd)
    assert opt2.state[q]["n"] == 3 and isinstance(opt2.state[q]["buf"], ag.Tensor)
    for o, t in ((opt, p), (opt2, q)):
        t.grad = ag.tensor(np.ones(2))
        o.step()
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    # the built-in optimizers' own entries are refreshed, an added entry stays
    a = ag.tensor(np.ones(2), requires_grad=True)
    adam = ag.optim.Adam([a], lr=0.1)
    adam.state[a]["note"] = "x"
    a.grad = ag.tensor(np.ones(2))
    adam.step()
    assert adam.state[a]["note"] == "x" and adam.state[a]["step"] == 1


# ---- Sequential fused Linear + activation by the activation's fuse_spec alone: a subclass of
# ReLU overriding forward, or a layer whose forward was replaced on the instance after the
# first call, was silently computed as the plain fused pair
def test_fusion_respects_overridden_forward(rng):
    class DoubleReLU(nn.ReLU):
        def forward(self, x):
            return super().forward(x) * 2

    class SameReLU(nn.ReLU):
        pass

    ag.manual_seed(0)
    lin = nn.Linear(3, 4)
    x = ag.tensor(rng.normal(size=(5, 3)).astype(np.float32))
    ref = np.maximum(lin(x).numpy(), 0)
    np.testing.assert_allclose(nn.Sequential(lin, DoubleReLU())(x).numpy(), 2 * ref, rtol=1e-6)
    same = nn.Sequential(lin, SameReLU())
    np.testing.assert_allclose(same(x).numpy(), ref, rtol=1e-6)
    assert same.__dict__["_plan"][0] is not lin          # a subclass that keeps forward fuses
    net = nn.Sequential(lin, nn.ReLU())
    np.testing.assert_allclose(net(x).numpy(), ref, rtol=1e-6)
    lin.forward = lambda t: ag.zeros(5, 4) - 1.0         # replaced after the plan was built
    np.testing.assert_array_equal(net(x).numpy(), np.zeros((5, 4)))
    del lin.forward
    act = net[1]
    act.forward = lambda t: t * 3.0
    np.testing.assert_allclose(net(x).numpy(), 3 * lin(x).numpy(), rtol=1e-6)
