"""Jacobians of f(x) = tanh(A x), float32: autograd_c's forward / reverse / auto modes against
the hand-written numpy Jacobian diag(1 - y^2) A, HIPS autograd, torch.func (jacrev/jacfwd) and
jax.jit(jacrev/jacfwd), all measured in one run (median microseconds per Jacobian).

    python benchmarks/bench_jacobian.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_report, clean_blas_env, median_time, optional  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

import autograd_c as ag  # noqa: E402

SHAPES = [(10, 1000), (1000, 10), (200, 200)]


def bench_shape(m, d, rows):
    rng = np.random.default_rng(0)
    A = (rng.standard_normal((m, d)) / np.sqrt(d)).astype(np.float32)
    x = rng.standard_normal(d).astype(np.float32)
    At = ag.tensor(A)
    xt = ag.tensor(x)

    def f(v):
        return ag.tanh(ag.matmul(At, v))

    def numpy_jac():
        y = np.tanh(A @ x)
        return (1 - y * y)[:, None] * A

    ref = numpy_jac()
    res = {"numpy (analytic)": median_time(numpy_jac, repeat=51, number=10)}
    for mode in ("forward", "reverse", "auto"):
        J = ag.jacobian(f, xt, mode=mode).numpy()
        assert np.allclose(J, ref, atol=1e-4), mode
        res[f"autograd_c {mode}"] = median_time(lambda: ag.jacobian(f, xt, mode=mode), repeat=31, number=5)

    hips = optional("autograd")
    if hips is not None:
        import autograd.numpy as anp
        from autograd import jacobian as hjac
        hf = hjac(lambda v: anp.tanh(anp.dot(A, v)))
        res["HIPS autograd"] = median_time(lambda: hf(x), repeat=7, number=1)

    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
        from torch.func import jacfwd, jacrev
        Ag, xg = torch.from_numpy(A), torch.from_numpy(x)
        tf = lambda v: torch.tanh(Ag @ v)  # noqa: E731
        res["torch.func jacrev"] = median_time(lambda: jacrev(tf)(xg), repeat=21, number=3)
        res["torch.func jacfwd"] = median_time(lambda: jacfwd(tf)(xg), repeat=21, number=3)

    jax = optional("jax")
    if jax is not None:
        import jax.numpy as jnp
        Aj, xj = jnp.asarray(A), jnp.asarray(x)
        jf = lambda v: jnp.tanh(Aj @ v)  # noqa: E731
        jr, jfw = jax.jit(jax.jacrev(jf)), jax.jit(jax.jacfwd(jf))
        res["jax.jit jacrev"] = median_time(lambda: jr(xj).block_until_ready(), repeat=31, number=5)
        res["jax.jit jacfwd"] = median_time(lambda: jfw(xj).block_until_ready(), repeat=31, number=5)

    ours_best = min(res["autograd_c forward"], res["autograd_c reverse"])
    for k, v in res.items():
        rows.append((f"({m}, {d})", k, v * 1e6))
    jax_best = min([v for k, v in res.items() if k.startswith("jax")], default=None)
    summary = {
        "auto / best own mode": res["autograd_c auto"] / ours_best,
        "auto / numpy analytic": res["autograd_c auto"] / res["numpy (analytic)"],
    }
    if jax_best is not None:
        summary["auto / best jax.jit"] = res["autograd_c auto"] / jax_best
    return summary


def main():
    ag.set_num_threads(2)
    print(f"numpy BLAS: {blas_report()}")
    print(f"autograd_c ISA: {ag._core.isa()}, threads: {ag.get_num_threads()}")
    rows, summaries = [], {}
    for m, d in SHAPES:
        summaries[(m, d)] = bench_shape(m, d, rows)
    print(f"\n{'(m, d)':<12} {'implementation':<22} {'median us':>11}")
    for shape, name, us in rows:
        print(f"{shape:<12} {name:<22} {us:>11.1f}")
    print("\nratios (lower is better; targets: auto <= 1.2x best own mode, < 1x best jax.jit, <= 4x numpy)")
    for (m, d), s in summaries.items():
        print(f"({m}, {d}): " + ", ".join(f"{k} = {v:.2f}" for k, v in s.items()))


if __name__ == "__main__":
    main()
