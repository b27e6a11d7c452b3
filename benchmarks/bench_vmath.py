"""Vectorised elementwise math against numpy: exp, log, tanh, sigmoid and softplus on a
256 x 512 array, float32 and float64, 1 and 2 threads, median microseconds per call; softmax and
logsumexp along the last axis (rows of 10 and of 1000); then the fused dense layer with a tanh /
sigmoid epilogue in float64 against numpy's three passes; last, forward + backward of two loss
patterns whose upstream gradient is broadcast from one value (relu(x).sum(), the mean squared
error) and of gelu (float32 and float64), against PyTorch when it is installed.

numpy's sigmoid is 1 / (1 + exp(-x)) and its softplus np.logaddexp(0, x) (what a numpy user
writes); both libraries get the same contiguous input.

    python benchmarks/bench_vmath.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import blas_report, clean_blas_env, median_time, optional  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import autograd_c as ag  # noqa: E402

NUMPY = {
    "exp": np.exp,
    "log": np.log,
    "tanh": np.tanh,
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "softplus": lambda v: np.logaddexp(0, v),
}


def main():
    print(f"numpy BLAS: {blas_report()}")
    print(f"autograd_c ISA: {ag._core.isa()}")
    rng = np.random.default_rng(0)
    print(f"\n{'op':<10}{'dtype':<9}{'thr':>4}{'ours us':>10}{'numpy us':>10}{'numpy/ours':>12}")
    for dtype in (np.float32, np.float64):
        base = rng.standard_normal((256, 512)).astype(dtype)
        for name, npf in NUMPY.items():
            a = np.abs(base) + dtype(0.5) if name == "log" else base
            t = ag.tensor(a)
            fn = getattr(ag, name)
            for threads in (1, 2):
                ag.set_num_threads(threads)
                ours = median_time(lambda: fn(t), repeat=41)
                with np.errstate(over="ignore"):
                    ref = median_time(lambda: npf(a), repeat=41)
                print(f"{name:<10}{np.dtype(dtype).name:<9}{threads:>4}{ours * 1e6:>10.1f}"
                      f"{ref * 1e6:>10.1f}{ref / ours:>12.2f}")
    ag.set_num_threads(2)
    print(f"\nsoftmax / logsumexp along the last axis, 2 threads (numpy: exp(x - max), then the"
          " sum)")
    print(f"{'op':<11}{'dtype':<9}{'shape':<12}{'ours us':>10}{'numpy us':>10}{'numpy/ours':>12}")
    for dtype in (np.float32, np.float64):
        for shape in ((256, 10), (256, 1000)):
            a = (rng.standard_normal(shape) * 3).astype(dtype)
            t = ag.tensor(a)

            def np_softmax():
                e = np.exp(a - a.max(-1, keepdims=True))
                return e / e.sum(-1, keepdims=True)

            def np_lse():
                m = a.max(-1, keepdims=True)
                return m[:, 0] + np.log(np.exp(a - m).sum(-1))

            for name, ours_fn, np_fn in (("softmax", lambda: ag.softmax(t, -1), np_softmax),
                                         ("logsumexp", lambda: ag.logsumexp(t, -1), np_lse)):
                ours = median_time(ours_fn, repeat=41)
                ref = median_time(np_fn, repeat=41)
                print(f"{name:<11}{np.dtype(dtype).name:<9}{str(shape):<12}{ours * 1e6:>10.1f}"
                      f"{ref * 1e6:>10.1f}{ref / ours:>12.2f}")
    print(f"\nfused float64 layer act(x W^T + b), x 256 x 512, W 512 x 512, 2 threads")
    print(f"{'activation':<12}{'ours us':>10}{'numpy us':>10}{'numpy/ours':>12}")
    X = rng.standard_normal((256, 512))
    W = rng.standard_normal((512, 512)) / np.sqrt(512)
    b = rng.standard_normal(512)
    x, w, bb = ag.tensor(X), ag.tensor(np.ascontiguousarray(W.T)), ag.tensor(b)
    for act, npf in (("tanh", np.tanh), ("sigmoid", NUMPY["sigmoid"])):
        ours = median_time(lambda: ag._core.linear(x, w, bb, activation=act), repeat=41)
        with threadpool_limits(limits=2, user_api="blas"):
            ref = median_time(lambda: npf(X @ W + b), repeat=41)
        print(f"{act:<12}{ours * 1e6:>10.1f}{ref * 1e6:>10.1f}{ref / ours:>12.2f}")
    losses(rng)


def losses(rng):
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(2)
    print("\nforward + backward, float32 256 x 512, 2 threads")
    print(f"{'loss':<20}{'ours us':>10}{'torch us':>10}{'torch/ours':>12}")
    X = rng.standard_normal((256, 512)).astype(np.float32)
    T = rng.standard_normal((256, 512)).astype(np.float32)
    x, t = ag.tensor(X, requires_grad=True), ag.tensor(T)
    cases = {"relu(x).sum()": (lambda: ag.relu(x).sum(), lambda a, b: torch.relu(a).sum()),
             "((x - t)**2).mean()": (lambda: ((x - t) ** 2).mean(), lambda a, b: ((a - b) ** 2).mean()),
             "gelu(x).sum()": (lambda: ag.gelu(x).sum(),
                               lambda a, b: torch.nn.functional.gelu(a).sum())}
    for name, (ours_f, torch_f) in cases.items():
        def ours_step():
            x.grad = None
            ours_f().backward()
        ours = median_time(ours_step, repeat=41)
        ref = None
        if torch is not None:
            tx, tt = torch.from_numpy(X).requires_grad_(True), torch.from_numpy(T)

            def torch_step():
                tx.grad = None
                torch_f(tx, tt).backward()
            ref = median_time(torch_step, repeat=41)
        rs = f"{ref * 1e6:>10.1f}{ref / ours:>12.2f}" if ref else f"{'-':>10}{'-':>12}"
        print(f"{name:<20}{ours * 1e6:>10.1f}{rs}")
    # float64 gelu: the vector erfc of vmath_f64.h (libm's erfc before round 5)
    X64 = X.astype(np.float64)
    x64 = ag.tensor(X64, requires_grad=True)

    def ours64():
        x64.grad = None
        ag.gelu(x64).sum().backward()
    ours = median_time(ours64, repeat=41)
    ref = None
    if torch is not None:
        tx64 = torch.from_numpy(X64).requires_grad_(True)

        def torch64():
            tx64.grad = None
            torch.nn.functional.gelu(tx64).sum().backward()
        ref = median_time(torch64, repeat=41)
    rs = f"{ref * 1e6:>10.1f}{ref / ours:>12.2f}" if ref else f"{'-':>10}{'-':>12}"
    print(f"{'gelu(x).sum() f64':<20}{ours * 1e6:>10.1f}{rs}")


if __name__ == "__main__":
    main()
