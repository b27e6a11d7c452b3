"""Second-order transforms: hessian and hvp, forward-over-reverse (reverse-over-reverse when
nested in another transform).  Re-exported by :mod:`autograd_c.functional`; they share its
helpers (see that module's docstring for the modes and for when a result stays in the graph)."""
import numpy as np

from . import _core
from ._core import Tensor
from .functional import (_recording, _nested, _input, _numeric, _argnums_tuple, _jac_shape,
                         _jac_dtype, _set_identity_tangents, _per_argnum, _with_aux, _evaluate,
                         _closes_over_grad, _jacobian_by_rows, _own, _replay)

__all__ = ["hessian", "hvp"]


# ------------------------------------------------------------------------------ second order
@_recording
def hessian(f, /, *args, argnums=0, has_aux=False, **kwargs):
    """The Hessian of scalar ``f`` at ``args`` (shape ``x.shape + x.shape`` for the argument
    ``x`` that ``argnums`` names), by forward-over-reverse: a batch of tangents (the identity)
    rides through the forward and the backward pass.

    Parameters
    ----------
    f : callable
        Returns a scalar (or ``(scalar, aux)`` with ``has_aux=True``).
    *args
        The point; non-differentiated arguments are passed to ``f`` as given.
    argnums : int or tuple of int
        Which positional arguments to differentiate.  With a tuple, returns JAX's nested blocks:
        ``H[i][j]`` is ``d^2 f / d x_i d x_j``, shaped ``x_i.shape + x_j.shape``, with the
        promoted dtype of the two arguments.
    has_aux : bool
        ``f`` returns ``(output, aux)``; hessian returns ``(H, aux)`` (as ``jax.hessian``), the
        tensors in ``aux`` detached except inside another transform.
    **kwargs
        Passed to ``f``, not differentiated; ``argnums`` and ``has_aux`` are reserved.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> ag.hessian(lambda x: x @ ag.tensor(A, dtype="float64") @ x, np.array([1.0, 1.0])).numpy().tolist()
    [[2.0, 2.0], [2.0, 6.0]]
    >>> (hxx, hxy), (hyx, hyy) = ag.hessian(lambda x, y: (x * y).sum(), np.ones(2), np.ones(2),
    ...                                     argnums=(0, 1))
    >>> hxy.numpy().tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    if not args:
        raise TypeError("hessian: needs at least one argument")
    single, nums = _argnums_tuple(argnums, len(args), "hessian")
    uniq = tuple(dict.fromkeys(nums))   # a repeated argnum is differentiated once
    nested = _nested(args) or _nested(kwargs.values())
    xs = list(args)
    for i in uniq:
        xs[i] = _fresh_leaf(args[i], nested, "hessian", f"argument {i}")
    targets = [xs[i] for i in uniq]
    for a in targets:
        for b in targets:
            _jac_shape(a, b, "hessian")
    if not nested:
        _set_identity_tangents(targets, sum(t.size for t in targets))
    blocks, aux, in_graph = _second_order(f, xs, uniq, kwargs, has_aux, "hessian", nested)
    rows = _per_argnum(blocks, nums, uniq, lambda row: [b.clone() for b in row])
    rows = [_per_argnum(row, nums, uniq, lambda b: b.clone()) for row in rows]
    H = rows[0][0] if single else tuple(tuple(row) for row in rows)
    return _with_aux((H,), aux, True, in_graph) if has_aux else H


@_recording
def hvp(f, x, v):
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` without forming H
    (forward-over-reverse with one tangent).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 0.0])).numpy().tolist()
    [6.0, 0.0]
    """
    nested = _nested((x, v))
    t = _fresh_leaf(x, nested, "hvp")
    vv = v if isinstance(v, Tensor) else _core.tensor(_numeric(v, "hvp", "v"), dtype=t.dtype)
    if tuple(vv.shape) != tuple(t.shape):
        raise ValueError(f"hvp: v has shape {tuple(vv.shape)} but x has shape {tuple(t.shape)}")
    if not nested:
        t._set_tangent(vv.astype(t.dtype))
    blocks, _, _ = _second_order(f, [t], (0,), {}, False, "hvp", nested, vv.astype(t.dtype))
    return blocks[0][0]


