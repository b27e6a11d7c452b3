"""``python -m autograd_c.demo [--epochs N] [--no-progress]``: train an MLP classifier and
compare with pure numpy.

Uses scikit-learn's bundled digits (8x8 images, 10 classes) when scikit-learn is installed,
else a two-spirals set generated here.  Both runs use the same network (64-128-10 ReLU, or
2-64-64-2 for the spirals), the same initial weights, mini-batches and Adam settings; the numpy
run writes the backward pass by hand.
"""
import sys
import time

import numpy as np

import autograd_c as ag
from autograd_c.models._base import ProgressBar


def load_data(rng):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        n = 1000
        t = np.sqrt(rng.uniform(0.05, 1, n)) * 3 * np.pi
        cls = rng.integers(0, 2, n)
        sign = np.where(cls == 0, 1.0, -1.0)
        X = np.column_stack([sign * t * np.cos(t), sign * t * np.sin(t)]) / 10
        X += rng.normal(0, 0.02, X.shape)
        return X, cls, "two spirals (synthetic; scikit-learn not installed)", (64, 64), 200
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y, "scikit-learn digits", (128,), 50


def init_params(sizes, rng):
    Ws, bs = [], []
    for fi, fo in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(6.0 / (fi + fo))
        Ws.append(rng.uniform(-bound, bound, (fo, fi)).astype(np.float32))
        bs.append(np.zeros(fo, np.float32))
    return Ws, bs


def train_autograd_c(Ws0, bs0, X, y, epochs, batch, lr, seed, progress=True):
    Ws = [ag.tensor(w, requires_grad=True) for w in Ws0]
    bs = [ag.tensor(b, requires_grad=True) for b in bs0]
    opt = ag.optim.Adam(Ws + bs, lr=lr)
    bar = ProgressBar(epochs, enabled=progress, desc="autograd_c epoch")
    rng = np.random.default_rng(seed)
    times = []
    for ep in range(1, epochs + 1):
        t0 = time.perf_counter()
        total = 0.0
        perm = rng.permutation(len(X))
        Xp, yp = np.ascontiguousarray(X[perm]), y[perm]
        for s in range(0, len(X), batch):
            h = ag.from_numpy(Xp[s:s + batch])
            for i in range(len(Ws) - 1):
                h = ag.nn.functional.linear(h, Ws[i], bs[i], "relu")
            logits = ag.nn.functional.linear(h, Ws[-1], bs[-1])
            loss = ag.nn.functional.cross_entropy(logits, yp[s:s + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(h)
        times.append(time.perf_counter() - t0)
        bar.update(ep, loss=total / len(X))
    bar.close()
    return [w.numpy() for w in Ws], [b.numpy() for b in bs], times


def train_numpy(Ws0, bs0, X, y, epochs, batch, lr, seed):
    """The same training with the backward pass and Adam written out in numpy."""
    Ws = [w.copy() for w in Ws0]
    bs = [b.copy() for b in bs0]
    params = Ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    t = 0
    rng = np.random.default_rng(seed)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = rng.permutation(len(X))
        Xp, yp = np.ascontiguousarray(X[perm]), y[perm]
        for s in range(0, len(X), batch):
            xb, yb = Xp[s:s + batch], yp[s:s + batch]
            acts = [xb]
            for i in range(len(Ws) - 1):
                acts.append(np.maximum(acts[-1] @ Ws[i].T + bs[i], 0))
            z = acts[-1] @ Ws[-1].T + bs[-1]
            z = z - z.max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            g = p
            g[np.arange(len(yb)), yb] -= 1
            g /= len(yb)
            gW, gb = [None] * len(Ws), [None] * len(bs)
            for i in range(len(Ws) - 1, -1, -1):
                gW[i] = g.T @ acts[i]
                gb[i] = g.sum(0)
                if i:
                    g = (g @ Ws[i]) * (acts[i] > 0)
            t += 1
            for k, (prm, gr) in enumerate(zip(params, gW + gb)):
                m[k] = b1 * m[k] + (1 - b1) * gr
                v[k] = b2 * v[k] + (1 - b2) * gr * gr
                prm -= lr / (1 - b1 ** t) * m[k] / (np.sqrt(v[k] / (1 - b2 ** t)) + eps)
        times.append(time.perf_counter() - t0)
    return Ws, bs, times


def accuracy(Ws, bs, X, y):
    h = X.astype(np.float32)
    for i in range(len(Ws) - 1):
        h = np.maximum(h @ Ws[i].T + bs[i], 0)
    return float(((h @ Ws[-1].T + bs[-1]).argmax(1) == y).mean())


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(prog="python -m autograd_c.demo",
                                description="Train the same MLP classifier with autograd_c and with "
                                "a hand-written numpy backward pass, and compare them.")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default: 50 on digits, 200 on the spirals)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")
    rng = np.random.default_rng(0)
    X, y, name, hidden, epochs = load_data(rng)
    epochs = args.epochs or epochs
    X = X.astype(np.float32)
    perm = rng.permutation(len(X))
    n_test = len(X) // 4
    te, tr = perm[:n_test], perm[n_test:]
    sizes = [X.shape[1], *hidden, int(y.max()) + 1]
    Ws0, bs0 = init_params(sizes, rng)
    batch, lr = 64, 1e-3 if len(hidden) == 1 else 3e-3
    print(f"autograd_c demo: {name}: {len(tr)} training / {len(te)} test samples, network "
          f"{'-'.join(map(str, sizes))}, Adam lr={lr}, batch {batch}, {epochs} epochs, "
          f"{ag.get_num_threads()} threads")
    Wa, ba, ta = train_autograd_c(Ws0, bs0, X[tr], y[tr], epochs, batch, lr, seed=1,
                                  progress=not args.no_progress)
    Wn, bn, tn = train_numpy(Ws0, bs0, X[tr], y[tr], epochs, batch, lr, seed=1)
    acc_a, acc_n = accuracy(Wa, ba, X[te], y[te]), accuracy(Wn, bn, X[te], y[te])
    ma, mn = np.median(ta) * 1e3, np.median(tn) * 1e3
    print(f"autograd_c : test accuracy {acc_a:.4f}, {ma:7.2f} ms per epoch (median)")
    print(f"pure numpy : test accuracy {acc_n:.4f}, {mn:7.2f} ms per epoch (median)")
    print(f"speed-up over numpy: {mn / ma:.2f}x; largest weight difference between the two runs: "
          f"{max(float(np.abs(a - b).max()) for a, b in zip(Wa, Wn)):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
