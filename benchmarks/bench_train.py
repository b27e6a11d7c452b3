"""One full training step (forward, loss, backward, SGD update), float32, 2 threads.

Configurations (issue 5): tiny 2-16-1 tanh MSE batch 32; small 784-128-10 ReLU CE batch 64;
medium 784-512-256-10 ReLU CE batch 256; wide 1024-2048-2048-10 ReLU CE batch 512;
deep-narrow 64-(32 x 20)-10 tanh CE batch 16.  Peers: pure numpy with hand-written backprop
(always), and PyTorch eager, HIPS autograd and JAX (jax.jit of the whole step) when installed.
Reported: median microseconds per step over repeats, after warm-up; the repeats of all
libraries are interleaved round by round.

    python benchmarks/bench_train.py [--repeats 7] [--only tiny,small]
"""
import os
import sys

_STRIP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(k in os.environ for k in _STRIP):
    env = {k: v for k, v in os.environ.items() if k not in _STRIP}
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
for _k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "2")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

CONFIGS = {
    "tiny": ([2, 16, 1], "tanh", "mse", 32),
    "small": ([784, 128, 10], "relu", "ce", 64),
    "medium": ([784, 512, 256, 10], "relu", "ce", 256),
    "wide": ([1024, 2048, 2048, 10], "relu", "ce", 512),
    "deep-narrow": ([64] + [32] * 20 + [10], "tanh", "ce", 16),
}
LR = 0.01


def make_data(sizes, loss, batch, rng):
    X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if loss == "ce":
        y = rng.integers(0, sizes[-1], batch)
    else:
        y = rng.standard_normal((batch, sizes[-1])).astype(np.float32)
    return X, y


