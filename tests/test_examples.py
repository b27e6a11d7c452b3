"""Run each theory example with reduced sizes and check the conclusions it prints."""
import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None
EPS_M = np.finfo(np.float64).eps


def run_example(name, tmp_path, figure=True):
    env = dict(os.environ, AUTOGRAD_C_EXAMPLE_SMALL="1", MPLBACKEND="Agg",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = ["--out", str(tmp_path)] if figure else []
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", f"{name}.py"), *out],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def check_figure(out, tmp_path, png):
    if HAVE_MPL:
        path = tmp_path / png
        assert path.exists() and path.stat().st_size > 5000
        assert f"figure: {path}" in out
    else:
        assert "figure: skipped (matplotlib not installed" in out


def floats(line):
    return [float(v) for v in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", line)]


def line_with(out, prefix):
    hits = [ln for ln in out.splitlines() if ln.startswith(prefix)]
    assert hits, f"no line starting with {prefix!r} in:\n{out}"
    return hits[0]


def test_vanishing_gradients(tmp_path):
    out = run_example("vanishing_gradients", tmp_path)
    ratio = floats(line_with(out, "max measured/bound"))[0]
    assert ratio <= 1.0 + 1e-9
    assert "measured <= bound everywhere" in out
    sig = floats(line_with(out, "sigmoid ").split("depth", 1)[1])[1::2]
    assert all(b < a for a, b in zip(sig, sig[1:]))   # shrinks with every added block
    assert sig[-1] < 1e-10
    assert "sigmoid vanishes faster" in out
    check_figure(out, tmp_path, "vanishing_gradients.png")


def test_universal_approximation(tmp_path):
    out = run_example("universal_approximation", tmp_path)
    errs = floats(line_with(out, "UA max error by intervals").split(":", 1)[1])
    assert len(errs) >= 4 and all(b < a for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 0.25 * errs[0]
    assert "UA error falls as intervals grow: yes" in out
    assert re.search(r"UA error falls as k grows .*: yes", out)
    trained = floats(line_with(out, "trained MLP").split("max error", 1)[1])[0]
    assert trained < 0.1
    check_figure(out, tmp_path, "universal_approximation.png")


def test_ad_modes(tmp_path):
    out = run_example("ad_modes", tmp_path)
    e_c = floats(line_with(out, "best central-difference eps").split(":", 1)[1])[0]
    e_f = floats(line_with(out, "best forward-difference eps").split(":", 1)[1])[0]
    assert EPS_M ** (1 / 3) / 10 <= e_c <= EPS_M ** (1 / 3) * 10
    assert EPS_M ** 0.5 / 10 <= e_f <= EPS_M ** 0.5 * 10
    assert floats(line_with(out, "f(x) = sin(x) exp(x)").split("max error", 1)[1])[0] < 1e-13
    assert floats(line_with(out, "forward and reverse Jacobians agree"))[0] < 1e-12
    table = out.split("faster", 1)[1].split("auto switches")[0]
    rows = [ln.split() for ln in table.splitlines()[1:] if ln.strip()]
    assert rows
    for r in rows:   # auto picks forward exactly when n < m
        assert r[-1] == ("forward" if int(r[0]) < int(r[1]) else "reverse")
    check_figure(out, tmp_path, "ad_modes.png")


def test_linear_classifiers(tmp_path):
    out = run_example("linear_classifiers", tmp_path)
    assert "sign rule sign(w^T x + b) equals predict() on 100.0% of points" in out
    assert "equals predict() on 100.0% of points" in line_with(out, "argmax rule")
    assert floats(line_with(out, "P(y=+1|x) equals").split("difference", 1)[1])[0] < 1e-12
    for prefix in ("logistic regression:", "softmax regression"):
        acc = floats(line_with(out, prefix).split("accuracy", 1)[1])[0]
        assert acc > 0.9
    check_figure(out, tmp_path, "linear_classifiers.png")


def test_matrix_calculus(tmp_path):
    out = run_example("matrix_calculus", tmp_path, figure=False)
    for name in ("tr(A X^T B)", "tr(A X^-1 B)"):
        line = line_with(out, f"{name}: max")
        closed, fd = floats(line.split("closed form| =", 1)[1])[0], \
            floats(line.split("central differences| =", 1)[1])[0]
        assert closed < 1e-12 and fd < 1e-7


# ---- the two lecture scripts without figures (logistic regression, MLP on digits)

def run_script(name, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", f"{name}.py"), *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


FIGURES = {"vanishing_gradients": True, "universal_approximation": True, "ad_modes": True,
           "linear_classifiers": True, "matrix_calculus": False, "logistic_regression": False,
           "train_mlp_digits": False}


def test_every_example_is_listed():
    assert sorted(FIGURES) == sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "examples"))
                                     if f.endswith(".py") and not f.startswith("_"))


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_help_prints_usage_without_running(name):
    # logistic_regression and train_mlp_digits used to ignore `--help` and train for their full
    # length; matrix_calculus offered `--out` "for the PNG figure" although it draws none
    r = run_script(name, "--help", timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage:") and "--small" in r.stdout and r.stderr == ""
    assert ("--out" in r.stdout) == FIGURES[name]
    assert "accuracy" not in r.stdout and "epoch" not in r.stdout


def test_train_mlp_digits():
    # had no test; both the hand-written loop and the estimator must learn the digits
    r = run_script("train_mlp_digits", "--small")
    assert r.returncode == 0, r.stderr
    assert "ConvergenceWarning" not in r.stderr   # the estimator stops on its own
    evals = [floats(ln.split("test accuracy", 1)[1])[0]
             for ln in r.stdout.splitlines() if ln.startswith("epoch ")]
    assert evals and evals[-1] > 0.9
    est = floats(line_with(r.stdout, "MLPClassifier: test accuracy").split("accuracy", 1)[1])[0]
    assert est > 0.9
