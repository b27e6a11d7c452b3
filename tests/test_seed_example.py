"""The README's seed example: f(x1, x2, x3) = x1 x2 sin(x3) + exp(x1 x2)."""
import numpy as np

import autograd_c as ag


def f(x):
    return x[0] * x[1] * ag.sin(x[2]) + ag.exp(x[0] * x[1])


def hand_gradient(x1, x2, x3):
    e = np.exp(x1 * x2)
    return np.array([x2 * np.sin(x3) + x2 * e, x1 * np.sin(x3) + x1 * e, x1 * x2 * np.cos(x3)])


def test_reverse_mode_matches_hand_derived_gradient():
    rng = np.random.default_rng(0)
    for _ in range(5):
        x0 = rng.standard_normal(3)
        x = ag.tensor(x0, dtype="float64", requires_grad=True)
        y = f(x)
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), hand_gradient(*x0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ag.numerical_grad(f, x0), hand_gradient(*x0), rtol=1e-6, atol=1e-9)


def test_grad_is_a_zero_copy_tensor():
    x = ag.tensor(np.array([0.3, -0.7, 1.1]), dtype="float64", requires_grad=True)
    f(x).backward()
    g = x.grad
    assert isinstance(g, ag.Tensor)
    view = np.asarray(g)
    view[0] = 123.0
    assert x.grad.numpy()[0] == 123.0


def test_readme_derivatives_block_runs_and_its_numpy_function_is_differentiated():
    import os
    import re
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    from _fd import fd_hessian
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    section = readme.split("## Derivatives in every mode", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = {"np": np, "ag": ag}
    exec(compile(code, "README.md", "exec"), env)
    h = ag.hessian(env["energy"], env["x0"]).numpy()

    def energy_np(v):
        return float(np.sum(np.sin(v) ** 2) + np.linalg.norm(np.cumsum(v)))

    np.testing.assert_allclose(h, fd_hessian(energy_np, env["x0"]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ag.grad(env["f"])(env["x0"]).numpy(), hand_gradient(*env["x0"]),
                               rtol=1e-13)
