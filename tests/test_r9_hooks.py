"""Round 9: a backward hook that refers to its own tensor is collected by gc.collect(); hooks
still fire once the registering wrapper is gone; one bool-argument check for the whole package."""
import functools
import gc
import re
import weakref

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import _core
from _fd import fd_grad


class _Tracked:
    """an object whose collection a weakref reports"""


def _hook_ids():
    return set(_core._hooks)


def _counts():
    gc.collect()
    return ag.live_tensors(), ag.live_nodes(), ag.live_storages()


def _self_referring_hook(make_tensor, how):
    """register on make_tensor() a hook whose callable holds the tensor; return weakrefs to the
    callable's tracked payload and to the tensor's wrapper"""
    t = make_tensor()
    payload = _Tracked()
    if how == "closure":
        def hook(g, t=t, payload=payload):
            return g * t
    elif how == "partial":
        def scaled(t, payload, g):
            return g * t
        hook = functools.partial(scaled, t, payload)
    else:                                   # a bound method of an object that holds the tensor
        class Holder:
            def __init__(self):
                self.t, self.payload = t, payload

            def hook(self, g):
                return g * self.t
        hook = Holder().hook
    t.register_hook(hook)
    return weakref.ref(payload), weakref.ref(t)


_MAKERS = {
    "leaf": lambda: ag.ones(3, dtype="float64", requires_grad=True),
    "nonleaf": lambda: ag.ones(3, dtype="float64", requires_grad=True) * 2,
}


@pytest.mark.parametrize("kind", sorted(_MAKERS))
@pytest.mark.parametrize("how", ["closure", "partial", "method"])
def test_hook_that_holds_its_own_tensor_is_collected(kind, how):
    base, ids = _counts(), _hook_ids()
    wp, wt = _self_referring_hook(_MAKERS[kind], how)
    gc.collect()
    assert wp() is None, "the hook's callable (and what it holds) was never freed"
    assert wt() is None, "the tensor's wrapper was never freed"
    assert _counts() == base
    assert _hook_ids() <= ids, "the hook registry still holds an entry"


def test_self_referring_hook_still_fires_while_the_tensor_lives():
    # the cycle is garbage only once nothing else holds the tensor: a live graph keeps it
    ids = _hook_ids()
    x = ag.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    y = x * x
    seen = []
    y.register_hook(functools.partial(lambda y, g: seen.append(g.numpy().copy()) or g * 3, y))
    z = (ag.sin(y)).sum()
    del y
    gc.collect()
    z.backward()
    x0 = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(seen[0], np.cos(x0 * x0), rtol=1e-12)
    expect = 3 * fd_grad(lambda a: np.sin(a * a).sum(), x0)
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * x0 * np.cos(x0 * x0), rtol=1e-12)
    del z
    gc.collect()
    assert _hook_ids() <= ids


@pytest.mark.parametrize("second", ["mul", "add"])
def test_hook_on_an_intermediate_fires_after_its_wrapper_is_gone(second):
    # `add` does not save y itself, so only y's grad_fn node keeps the hook id alive
    ids = _hook_ids()
    x = ag.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    z = ((y * 3) if second == "mul" else (y + 3)).sum()
    del y
    gc.collect()
    z.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], np.full(3, 3.0 if second == "mul" else 1.0))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 6.0 if second == "mul" else 2.0))
    del z
    gc.collect()
    assert _hook_ids() <= ids


def test_hook_registered_twice_removed_once_and_handle_does_not_hold_the_tensor():
    ids = _hook_ids()
    x = ag.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    calls = []

    def hook(g):
        calls.append(1)
    h1 = x.register_hook(hook)
    x.register_hook(hook)
    h1.remove()
    h1.remove()                                  # a second remove is a no-op
    (x * 1).sum().backward()
    assert len(calls) == 1

    # a kept handle does not keep a self-referring hook (nor its tensor) alive
    base = _counts()
    t = ag.ones(2, dtype="float64", requires_grad=True) * 2
    payload = _Tracked()
    handle = t.register_hook(functools.partial(lambda t, p, g: g * t, t, payload))
    wp = weakref.ref(payload)
    del t, payload
    gc.collect()
    assert wp() is None
    assert _counts() == base
    handle.remove()                              # the tensor is gone: nothing to remove, no error


def test_hook_on_a_create_graph_gradient_fires_and_is_freed():
    ids = _hook_ids()
    x = ag.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    y = (x * x).sum()
    (gx,) = ag.autograd.grad(y, [x], create_graph=True)
    seen = []
    gx.register_hook(lambda g: seen.append(g.numpy().copy()))
    (gx * gx).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * np.array([2.0, -4.0]))
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, -2.0]), rtol=1e-12)
    del gx, y
    gc.collect()
    assert _hook_ids() <= ids