def init(sizes, rng):
    Ws = [(rng.uniform(-1, 1, (o, i)) / np.sqrt(i)).astype(np.float32)
          for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    return Ws, bs


def timeit_interleaved(steps, target_s=0.25, repeats=7, sequential=False):
    """Median us per step for each named step function.  The repeats are interleaved (one
    block of every library, then the next round), so a slow spell of this shared machine
    falls on all libraries alike instead of on whichever ran during it; the order rotates from
    round to round.  Each block starts after
    a short sleep and one untimed step, so idle threads of the library before it (OpenMP and
    OpenBLAS workers spin for a while after their last job) do not compete with it."""
    counts = {}
    for name, step in steps.items():
        for _ in range(3):
            step()
        t0 = time.perf_counter()
        step()
        one = max(time.perf_counter() - t0, 1e-7)
        counts[name] = max(1, int(target_s / one / 2))
    res = {name: [] for name in steps}
    names = list(steps)
    if sequential:  # all repeats of one library, then the next
        order = [name for name in names for _ in range(repeats)]
    else:  # rotate the order each round: no library always runs right after the same one
        order = [name for r in range(repeats) for name in names[r % len(names):] + names[:r % len(names)]]
    for name in order:
        step = steps[name]
        n = counts[name]
        time.sleep(0.05)  # let the previous library's idle worker threads stop spinning
        step()            # then one untimed step: this library's threads awake, caches warm
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        res[name].append((time.perf_counter() - t0) / n * 1e6)
    return {name: float(np.median(r)) for name, r in res.items()}


# ---------------------------------------------------------------- autograd_c
def step_autograd_c(sizes, act, loss, X, y, Ws, bs):
    import autograd_c as ag
    from autograd_c import nn
    ag.set_num_threads(2)
    layers = []
    for i in range(len(Ws)):
        lin = nn.Linear(sizes[i], sizes[i + 1])
        lin.weight.numpy()[...] = Ws[i]
        lin.bias.numpy()[...] = bs[i]
        layers.append(lin)
        if i < len(Ws) - 1:
            layers.append(nn.ReLU() if act == "relu" else nn.Tanh())
    model = nn.Sequential(*layers)
    opt = ag.optim.SGD(model.parameters(), lr=LR)
    xt = ag.tensor(X)
    yt = y if loss == "ce" else ag.tensor(y)
    lossf = nn.functional.cross_entropy if loss == "ce" else nn.functional.mse_loss

    def step():
        out = lossf(model(xt), yt)
        opt.zero_grad()
        out.backward()
        opt.step()
    return step


# ---------------------------------------------------------------- numpy
def step_numpy(sizes, act, loss, X, y, Ws, bs):
    Ws = [w.copy() for w in Ws]
    bs = [b.copy() for b in bs]
    n = len(X)
    rows = np.arange(n)

    def step():
        hs = [X]
        for i in range(len(Ws) - 1):
            z = hs[-1] @ Ws[i].T + bs[i]
            hs.append(np.maximum(z, 0) if act == "relu" else np.tanh(z))
        out = hs[-1] @ Ws[-1].T + bs[-1]
        if loss == "ce":
            z = out - out.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            p[rows, y] -= 1
            g = p / n
        else:
            g = (out - y) * (2.0 / out.size)
        for i in range(len(Ws) - 1, -1, -1):
            gW = g.T @ hs[i]
            gb = g.sum(0)
            if i:
                g = g @ Ws[i]
                g *= (hs[i] > 0) if act == "relu" else (1 - hs[i] * hs[i])
            Ws[i] -= LR * gW
            bs[i] -= LR * gb
    return step


# ---------------------------------------------------------------- torch
def step_torch(sizes, act, loss, X, y, Ws, bs):
    import torch
    torch.set_num_threads(2)
    layers = []
    for i in range(len(Ws)):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(Ws[i]))
            lin.bias.copy_(torch.from_numpy(bs[i]))
        layers.append(lin)
        if i < len(Ws) - 1:
            layers.append(torch.nn.ReLU() if act == "relu" else torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    lossf = torch.nn.functional.cross_entropy if loss == "ce" else torch.nn.functional.mse_loss

    def step():
        out = lossf(model(xt), yt)
        opt.zero_grad()
        out.backward()
        opt.step()
    return step


# ---------------------------------------------------------------- HIPS autograd
def step_hips(sizes, act, loss, X, y, Ws, bs):
    import autograd
    import autograd.numpy as anp
    params = [w.copy() for w in Ws] + [b.copy() for b in bs]
    L = len(Ws)
    rows = np.arange(len(X))

    def f(ps):
        h = X
        for i in range(L - 1):
            z = anp.dot(h, ps[i].T) + ps[L + i]
            h = anp.maximum(z, 0) if act == "relu" else anp.tanh(z)
        out = anp.dot(h, ps[L - 1].T) + ps[2 * L - 1]
        if loss == "ce":
            m = anp.max(out, axis=1, keepdims=True)
            lse = anp.log(anp.sum(anp.exp(out - m), axis=1)) + m[:, 0]
            return anp.mean(lse - out[rows, y])
        return anp.mean((out - y) ** 2)
    g = autograd.grad(f)

    def step():
        gs = g(params)
        for p, gp in zip(params, gs):
            p -= LR * gp
    return step


# ---------------------------------------------------------------- JAX
def step_jax(sizes, act, loss, X, y, Ws, bs):
    import jax
    import jax.numpy as jnp
    L = len(Ws)

    def f(ps, x, t):
        h = x
        for i in range(L - 1):
            z = h @ ps[i].T + ps[L + i]
            h = jax.nn.relu(z) if act == "relu" else jnp.tanh(z)
        out = h @ ps[L - 1].T + ps[2 * L - 1]
        if loss == "ce":
            lp = jax.nn.log_softmax(out)
            return -jnp.mean(jnp.take_along_axis(lp, t[:, None], axis=1))
        return jnp.mean((out - t) ** 2)

    @jax.jit
    def upd(ps, x, t):
        gs = jax.grad(f)(ps, x, t)
        return [p - LR * gp for p, gp in zip(ps, gs)]
    state = {"ps": [jnp.asarray(w) for w in Ws] + [jnp.asarray(b) for b in bs]}
    xj, yj = jnp.asarray(X), jnp.asarray(y)

    def step():
        state["ps"] = upd(state["ps"], xj, yj)
        jax.block_until_ready(state["ps"])
    return step


PEERS = [("numpy", step_numpy, None), ("pytorch", step_torch, "torch"),
         ("hips-autograd", step_hips, "autograd"), ("jax-jit", step_jax, "jax")]


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        info = [d for d in threadpool_info() if d.get("internal_api") == "openblas"]
        if info:
            return ", ".join(f"OpenBLAS {d.get('version')} kernel {d.get('architecture')} "
                             f"({d.get('num_threads')} threads)" for d in info)
        return "no OpenBLAS loaded (" + ", ".join(d.get("internal_api", "?") for d in threadpool_info()) + ")"
    except ImportError:
        return "threadpoolctl not installed"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="")
    ap.add_argument("--sequential", action="store_true",
                    help="time each library's repeats back to back instead of interleaving rounds")
    args = ap.parse_args()
    import importlib.util
    import autograd_c as ag
    names = [c for c in CONFIGS if not args.only or c in args.only.split(",")]
    avail = [(n, fn) for n, fn, mod in PEERS if mod is None or importlib.util.find_spec(mod)]
    missing = [n for n, fn, mod in PEERS if mod is not None and not importlib.util.find_spec(mod)]
    print(f"autograd_c {ag.__version__}, ISA {ag._core.isa()}, threads 2; numpy {np.__version__}: "
          f"{blas_info()}")
    if missing:
        print(f"skipped (not installed): {', '.join(missing)}")
    print(f"median us per training step over {args.repeats} repeats (after warm-up), "
          f"{'sequential' if args.sequential else 'interleaved'}")
    head = f"{'config':12s} {'autograd_c':>11s} " + " ".join(f"{n:>13s}" for n, _ in avail) + "  speed-up vs best peer"
    print(head)
    for name in names:
        sizes, act, loss, batch = CONFIGS[name]
        rng = np.random.default_rng(0)
        X, y = make_data(sizes, loss, batch, rng)
        Ws, bs = init(sizes, rng)
        steps = {"autograd_c": step_autograd_c(sizes, act, loss, X, y, Ws, bs)}
        for pn, fn in avail:
            try:
                steps[pn] = fn(sizes, act, loss, X, y, Ws, bs)
                steps[pn]()
            except Exception as e:  # a peer that fails to run is reported, not fatal
                steps.pop(pn, None)
                print(f"  {pn} failed on {name}: {type(e).__name__}: {e}")
        times = timeit_interleaved(steps, repeats=args.repeats, sequential=args.sequential)
        ours = times.pop("autograd_c")
        peers = times
        best = min(peers.values()) if peers else float("nan")
        row = f"{name:12s} {ours:11.1f} " + " ".join(
            f"{peers.get(pn, float('nan')):13.1f}" for pn, _ in avail)
        print(row + f"  {best / ours:6.2f}x")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
