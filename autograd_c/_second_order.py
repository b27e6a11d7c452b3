"""Second-order transforms: hessian and hvp, forward-over-reverse (reverse-over-reverse when
nested in another transform).  Re-exported by :mod:`autograd_c.functional`; they share its
helpers (see that module's docstring for the modes and for when a result stays in the graph)."""
import functools
import operator

import numpy as np

from . import _core
from ._core import Tensor
from .functional import (_recording, _check_callable, _nested, _input, _numeric, _argnums_tuple, _jac_shape,
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
    _check_callable(f, "hessian")
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
def hvp(f, x, v, *, has_aux=False, **kwargs):
    """Hessian-vector product ``H(x) @ v`` of scalar ``f`` without forming H
    (forward-over-reverse with one tangent: one forward and one backward pass).

    Parameters
    ----------
    f : callable
        Returns a scalar (or ``(scalar, aux)`` with ``has_aux=True``).
    x : array_like or Tensor, or tuple of them
        The point.  A tuple holding tensors or arrays is several primals, as in
        ``torch.autograd.functional.hvp``: ``f(*x)`` is differentiated in all of them, ``v`` is
        a tuple of as many tangents, and the result is the tuple of the blocks of ``H @ v``:
        entry ``i`` is ``sum_j d^2 f / d x_i d x_j @ v_j``.  (A tuple of plain numbers is one
        array, as before.)
    v : array_like or Tensor, or tuple of them
        The direction, shaped as ``x``.
    has_aux : bool
        ``f`` returns ``(output, aux)``; hvp returns ``(H @ v, aux)``, the tensors in ``aux``
        detached except inside another transform.
    **kwargs
        Passed to ``f``, not differentiated; ``f``, ``x``, ``v`` and ``has_aux`` are reserved
        (hvp's own, which may be passed by keyword).

    As ``jvp(grad(f), (x,), (v,))[1]`` (JAX's recipe); the product has ``x``'s dtype, and stays
    differentiable in ``x`` and ``v`` inside another transform.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 0.0])).numpy().tolist()
    [6.0, 0.0]
    >>> hx, hy = ag.hvp(lambda x, y: (x * x * y).sum(), (np.array([1.0]), np.array([3.0])),
    ...                 (np.array([1.0]), np.array([0.0])))
    >>> hx.numpy().tolist(), hy.numpy().tolist()
    ([6.0], [2.0])
    """
    _check_callable(f, "hvp")
    multi = isinstance(x, tuple) and any(isinstance(p, (Tensor, np.ndarray)) for p in x)
    if multi and not isinstance(v, (tuple, list)):
        raise TypeError(f"hvp: x is a tuple of {len(x)} primals, so v must be a tuple of as many "
                        f"tangents, got {type(v).__name__}")
    if multi and len(v) != len(x):
        raise ValueError(f"hvp: {len(x)} primals in x but {len(v)} tangents in v")
    primals, tangents = (tuple(x), tuple(v)) if multi else ((x,), (v,))
    nested = _nested(primals) or _nested(tangents) or _nested(kwargs.values())
    ts, vs = [], []
    for k, (p, u) in enumerate(zip(primals, tangents)):
        px, pv = (f"x[{k}]", f"v[{k}]") if multi else ("x", "v")
        t = _fresh_leaf(p, nested, "hvp", px)
        vv = u if isinstance(u, Tensor) else _core.tensor(_numeric(u, "hvp", pv), dtype=t.dtype)
        if tuple(vv.shape) != tuple(t.shape):
            raise ValueError(f"hvp: {pv} has shape {tuple(vv.shape)} but {px} has shape "
                             f"{tuple(t.shape)}")
        vv = vv.astype(t.dtype)
        if not nested:
            t._set_tangent(vv)
        ts.append(t)
        vs.append(vv)
    blocks, aux, in_graph = _second_order(f, ts, tuple(range(len(ts))), kwargs, has_aux, "hvp",
                                          nested, vs)
    hv = tuple(blocks[0]) if multi else blocks[0][0]
    return _with_aux((hv,), aux, True, in_graph) if has_aux else hv


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
    hvp's v, one tangent per target); nested in another transform, reverse over reverse instead
    (see _jacobian_by_rows), the targets' tangents then being the outer transform's, and hvp's v
    a plain argument.

    Returns (blocks, aux, in_graph): blocks[i][j] = d^2 f / d t_i d t_j, shaped
    t_i.shape + t_j.shape (hvp: the one row [(H v)_0, (H v)_1, ...], (H v)_i shaped as t_i);
    in_graph: the blocks stay differentiable."""
    targets = [xs[i] for i in nums]
    out, aux = _evaluate(f, xs, kwargs, has_aux, who)
    if out.size != 1:
        raise ValueError(f"{who}: the function must return a scalar, got shape {tuple(out.shape)}")

    def zeros():
        if v is not None:
            return [[_core.zeros_like_tensor(t) for t in targets]]
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
            # H v = d/dx <grad f, v>
            dt = np.result_type(*[t.dtype for t in targets])   # float32 and float64 primals
            terms = [(g * u).sum().astype(dt) for g, u in zip(gs, v)
                     if g is not None and g.requires_grad]
            if not terms:
                return zeros(), aux, True
            hvs = _core._grad([functools.reduce(operator.add, terms)], None, targets, True, True, True)
            return [[_core.zeros_like_tensor(t) if hv is None else _own(hv)
                     for t, hv in zip(targets, hvs)]], aux, True
        blocks = [[_zero_block(a, b) for b in targets] if g is None or not g.requires_grad
                  else _jacobian_by_rows(g, targets) for a, g in zip(targets, gs)]
        return blocks, aux, True
    gs = _core._grad([out], None, targets, False, False, True)
    tgs = [None if g is None else g.tangent for g in gs]
    if v is not None:
        # the tangent of target i's gradient: sum_j H_ij v_j
        return [[_core.zeros_like_tensor(t) if tg is None
                 else _core.tensor(np.asarray(tg).reshape(t.shape), dtype=t.dtype)
                 for t, tg in zip(targets, tgs)]], aux, False
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
