"""Jacobians of f(x) = tanh(A x), float32: autograd_c's forward / reverse / auto modes against
the hand-written numpy Jacobian diag(1 - y^2) A, HIPS autograd, torch.func (jacrev/jacfwd) and
jax.jit(jacrev/jacfwd), all measured in one run (median microseconds per Jacobian).  A second table times the
Jacobian and the Hessian of a function that closes over a module's parameters (a 64-128-10 tanh
MLP, float64), where our result stays in the parameters' graph (one recorded backward per output
element) unless the call runs under ag.no_grad(); torch.func's jacrev / hessian of the same
module are the peer.

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


def bench_closure():
    """Jacobian (10 x 64) and Hessian (64 x 64) of a function closing over an MLP's parameters."""
    from autograd_c import nn
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(64, 128, dtype="float64"), nn.Tanh(),
                          nn.Linear(128, 10, dtype="float64"))
    x = rng.standard_normal(64)
    xt = ag.tensor(x, dtype="float64")
    f = lambda v: model(v)  # noqa: E731
    s = lambda v: (model(v) ** 2).sum()  # noqa: E731
    res = {}
    J = ag.jacobian(f, xt)
    assert J.requires_grad  # the closure path: the result stays in the parameters' graph
    res["jacobian, in the graph"] = median_time(lambda: ag.jacobian(f, xt), repeat=21, number=5)
    with ag.no_grad():
        J0 = ag.jacobian(f, xt)
        res["jacobian, no_grad"] = median_time(lambda: ag.jacobian(f, xt), repeat=21, number=5)
    assert np.allclose(J.detach().numpy(), J0.numpy(), atol=1e-12)
    res["hessian, in the graph"] = median_time(lambda: ag.hessian(s, xt), repeat=11, number=2)
    with ag.no_grad():
        res["hessian, no_grad"] = median_time(lambda: ag.hessian(s, xt), repeat=11, number=2)
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
        from torch.func import jacrev, hessian
        tm = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.Tanh(),
                                 torch.nn.Linear(128, 10)).double()
        with torch.no_grad():
            for (tp, ap) in zip(tm.parameters(), model.parameters()):
                tp.copy_(torch.from_numpy(ap.numpy().copy()))
        xg = torch.from_numpy(x)
        Jt = jacrev(tm)(xg)
        assert np.allclose(Jt.detach().numpy(), J0.numpy(), atol=1e-10)
        ts = lambda v: (tm(v) ** 2).sum()  # noqa: E731
        res["torch.func jacrev"] = median_time(lambda: jacrev(tm)(xg), repeat=21, number=5)
        res["torch.func hessian"] = median_time(lambda: hessian(ts)(xg), repeat=11, number=2)
    print("\nclosure over a 64-128-10 tanh MLP's parameters, float64 (median us)")
    for k, v in res.items():
        print(f"{k:<24} {v * 1e6:>11.1f}")


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
    bench_closure()


if __name__ == "__main__":
    main()
