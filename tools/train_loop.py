"""A short training loop on the core Tensor API, for tools/valgrind_train.sh (and any leak/debug
tool): a tiny MLP (matmul, tanh, broadcasting add, mean) trained with a manual SGD step, plus a
few second-order and forward-mode calls so that the composed VJP/JVP rules run too.

    python tools/train_loop.py [steps]

Exits non-zero if the loss does not fall or any C object outlives the loop.
"""
import gc
import sys

import numpy as np

import autograd_c as ag


def main(steps=200):
    rng = np.random.default_rng(0)
    X = ag.tensor(rng.standard_normal((32, 4)), dtype="float64")
    y = ag.tensor(np.sin(rng.standard_normal((32, 1))), dtype="float64")
    params = [ag.tensor(rng.standard_normal(s) * 0.5, dtype="float64", requires_grad=True)
              for s in [(4, 16), (16,), (16, 1), (1,)]]

    def loss_fn(W1, b1, W2, b2):
        h = ag.tanh(X @ W1 + b1)
        return ((h @ W2 + b2 - y) ** 2).mean() + 1e-3 * ag.softmax(h, axis=-1).max()

    first = None
    for step in range(steps):
        loss = loss_fn(*params)
        if first is None:
            first = loss.item()
        loss.backward()
        with ag.no_grad():
            for p in params:
                p -= 0.05 * p.grad
                p.grad = None
    last = loss_fn(*params).item()
    # second order and forward mode through the same model
    H = ag.hessian(lambda b: loss_fn(params[0], params[1], params[2], b), params[3].detach())
    _, t = ag.jvp(lambda w: loss_fn(params[0], params[1], w, params[3]), (params[2].detach(),),
                  (np.ones((16, 1)),))
    assert np.isfinite(H.numpy()).all() and np.isfinite(t.numpy()).all()
    del loss, H, t, params, p, _
    gc.collect()
    live = (ag.live_tensors(), ag.live_storages(), ag.live_nodes())
    print(f"train_loop: loss {first:.4f} -> {last:.4f}; live C objects after the loop "
          f"(tensors, storages, nodes): {live}")
    if not last < first:
        return 1
    # X and y remain (2 tensors, 2 storages)
    return 0 if live == (2, 2, 0) else 2


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
