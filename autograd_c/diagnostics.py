"""Training diagnostics: per-layer gradient norms next to the vanishing-gradient bound,
saturated and dead units, update-to-weight ratios, and ``plot_*`` helpers.

For a layered network ``z_j = W_j a_{j-1} + b_j``, ``a_j = g_j(z_j)`` (``a_0 = x``), the
gradient of the loss with respect to the activations of layer ``i`` is

    dL/da_i = W_{i+1}^T diag(g'(z_{i+1})) ... W_L^T diag(g'(z_L)) dL/da_L

so its norm is at most ``prod_{j=i+1}^L ||W_j||_2 * max|g_j'(z_j)| * ||dL/da_L||``.  With
sigmoid (``max g' = 1/4``) and small weights the bound, and the gradient with it, shrinks
geometrically with depth.  :func:`gradient_report` measures both for a model and a batch.

The numbers are plain Python lists in a dict; :func:`format_table` prints them.  The plotting
helpers need matplotlib (``pip install autograd_c[plot]``); they draw on a given ``ax`` or on a
new Agg-backed figure, and never open a window.
"""
import numpy as np

from . import _core
from ._core import Tensor

__all__ = ["layers_of", "gradient_report", "format_table", "snapshot", "update_ratios",
           "step_update_ratios", "plot_gradient_norms", "plot_saturation", "plot_update_ratios"]

# activation name -> autograd_c function (None = identity)
_ACT_FN = {
    None: None, "identity": None,
    "sigmoid": _core.sigmoid, "logistic": _core.sigmoid, "tanh": _core.tanh,
    "relu": _core.relu, "gelu": _core.gelu, "softplus": _core.softplus, "silu": _core.silu,
}


class Layer:
    """One dense layer as the diagnostics see it: ``a = act(x @ W.T + b)``.

    ``W`` and ``b`` are numpy arrays (``W`` in (out, in) layout); ``act`` is an activation name
    and ``params`` its keyword arguments (``negative_slope`` / ``alpha``).
    """

    def __init__(self, name, W, b, act=None, params=None):
        self.name, self.W, self.b, self.act = name, W, b, act
        self.params = dict(params or {})

    def __repr__(self):
        return f"Layer({self.name!r}, W{self.W.shape}, act={self.act!r})"

    def apply_act(self, z):
        if self.act == "leaky_relu":
            return _core.leaky_relu(z, self.params.get("negative_slope", 0.01))
        if self.act == "elu":
            return _core.elu(z, self.params.get("alpha", 1.0))
        if self.act not in _ACT_FN:
            raise ValueError(f"diagnostics: unsupported activation {self.act!r}")
        f = _ACT_FN[self.act]
        return z if f is None else f(z)


def _act_of_module(m):
    from .nn import activations as A
    table = [(A.Sigmoid, "sigmoid"), (A.Tanh, "tanh"), (A.ReLU, "relu"), (A.GELU, "gelu"),
             (A.Softplus, "softplus"), (A.SiLU, "silu")]
    for cls, name in table:
        # the tanh GELU and a scaled softplus are other functions than the ones named here
        if (type(m) is cls and getattr(m, "approximate", "none") == "none"
                and getattr(m, "beta", 1.0) == 1.0):
            return name, {}
    if type(m) is A.LeakyReLU:
        return "leaky_relu", {"negative_slope": m.negative_slope}
    if type(m) is A.ELU:
        return "elu", {"alpha": m.alpha}
    return None


