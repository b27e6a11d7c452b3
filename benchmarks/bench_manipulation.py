"""The manipulation functions against numpy: flip, roll, tile, repeat, diagonal,
take_along_axis, tril and triu, median milliseconds on float32 matrices of 1e3 elements
(25 x 40) and 4e6 elements (2000 x 2000).

Rows: ``fwd`` (the function on a tensor that needs no gradient, against numpy's function) and
``fwd+bwd`` (on a tensor that requires grad, then the backward pass of the result with a
gradient of ones; numpy has no counterpart, so its column repeats numpy's forward time for
scale).  numpy's ``diagonal`` is a read-only view, ours a copy: numpy's row is timed with
``.copy()``.  ``ratio`` is ours / numpy.  ``concatenate`` joins x and its flip along axis 1.

A second table times the strided copy itself at 4e6 float32 elements: ``.contiguous()`` of
``broadcast_to`` views whose rows have 1, 2, 3, 8, 64 and 4096 elements, of a flip, a stepped
slice and a transpose (against numpy's ``ascontiguousarray`` of the same view), and the backward
pass alone of a flip, a stepped slice and a concatenate (gradient made before the timing;
numpy's column is its copy of the same view, for scale).  Quick: about a minute.

    python benchmarks/bench_manipulation.py            # --repeat N (default 7), --only NAME
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import clean_blas_env, median_time  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

import autograd_c as ag  # noqa: E402

CASES = [("1e3", (25, 40)), ("4e6", (2000, 2000))]


def functions(shape, rng):
    """{name: (ours, numpy's)}, each a function of one array-like argument."""
    idx = rng.integers(0, shape[1], size=shape)
    return {
        "flip": (lambda x: ag.flip(x, 1), lambda a: np.flip(a, 1)),
        "roll": (lambda x: ag.roll(x, 7, 1), lambda a: np.roll(a, 7, 1)),
        "roll_flat": (lambda x: ag.roll(x, 7), lambda a: np.roll(a, 7)),
        "tile": (lambda x: ag.tile(x, (2, 1)), lambda a: np.tile(a, (2, 1))),
        "repeat": (lambda x: ag.repeat(x, 2, 1), lambda a: np.repeat(a, 2, 1)),
        "diagonal": (lambda x: ag.diagonal(x, 1), lambda a: np.diagonal(a, 1).copy()),
        "take_along_axis": (lambda x: ag.take_along_axis(x, idx, 1),
                            lambda a: np.take_along_axis(a, idx, 1)),
        "tril": (lambda x: ag.tril(x, 1), lambda a: np.tril(a, 1)),
        "triu": (lambda x: ag.triu(x), lambda a: np.triu(a)),
        "concatenate": (lambda x: ag.concatenate([x, ag.flip(x, 1)], 1),
                        lambda a: np.concatenate([a, np.flip(a, 1)], 1)),
    }


def copies(rng):
    """{name: (ours, numpy's)}, each a function of nothing: the strided copy at 4e6 elements."""
    n = 2 ** 22
    table = {}
    for k in (1, 2, 3, 8, 64, 4096):
        row = rng.standard_normal(k).astype(np.float32)
        t, shape = ag.tensor(row), (n // k, k)
        table[f"bcast rows {k}"] = (lambda t=t, shape=shape: ag.broadcast_to(t, shape).contiguous(),
                                    lambda row=row, shape=shape:
                                    np.ascontiguousarray(np.broadcast_to(row, shape)))
    a = rng.standard_normal((2048, 2048)).astype(np.float32)
    t = ag.tensor(a)
    views = {"flip": ((slice(None), slice(None, None, -1)), False),
             "step 2": ((slice(None), slice(None, None, 2)), False),
             "transpose": ((slice(None), slice(None)), True)}
    for name, (key, tr) in views.items():
        table[f"contig {name}"] = (lambda key=key, tr=tr: (t.T if tr else t)[key].contiguous(),
                                   lambda key=key, tr=tr: np.ascontiguousarray((a.T if tr else a)[key]))
    tg = ag.tensor(a, requires_grad=True)

    def backward_of(f):
        g = ag.tensor(np.ones(f(t).shape, np.float32))

        def run():
            f(tg).backward(g)
            tg.grad = None
        return run
    table["bwd flip"] = (backward_of(lambda x: ag.flip(x, 1)), lambda: a[:, ::-1].copy())
    table["bwd step 2"] = (backward_of(lambda x: x[:, ::2]), lambda: a[:, ::2].copy())
    table["bwd concatenate"] = (backward_of(lambda x: ag.concatenate([x, x[:, ::-1]], 1)),
                                lambda: np.concatenate([a, a[:, ::-1]], 1))
    return table


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--only", default=None, help="time this function only")
    args = p.parse_args()
    print(f"threads: {ag.get_num_threads()}; numpy {np.__version__}; float32")
    print(f"\n{'case':<6}{'function':<17}{'row':<9}{'ours ms':>10}{'numpy ms':>10}{'ratio':>8}")
    rng = np.random.default_rng(0)
    for case, shape in CASES:
        a = rng.standard_normal(shape).astype(np.float32)
        t = ag.tensor(a)
        tg = ag.tensor(a, requires_grad=True)
        for name, (ours, ref) in functions(shape, rng).items():
            if args.only and name != args.only:
                continue

            def fwd_bwd(ours=ours):
                y = ours(tg)
                y.backward(ag.ones(*y.shape))
                tg.grad = None

            ref_ms = median_time(lambda: ref(a), repeat=args.repeat, warmup=1) * 1e3
            for row, fn in (("fwd", lambda: ours(t)), ("fwd+bwd", fwd_bwd)):
                ms = median_time(fn, repeat=args.repeat, warmup=1) * 1e3
                print(f"{case:<6}{name:<17}{row:<9}{ms:10.3f}{ref_ms:10.3f}{ms / ref_ms:8.1f}")
    print(f"\n{'4e6 copy':<26}{'ours ms':>10}{'numpy ms':>10}{'ratio':>8}")
    for name, (ours, ref) in copies(rng).items():
        if args.only and not name.endswith(args.only):
            continue
        ms = median_time(ours, repeat=args.repeat, warmup=1) * 1e3
        ref_ms = median_time(ref, repeat=args.repeat, warmup=1) * 1e3
        print(f"{name:<26}{ms:10.3f}{ref_ms:10.3f}{ms / ref_ms:8.1f}")


if __name__ == "__main__":
    main()
