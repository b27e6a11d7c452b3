"""Logistic regression written out as in a lecture, trained with autograd_c, and compared with
autograd_c.models.LogisticRegression.

Run: python examples/logistic_regression.py [--small]

Model:        p(y = 1 | x) = sigma(w^T x + b),  sigma(s) = 1 / (1 + exp(-s))
Decision:     predict 1 when w^T x + b > 0 (that is, p > 1/2), else 0
Likelihood:   L(w, b) = prod_i p_i^{y_i} (1 - p_i)^{1 - y_i}
Loss:         -log L / n = mean_i [ log(1 + exp(s_i)) - y_i s_i ]   (s_i = w^T x_i + b)
              plus the L2 penalty alpha / 2 * |w|^2
"""
import numpy as np

from _util import parse_args
import autograd_c as ag
from autograd_c.models import LogisticRegression

args = parse_args(" ".join(__doc__.split("\n\n")[0].split()), figure=False)
steps = 200 if args.small else 500

try:
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
except ImportError:  # two Gaussian blobs
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-1, 1, (200, 5)), rng.normal(1, 1, (200, 5))])
    y = np.repeat([0, 1], 200)

rng = np.random.default_rng(0)
perm = rng.permutation(len(X))
tr, te = perm[: int(0.75 * len(X))], perm[int(0.75 * len(X)):]
mu, sd = X[tr].mean(0), X[tr].std(0) + 1e-12
Xtr, Xte = (X[tr] - mu) / sd, (X[te] - mu) / sd
ytr, yte = y[tr].astype(np.float64), y[te]
alpha = 1.0 / len(Xtr)

w = ag.zeros(X.shape[1], dtype="float64", requires_grad=True)
b = ag.zeros(1, dtype="float64", requires_grad=True)
Xt = ag.tensor(Xtr)
for step in range(steps):
    s = ag.matmul(Xt, w) + b                                  # scores w^T x + b
    nll = ag.mean(ag.softplus(s) - s * ytr)                   # -log-likelihood / n
    loss = nll + 0.5 * alpha * ag.sum(w * w)
    w.grad = None
    b.grad = None
    loss.backward()
    with ag.no_grad():                                        # plain gradient descent
        w -= 0.5 * w.grad
        b -= 0.5 * b.grad
    if step % 100 == 0:
        print(f"step {step:3d}: loss {loss.item():.5f}")

scores = Xte @ w.numpy() + b.item()
pred = (scores > 0).astype(int)                               # the decision rule
print(f"by hand     : test accuracy {np.mean(pred == yte):.4f}")

clf = LogisticRegression(alpha=alpha).fit(Xtr, ytr.astype(int))
print(f"LogisticRegression (L-BFGS): test accuracy {clf.score(Xte, yte):.4f}, "
      f"|w_hand - w_lbfgs|_max = {np.abs(clf.coef_[0] - w.numpy()).max():.3g}")


def objective(w_, b_):
    s_ = Xtr @ w_ + b_
    return np.mean(np.logaddexp(0.0, s_) - ytr * s_) + 0.5 * alpha * w_ @ w_


# both minimise the same objective; the weights differ because a few hundred plain gradient steps
# have not converged on this ill-conditioned problem, while L-BFGS reaches a lower value in a few
# steps
print(f"objective: by hand {objective(w.numpy(), b.item()):.6f} after {steps} gradient steps, "
      f"L-BFGS {objective(clf.coef_[0], clf.intercept_[0]):.6f} after {clf.n_iter_} iterations")
