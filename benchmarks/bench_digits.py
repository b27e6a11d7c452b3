"""MLPClassifier (64-128-10 ReLU, Adam, batch 64, 50 epochs) on scikit-learn's digits:
autograd_c.models against scikit-learn's MLPClassifier with the same settings.
Reports the median fit time over repeats (after a warm-up fit) and the test accuracy.

    python benchmarks/bench_digits.py [--repeats 5]
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
import warnings  # noqa: E402

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier as SkMLP
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        print("scikit-learn is not installed: bench_digits needs its digits data set; skipped")
        return 0
    import autograd_c as ag
    from autograd_c.models import MLPClassifier
    from bench_train import blas_info
    ag.set_num_threads(2)
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    s = StandardScaler().fit(Xtr)
    Xtr, Xte = s.transform(Xtr), s.transform(Xte)
    params = dict(hidden_layer_sizes=(128,), solver="adam", batch_size=64, max_iter=50,
                  learning_rate_init=1e-3, alpha=1e-4, random_state=0, n_iter_no_change=1000)
    print(f"numpy {np.__version__}: {blas_info()}; autograd_c ISA {ag._core.isa()}, 2 threads")
    print(f"digits: {len(Xtr)} train / {len(Xte)} test, 64-128-10 ReLU, Adam, batch 64, 50 epochs")
    results = {}
    for name, cls in (("autograd_c", MLPClassifier), ("scikit-learn", SkMLP)):
        times, acc = [], None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(**params).fit(Xtr, ytr)  # warm-up
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                clf = cls(**params).fit(Xtr, ytr)
                times.append(time.perf_counter() - t0)
                acc = clf.score(Xte, yte)
        results[name] = (float(np.median(times)), acc)
        print(f"{name:13s} fit {np.median(times):.3f} s (median of {args.repeats}), "
              f"test accuracy {acc:.4f}")
    a, b = results["autograd_c"][0], results["scikit-learn"][0]
    print(f"speed-up: {b / a:.2f}x")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
