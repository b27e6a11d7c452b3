"""Sorting against numpy: ag.argsort / ag.sort (the radix kernel, csrc/kernels/sort.c) and
np.sort / np.argsort(kind="stable"), median milliseconds, float32 and float64, at 1e3, 1e5 and
4e6 elements and along the last axis of (1000, 784).

Rows: ``argsort`` (ag.argsort against np.argsort stable, the same result), ``sort`` (ag.sort of a
tensor that needs no gradient: values only, against np.sort), ``sort+grad`` (ag.sort of a tensor
that requires grad: the order, the recorded gather, no backward) and ``backward`` (its backward
pass, the scatter of the gradient).  Quick: a few seconds.

    python benchmarks/bench_sort.py            # --repeat N (default 7)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import clean_blas_env, median_time  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

import autograd_c as ag  # noqa: E402

CASES = [("1e3", (1000,)), ("1e5", (100_000,)), ("4e6", (4_000_000,)), ("1000x784", (1000, 784))]


def rows(a, repeat):
    """{row name: (ours ms, numpy ms)} for array a."""
    t = ag.tensor(a)
    tg = ag.tensor(a, requires_grad=True)
    g = ag.ones(*a.shape, dtype=a.dtype.name)
    kept = ag.sort(tg)

    def ms(fn):
        return median_time(fn, repeat=repeat, warmup=1) * 1e3

    np_argsort = ms(lambda: np.argsort(a, axis=-1, kind="stable"))
    np_sort = ms(lambda: np.sort(a, axis=-1))
    return {
        "argsort": (ms(lambda: ag.argsort(t)), np_argsort),
        "sort": (ms(lambda: ag.sort(t)), np_sort),
        "sort+grad": (ms(lambda: ag.sort(tg)), np_argsort),
        "backward": (ms(lambda: kept.backward(g, retain_graph=True)), None),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args()
    print(f"threads: {ag.get_num_threads()}; numpy {np.__version__}")
    print(f"\n{'case':<10}{'dtype':<9}{'row':<11}{'ours ms':>10}{'numpy ms':>10}  numpy is")
    rng = np.random.default_rng(0)
    for name, shape in CASES:
        for dtype in (np.float32, np.float64):
            a = rng.standard_normal(shape).astype(dtype)
            for row, (ours, ref) in rows(a, args.repeat).items():
                against = {"argsort": "argsort stable", "sort": "sort (default kind)",
                           "sort+grad": "argsort stable"}.get(row, "")
                ref_s = f"{ref:10.3f}" if ref is not None else f"{'-':>10}"
                print(f"{name:<10}{dtype.__name__:<9}{row:<11}{ours:10.3f}{ref_s}  {against}")


if __name__ == "__main__":
    main()