def _fresh_leaf(x, nested=False, who="hessian", what="x"):
    """A new float leaf holding x's values: hessian/hvp attach their own tangent to it.  Nested
    in another transform, a recorded copy of a differentiated x instead, so that the outer
    transform sees through."""
    if isinstance(x, Tensor):
        if nested and (x.requires_grad or x.tangent is not None):
            # differentiated by an outer transform: a recorded copy keeps x's graph, and its
            # forward-mode tangent, so the outer transform sees through this one
            c = x.clone()
            if not c.requires_grad:
                c.requires_grad_(True)
            return c
        return _core.tensor(x, dtype=x.dtype, requires_grad=True)
    return _input(x, requires_grad=True, who=who, what=what)


def _zero_block(a, b):
    return _core.tensor(np.zeros(_jac_shape(a, b, "hessian")), dtype=_jac_dtype(a, b))


def _second_order(f, xs, nums, kwargs, has_aux, who, nested=False, v=None):
    """Forward over reverse with the tangents of the targets xs[nums] (the identity batch, or
    hvp's v); nested in another transform, reverse over reverse instead (see _jacobian_by_rows),
    the targets' tangents then being the outer transform's, and hvp's v a plain argument.

    Returns (blocks, aux, in_graph): blocks[i][j] = d^2 f / d t_i d t_j, shaped
    t_i.shape + t_j.shape (hvp: [[H v]]); in_graph: the blocks stay differentiable."""
    targets = [xs[i] for i in nums]
    out, aux = _evaluate(f, xs, kwargs, has_aux, who)
    if out.size != 1:
        raise ValueError(f"{who}: the function must return a scalar, got shape {tuple(out.shape)}")

    def zeros():
        if v is not None:
            return [[_core.zeros_like_tensor(targets[0])]]
        return [[_zero_block(a, b) for b in targets] for a in targets]
    if not out.requires_grad:
        return zeros(), aux, nested
    if not nested and _closes_over_grad(out, targets):
        for t in targets:
            t._set_tangent(None)
        with _replay():
            return _second_order(f, xs, nums, kwargs, has_aux, who, True, v)
    if nested:
        gs = _core._grad([out], None, targets, True, True, True)
        if v is not None:
            g = gs[0]
            if g is None or not g.requires_grad:
                return zeros(), aux, True
            hv, = _core._grad([(g * v).sum()], None, targets, True, True, True)
            return [[_core.zeros_like_tensor(targets[0]) if hv is None else _own(hv)]], aux, True
        blocks = [[_zero_block(a, b) for b in targets] if g is None or not g.requires_grad
                  else _jacobian_by_rows(g, targets) for a, g in zip(targets, gs)]
        return blocks, aux, True
    gs = _core._grad([out], None, targets, False, False, True)
    tgs = [None if g is None else g.tangent for g in gs]
    if v is not None:
        t = targets[0]
        if tgs[0] is None:
            return zeros(), aux, False
        return [[_core.tensor(np.asarray(tgs[0]).reshape(t.shape), dtype=t.dtype)]], aux, False
    blocks = []
    for a, tg in zip(targets, tgs):
        if tg is None:
            blocks.append([_zero_block(a, b) for b in targets])
            continue
        # tangent k of a's gradient: its derivative along input direction k, a column of the
        # blocks in a's row
        tg = np.asarray(tg)
        tg = tg.reshape(tg.shape[0], a.size)  # (d, n); not -1: sizes may be 0
        row, off = [], 0
        for b in targets:
            block = tg[off:off + b.size].T.reshape(_jac_shape(a, b, "hessian"))
            row.append(_core.tensor(np.array(block, order="C"), dtype=_jac_dtype(a, b)))
            off += b.size
        blocks.append(row)
    return blocks, aux, False
