"""The fused dense layer relu(x W^T + b) (one GEMM with bias and activation in its epilogue)
against numpy's three passes np.maximum(X @ W + b, 0) and PyTorch's relu(linear(...)) when
installed; forward only, float32, 2 threads, at the MLP shapes (M, K, N).

The next two columns put the figures against the machine's measured multiply-add peak
(peak_fma.c, 2 threads): the share of it that our layer reaches, and the share that a layer
1.2x as fast as numpy's would have to reach. The last column is the numpy/ours ratio of an
ideal layer that spends no time packing, on edges or in its epilogue and runs at the speed of
the AVX-512 micro-kernel tile alone (peak_fma.c tile, 2 threads): a shape where it is near 1.2
cannot reach the target with packed operands.

    python benchmarks/bench_dense.py [--rounds N]

With --rounds N (default 1) the whole table is measured N times in the same process and a last
table gives, per shape, the lowest, median and highest numpy/ours ratio over the rounds (this
VM's neighbours move single runs by 10-20%).
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_report, clean_blas_env, fma_peak, median_time, optional, tile_peak  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

import autograd_c as ag  # noqa: E402

SHAPES = [(64, 784, 128), (256, 784, 512), (256, 512, 256), (512, 1024, 2048), (512, 2048, 2048)]


def main():
    rounds = 1
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
        if rounds < 1:
            raise SystemExit("--rounds: N must be >= 1")
    ag.set_num_threads(2)
    print(f"numpy BLAS: {blas_report()}")
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
    peak = fma_peak("f32", 2)
    print("float32 multiply-add peak, 2 threads: "
          + (f"{peak:.0f} GFLOPS (peak_fma.c)" if peak else "unknown (peak_fma.c not built)"))
    tile = tile_peak(2)
    print("float32 14x32 micro-kernel tile alone, 2 threads: "
          + (f"{tile:.0f} GFLOPS" + (f" ({100 * tile / peak:.0f}% of peak)" if peak else "")
             if tile else "unknown (not an AVX-512 build, or peak_fma.c not built)"))
    ratios = {shape: [] for shape in SHAPES}
    for r in range(rounds):
        if rounds > 1:
            print(f"\nround {r + 1} of {rounds}", end="")
        table(torch, peak, tile, ratios)
    if rounds > 1:
        print(f"\n{'M,K,N':<18}{'lowest':>10}{'median':>10}{'highest':>10}   numpy/ours over {rounds} rounds")
        for (m, k, n), rs in ratios.items():
            print(f"{f'{m},{k},{n}':<18}{min(rs):>10.2f}{statistics.median(rs):>10.2f}{max(rs):>10.2f}")
    print("\ntarget: numpy/ours >= 1.2 at every shape (2 threads)")


def table(torch, peak, tile, ratios):
    rng = np.random.default_rng(0)
    print(f"\n{'M,K,N':<18}{'ours us':>10}{'numpy us':>10}{'torch us':>10}{'numpy/ours':>12}{'torch/ours':>12}"
          f"{'ours %pk':>10}{'1.2x %pk':>10}{'numpy/tile':>12}")
    for (m, k, n) in SHAPES:
        X = rng.standard_normal((m, k)).astype(np.float32)
        W = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        b = rng.standard_normal(n).astype(np.float32)
        Wt = np.ascontiguousarray(W.T)            # ours and torch take (out, in)
        x, w, bb = ag.tensor(X), ag.tensor(Wt), ag.tensor(b)
        ref = np.maximum(X @ W + b, 0)
        assert np.allclose(ag._core.linear(x, w, bb, activation="relu").numpy(), ref, atol=1e-3)
        reps = 41 if m * k * n < 1e8 else 11
        ours = median_time(lambda: ag._core.linear(x, w, bb, activation="relu"), repeat=reps)
        npy = median_time(lambda: np.maximum(X @ W + b, 0), repeat=reps)
        tt = None
        if torch is not None:
            tx, tw, tb = torch.from_numpy(X), torch.from_numpy(Wt), torch.from_numpy(b)
            F = torch.nn.functional
            tt = median_time(lambda: F.relu(F.linear(tx, tw, tb)), repeat=reps)
        tstr = f"{tt * 1e6:>10.1f}" if tt else f"{'-':>10}"
        trat = f"{tt / ours:>12.2f}" if tt else f"{'-':>12}"
        flop = 2.0 * m * k * n
        if peak:
            pk = f"{100 * flop / ours / 1e9 / peak:>9.0f}%{100 * 1.2 * flop / npy / 1e9 / peak:>9.0f}%"
        else:
            pk = f"{'-':>10}{'-':>10}"
        ideal = f"{npy / (flop / tile / 1e9):>12.2f}" if tile else f"{'-':>12}"
        print(f"{f'{m},{k},{n}':<18}{ours * 1e6:>10.1f}{npy * 1e6:>10.1f}{tstr}{npy / ours:>12.2f}{trat}{pk}{ideal}")
        ratios[(m, k, n)].append(npy / ours)


if __name__ == "__main__":
    main()