def layers_of(model):
    """The dense layers of ``model`` as a list of :class:`Layer`.

    Parameters
    ----------
    model : nn.Sequential, nn.Linear, or a fitted MLPClassifier / MLPRegressor
        A Sequential may hold Linear layers (with or without a fused ``activation``), the
        activation modules Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU, Softplus, SiLU, and
        Identity / Dropout / Flatten (treated as the identity: Dropout is the eval-mode network).

    Examples
    --------
    >>> import autograd_c as ag
    >>> net = ag.nn.Sequential(ag.nn.Linear(2, 4), ag.nn.Tanh(), ag.nn.Linear(4, 1))
    >>> [(l.name, l.act) for l in ag.diagnostics.layers_of(net)]
    [('0', 'tanh'), ('2', None)]
    """
    from .nn import Linear, Sequential, Identity, Dropout, Flatten
    if hasattr(model, "coefs_") and hasattr(model, "intercepts_"):
        act = getattr(model, "activation", "relu")
        n = len(model.coefs_)
        return [Layer(f"layer{i + 1}", np.asarray(c, dtype=np.float64).T.copy(),
                      np.asarray(b, dtype=np.float64), act if i < n - 1 else None)
                for i, (c, b) in enumerate(zip(model.coefs_, model.intercepts_))]
    if isinstance(model, Linear):
        mods = [("0", model)]
    elif isinstance(model, Sequential):
        mods = list(model.named_children())
    elif hasattr(model, "hidden_layer_sizes"):
        from .models import NotFittedError
        raise NotFittedError(f"layers_of: this {type(model).__name__} is not fitted yet; call "
                             "fit first (its weights are coefs_ and intercepts_)")
    else:
        raise TypeError("layers_of: expected an nn.Sequential, an nn.Linear or a fitted "
                        f"MLPClassifier/MLPRegressor, got {type(model).__name__}")
    layers = []
    for name, m in mods:
        if isinstance(m, Linear):
            p = {}
            if m.activation == "leaky_relu":
                p = {"negative_slope": m.negative_slope}
            elif m.activation == "elu":
                p = {"alpha": m.alpha}
            b = None if m.bias is None else np.array(m.bias.numpy())
            layers.append(Layer(name, np.array(m.weight.numpy()), b, m.activation, p))
            continue
        if isinstance(m, (Identity, Dropout, Flatten)):
            continue
        spec = _act_of_module(m)
        if spec is None:
            raise TypeError(f"layers_of: cannot analyse module {name!r}, {m!r} (expected Linear, "
                            "Identity, Dropout, Flatten or one of the activations Sigmoid, "
                            "Tanh, ReLU, LeakyReLU, ELU, GELU(approximate='none'), "
                            "Softplus(beta=1), SiLU)")
        if not layers or layers[-1].act is not None:
            raise TypeError(f"layers_of: activation {name!r} must follow a Linear layer that "
                            "has no activation of its own")
        layers[-1].act, layers[-1].params = spec
    if not layers:
        raise ValueError("layers_of: the model has no Linear layer")
    return layers


def _saturation(layer, z, a, gp, tol):
    """Fraction of (sample, unit) entries in the flat region of the activation."""
    if layer.act in ("sigmoid", "logistic"):
        return float(np.mean(np.minimum(a, 1.0 - a) < tol))
    if layer.act == "tanh":
        return float(np.mean(np.abs(a) > 1.0 - tol))
    if layer.act == "relu":
        return float(np.mean(z <= 0))
    if layer.act is None or layer.act == "identity":
        return 0.0
    return float(np.mean(np.abs(gp) < tol))


