"""The code blocks of README.md and docs/guide/*.md run as written, and do what the text says.

(README's "Derivatives in every mode" block is checked in tests/test_seed_example.py.)"""
import contextlib
import io
import os
import re

import warnings

import numpy as np
import pytest

import autograd_c as ag
from autograd_c.models import ConvergenceWarning

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blocks(relpath):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def run(code, name, **env):
    np.random.seed(0)                # the blocks draw from numpy's and autograd_c's global RNGs
    ag.manual_seed(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, name, "exec"), env)
    return env, out.getvalue()


def block_after(relpath, heading):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        section = f.read().split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_every_python_block_is_checked_here_or_in_test_seed_example():
    assert len(blocks("README.md")) == 3      # Example, Training, Derivatives in every mode
    assert len(blocks("docs/guide/hooks.md")) == 2
    assert len(blocks("docs/guide/diagnostics.md")) == 2
    assert blocks("docs/guide/examples.md") == [] and blocks("docs/index.md") == []


def test_readme_example_gives_the_exact_gradient():
    env, out = run(block_after("README.md", "## Example"), "README.md#example")
    a, b, c = np.asarray(env["x"].detach(), dtype=np.float64)
    e = np.exp(a * b)
    exact = [b * np.sin(c) + b * e, a * np.sin(c) + a * e, a * b * np.cos(c)]
    assert isinstance(env["x"].grad, ag.Tensor) and env["x"].grad.dtype == np.float64
    np.testing.assert_allclose(env["g"], exact, rtol=1e-13, atol=1e-15)
    assert out.startswith("tensor(")
    env["g"][0] = 7.0                          # "zero-copy numpy view"
    assert env["x"].grad.numpy()[0] == 7.0


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    perm = np.random.default_rng(0).permutation(len(X))
    return X[perm], y[perm]


def test_readme_training_block_learns(digits):
    X, y = digits
    code = block_after("README.md", "## Training")
    before = ag.nn.functional.cross_entropy
    losses = []

    def recording_ce(*a, **k):
        loss = before(*a, **k)
        losses.append(loss.item())
        return loss

    code = code.replace("nn.functional.cross_entropy(", "recording_ce(")
    with warnings.catch_warnings():   # 50 epochs end before the estimator's tolerance is met
        warnings.simplefilter("ignore", ConvergenceWarning)
        env, _ = run(code, "README.md#training", recording_ce=recording_ce)
    assert env["X"].dtype == np.float32 and len(env["X"]) == len(X)   # the block loads digits
    assert len(losses) == -(-len(X) // 64)                 # one epoch of batches of 64
    assert np.mean(losses[-5:]) < 0.9 * np.mean(losses[:5])       # 2.3 -> 2.0 in one epoch
    assert env["clf"].score(env["X_test"], env["y_test"]) > 0.9


def test_readme_fused_linear_equals_linear_then_activation():
    # "nn.Linear(..., activation="relu") ... runs as one fused C op"
    ag.manual_seed(0)
    fused = ag.nn.Linear(5, 4, activation="relu", dtype="float64")
    plain = ag.nn.Sequential(ag.nn.Linear(5, 4, dtype="float64"), ag.nn.ReLU())
    plain[0].load_state_dict(fused.state_dict())
    x = ag.tensor(np.random.default_rng(1).normal(size=(3, 5)))
    W, b = fused.weight.numpy(), fused.bias.numpy()
    ref = np.maximum(x.numpy() @ W.T + b, 0)
    np.testing.assert_allclose(fused(x).numpy(), ref, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(plain(x).numpy(), ref, rtol=1e-14, atol=1e-15)


def test_hooks_guide_tensor_hook_doubles_the_gradient():
    env, _ = run(blocks("docs/guide/hooks.md")[0], "hooks.md#0")
    x = env["x"].numpy()
    # d/dx sum(tanh(x)^2) = 2 tanh(x) (1 - tanh(x)^2); the hook doubles dL/dh
    np.testing.assert_allclose(env["x"].grad.numpy(), 2 * 2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
                               rtol=1e-5)
    (ag.tanh(env["x"]) ** 2).sum().backward()     # the handle was removed: no doubling now
    np.testing.assert_allclose(env["x"].grad.numpy(), 6 * np.tanh(x) * (1 - np.tanh(x) ** 2),
                               rtol=1e-5)


def test_hooks_guide_module_hooks_print_the_shapes_it_claims():
    env, out = run(blocks("docs/guide/hooks.md")[1], "hooks.md#1", ag=ag)
    assert out == "(4, 8) (4, 1)\n"
    assert env["acts"]["tanh"].shape == (4, 8)


def test_diagnostics_guide_report_and_ratios():
    env, out = run(blocks("docs/guide/diagnostics.md")[0], "diagnostics.md#0")
    rep = env["rep"]
    for key in ("grad_norm", "bound", "weight_grad_norm", "weight_norm", "max_act_deriv",
                "saturated", "dead"):
        assert len(rep[key]) == 11, key                   # 10 sigmoid blocks and the output
    assert all(g <= b * (1 + 1e-5) for g, b in zip(rep["grad_norm"], rep["bound"]))
    assert max(rep["max_act_deriv"][:10]) <= 0.25
    assert rep["grad_norm"][0] < 1e-2 * rep["grad_norm"][-1]   # vanishing towards the input
    assert len(out.splitlines()) == 12
    env, _ = run(blocks("docs/guide/diagnostics.md")[1], "diagnostics.md#1", **env)
    ratios = env["ratios"]
    params = dict(env["net"].named_parameters())
    assert set(ratios) == set(params)
    checked = 0
    for name, p in params.items():   # plain SGD: the step is -lr * grad, taken from W_before
        g = p.grad.numpy().astype(np.float64)
        before = p.numpy().astype(np.float64) + 0.1 * g
        expect = np.linalg.norm(0.1 * g) / np.linalg.norm(before)
        if expect > 1e-3:            # smaller steps are mostly float32 rounding of the weights
            np.testing.assert_allclose(ratios[name], expect, rtol=1e-3)
            checked += 1
        assert ratios[name] >= 0
    assert checked >= 4
