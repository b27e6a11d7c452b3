"""Vectorised float32 exp/log/tanh/sigmoid/relu/softplus (issue 3): accuracy in ulp on every ISA path.

Each ISA is forced in a subprocess with AUTOGRAD_C_ISA; the subprocess imports this module and
runs `check_all`, which compares against numpy float64 references over a sweep of the whole
float32 range (every 4093rd bit pattern: denormals, huge values, infinities and NaNs of both
signs) plus dense random inputs, and checks the IEEE special values exactly.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd_c as ag

ISAS = ["generic", "avx2", "avx512"]
MAX_ULP = 4.0
F32 = np.finfo(np.float32)


def _sigmoid64(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _ref(name, x):
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        return {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sigmoid": _sigmoid64,
                "relu": lambda v: np.where(v <= 0, 0.0, v),
                "softplus": lambda v: np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))}[name](x64)


OPS = {"exp": ag.exp, "log": ag.log, "tanh": ag.tanh, "sigmoid": ag.sigmoid, "relu": ag.relu,
       "softplus": ag.softplus}

# (op, input, exact output)
SPECIALS = [
    ("exp", -np.inf, 0.0), ("exp", np.inf, np.inf), ("exp", 0.0, 1.0), ("exp", -0.0, 1.0),
    ("exp", 100.0, np.inf), ("exp", -1e4, 0.0), ("exp", 1e4, np.inf), ("exp", -200.0, 0.0),
    ("log", 0.0, -np.inf), ("log", -0.0, -np.inf), ("log", 1.0, 0.0), ("log", np.inf, np.inf),
    ("log", -1.0, np.nan), ("log", -np.inf, np.nan), ("log", -1e-45, np.nan),
    ("tanh", np.inf, 1.0), ("tanh", -np.inf, -1.0), ("tanh", 0.0, 0.0), ("tanh", -0.0, -0.0),
    ("tanh", 100.0, 1.0), ("tanh", -1e4, -1.0),
    ("sigmoid", -np.inf, 0.0), ("sigmoid", np.inf, 1.0), ("sigmoid", 0.0, 0.5), ("sigmoid", -0.0, 0.5),
    ("sigmoid", 1e4, 1.0), ("sigmoid", -1e4, 0.0), ("sigmoid", 100.0, 1.0),
    ("relu", -0.0, 0.0), ("relu", -np.inf, 0.0), ("relu", np.inf, np.inf), ("relu", 3.0, 3.0),
    ("softplus", np.inf, np.inf), ("softplus", -np.inf, 0.0), ("softplus", 1e4, 1e4),
    ("softplus", -1e4, 0.0), ("softplus", 0.0, np.float32(np.log(2.0))),
] + [(op, np.nan, np.nan) for op in OPS] + [(op, -np.nan, np.nan) for op in OPS]


def _inputs(rng):
    """Every 4093rd float32 bit pattern, dense random ranges and the edges of each algorithm."""
    sweep = np.arange(0, 2**32, 4093, dtype=np.uint64).astype(np.uint32).view(np.float32)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 100, -100, 1e4, -1e4, F32.max, -F32.max,
                      F32.tiny, -F32.tiny, F32.smallest_subnormal, -F32.smallest_subnormal,
                      88.72, 88.7228, 88.73, 89.0, -87.33, -87.34, -88.0, -103.9, -103.97, -104.0,
                      -104.5, 0.4, -0.4, np.sqrt(0.5), np.sqrt(2.0), 0.5, 2.0, 1 - 2**-24, 1 + 2**-23],
                     dtype=np.float32)
    with np.errstate(all="ignore"):
        near = np.concatenate([edges + np.float32(d) * edges for d in (-3e-7, -6e-8, 6e-8, 3e-7)])
    return np.concatenate([
        sweep, edges, near.astype(np.float32),
        rng.uniform(-20, 20, 200_001).astype(np.float32),
        rng.uniform(-1, 1, 100_003).astype(np.float32),
        rng.uniform(0.3, 0.5, 50_001).astype(np.float32) * rng.choice([-1, 1], 50_001).astype(np.float32),
        rng.uniform(0.5, 2.0, 100_001).astype(np.float32),
        rng.uniform(-110, 95, 100_001).astype(np.float32),
    ])


def ulp_errors(name, x, y):
    """Error of float32 results y in ulps of the float32-rounded float64 reference.

    Where the rounded reference is inf, nan or zero-with-exact-answer the result must match it
    exactly (nan for nan, the same infinity); elsewhere the error is |y - ref| / ulp(ref), with
    the denormal spacing 2**-149 for tiny references.  Returns (errors, mismatch mask)."""
    ref = _ref(name, x)
    with np.errstate(over="ignore"):
        r32 = ref.astype(np.float32)
    finite = np.isfinite(r32)
    bad = ~finite & ~((np.isnan(r32) & np.isnan(y)) | (r32 == y))
    bad |= finite & ~np.isfinite(y)
    err = np.zeros(x.shape)
    f = finite & np.isfinite(y)
    spacing = np.spacing(np.abs(r32[f])).astype(np.float64)
    err[f] = np.abs(y[f].astype(np.float64) - ref[f]) / spacing
    return err, bad


def check_all():
    """Run every check on the ISA this process uses; returns {op: max ulp error}."""
    rng = np.random.default_rng(1234)
    x = _inputs(rng)
    worst = {}
    for name, fn in OPS.items():
        y = fn(ag.tensor(x)).numpy()
        assert y.dtype == np.float32
        err, bad = ulp_errors(name, x, y)
        assert not bad.any(), (name, x[bad][:5], y[bad][:5])
        i = int(np.argmax(err))
        assert err[i] <= MAX_ULP, (name, float(x[i]), float(y[i]), float(_ref(name, x[i:i + 1])[0]), err[i])
        worst[name] = float(err[i])
        # every length 1..40 (masked / buffered tails) gives the same values as the long array
        for n in range(1, 41):
            part = fn(ag.tensor(x[1000:1000 + n])).numpy()
            np.testing.assert_array_equal(part, y[1000:1000 + n])
        # a strided view (portable loop) agrees to the same tolerance
        ys = fn(ag.tensor(x)[::3]).numpy()
        e2, b2 = ulp_errors(name, x[::3], ys)
        assert not b2.any() and e2.max() <= MAX_ULP, name
        # a large array split over two threads is bitwise the single-thread result
        big = rng.uniform(-30, 30, 300_001).astype(np.float32)
        if name == "log":
            big = np.abs(big)
        old = ag.get_num_threads()
        try:
            ag.set_num_threads(1)
            y1 = fn(ag.tensor(big)).numpy()
            ag.set_num_threads(2)
            y2 = fn(ag.tensor(big)).numpy()
        finally:
            ag.set_num_threads(old)
        np.testing.assert_array_equal(y1, y2)
        eb, bb = ulp_errors(name, big, y1)
        assert not bb.any() and eb.max() <= MAX_ULP, name
    for name, xin, want in SPECIALS:
        got = OPS[name](ag.tensor(np.full(19, xin, dtype=np.float32))).numpy()
        if np.isnan(want):
            assert np.isnan(got).all(), (name, xin, got)
        else:
            assert (got == want).all() and (np.signbit(got) == np.signbit(want)).all(), (name, xin, got)
    return worst


def _run_isa(isa):
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys, json; sys.path.insert(0, %r); import test_vmath, autograd_c as ag; "
            "w = test_vmath.check_all(); print(json.dumps([ag._core.isa(), w]))" % here)
    env = dict(os.environ, AUTOGRAD_C_ISA=isa)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("isa", ISAS)
def test_float32_math_within_4_ulp_on_each_isa(isa):
    if ISAS.index(isa) > ISAS.index(ag._core.best_isa()):
        pytest.skip(f"CPU lacks {isa}")
    active, worst = _run_isa(isa)
    assert active == isa
    assert set(worst) == set(OPS) and max(worst.values()) <= MAX_ULP
    print(isa, worst)


def test_ulp_measure_flags_a_wrong_result():
    """The checker itself must catch an error of a few ulp, a wrong infinity and a lost NaN."""
    x = np.array([1.0, 2.0, np.inf, np.nan], dtype=np.float32)
    y = np.exp(x.astype(np.float64)).astype(np.float32)
    y[0] = np.nextafter(np.nextafter(y[0], np.float32(10)), np.float32(10))
    err, bad = ulp_errors("exp", x, y)
    assert 1.5 <= err[0] <= 2.5 and err[1] <= 0.5 and not bad.any()
    y[2], y[3] = F32.max, 0.0
    _, bad = ulp_errors("exp", x, y)
    assert bad.tolist() == [False, False, True, True]


def test_float64_and_noncontiguous_inputs_keep_libm_accuracy():
    rng = np.random.default_rng(5)
    x = rng.uniform(0.01, 30, (64, 33))
    for name, fn in OPS.items():
        ref = _ref(name, x)
        np.testing.assert_allclose(fn(ag.tensor(x)).numpy(), ref, rtol=1e-14, atol=0)
        x32 = x.astype(np.float32)
        err, bad = ulp_errors(name, x32.T, fn(ag.tensor(x32).T).numpy())
        assert not bad.any() and err.max() <= MAX_ULP, name
