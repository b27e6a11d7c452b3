"""GEMM, the fused dense layer, ISA dispatch and threads (issue 3)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autograd_c as ag

SIZES = [1, 7, 13, 33, 65]


def _tol(dtype, k):
    return (2e-6 if dtype == np.float32 else 1e-14) * max(1, k) ** 0.5 * 8


def _operand(rng, shape, dtype, layout):
    """An operand of `shape` stored as `layout`: contiguous, transposed or strided."""
    if layout == "T":
        base = rng.standard_normal(shape[::-1]).astype(dtype)
        return ag.from_numpy(base).T, base.T
    if layout == "strided":
        base = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype)
        return ag.from_numpy(base)[..., ::2], base[..., ::2]
    a = rng.standard_normal(shape).astype(dtype)
    return ag.from_numpy(a), a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("la,lb", [("C", "C"), ("T", "C"), ("C", "T"), ("T", "T"), ("strided", "C"), ("C", "strided")])
def test_gemm_against_float64_reference(dtype, la, lb):
    rng = np.random.default_rng(0)
    for m in SIZES:
        for k in SIZES:
            for n in (1, 13, 65):
                a, an = _operand(rng, (m, k), dtype, la)
                b, bn = _operand(rng, (k, n), dtype, lb)
                ref = an.astype(np.float64) @ bn.astype(np.float64)
                got = (a @ b).numpy()
                assert got.dtype == dtype
                scale = np.abs(an).astype(np.float64) @ np.abs(bn).astype(np.float64) + 1e-30
                assert np.all(np.abs(got - ref) <= _tol(dtype, k) * scale), (m, k, n, la, lb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_large_and_odd_shapes(dtype):
    rng = np.random.default_rng(1)
    for (m, k, n) in [(1023, 65, 33), (65, 1023, 7), (7, 1023, 1023), (257, 300, 129)]:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        got = (ag.from_numpy(a) @ ag.from_numpy(b)).numpy()
        scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
        assert np.all(np.abs(got - ref) <= _tol(dtype, k) * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("la", ["C", "T", "strided"])
def test_matrix_vector_products_large_enough_to_be_threaded(dtype, la):
    """N == 1 takes the matrix-vector loops (dot form for contiguous rows of A, axpy form for
    contiguous columns), chunked over the threads: compare with a float64 reference."""
    rng = np.random.default_rng(5)
    for (m, k) in [(3000, 300), (257, 1100), (5, 4000)]:
        a, an = _operand(rng, (m, k), dtype, la)
        v = rng.standard_normal(k).astype(dtype)
        for x, xn in [(ag.from_numpy(v), v), (ag.from_numpy(v[:, None]), v[:, None])]:
            ref = an.astype(np.float64) @ xn.astype(np.float64)
            got = (a @ x).numpy()
            scale = np.abs(an).astype(np.float64) @ np.abs(xn).astype(np.float64)
            assert got.shape == ref.shape
            assert np.all(np.abs(got - ref) <= _tol(dtype, k) * scale), (m, k, la)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu", None])
def test_fused_linear_with_one_output_applies_bias_and_activation(act):
    """out_features == 1 is a matrix-vector product: the bias and the activation still apply."""
    rng = np.random.default_rng(6)
    x0, w0, b0 = rng.standard_normal((700, 400)), rng.standard_normal((1, 400)) * 0.05, rng.standard_normal(1)
    x, w, b = (ag.tensor(v, dtype="float64") for v in (x0, w0, b0))
    z = x0 @ w0.T + b0
    ref = {"relu": np.maximum(z, 0), "leaky_relu": np.where(z > 0, z, 0.01 * z), "tanh": np.tanh(z),
           "sigmoid": 1 / (1 + np.exp(-z)), "elu": np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
           "gelu": _unfused(x, w, b, "gelu").numpy() if act == "gelu" else None, None: z}[act]
    np.testing.assert_allclose(ag._core.linear(x, w, b, activation=act).numpy(), ref, rtol=1e-12, atol=1e-12)


def test_batched_and_broadcast_matmul():
    rng = np.random.default_rng(2)
    for sa, sb in [((4, 7, 13), (4, 13, 5)), ((3, 1, 6, 4), (5, 4, 2)), ((6, 4), (3, 4, 9)), ((2, 3, 5), (5, 1))]:
        a, b = rng.standard_normal(sa), rng.standard_normal(sb)
        np.testing.assert_allclose((ag.tensor(a, dtype="float64") @ ag.tensor(b, dtype="float64")).numpy(), a @ b,
                                   rtol=1e-12, atol=1e-12)


ACTS = ["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu", None]


def _unfused(x, w, b, act):
    z = ag.matmul(x, w.T) + b
    if act is None:
        return z
    if act == "leaky_relu":
        return ag.leaky_relu(z, 0.01)
    if act == "elu":
        return ag.elu(z, 1.0)
    return getattr(ag, act)(z)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_linear_forward_and_backward_match_unfused(act, dtype):
    rng = np.random.default_rng(3)
    x0, w0, b0 = rng.standard_normal((37, 19)), rng.standard_normal((23, 19)) * 0.3, rng.standard_normal(23) * 0.1
    tol = 2e-5 if dtype == np.float32 else 1e-12
    outs, grads = [], []
    for fused in (True, False):
        x, w, b = (ag.tensor(v, dtype=dtype, requires_grad=True) for v in (x0, w0, b0))
        y = ag._core.linear(x, w, b, activation=act) if fused else _unfused(x, w, b, act)
        g = np.cos(np.arange(y.size)).reshape(y.shape)
        (y * ag.tensor(g, dtype=dtype)).sum().backward()
        outs.append(y.numpy().copy())
        grads.append([t.grad.numpy().copy() for t in (x, w, b)])
    np.testing.assert_allclose(outs[0], outs[1], rtol=tol, atol=tol)
    for gf, gu in zip(grads[0], grads[1]):
        np.testing.assert_allclose(gf, gu, rtol=tol * 10, atol=tol * 10)


@pytest.mark.parametrize("act", ACTS)
def test_fused_linear_gradients_against_finite_differences(act):
    rng = np.random.default_rng(4)
    x0, w0, b0 = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    wts = np.array([[0.3, -1.1], [0.7, 0.2], [-0.4, 0.9]])
    f = lambda x, w, b: (ag._core.linear(x, w, b, activation=act) * ag.tensor(wts, dtype="float64")).sum()  # noqa: E731
    assert ag.gradcheck(f, (x0, w0, b0), atol=1e-7, rtol=1e-6)


def _run(code, **env):
    e = dict(os.environ)
    e.update(env)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


ISAS = ["generic", "avx2", "avx512"]


@pytest.mark.parametrize("isa", ISAS)
def test_every_isa_path_forced_by_environment(isa):
    order = {name: i for i, name in enumerate(ISAS)}
    if order[isa] > order[ag._core.best_isa()]:
        pytest.skip(f"this CPU has no {isa}")  # the best path is tested; lower ones always run
    code = """
        import numpy as np, autograd_c as ag
        print(ag._core.isa())
        rng = np.random.default_rng(0)
        for dt in (np.float32, np.float64):
            for (m, k, n) in [(1, 7, 13), (33, 65, 17), (200, 130, 70)]:
                a = rng.standard_normal((m, k)).astype(dt); b = rng.standard_normal((n, k)).astype(dt)
                got = (ag.from_numpy(a) @ ag.from_numpy(b).T).numpy()
                ref = a.astype(np.float64) @ b.astype(np.float64).T
                assert np.abs(got - ref).max() <= (1e-4 if dt == np.float32 else 1e-12) * np.abs(ref).max(), (dt, m, k, n)
                for act in ("relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu"):
                    x = ag.tensor(a); w = ag.tensor(b); bias = ag.tensor(np.ones(n, dtype=dt))
                    y = ag._core.linear(x, w, bias, activation=act).numpy()
                    z = ref + 1
                    import math
                    r = {"relu": np.maximum(z, 0), "tanh": np.tanh(z), "sigmoid": 1 / (1 + np.exp(-z)),
                         "gelu": 0.5 * z * (1 + np.vectorize(math.erf)(z / np.sqrt(2))),
                         "elu": np.where(z > 0, z, np.expm1(z)), "leaky_relu": np.where(z > 0, z, 0.01 * z)}[act]
                    assert np.abs(y - r).max() <= (2e-4 if dt == np.float32 else 1e-10) * max(1, np.abs(r).max()), act
        print("ok")
    """
    out = _run(code, AUTOGRAD_C_ISA=isa).split()
    assert out == [isa, "ok"]


def test_one_and_two_threads_give_bitwise_identical_results():
    code = """
        import numpy as np, autograd_c as ag
        rng = np.random.default_rng(0)
        a = ag.tensor(rng.standard_normal((300, 257)).astype(np.float32))
        b = ag.tensor(rng.standard_normal((257, 190)).astype(np.float32))
        w = ag.tensor(rng.standard_normal((128, 257)).astype(np.float32), requires_grad=True)
        x = ag.tensor(rng.standard_normal((512, 257)).astype(np.float32))
        big = ag.tensor(rng.standard_normal(200000).astype(np.float32))
        res = []
        for n in (1, 2):
            ag.set_num_threads(n)
            w.grad = None
            y = ag._core.linear(x, w, None, activation="tanh")
            (y * y).sum().backward()
            res.append([(a @ b).numpy().copy(), y.numpy().copy(), w.grad.numpy().copy(),
                        ag.tanh(big).numpy().copy(), ag.sum(big).numpy().copy(), ag.softmax(x, -1).numpy().copy()])
        for r1, r2 in zip(*res):
            assert r1.tobytes() == r2.tobytes()
        print("ok", ag.get_num_threads())
    """
    assert _run(code).split() == ["ok", "2"]


def test_set_num_threads_validates_and_round_trips():
    n = ag.get_num_threads()
    try:
        ag.set_num_threads(1)
        assert ag.get_num_threads() == 1
        with pytest.raises(ValueError, match="n must be >= 1"):
            ag.set_num_threads(0)
    finally:
        ag.set_num_threads(n)


def test_omp_num_threads_is_honoured():
    assert _run("import autograd_c as ag; print(ag.get_num_threads())", OMP_NUM_THREADS="1").strip() == "1"
