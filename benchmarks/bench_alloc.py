"""Buffer reuse in a fresh process: two loops that free and reallocate the same large
temporaries on every call, each run in its own new interpreter (so malloc has no history),
with autograd_c's block cache on (the default) and off (ag.set_cache_limit(0)), against
PyTorch when installed.  Prints the median time per call and the minor page faults per call.

    python benchmarks/bench_alloc.py

  mse       float32 (256, 512): ((x - t)**2).mean() forward + backward
  jac-rev   float64 jacobian of tanh(A x), A (1000, 10), reverse mode (one backward pulling
            1000 cotangents)
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import clean_blas_env  # noqa: E402

clean_blas_env()

CHILD = r"""
import resource, sys, time, statistics
import numpy as np
lib, case, cache = sys.argv[1], sys.argv[2], sys.argv[3] == "on"
rng = np.random.default_rng(0)
if lib == "ours":
    import autograd_c as L
    if not cache:
        L.set_cache_limit(0)
    jac = lambda f, v: L.jacobian(f, v, mode="reverse")
else:
    import torch as L
    jac = lambda f, v: L.func.jacrev(f)(v)
L.set_num_threads(2)
if case == "mse":
    x = L.tensor(rng.standard_normal((256, 512)).astype(np.float32), requires_grad=True)
    t = L.tensor(rng.standard_normal((256, 512)).astype(np.float32))
    def call():
        x.grad = None
        ((x - t) ** 2).mean().backward()
else:
    A = L.tensor(rng.standard_normal((1000, 10)))
    v = L.tensor(rng.standard_normal(10))
    def call():
        jac(lambda z: L.tanh(A @ z), v)
for _ in range(3):
    call()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
n, samples = 41, []
for _ in range(n):
    t0 = time.perf_counter()
    call()
    samples.append(time.perf_counter() - t0)
f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(statistics.median(samples) * 1e6, (f1 - f0) / n)
"""


def run(lib, case, cache):
    out = subprocess.run([sys.executable, "-c", CHILD, lib, case, cache], capture_output=True,
                         text=True)
    if out.returncode != 0:
        return None
    us, faults = out.stdout.split()
    return float(us), float(faults)


def main():
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    print(f"{'case':<10}{'cache on us':>13}{'faults':>8}{'cache off us':>14}{'faults':>8}"
          f"{'torch us':>10}{'faults':>8}{'off/on':>8}{'torch/on':>10}")
    for case in ("mse", "jac-rev"):
        on = run("ours", case, "on")
        off = run("ours", case, "off")
        tt = run("torch", case, "on") if have_torch else None
        tstr = f"{tt[0]:>10.1f}{tt[1]:>8.0f}" if tt else f"{'-':>10}{'-':>8}"
        trat = f"{tt[0] / on[0]:>10.2f}" if tt else f"{'-':>10}"
        print(f"{case:<10}{on[0]:>13.1f}{on[1]:>8.0f}{off[0]:>14.1f}{off[1]:>8.0f}{tstr}"
              f"{off[0] / on[0]:>8.2f}{trat}")


if __name__ == "__main__":
    main()
