"""Linear classifiers on 2-D data: the sign rule and the multiclass argmax regions.

Binary labels y in {-1, +1}:   y(x) = sign(w^T x + b),   P(y = +1 | x) = sigma(w^T x + b)
K classes:                      y(x) = argmax_k (w_k^T x + b_k),
                                P(y = k | x) = softmax(W x + b)_k
Both are fitted by minimising the mean negative log-likelihood plus a small L2 penalty,
-1/n sum_i log P(y_i | x_i) + alpha / 2 * |W|^2  (alpha = 1e-3 here), with autograd_c gradients
(ag.models.LogisticRegression / SoftmaxRegression, L-BFGS).  The decision
boundary of the binary model is the line w^T x + b = 0; the K-class regions are convex cells
separated by the lines (w_j - w_k)^T x + b_j - b_k = 0.

Run: python examples/linear_classifiers.py [--out DIR] [--small]
"""
import numpy as np

from _util import parse_args, figure, save
import autograd_c as ag


def blobs(centers, n, rng, scale=0.8):
    X = np.vstack([rng.normal(c, scale, size=(n, 2)) for c in centers])
    y = np.repeat(np.arange(len(centers)), n)
    return X, y


def main():
    args = parse_args(__doc__.splitlines()[0])
    rng = np.random.default_rng(0)
    n = 40 if args.small else 150

    # ---- binary: labels -1 / +1, sign rule
    Xb, yb = blobs([(-1.5, -1.0), (1.5, 1.0)], n, rng)
    yb = np.where(yb == 1, 1, -1)
    logreg = ag.models.LogisticRegression(alpha=1e-3).fit(Xb, yb)
    w, b = logreg.coef_.ravel(), float(np.ravel(logreg.intercept_)[0])
    sign_rule = np.where(Xb @ w + b > 0, 1, -1)
    print(f"logistic regression: w = [{w[0]:.3f}, {w[1]:.3f}], b = {b:.3f}, "
          f"training accuracy {np.mean(logreg.predict(Xb) == yb):.3f}")
    print(f"sign rule sign(w^T x + b) equals predict() on "
          f"{np.mean(sign_rule == logreg.predict(Xb)) * 100:.1f}% of points")
    p = logreg.predict_proba(Xb)[:, 1]
    print(f"P(y=+1|x) equals sigma(w^T x + b): max difference "
          f"{np.max(np.abs(p - 1 / (1 + np.exp(-(Xb @ w + b))))):.1e}")

    # ---- K = 3: argmax rule
    Xm, ym = blobs([(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)], n, rng)
    soft = ag.models.SoftmaxRegression(alpha=1e-3).fit(Xm, ym)
    W, c = soft.coef_, np.ravel(soft.intercept_)
    argmax_rule = np.argmax(Xm @ W.T + c, axis=1)
    print(f"softmax regression ({W.shape[0]} classes): training accuracy "
          f"{np.mean(soft.predict(Xm) == ym):.3f}")
    print(f"argmax rule argmax_k(w_k^T x + b_k) equals predict() on "
          f"{np.mean(soft.classes_[argmax_rule] == soft.predict(Xm)) * 100:.1f}% of points")

    fig, axes = figure(1, 2, size=(5, 4.5))
    if fig is not None:
        g = np.linspace(-5, 5, 300)
        gx, gy = np.meshgrid(g, g)
        G = np.c_[gx.ravel(), gy.ravel()]
        ax = axes[0, 0]
        ax.contourf(gx, gy, logreg.predict_proba(G)[:, 1].reshape(gx.shape), levels=20,
                    cmap="RdBu_r", alpha=0.5)
        ax.contour(gx, gy, (G @ w + b).reshape(gx.shape), levels=[0], colors="k")
        ax.scatter(Xb[:, 0], Xb[:, 1], c=yb, cmap="bwr", s=10, edgecolors="k", linewidths=0.3)
        ax.set_title("logistic regression: sign(w^T x + b), P(y=+1|x)")
        ax.set_xlim(-5, 5)
        ax.set_ylim(-5, 5)
        ax = axes[0, 1]
        regions = np.argmax(G @ W.T + c, axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Pastel1", alpha=0.8)
        ax.contour(gx, gy, regions, levels=[0.5, 1.5], colors="k", linewidths=1)
        ax.scatter(Xm[:, 0], Xm[:, 1], c=ym, cmap="Set1", s=10, edgecolors="k", linewidths=0.3)
        ax.set_title("softmax regression: argmax_k (w_k^T x + b_k)")
    save(fig, args, "linear_classifiers.png")


if __name__ == "__main__":
    main()
