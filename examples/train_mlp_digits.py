"""Train a small MLP on scikit-learn's bundled digits with autograd_c's nn/optim, then the same
with the scikit-learn-style estimator.

Run: python examples/train_mlp_digits.py [--small]   (needs scikit-learn, for the data set)
"""
import sys

import numpy as np

from _util import parse_args
import autograd_c as ag
from autograd_c import nn, optim
from autograd_c.models import MLPClassifier


def load():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("train_mlp_digits.py needs scikit-learn for the digits: pip install scikit-learn")
    X, y = load_digits(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(X))
    te, tr = perm[: len(X) // 4], perm[len(X) // 4:]
    mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-12        # standardise with training statistics
    # float32, the dtype of the layers' weights: float64 batches would meet float32 weights
    # (mixing dtypes raises TypeError)
    return [((X[i] - mu) / sd).astype(np.float32) for i in (tr, te)] + [y[tr], y[te]]


def main():
    args = parse_args(" ".join(__doc__.split("\n\n")[0].split()), figure=False)
    X_train, X_test, y_train, y_test = load()
    epochs = 10 if args.small else 30

    # 1. by hand: a module, an optimizer, a scheduler, mini-batches, train and eval modes
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    for epoch in range(epochs):
        model.train()
        for xb, yb in ag.data.batches(X_train, y_train, batch_size=64, shuffle=True, seed=epoch):
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 10 == 9:
            model.eval()
            with ag.no_grad():
                acc = (model(X_test).numpy().argmax(1) == y_test).mean()
            print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}, test accuracy {acc:.4f}")

    # 2. the estimator: it stops when the training loss stops improving (here well before
    # max_iter, so no ConvergenceWarning)
    clf = MLPClassifier(hidden_layer_sizes=(128,), batch_size=64, max_iter=200, random_state=0)
    clf.fit(X_train, y_train)
    print(f"MLPClassifier: test accuracy {clf.score(X_test, y_test):.4f} after {clf.n_iter_} "
          f"epochs")


if __name__ == "__main__":
    main()