def gradient_report(model, X, y=None, loss=None, tol=0.01):
    """Measure, layer by layer, the gradient norm, its vanishing-gradient bound and saturation.

    The forward pass is re-run on float64 copies of the weights (the model's own ``.grad`` is
    left untouched), with the activations kept apart from the matrix product so that ``z_j`` and
    ``g'(z_j)`` can be read.

    Parameters
    ----------
    model : see :func:`layers_of`, or a list of :class:`Layer`
    X : array_like, shape (n_samples, n_features)
    y : array_like, optional
        Targets for ``loss``.
    loss : callable, optional
        ``loss(output, y) -> scalar Tensor``.  Default: the sum of the outputs when ``y`` is None,
        otherwise the mean squared error.
    tol : float
        Saturation threshold: sigmoid output within ``tol`` of 0 or 1, tanh within ``tol`` of
        -1 or 1, ReLU input <= 0, other activations ``|g'(z)| < tol``.

    Returns
    -------
    dict with one entry per layer in each list:

    - ``"layer"``: names; ``"activation"``: activation names;
    - ``"grad_norm"``: ``||dL/da_j||_F`` over the batch (measured);
    - ``"bound"``: ``||dL/da_L||_F * prod_{k>j} ||W_k||_2 * max|g_k'(z_k)|``;
    - ``"weight_grad_norm"``: ``||dL/dW_j||_F``; ``"weight_norm"``: spectral norms ``||W_j||_2``;
    - ``"max_act_deriv"``: ``max|g_j'(z_j)|`` over the batch;
    - ``"saturated"``: fraction of saturated (sample, unit) entries;
    - ``"dead"``: fraction of units whose derivative is 0 for every sample (dead ReLUs);

    and ``"loss"``: the loss value.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.manual_seed(0)
    >>> net = ag.nn.Sequential(ag.nn.Linear(3, 8), ag.nn.Sigmoid(), ag.nn.Linear(8, 8),
    ...                        ag.nn.Sigmoid(), ag.nn.Linear(8, 1))
    >>> r = ag.diagnostics.gradient_report(net, np.ones((5, 3)))
    >>> all(m <= b * (1 + 1e-9) for m, b in zip(r["grad_norm"], r["bound"]))
    True
    >>> r["max_act_deriv"][0] <= 0.25
    True
    """
    layers = model if isinstance(model, list) else layers_of(model)
    X = np.asarray(X.numpy() if isinstance(X, Tensor) else X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != layers[0].W.shape[1] or len(X) == 0:
        raise ValueError(f"gradient_report: X must have shape (n, {layers[0].W.shape[1]}) "
                         f"with n >= 1, got {X.shape}")
    Ws = [_core.tensor(np.asarray(l.W, dtype=np.float64), requires_grad=True) for l in layers]
    bs = [None if l.b is None else _core.tensor(np.asarray(l.b, dtype=np.float64))
          for l in layers]
    prev = _core._set_grad_enabled(True)
    try:
        a = _core.tensor(X)
        zs, acts = [], []
        for l, W, b in zip(layers, Ws, bs):
            z = _core.linear(a, W, b)
            a = l.apply_act(z)
            if a is z:
                a = z * 1.0
            a.retain_grad()
            zs.append(z)
            acts.append(a)
        out = acts[-1]
        if loss is None and y is not None:
            yy = np.asarray(y.numpy() if isinstance(y, Tensor) else y, dtype=np.float64)
            if yy.size != out.size:
                raise ValueError(f"gradient_report: y has shape {yy.shape} ({yy.size} values) but "
                                 f"the model's output has shape {tuple(out.shape)}")
            L = ((out - yy.reshape(out.shape)) ** 2).mean()
        elif loss is None:
            L = out.sum()
        else:
            L = loss(out, y)
        L.backward()
        gps = []
        for l, z in zip(layers, zs):
            zz = _core.tensor(z.numpy(), requires_grad=True)
            l.apply_act(zz).sum().backward() if l.act not in (None, "identity") else None
            gps.append(np.ones(z.shape) if zz.grad is None else zz.grad.numpy().copy())
    finally:
        _core._set_grad_enabled(prev)
    n = len(layers)
    rep = {"layer": [l.name for l in layers], "activation": [l.act for l in layers],
           "grad_norm": [], "bound": [0.0] * n, "weight_grad_norm": [], "weight_norm": [],
           "max_act_deriv": [], "saturated": [], "dead": [], "loss": float(L.item())}
    for l, W, z, a, gp in zip(layers, Ws, zs, acts, gps):
        rep["grad_norm"].append(float(np.linalg.norm(a.grad.numpy())))
        rep["weight_grad_norm"].append(float(np.linalg.norm(W.grad.numpy())))
        rep["weight_norm"].append(float(np.linalg.norm(np.asarray(l.W, np.float64), 2)))
        rep["max_act_deriv"].append(float(np.max(np.abs(gp))) if gp.size else 0.0)
        rep["saturated"].append(_saturation(l, z.numpy(), a.numpy(), gp, tol))
        rep["dead"].append(float(np.mean(np.all(gp == 0, axis=0))) if gp.size else 0.0)
    factor = rep["grad_norm"][-1]
    for j in range(n - 1, -1, -1):
        rep["bound"][j] = factor
        factor *= rep["weight_norm"][j] * rep["max_act_deriv"][j]
    return rep


def format_table(report):
    """The report of :func:`gradient_report` as an aligned text table.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.manual_seed(0)
    >>> r = ag.diagnostics.gradient_report(ag.nn.Linear(2, 1), np.ones((1, 2)))
    >>> print(ag.diagnostics.format_table(r).splitlines()[0])
    layer  act       |dL/da|     bound  |dL/dW|  ||W||_2  max g'  saturated  dead
    """
    head = (f"{'layer':<6} {'act':<8} {'|dL/da|':>8} {'bound':>9} {'|dL/dW|':>8} "
            f"{'||W||_2':>8} {'max g´':>7} {'saturated':>10} {'dead':>5}").replace("´", "'")
    rows = [head]
    for i in range(len(report["layer"])):
        rows.append(f"{report['layer'][i]:<6} {str(report['activation'][i]):<8} "
                    f"{report['grad_norm'][i]:>8.2e} {report['bound'][i]:>9.2e} "
                    f"{report['weight_grad_norm'][i]:>8.2e} {report['weight_norm'][i]:>8.3f} "
                    f"{report['max_act_deriv'][i]:>7.3f} {report['saturated'][i]:>10.2f} "
                    f"{report['dead'][i]:>5.2f}")
    return "\n".join(rows)


# ---------------------------------------------------------------------------- update ratios

def snapshot(model):
    """A dict name -> numpy copy of every parameter of ``model`` (an nn.Module or a fitted
    estimator with ``coefs_`` / ``intercepts_``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> sorted(ag.diagnostics.snapshot(ag.nn.Linear(2, 3)))
    ['bias', 'weight']
    """
    if hasattr(model, "coefs_") and hasattr(model, "intercepts_"):
        out = {}
        for i, (c, b) in enumerate(zip(model.coefs_, model.intercepts_)):
            out[f"coefs_{i}"] = np.array(c, dtype=np.float64, copy=True)
            out[f"intercepts_{i}"] = np.array(b, dtype=np.float64, copy=True)
        return out
    if hasattr(model, "named_parameters"):
        return {k: np.array(p.numpy(), copy=True) for k, p in model.named_parameters()}
    if isinstance(model, dict):
        return {k: np.array(v.numpy() if isinstance(v, Tensor) else v, copy=True)
                for k, v in model.items()}
    raise TypeError(f"snapshot: expected a Module, an estimator or a dict, got "
                    f"{type(model).__name__}")


def update_ratios(before, after):
    """``||after - before||_F / ||before||_F`` per parameter.

    A healthy learning rate typically gives ratios around 1e-3 per step; much larger means the
    weights are being overwritten, much smaller that they barely move.

    Parameters
    ----------
    before, after : dict name -> array (from :func:`snapshot`), or models to snapshot now

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.diagnostics.update_ratios({"w": np.array([3.0, 4.0])}, {"w": np.array([3.0, 4.5])})
    {'w': 0.1}
    """
    b = before if isinstance(before, dict) else snapshot(before)
    a = after if isinstance(after, dict) else snapshot(after)
    b, a = snapshot(b), snapshot(a)
    if set(a) != set(b):
        raise KeyError(f"update_ratios: the snapshots have different parameters: "
                       f"{sorted(set(a) ^ set(b))}")
    out = {}
    for k in b:
        if a[k].shape != b[k].shape:
            raise ValueError(f"update_ratios: {k!r} has shape {b[k].shape} before and "
                             f"{a[k].shape} after")
        nb = float(np.linalg.norm(b[k]))
        d = float(np.linalg.norm(a[k].astype(np.float64) - b[k]))
        out[k] = d / nb if nb > 0 else (0.0 if d == 0 else float("inf"))
    return out


def step_update_ratios(model, optimizer, closure=None):
    """Take one ``optimizer.step(closure)`` and return its update-to-weight ratios.

    The gradients must already be in ``.grad`` (or ``closure`` computes them).

    Examples
    --------
    >>> import autograd_c as ag
    >>> lin = ag.nn.Linear(2, 1)
    >>> opt = ag.optim.SGD(lin.parameters(), lr=0.1)
    >>> lin(ag.ones(4, 2)).sum().backward()
    >>> r = ag.diagnostics.step_update_ratios(lin, opt)
    >>> sorted(r), r["bias"] > 0
    (['bias', 'weight'], True)
    """
    before = snapshot(model)
    optimizer.step() if closure is None else optimizer.step(closure)
    return update_ratios(before, snapshot(model))


# ---------------------------------------------------------------------------- plots

def _figure_and_ax(ax, figsize=(6, 4)):
    try:
        from matplotlib.figure import Figure
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as e:
        raise ImportError("autograd_c.diagnostics plotting needs matplotlib: install the 'plot' "
                          "extra (pip install 'autograd_c[plot]') or pip install matplotlib") from e
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def plot_gradient_norms(report, ax=None, label=None):
    """Measured ``||dL/da_j||`` and the bound per layer, on a log scale.  Returns the Figure.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> r = ag.diagnostics.gradient_report(ag.nn.Linear(2, 1), np.ones((1, 2)))
    >>> try:
    ...     fig = ag.diagnostics.plot_gradient_norms(r)
    ... except ImportError as e:
    ...     assert "plot" in str(e)
    """
    fig, ax = _figure_and_ax(ax)
    x = np.arange(1, len(report["layer"]) + 1)
    pre = f"{label}: " if label else ""
    line, = ax.semilogy(x, report["grad_norm"], "o-", label=pre + "measured |dL/da_j|")
    ax.semilogy(x, report["bound"], "--", color=line.get_color(),
                label=pre + "bound prod ||W|| max|g'|")
    ax.set_xlabel("layer j")
    ax.set_ylabel("gradient norm")
    ax.legend(fontsize="small")
    return fig


def plot_saturation(report, ax=None):
    """Bar chart of the saturated fraction and the dead-unit fraction per layer.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> r = ag.diagnostics.gradient_report(ag.nn.Linear(2, 1), np.ones((1, 2)))
    >>> try:
    ...     fig = ag.diagnostics.plot_saturation(r)
    ... except ImportError as e:
    ...     assert "plot" in str(e)
    """
    fig, ax = _figure_and_ax(ax)
    x = np.arange(len(report["layer"]))
    ax.bar(x - 0.2, report["saturated"], 0.4, label="saturated")
    ax.bar(x + 0.2, report["dead"], 0.4, label="dead units")
    ax.set_xticks(x)
    ax.set_xticklabels(report["layer"])
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction")
    ax.legend(fontsize="small")
    return fig


def plot_update_ratios(history, ax=None):
    """Update-to-weight ratio per parameter over steps (``history``: a list of dicts from
    :func:`update_ratios`), log scale, with the customary 1e-3 reference line.

    Examples
    --------
    >>> import autograd_c as ag
    >>> try:
    ...     fig = ag.diagnostics.plot_update_ratios([{"w": 1e-3}, {"w": 2e-3}])
    ... except ImportError as e:
    ...     assert "plot" in str(e)
    """
    if isinstance(history, dict):
        history = [history]
    history = list(history)
    if not history or not all(isinstance(h, dict) for h in history):
        raise ValueError("plot_update_ratios: history must be a non-empty list of dicts "
                         "name -> ratio (from update_ratios)")
    fig, ax = _figure_and_ax(ax)
    for k in history[0]:
        ax.semilogy([h[k] for h in history], label=k)
    ax.axhline(1e-3, color="gray", ls=":", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("||update|| / ||weight||")
    ax.legend(fontsize="x-small")
    return fig
