"""Backward time of a 1000-op chain with no hooks anywhere, with hooks registered on OTHER
tensors/modules (not in this graph), and with one hook inside the chain.

Run: python benchmarks/bench_hooks.py
"""
import time

import numpy as np

import autograd_c as ag


def chain(n=1000, size=64):
    x = ag.tensor(np.random.default_rng(0).normal(size=size), requires_grad=True)
    y = x
    for i in range(n):
        y = ag.tanh(y) if i % 2 else y * 1.0001
    return x, y.sum()


def time_backward(repeats=30, hook_inside=False):
    best = np.inf
    for _ in range(repeats):
        x, L = chain()
        if hook_inside:
            x.register_hook(lambda g: None)
        t0 = time.perf_counter()
        L.backward()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ag.set_num_threads(1)
    base = time_backward()
    # hooks registered elsewhere: tensor hooks on unrelated tensors and module hooks
    others = [ag.tensor([1.0], requires_grad=True) * 2 for _ in range(100)]
    handles = [t.register_hook(lambda g: None) for t in others]
    lin = ag.nn.Linear(2, 2)
    handles += [lin.register_forward_hook(lambda *a: None),
                lin.register_full_backward_hook(lambda *a: None)]
    elsewhere = time_backward()
    inside = time_backward(hook_inside=True)
    for h in handles:
        h.remove()
    print(f"backward of a 1000-op chain (64 elements, one thread), best of 30:")
    print(f"  no hooks registered:            {base * 1e3:.3f} ms")
    print(f"  102 hooks registered elsewhere: {elsewhere * 1e3:.3f} ms")
    print(f"  one hook on the chain's leaf:   {inside * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
