"""Vanishing gradients: gradient norm per layer for deep MLPs, beside the bound.

For z_j = W_j a_{j-1} + b_j, a_j = g(z_j):

    dL/da_i = W_{i+1}^T diag(g'(z_{i+1})) ... W_L^T diag(g'(z_L)) dL/da_L
    ||dL/da_i|| <= prod_{j>i} ||W_j||_2 * max|g'(z_j)| * ||dL/da_L||

Sigmoid has max g' = 1/4, so with PyTorch's default initialisation (||W||_2 about 1) the
gradient reaching the first layer shrinks roughly like 4^-depth.  tanh, ReLU, Leaky ReLU and
ELU have max g' = 1: their bound does not force the decay, and they lose far less per layer
(what they still lose comes from the default init, U(-1/sqrt(n), 1/sqrt(n)), being smaller
than the variance-preserving He/Glorot scales).  Measured with
autograd_c.diagnostics.gradient_report for depths 2..30.

Run: python examples/vanishing_gradients.py [--out DIR] [--small]
"""
import numpy as np

from _util import parse_args, figure, save
import autograd_c as ag
from autograd_c.diagnostics import gradient_report

ACTS = {"sigmoid": ag.nn.Sigmoid, "tanh": ag.nn.Tanh, "relu": ag.nn.ReLU,
        "leaky_relu": lambda: ag.nn.LeakyReLU(0.1), "elu": ag.nn.ELU}


def deep_net(act, depth, width, seed=0):
    ag.manual_seed(seed)
    mods = []
    for i in range(depth):
        mods += [ag.nn.Linear(width, width, dtype="float64"), ACTS[act]()]
    mods.append(ag.nn.Linear(width, 1, dtype="float64"))
    return ag.nn.Sequential(*mods)


def main():
    args = parse_args(__doc__.splitlines()[0])
    depths = [2, 5, 10, 20] if args.small else [2, 5, 10, 15, 20, 25, 30]
    width, batch = (16, 32) if args.small else (32, 128)
    X = np.random.default_rng(0).normal(size=(batch, width))
    results = {}
    worst = 0.0
    for act in ACTS:
        first = []
        for d in depths:
            rep = gradient_report(deep_net(act, d, width), X)
            worst = max(worst, max(m / b for m, b in zip(rep["grad_norm"], rep["bound"])))
            first.append(rep["grad_norm"][0] / rep["grad_norm"][-1])
            results[(act, d)] = rep
        print(f"{act:<10} |dL/da_1| / |dL/da_L| at depth " +
              ", ".join(f"{d}: {r:.1e}" for d, r in zip(depths, first)))
    print(f"max measured/bound over all layers and nets: {worst:.3f} "
          f"({'measured <= bound everywhere' if worst <= 1 + 1e-9 else 'BOUND VIOLATED'})")
    dmax = depths[-1]
    s, r = (results[("sigmoid", dmax)]["grad_norm"][0] / results[("sigmoid", dmax)]["grad_norm"][-1],
            results[("relu", dmax)]["grad_norm"][0] / results[("relu", dmax)]["grad_norm"][-1])
    print(f"at depth {dmax}: sigmoid first-layer gradient ratio {s:.1e} vs relu {r:.1e}: "
          f"{'sigmoid vanishes faster' if s < r else 'sigmoid does not vanish faster'}")

    fig, axes = figure(1, 2, size=(6, 4.5))
    if fig is not None:
        ax = axes[0, 0]
        for act in ACTS:
            rep = results[(act, dmax)]
            x = np.arange(1, dmax + 2)
            line, = ax.semilogy(x, rep["grad_norm"], "o-", ms=3, label=f"{act} measured")
            ax.semilogy(x, rep["bound"], "--", color=line.get_color(), lw=1)
        ax.set_title(f"depth {dmax}: |dL/da_j| (solid) and bound (dashed)")
        ax.set_xlabel("layer j")
        ax.legend(fontsize="x-small")
        ax = axes[0, 1]
        for act in ACTS:
            ax.semilogy(depths, [results[(act, d)]["grad_norm"][0] / results[(act, d)]["grad_norm"][-1]
                                 for d in depths], "o-", label=act)
        ax.set_xlabel("depth")
        ax.set_ylabel("|dL/da_1| / |dL/da_L|")
        ax.set_title("gradient reaching the first layer")
        ax.legend(fontsize="x-small")
    save(fig, args, "vanishing_gradients.png")


if __name__ == "__main__":
    main()
