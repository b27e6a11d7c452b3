"""Shared benchmark plumbing: a clean numpy environment, timing, and peer discovery.

This machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which slow numpy's OpenBLAS; a
benchmark that compares against numpy calls ``clean_blas_env()`` first thing, which re-executes
the script without them (for its own process only) and prints the kernel OpenBLAS then uses.
"""
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time

_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def clean_blas_env():
    """Re-exec the running script without the OpenBLAS overrides (before numpy is imported)."""
    if any(v in os.environ for v in _VARS):
        env = {k: v for k, v in os.environ.items() if k not in _VARS}
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def force_avx2():
    """Re-exec the running script (before numpy is imported) with autograd_c forced onto its
    AVX2 kernels (AUTOGRAD_C_ISA=avx2) and OpenBLAS onto its Haswell (AVX2) kernels
    (OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE unset): both libraries as an AVX2-only CPU
    would run them, timed on this machine's cores and caches."""
    want = {"AUTOGRAD_C_ISA": "avx2", "OPENBLAS_CORETYPE": "Haswell"}
    if any(os.environ.get(k) != v for k, v in want.items()) or "OPENBLAS_L2_SIZE" in os.environ:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_L2_SIZE"}
        env.update(want)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def blas_report():
    """One line naming the BLAS kernels numpy uses (threadpoolctl), or why it is unknown."""
    try:
        import numpy  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed: OpenBLAS kernel unknown"
    parts = []
    for info in threadpool_info():
        parts.append(f"{info.get('internal_api')} {info.get('version')} "
                     f"arch={info.get('architecture')} threads={info.get('num_threads')}")
    return "; ".join(parts) or "no BLAS found by threadpoolctl"


def median_time(fn, repeat=21, number=1, warmup=3, settle=0.1):
    """Median wall time of ``fn()`` in seconds (``number`` calls per sample) after warm-up.

    It first sleeps ``settle`` seconds: the library measured before may leave OpenMP or
    OpenBLAS worker threads spinning for a while, and on a 2-core machine they would take a
    core from this measurement (seen: a 4.4 ms GEMM timed at 8.4 ms right after PyTorch)."""
    time.sleep(settle)
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def optional(name):
    """Import a peer library, or None when it is missing (the benchmark then skips it)."""
    try:
        return __import__(name)
    except Exception:
        return None


_ISA_FLAGS = {"avx512": ["-mavx512f", "-mfma"], "avx2": ["-mavx2", "-mfma"]}
_peak_bin = {}


def fma_peak(dtype, threads):
    """The machine's multiply-add peak in GFLOPS for ``dtype`` ("f32" or "f64") on
    ``threads`` threads, measured by peak_fma.c (register-only FMA chains) built with the
    flags of the ISA autograd_c dispatches to; None where that cannot be built or run (no C
    compiler, or a CPU with neither AVX2 nor AVX-512)."""
    return _peak_run(dtype, threads)


def tile_peak(threads):
    """GFLOPS of the float32 AVX-512 GEMM register tile (14 x 32) alone on ``threads``
    threads, fed from packed panels as in the real loop nest but with no packing and no
    epilogue (peak_fma.c ``tile``): the ceiling of any packed product with that tile. None
    where autograd_c does not dispatch to AVX-512 or peak_fma.c cannot be built."""
    import autograd_c as ag
    if ag._core.isa() != "avx512":
        return None
    return _peak_run("tile", threads)


def _peak_run(mode, threads):
    import autograd_c as ag
    isa = ag._core.isa()
    if isa not in _ISA_FLAGS:
        return None
    if isa not in _peak_bin:
        cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
        out = os.path.join(tempfile.mkdtemp(prefix="ag_peak_"), "peak_fma")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peak_fma.c")
        try:
            subprocess.run([cc, "-O3", "-fopenmp", *_ISA_FLAGS[isa], src, "-o", out],
                           check=True, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            shutil.rmtree(os.path.dirname(out), ignore_errors=True)
            out = None
        _peak_bin[isa] = out
    if _peak_bin[isa] is None:
        return None
    try:
        res = subprocess.run([_peak_bin[isa], mode, str(threads)], check=True,
                             capture_output=True, text=True, timeout=120)
        return float(res.stdout.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
