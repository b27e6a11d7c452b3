"""Optimizer step and zero_grad cost: autograd_c's fused C steps against PyTorch's optimizers
(foreach implementation, its default on CPU) on the same parameter shapes, float32, median
microseconds per call (``number`` calls per sample, after warm-up).

Models: ``small`` is a 784-128-10 MLP (4 parameters, 102k values), ``deep-narrow`` a 64-32x20-10
tanh MLP (42 parameters, 22k values), ``tiny`` a 4-8-8-3 MLP (6 parameters, 139 values: the
per-call overhead alone). Gradients are set once; each step updates the parameters in place.

    python benchmarks/bench_optim.py            # --repeat N (default 21)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import clean_blas_env, median_time, optional  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

import autograd_c as ag  # noqa: E402

MODELS = {
    "tiny": [4, 8, 8, 3],
    "small": [784, 128, 10],
    "deep-narrow": [64] + [32] * 20 + [10],
}
OPTIMS = {
    "SGD(momentum=0.9)": ("SGD", dict(lr=0.01, momentum=0.9)),
    "Adam": ("Adam", dict(lr=1e-3)),
}


def shapes(sizes):
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        out += [(b, a), (b,)]
    return out


def ours(shp, name, kw, rng):
    ps = [ag.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shp]
    for p in ps:
        (p * 1.0).sum().backward()            # a gradient of ones in .grad
    opt = getattr(ag.optim, name)(ps, **kw)
    return opt.step, lambda: opt.zero_grad(set_to_none=False)


def torch_peer(torch, shp, name, kw, rng):
    ps = [torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
          for s in shp]
    for p in ps:
        p.grad = torch.ones_like(p)
    opt = getattr(torch.optim, name)(ps, foreach=True, **kw)
    return opt.step, lambda: opt.zero_grad(set_to_none=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(ag.get_num_threads())
    print(f"autograd_c {ag.__version__}, ISA {ag._core.isa()}, threads {ag.get_num_threads()}"
          + (f"; torch {torch.__version__}" if torch is not None else "; torch not installed"))
    print(f"{'model':<13}{'optimizer':<19}{'ours step':>11}{'torch step':>12}{'ratio':>8}"
          f"{'ours zero':>11}{'torch zero':>12}{'ratio':>8}   (us per call; ratio torch/ours)")
    rng = np.random.default_rng(0)
    for mname, sizes in MODELS.items():
        shp = shapes(sizes)
        for oname, (cls, kw) in OPTIMS.items():
            number = 200 if mname == "tiny" else 20
            st, zg = ours(shp, cls, kw, rng)
            s_ours = median_time(st, repeat=args.repeat, number=number) * 1e6
            z_ours = median_time(zg, repeat=args.repeat, number=number) * 1e6
            row = f"{mname:<13}{oname:<19}{s_ours:>11.2f}"
            if torch is not None:
                st, zg = torch_peer(torch, shp, cls, kw, rng)
                with torch.no_grad():
                    s_t = median_time(st, repeat=args.repeat, number=number) * 1e6
                z_t = median_time(zg, repeat=args.repeat, number=number) * 1e6
                row += f"{s_t:>12.2f}{s_t / s_ours:>8.2f}{z_ours:>11.2f}{z_t:>12.2f}{z_t / z_ours:>8.2f}"
            else:
                row += f"{'-':>12}{'-':>8}{z_ours:>11.2f}{'-':>12}{'-':>8}"
            print(row)


if __name__ == "__main__":
    main()
