"""max/min over a leading axis, and the forward against the backward of roll, tile, repeat,
diagonal and take_along_axis: median microseconds of ``--repeat`` runs after warm-up, numpy's
function in the same run for scale.

Reductions: ``x.max(axis=0)`` and friends on a contiguous 1024 x 1024 array (float32 and
float64), against numpy's ``x.max(axis=0)``; ``sum`` is printed for comparison, ``T.`` rows
reduce the transposed view and ``S.`` rows the column slice ``x[:, 1:]``.

Shape functions (float32, 1024 x 1024): ``fwd`` is the function on a tensor that needs no
gradient; ``bwd`` is the backward pass alone (the graph is built and the gradient made before
the clock starts; ``.grad`` is cleared after it stops); numpy's column is its forward, for scale.

One thread by default (--threads N): on a shared 2-core machine an OpenMP team waits for a
descheduled thread (backward medians of 20 ms were seen with 2 threads), and numpy's functions
here are single-threaded.

    python benchmarks/bench_shape.py            # --repeat N (default 25), --only NAME, --threads N
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import clean_blas_env, median_time  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

import autograd_c as ag  # noqa: E402

N = 1024


def backward_median(f, x, repeat, warmup=3):
    """Median seconds of f(x).backward(g) with the forward outside the timing."""
    g = ag.tensor(np.random.default_rng(1).standard_normal(f(x).shape).astype(x.dtype))
    samples = []
    for k in range(warmup + repeat):
        y = f(x)
        t0 = time.perf_counter()
        y.backward(g)
        t1 = time.perf_counter()
        x.grad = None
        del y
        if k >= warmup:
            samples.append(t1 - t0)
    return statistics.median(samples)


def reductions(rng):
    rows = []
    for dt in (np.float32, np.float64):
        a = rng.standard_normal((N, N)).astype(dt)
        t = ag.tensor(a)
        for name in ("max", "min", "sum"):
            for axis in (0, 1):
                rows.append((f"{name}(axis={axis}) {np.dtype(dt).name}",
                             lambda t=t, name=name, axis=axis: getattr(t, name)(axis=axis),
                             lambda a=a, name=name, axis=axis: getattr(a, name)(axis=axis)))
        for name in ("max", "sum"):     # a transposed view: the inner stride is not 1
            rows.append((f"T.{name}(axis=0) {np.dtype(dt).name}",
                         lambda t=t, name=name: getattr(t.T, name)(axis=0),
                         lambda a=a, name=name: getattr(a.T, name)(axis=0)))
        for name in ("max", "sum"):     # a slice of columns: rows 1023 apart, not contiguous
            rows.append((f"S.{name}(axis=0) {np.dtype(dt).name}",
                         lambda t=t, name=name: getattr(t[:, 1:], name)(axis=0),
                         lambda a=a, name=name: getattr(a[:, 1:], name)(axis=0)))
    return rows


def shape_functions(rng):
    idx = rng.integers(0, N, size=(N, N))
    return {
        "roll axis 1": (lambda x: ag.roll(x, 7, 1), lambda a: np.roll(a, 7, 1)),
        "roll axis 0": (lambda x: ag.roll(x, 7, 0), lambda a: np.roll(a, 7, 0)),
        "roll flat": (lambda x: ag.roll(x, 7), lambda a: np.roll(a, 7)),
        "tile (2, 1)": (lambda x: ag.tile(x, (2, 1)), lambda a: np.tile(a, (2, 1))),
        "tile (1, 2)": (lambda x: ag.tile(x, (1, 2)), lambda a: np.tile(a, (1, 2))),
        "repeat 2 axis 1": (lambda x: ag.repeat(x, 2, 1), lambda a: np.repeat(a, 2, 1)),
        "repeat 2 axis 0": (lambda x: ag.repeat(x, 2, 0), lambda a: np.repeat(a, 2, 0)),
        "diagonal": (lambda x: ag.diagonal(x, 1), lambda a: np.diagonal(a, 1).copy()),
        "take_along_axis": (lambda x: ag.take_along_axis(x, idx, 1),
                            lambda a: np.take_along_axis(a, idx, 1)),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=25)
    p.add_argument("--only", default=None, help="time the rows whose name contains this")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    ag.set_num_threads(args.threads)
    r = args.repeat
    print(f"threads: {ag.get_num_threads()}; numpy {np.__version__}; median of {r} after warm-up")
    rng = np.random.default_rng(0)
    print(f"\n{'reduction (1024 x 1024)':<26}{'ours us':>10}{'numpy us':>10}")
    for name, ours, ref in reductions(rng):
        if args.only and args.only not in name:
            continue
        us = median_time(ours, repeat=r) * 1e6
        ref_us = median_time(ref, repeat=r) * 1e6
        print(f"{name:<26}{us:10.1f}{ref_us:10.1f}")
    a = rng.standard_normal((N, N)).astype(np.float32)
    t = ag.tensor(a)
    tg = ag.tensor(a, requires_grad=True)
    print(f"\n{'float32 1024 x 1024':<20}{'fwd us':>10}{'bwd us':>10}{'bwd/fwd':>9}"
          f"{'numpy us':>10}")
    for name, (ours, ref) in shape_functions(rng).items():
        if args.only and args.only not in name:
            continue
        fwd = median_time(lambda: ours(t), repeat=r) * 1e6
        bwd = backward_median(ours, tg, r) * 1e6
        ref_us = median_time(lambda: ref(a), repeat=r) * 1e6
        print(f"{name:<20}{fwd:10.1f}{bwd:10.1f}{bwd / fwd:9.2f}{ref_us:10.1f}")


if __name__ == "__main__":
    main()