def test_self_referring_hook_on_a_tensor_with_another_owner_lives_until_that_owner_goes():
    # x.grad hands out a new wrapper of the same C tensor each time: while x holds its grad,
    # the hook must survive the registering wrapper (and fire); once x is gone it is freed
    base, ids = _counts(), _hook_ids()
    x = ag.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    (x * x).sum().backward(create_graph=True)
    g = x.grad
    payload, seen = _Tracked(), []
    g.register_hook(functools.partial(lambda g, p, grad: seen.append(grad.numpy().copy()),
                                      g, payload))
    wp = weakref.ref(payload)
    del g, payload
    gc.collect()
    assert wp() is not None
    (x.grad * 3).sum().backward()           # a second wrapper of the hooked tensor
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    del x
    gc.collect()
    assert wp() is None
    assert _counts() == base and _hook_ids() <= ids


def test_hook_that_holds_its_graph_root_is_freed_once_backward_released_the_graph():
    # y's hook holds z, whose (C) graph holds y: the collector cannot see that edge, so the pair
    # lives while the graph does; backward releases the graph, and then the cycle is garbage
    base, ids = _counts(), _hook_ids()
    x = ag.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    payload, seen = _Tracked(), []
    y.register_hook(functools.partial(lambda z, p, g: seen.append(g.numpy().copy()), z, payload))
    z.backward()
    np.testing.assert_allclose(seen[0], 2 * 2 * np.array([0.5, 1.5]), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([0.5, 1.5]), rtol=1e-12)
    wp = weakref.ref(payload)
    del y, z, payload
    gc.collect()
    assert wp() is None
    del x
    assert _counts() == base and _hook_ids() <= ids


# ---------------------------------------------------------------------------------------------
# one bool-argument check

_BAD_FLAGS = ["yes", 1, 0, 1.0, None, [True], np.array([True])]


@pytest.mark.parametrize("bad", _BAD_FLAGS, ids=repr)
def test_bool_arg_refuses_everything_but_bool_and_numpy_bool(bad):
    msg = (rf"^who: flag must be a bool, got {type(bad).__name__} "
           + re.escape(repr(bad)) + "$")
    with pytest.raises(TypeError, match=msg):
        _core._bool_arg(bad, "who", "flag")
    with pytest.raises(TypeError, match=rf"^f\(\): argument 'flag' must be bool, not "
                                        rf"{type(bad).__name__}$"):
        _core._bool_arg(bad, "f()", "flag", True)


@pytest.mark.parametrize("flag", [True, False, np.bool_(True), np.bool_(False)])
def test_bool_arg_takes_bool_and_numpy_bool(flag):
    out = _core._bool_arg(flag, "who", "flag")
    assert type(out) is bool and out is bool(flag)


def test_bool_arg_shortens_a_long_repr():
    with pytest.raises(TypeError) as info:
        _core._bool_arg(list(range(1000)), "who", "flag")
    text = str(info.value)
    assert text.startswith("who: flag must be a bool, got list [0, 1, 2") and text.endswith("...")
    assert len(text) < 140


# every call site names itself and the argument, and takes a numpy bool
_SITES = {
    "inference_mode: mode": lambda v: ag.inference_mode(v),
    "register_buffer: persistent":
        lambda v: ag.nn.Module().register_buffer("b", ag.zeros(1), persistent=v),
    "requires_grad_: requires_grad": lambda v: ag.nn.Linear(2, 2).requires_grad_(v),
    "ReLU: inplace": lambda v: ag.nn.ReLU(inplace=v),
    "Dropout: inplace": lambda v: ag.nn.Dropout(0.5, inplace=v),
    "SGD: differentiable":
        lambda v: ag.optim.SGD([ag.zeros(1, requires_grad=True)], lr=0.1, differentiable=v),
}


@pytest.mark.parametrize("site", sorted(_SITES))
def test_call_sites_use_the_one_check(site):
    with pytest.raises(TypeError, match=rf"^{site} must be a bool, got str 'no'$"):
        _SITES[site]("no")
    with pytest.raises(TypeError, match=rf"^{site} must be a bool, got int 1$"):
        _SITES[site](1)
    _SITES[site](np.bool_(False))                 # accepted


def test_tensor_requires_grad_sites_keep_pytorch_wording():
    t = ag.ones(2)
    for bad in ("yes", 1, None):
        with pytest.raises(TypeError, match=rf"^requires_grad must be bool, not {type(bad).__name__}$"):
            t.requires_grad = bad
        with pytest.raises(TypeError, match=r"^requires_grad_\(\): argument 'requires_grad' must "
                                            rf"be bool, not {type(bad).__name__}$"):
            t.requires_grad_(bad)
        with pytest.raises(TypeError, match=r"^tensor\(\): argument 'requires_grad' must be "
                                            rf"bool, not {type(bad).__name__}$"):
            ag.tensor([1.0], requires_grad=bad)
        assert t.requires_grad is False
    t.requires_grad = np.bool_(True)
    assert t.requires_grad is True
    assert ag.tensor([1.0], requires_grad=np.bool_(True)).requires_grad is True
    with ag.inference_mode(np.bool_(True)):
        assert not ag.is_grad_enabled()
