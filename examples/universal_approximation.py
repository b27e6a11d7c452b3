"""Universal approximation by step functions, as a hand-set MLP, and a trained MLP beside it.

On a grid q_0 < q_1 < ... with spacing h, a continuous f is close to the staircase

    f(x) ~ sum_i I[q_i <= x <= q_{i+1}] * f(q_i)        (error <= h * max|f'|)

Each piece is built from sigmoid units, sigma(s) = 1 / (1 + exp(-s)):

    [x >= q_i]      ~ sigma(k (x - q_i))                    (a steep step; k large)
    [x <= q_{i+1}]  = 1 - [x >= q_{i+1}] ~ sigma(-k (x - q_{i+1}))
    I[q_i <= x <= q_{i+1}] = [ [x >= q_i] + [x <= q_{i+1}] >= 3/2 ]
                    ~ sigma(k2 ([x >= q_i] + [x <= q_{i+1}] - 3/2))   (a threshold unit)

so the network  x -> Linear(1, 2n) + sigmoid -> Linear(2n, n) + sigmoid -> Linear(n, 1)
with hand-set weights (the last layer holds f(q_i)) approximates f.  The max error shrinks as the
number of intervals n grows, provided the steps are steep enough (k >~ 5/h); with k too small the
steps blur into each other, and beyond that the error settles at the staircase's h * max|f'|.  A trained MLPRegressor on the same target is shown for comparison.

Run: python examples/universal_approximation.py [--out DIR] [--small]
"""
import numpy as np

from _util import parse_args, figure, save
import autograd_c as ag


def target(x):
    return np.sin(2 * np.pi * x) + 0.5 * x


def step_network(f, n, k, k2=40.0):
    """The hand-set 3-layer MLP for n intervals of width 1/n covering [0, 1] (one extra interval
    on each side keeps x = 0 and x = 1 inside), step steepness k, threshold steepness k2."""
    h = 1.0 / n
    q = -h + h * np.arange(n + 3)            # n + 2 intervals [q_i, q_{i+1}]
    m = n + 2
    W1 = np.zeros((2 * m, 1))
    b1 = np.zeros(2 * m)
    W1[0::2, 0], b1[0::2] = k, -k * q[:-1]    # sigma(k (x - q_i))        ~ [x >= q_i]
    W1[1::2, 0], b1[1::2] = -k, k * q[1:]     # sigma(-k (x - q_{i+1}))   ~ [x <= q_{i+1}]
    W2 = np.zeros((m, 2 * m))
    for i in range(m):
        W2[i, 2 * i] = W2[i, 2 * i + 1] = k2  # sigma(k2 (s + t - 3/2))  ~ indicator of interval i
    b2 = np.full(m, -1.5 * k2)
    W3 = f(q[:-1])[None, :]                   # sum_i f(q_i) * indicator_i
    net = ag.nn.Sequential(ag.nn.Linear(1, 2 * m, dtype="float64"), ag.nn.Sigmoid(),
                           ag.nn.Linear(2 * m, m, dtype="float64"), ag.nn.Sigmoid(),
                           ag.nn.Linear(m, 1, bias=False, dtype="float64"))
    with ag.no_grad():
        for lin, W, b in ((net[0], W1, b1), (net[2], W2, b2), (net[4], W3, None)):
            lin.weight.copy_(W)
            if b is not None:
                lin.bias.copy_(b)
    return net


def max_error(net, x):
    with ag.no_grad():
        y = net(ag.tensor(x[:, None])).numpy().ravel()
    return float(np.max(np.abs(y - target(x)))), y


def main():
    args = parse_args(__doc__.splitlines()[0])
    x = np.linspace(0.0, 1.0, 2001)
    ns = [4, 8, 16, 32] if args.small else [4, 8, 16, 32, 64, 128]
    kmults = [2, 3, 6, 50]                    # k = mult * n, i.e. step width ~ h / mult
    errs = {}
    print("max |net(x) - f(x)| on [0, 1], f(x) = sin(2 pi x) + x / 2")
    print("n intervals " + "".join(f"{'k = %d n' % km:>12}" for km in kmults))
    for n in ns:
        row = []
        for km in kmults:
            errs[(n, km)] = max_error(step_network(target, n, km * n), x)[0]
            row.append(errs[(n, km)])
        print(f"{n:>11} " + "".join(f"{e:>12.4f}" for e in row))
    best = [errs[(n, kmults[-1])] for n in ns]
    falls = all(b < a for a, b in zip(best, best[1:]))
    print("UA max error by intervals (k = 50 n): " + " ".join(f"{e:.4g}" for e in best))
    print(f"UA error falls as intervals grow: {'yes' if falls else 'no'}")
    n0 = ns[-1]
    byk = [errs[(n0, km)] for km in kmults]
    sharp = all(b < a for a, b in zip(byk[:3], byk[1:3])) and byk[3] < 1.2 * byk[2]
    print(f"UA error falls as k grows from 2n to 6n (n = {n0}), then settles at the staircase "
          f"error: {'yes' if sharp else 'no'} (" + " ".join(f"{e:.4g}" for e in byk) + ")")
    print(f"first-order staircase: error * n stays near max|f'| = {2 * np.pi + 0.5:.2f}: "
          + " ".join(f"{e * n:.2f}" for e, n in zip(best, ns)))

    # a trained MLP on the same target
    rng = np.random.default_rng(0)
    xt = rng.uniform(0, 1, 200 if args.small else 1000)
    hidden = (16,) if args.small else (32, 32)
    reg = ag.models.MLPRegressor(hidden_layer_sizes=hidden, activation="tanh", solver="lbfgs",
                                 max_iter=200 if args.small else 2000, random_state=0, tol=1e-10)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(xt[:, None], target(xt))
    y_tr = reg.predict(x[:, None])
    n_par = sum(c.size + b.size for c, b in zip(reg.coefs_, reg.intercepts_))
    n_hand = 3 * (ns[-1] + 2) * 2 + (ns[-1] + 2)
    print(f"trained MLP {hidden} tanh ({n_par} parameters): max error "
          f"{np.max(np.abs(y_tr - target(x))):.4f}; hand-set step net with n = {ns[-1]} "
          f"({n_hand} nonzero weights): {best[-1]:.4f}")

    fig, axes = figure(1, 2, size=(6, 4))
    if fig is not None:
        ax = axes[0, 0]
        ax.plot(x, target(x), "k", lw=2, label="f")
        for n in ns[:3]:
            ax.plot(x, max_error(step_network(target, n, 50 * n), x)[1], lw=1,
                    label=f"step net, n = {n}")
        ax.plot(x, max_error(step_network(target, ns[1], 2 * ns[1]), x)[1], ":",
                label=f"n = {ns[1]}, k = 2n (blurred)")
        ax.plot(x, y_tr, "--", label=f"trained MLP {hidden}")
        ax.legend(fontsize="x-small")
        ax.set_title("step-function construction")
        ax = axes[0, 1]
        for km in kmults:
            ax.loglog(ns, [errs[(n, km)] for n in ns], "o-", label=f"k = {km} n")
        ax.loglog(ns, [(2 * np.pi + 0.5) / n for n in ns], "k:", label="max|f'| / n")
        ax.set_xlabel("intervals n")
        ax.set_ylabel("max error")
        ax.legend(fontsize="x-small")
    save(fig, args, "universal_approximation.png")


if __name__ == "__main__":
    main()
