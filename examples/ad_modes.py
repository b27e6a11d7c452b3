"""Finite differences vs automatic differentiation, and forward vs reverse mode.

1. Finite differences.  With step eps, the forward difference (f(x + eps) - f(x)) / eps has
   truncation error ~ eps |f''| / 2 and rounding error ~ eps_m |f| / eps, smallest near
   eps ~ eps_m^(1/2) (about 1.5e-8); the central difference (f(x + eps) - f(x - eps)) / (2 eps)
   has truncation error ~ eps^2 |f'''| / 6, smallest near eps ~ eps_m^(1/3) (about 6e-6).
   Either way about half or a third of the digits are lost; AD is exact to rounding.

2. Modes.  For f: R^n -> R^m the full Jacobian costs about n Jacobian-vector products in forward
   mode (one pass with n tangents) and about m vector-Jacobian products in reverse mode (one
   backward sweep with m cotangents).  Forward wins for n < m, reverse for n > m;
   ag.jacobian(mode="auto") picks forward exactly when n < m.

Run: python examples/ad_modes.py [--out DIR] [--small]
"""
import time

import numpy as np

from _util import parse_args, figure, save
import autograd_c as ag

EPS_M = np.finfo(np.float64).eps


def f_np(x):
    return np.sin(x) * np.exp(x)


def f_ag(x):
    return ag.sin(x) * ag.exp(x)


def fd_errors(xs, epss):
    """Mean absolute error over the points xs of forward and central differences, against the
    derivative computed by reverse-mode AD."""
    exact = ag.grad(lambda t: f_ag(t).sum())(xs).numpy()
    fwd, cen = [], []
    for e in epss:
        fwd.append(np.mean(np.abs((f_np(xs + e) - f_np(xs)) / e - exact)))
        cen.append(np.mean(np.abs((f_np(xs + e) - f_np(xs - e)) / (2 * e) - exact)))
    closed = np.exp(xs) * (np.sin(xs) + np.cos(xs))
    return np.array(fwd), np.array(cen), float(np.max(np.abs(exact - closed)))


def make_net(n, m, h, seed=0):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(h, n)) / np.sqrt(n)
    W2 = rng.normal(size=(h, h)) / np.sqrt(h)
    W3 = rng.normal(size=(m, h)) / np.sqrt(h)

    def f(x):
        return ag.matmul(W3, ag.tanh(ag.matmul(W2, ag.tanh(ag.matmul(W1, x)))))
    return f


def mode_auto_runs(f, x):
    """The mode ag.jacobian(mode="auto") runs, seen from inside f: reverse mode records on an
    input that requires grad, forward mode pushes tangents through one that does not."""
    seen = []

    def spy(t):
        seen.append(t.requires_grad)
        return f(t)
    ag.jacobian(spy, x, mode="auto")      # the first call also learns the output size
    seen.clear()
    ag.jacobian(spy, x, mode="auto")
    return {(True,): "reverse", (False,): "forward"}.get(tuple(seen), f"unclear {seen}")


def best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    args = parse_args(__doc__.splitlines()[0])
    # ---- 1. finite differences
    xs = np.linspace(0.5, 1.5, 21)
    epss = np.logspace(-14, -1, 131)
    fwd, cen, ad_err = fd_errors(xs, epss)
    e_f, e_c = epss[np.argmin(fwd)], epss[np.argmin(cen)]
    print(f"f(x) = sin(x) exp(x) on [0.5, 1.5]; AD derivative vs closed form: max error "
          f"{ad_err:.1e}")
    print(f"best forward-difference eps: {e_f:.2e} (eps_m^(1/2) = {EPS_M ** 0.5:.2e}, ratio "
          f"{e_f / EPS_M ** 0.5:.2f}), error {fwd.min():.1e}")
    print(f"best central-difference eps: {e_c:.2e} (eps_m^(1/3) = {EPS_M ** (1 / 3):.2e}, ratio "
          f"{e_c / EPS_M ** (1 / 3):.2f}), error {cen.min():.1e}")

    # ---- 2. forward vs reverse cost
    h, fixed = (64, 32) if args.small else (256, 128)
    sizes = [4, 16, 64] if args.small else [4, 16, 64, 256, 1024]
    reps = 2 if args.small else 5
    rows = []
    agree = 0.0
    threads = ag.get_num_threads()
    ag.set_num_threads(1)  # one thread: OpenMP on a busy machine distorts small timings
    for vary in ("n", "m"):
        for s in sizes:
            n, m = (s, fixed) if vary == "n" else (fixed, s)
            f = make_net(n, m, h)
            x = np.random.default_rng(1).normal(size=n)
            jf = ag.jacobian(f, x, mode="forward").numpy()
            jr = ag.jacobian(f, x, mode="reverse").numpy()
            agree = max(agree, float(np.max(np.abs(jf - jr))))
            tf = best_time(lambda: ag.jacobian(f, x, mode="forward"), reps)
            tr = best_time(lambda: ag.jacobian(f, x, mode="reverse"), reps)
            auto = mode_auto_runs(f, x)
            rows.append((vary, n, m, tf, tr, auto))
    ag.set_num_threads(threads)
    print(f"forward and reverse Jacobians agree to {agree:.1e}")
    print(f"Jacobian of x -> W3 tanh(W2 tanh(W1 x)), hidden width {h}; best of {reps} runs, "
          "one thread")
    print(f"{'n':>6} {'m':>6} {'forward ms':>11} {'reverse ms':>11} {'faster':>8} {'auto':>8}")
    for vary, n, m, tf, tr, auto in rows:
        print(f"{n:>6} {m:>6} {tf * 1e3:>11.3f} {tr * 1e3:>11.3f} "
              f"{'forward' if tf < tr else 'reverse':>8} {auto:>8}")
    print(f"auto switches from forward to reverse where n reaches m (here m = {fixed} while n "
          f"varies, n = {fixed} while m varies)")

    fig, axes = figure(1, 2, size=(6, 4))
    if fig is not None:
        ax = axes[0, 0]
        ax.loglog(epss, fwd, label="forward difference")
        ax.loglog(epss, cen, label="central difference")
        ax.axvline(EPS_M ** 0.5, color="C0", ls=":", label="eps_m^(1/2)")
        ax.axvline(EPS_M ** (1 / 3), color="C1", ls=":", label="eps_m^(1/3)")
        ax.axhline(max(ad_err, 1e-17), color="k", ls="--", lw=1, label="AD vs closed form")
        ax.set_xlabel("eps")
        ax.set_ylabel("mean |error|")
        ax.set_title("finite-difference error")
        ax.legend(fontsize="x-small")
        ax = axes[0, 1]
        for vary, style in (("n", "-"), ("m", "--")):
            r = [row for row in rows if row[0] == vary]
            xsz = [row[1] if vary == "n" else row[2] for row in r]
            ax.loglog(xsz, [row[3] * 1e3 for row in r], "o" + style, color="C0",
                      label=f"forward, varying {vary}")
            ax.loglog(xsz, [row[4] * 1e3 for row in r], "s" + style, color="C1",
                      label=f"reverse, varying {vary}")
        ax.axvline(fixed, color="gray", ls=":", label="auto switches (n = m)")
        ax.set_xlabel("varied size (n inputs or m outputs)")
        ax.set_ylabel("Jacobian time (ms)")
        ax.set_title(f"forward vs reverse (other size = {fixed})")
        ax.legend(fontsize="x-small")
    save(fig, args, "ad_modes.png")


if __name__ == "__main__":
    main()
