"""GFLOPS of autograd_c's GEMM against numpy's matmul (OpenBLAS), measured in one run.

numpy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its best kernel; the kernel
threadpoolctl reports is printed).  1 and 2 threads, square n = 64 ... 2048 and the MLP shapes,
float32 and float64; best-of-median timing after warm-up.

    python benchmarks/bench_matmul.py [--quick]
    python benchmarks/bench_matmul.py --scaling     # n = 2048 at 1, 2, 4, 8, 16 threads (as
                                                    # many as the machine has cores)
    python benchmarks/bench_matmul.py --forms       # the three products of a dense layer
    python benchmarks/bench_matmul.py --avx2 ...    # both libraries on their AVX2 kernels

--forms times, at the MLP shapes (M, K, N), the products a dense layer runs with weights W of
shape (N, K): the forward X @ W^T, the weight gradient G^T @ X and the input gradient G @ W
(G the (M, N) upstream gradient); the transposes come from the packing, not from copies.
--avx2 re-runs the script with AUTOGRAD_C_ISA=avx2 and OPENBLAS_CORETYPE=Haswell.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_report, clean_blas_env, force_avx2  # noqa: E402

if "--avx2" in sys.argv:
    force_avx2()
else:
    clean_blas_env()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import autograd_c as ag  # noqa: E402

SQUARE = [64, 128, 256, 512, 1024, 2048]
MLP = [(64, 784, 128), (256, 784, 512), (256, 512, 256), (512, 1024, 2048), (512, 2048, 2048)]


def gflops(fn, flop, min_time=0.03, samples=5, settle=0.1):
    """GFLOPS from the median of ``samples`` timed batches.  It first sleeps ``settle``
    seconds: the library timed just before may leave its OpenMP workers spinning on the
    other core, which slowed the next product up to 3x (seen on G @ W at 256,784,512)."""
    time.sleep(settle)
    fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        reps *= 2
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return flop / sorted(times)[len(times) // 2] / 1e9


def scaling_table():
    """GFLOPS at n = 2048 for 1, 2, 4, ... threads up to the core count, ours and numpy's,
    with the speed-up over one thread (issue 3: the 16-core scaling, when such a machine is
    lent)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    counts = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= cores]
    rng = np.random.default_rng(0)
    n = 2048
    print(f"\nn = {n}, {cores} cores available")
    print(f"{'dtype':<8}{'thr':>4}{'ours GF/s':>11}{'speed-up':>10}{'numpy GF/s':>12}{'speed-up':>10}{'ratio':>8}")
    for dtype in (np.float32, np.float64):
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        ta, tb = ag.from_numpy(a), ag.from_numpy(b)
        base = None
        for t in counts:
            ag.set_num_threads(t)
            ours = gflops(lambda: ta @ tb, 2.0 * n ** 3)
            with threadpool_limits(limits=t, user_api="blas"):
                ref = gflops(lambda: a @ b, 2.0 * n ** 3)
            base = base or (ours, ref)
            print(f"{np.dtype(dtype).name:<8}{t:>4}{ours:>11.1f}{ours / base[0]:>10.2f}{ref:>12.1f}"
                  f"{ref / base[1]:>10.2f}{ours / ref:>8.2f}")
    ag.set_num_threads(2)


def forms_table():
    """ours / numpy GFLOPS for X @ W^T, G^T @ X and G @ W at the MLP shapes"""
    rng = np.random.default_rng(0)
    print(f"\n{'dtype':<8}{'M,K,N':<16}{'thr':>4}" + "".join(f"{h:>14}" for h in ("X W^T", "G^T X", "G W"))
          + "   (ours/numpy GFLOPS ratio)")
    for dtype in (np.float32, np.float64):
        for (m, k, n) in MLP:
            X = rng.standard_normal((m, k)).astype(dtype)
            W = rng.standard_normal((n, k)).astype(dtype)
            G = rng.standard_normal((m, n)).astype(dtype)
            x, w, g = ag.from_numpy(X), ag.from_numpy(W), ag.from_numpy(G)
            pairs = [(lambda: x @ w.T, lambda: X @ W.T), (lambda: g.T @ x, lambda: G.T @ X),
                     (lambda: g @ w, lambda: G @ W)]
            flop = 2.0 * m * k * n
            for threads in (1, 2):
                ag.set_num_threads(threads)
                cells = []
                with threadpool_limits(limits=threads, user_api="blas"):
                    for ours_fn, np_fn in pairs:
                        cells.append(gflops(ours_fn, flop) / gflops(np_fn, flop))
                print(f"{np.dtype(dtype).name:<8}{f'{m},{k},{n}':<16}{threads:>4}"
                      + "".join(f"{c:>14.2f}" for c in cells))
    ag.set_num_threads(2)


def main():
    if "--forms" in sys.argv:
        print(f"numpy BLAS: {blas_report()}")
        print(f"autograd_c ISA: {ag._core.isa()}")
        forms_table()
        return
    if "--scaling" in sys.argv:
        print(f"numpy BLAS: {blas_report()}")
        print(f"autograd_c ISA: {ag._core.isa()}")
        scaling_table()
        return
    quick = "--quick" in sys.argv
    print(f"numpy BLAS: {blas_report()}")
    print(f"autograd_c ISA: {ag._core.isa()}")
    shapes = [(n, n, n) for n in SQUARE] + MLP
    if quick:
        shapes = [(n, n, n) for n in (64, 256, 1024)] + MLP[:3]
    rng = np.random.default_rng(0)
    print(f"\n{'dtype':<8}{'M,K,N':<18}{'thr':>4}{'ours GF/s':>11}{'numpy GF/s':>12}{'ratio':>8}")
    scaling = {}
    for dtype in (np.float32, np.float64):
        for (m, k, n) in shapes:
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            ta, tb = ag.from_numpy(a), ag.from_numpy(b)
            for threads in (1, 2):
                ag.set_num_threads(threads)
                ours = gflops(lambda: ta @ tb, 2.0 * m * k * n)
                with threadpool_limits(limits=threads, user_api="blas"):
                    ref = gflops(lambda: a @ b, 2.0 * m * k * n)
                scaling[(dtype, m, k, n, threads)] = ours
                print(f"{np.dtype(dtype).name:<8}{f'{m},{k},{n}':<18}{threads:>4}{ours:>11.1f}{ref:>12.1f}{ours / ref:>8.2f}")
    for dtype in (np.float32, np.float64):
        key = (dtype, 1024, 1024, 1024)
        if key + (1,) in scaling:
            print(f"{np.dtype(dtype).name} n=1024: 2 threads / 1 thread = {scaling[key + (2,)] / scaling[key + (1,)]:.2f}")
    ag.set_num_threads(2)


if __name__ == "__main__":
    main()
