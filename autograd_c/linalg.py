"""Linear algebra with reverse (VJP) and forward (JVP) rules.

``inv``, ``solve``, ``slogdet``, ``det`` and ``cholesky`` are primitives of the C core (LU with
partial pivoting, Cholesky); ``norm``, ``trace``, ``diag``, ``outer``, ``tensordot``, ``dot``,
``inner`` and ``einsum`` are built from differentiable primitives.  All work on the trailing two
dimensions, leading ones batch.
"""
import numpy as np

from . import _core
from ._core import LinAlgError, Tensor

__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "norm", "trace", "diag", "outer",
           "tensordot", "dot", "inner", "einsum", "LinAlgError"]


def inv(a):
    """Inverse of a square matrix (or a batch of them).

    Raises :class:`LinAlgError` for a matrix that is singular to working precision.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]])).numpy().tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return _core._inv(a)


def solve(a, b):
    """Solve ``a @ x = b`` for x; ``b`` may be a vector (..., n) or a matrix (..., n, k).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.linalg.solve(np.eye(2) * 2, np.array([2.0, 4.0])).numpy().tolist()
    [1.0, 2.0]
    """
    a_t = _core._coerce_public(a, b)
    b_t = _core._coerce_public(b, a_t)
    if b_t.ndim == 1:
        if a_t.ndim >= 2 and a_t.shape[-1] != b_t.shape[0]:
            raise ValueError(f"solve: A of shape {tuple(a_t.shape)} and b of shape "
                             f"{tuple(b_t.shape)} do not match")
        # one right-hand side for every matrix of a batch: (..., n, 1) -> (..., n), as numpy
        x = _core._solve(a_t, _core.reshape(b_t, (-1, 1)))
        return _core._reshape(x, tuple(x.shape[:-1]))
    if (a_t.ndim >= 3 and b_t.ndim == a_t.ndim - 1 and tuple(b_t.shape) == tuple(a_t.shape[:-1])
            and b_t.shape[-2] != a_t.shape[-1]):
        # numpy 2 reads a b of ndim > 1 as a (batch of) matrix, never as a batch of vectors
        raise ValueError(f"solve: A of shape {tuple(a_t.shape)} and B of shape {tuple(b_t.shape)} "
                         f"do not match (B is read as a matrix, as in numpy 2; for a batch of "
                         f"vectors pass b[..., None] and take x[..., 0])")
    return _core._solve(a_t, b_t)


def slogdet(a):
    """Sign and natural log of the absolute determinant: ``(sign, logabsdet)``.

    The sign has no gradient; ``logabsdet`` differentiates to ``inv(a).T``.  A singular matrix
    gives ``(0, -inf)`` like numpy; the gradient does not exist there (it is unbounded nearby)
    and asking for it raises :class:`LinAlgError` (use :func:`det`, differentiable everywhere).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> s, l = ag.linalg.slogdet(np.array([[2.0, 0.0], [0.0, -3.0]]))
    >>> float(s), round(float(l), 6)
    (-1.0, 1.791759)
    """
    return _core._slogdet(a)


def det(a):
    """Determinant, computed as numpy does, ``sign * exp(logabsdet)`` from an LU factorisation.

    Its gradient is the cofactor matrix ``adj(a).T``, computed from the LU factors without
    dividing by the determinant, so it is exact at singular matrices too (nonzero at rank n-1,
    zero at rank n-2 or less), as in PyTorch.  Second derivatives are exact for n <= 2 and for
    invertible matrices; at a singular matrix with n >= 3 they raise :class:`LinAlgError`.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> round(float(ag.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]]))), 6)
    -2.0
    >>> ag.grad(ag.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]])).numpy().tolist()
    [[4.0, -2.0], [-2.0, 1.0]]
    """
    return _core._det(a)


def cholesky(a):
    """Lower-triangular L with ``a = L @ L.T`` for a symmetric positive-definite ``a``.

    Raises :class:`LinAlgError` when ``a`` is not positive definite.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 2.0]])).numpy().tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    return _core._cholesky(a)


def _check_norm_ord(ord, axis, shape):
    """numpy's rules for ``ord``: with an ``ord``, the norm is a vector norm (one axis, or a
    1-D x) or a matrix norm (two axes, or a 2-D x); 'fro' and 'nuc' are matrix norms only, and
    orders such as 3 vector norms only.  Of the valid ones, None, 2 (vectors) and 'fro' are
    implemented; the others raise ValueError saying so."""
    if ord is None:
        return
    naxes = len(shape) if axis is None else len(axis) if isinstance(axis, tuple) else 1
    where = f"x of shape {shape}" + ("" if axis is None else f" over axis={axis!r}")
    if naxes == 1:
        if isinstance(ord, str):
            raise ValueError(f"norm: invalid norm order {ord!r} for vectors ({where}); 'fro' "
                             "and 'nuc' are matrix norms: pass a 2-D x or a 2-tuple axis")
        if ord != 2:
            raise ValueError(f"norm: ord={ord!r} is not supported for vectors (use None or 2)")
    elif naxes == 2:
        if ord not in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
            raise ValueError(f"norm: invalid norm order {ord!r} for matrices ({where}); use "
                             "None or 'fro'")
        if ord == 2:
            raise ValueError("norm: ord=2 is supported for vectors only (the spectral norm is "
                             "not implemented); use ord='fro' for matrices")
        if ord != "fro":
            raise ValueError(f"norm: ord={ord!r} is not supported for matrices (the nuclear, "
                             "1- and inf-norms are not implemented); use None or 'fro'")
    else:
        raise ValueError(f"norm: improper number of dimensions to norm ({where}): with "
                         f"ord={ord!r}, a norm is over one axis (vector) or two (matrix)")


def norm(x, ord=None, axis=None, keepdims=False):
    """Frobenius norm of a matrix / 2-norm of a vector (``ord`` None, 2 for vectors or "fro").

    With ``ord`` None, the 2-norm of all of x (or of the ``axis`` given).  Otherwise numpy's
    rules hold: ``ord`` 2 needs one axis (or a 1-D x), 'fro' two (or a 2-D x); a matrix order on
    a vector, or the reverse, is a ValueError, as is an order numpy has but that is not
    implemented here ('nuc', 1, inf, the spectral 2 of a matrix).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> float(ag.linalg.norm(np.array([3.0, 4.0])))
    5.0
    """
    x = _core._coerce_public(x, None)
    _check_norm_ord(ord, axis, tuple(x.shape))
    # sqrt(sum(x^2)) scaled by the largest |x| (a constant: the identity holds for any scale),
    # so that neither x^2 nor its gradient over- or underflows (norm(3e-200, 4e-200) had an inf
    # gradient), and with sqrt's gradient masked where the sum is 0: the zero vector's norm has
    # gradient 0, as in PyTorch, not 0 * inf = NaN
    # (initial=0: the max over an empty axis is 0, so a 0-size x reduces to zeros of the right
    # shape, as in numpy)
    with np.errstate(invalid="ignore"):
        big = np.max(np.abs(x.numpy()), axis=axis, keepdims=True, initial=0.0)
    scale = np.where(np.isfinite(big) & (big > 0), big, 1.0).astype(x.dtype)
    q = _core.sum((x / scale) ** 2, axis=axis, keepdims=keepdims)
    nz = (q.numpy() > 0).astype(x.dtype)
    r = _core.sqrt(q * nz + (1 - nz)) * nz
    if not keepdims:
        scale = scale.reshape(q.shape) if q.ndim else scale.reshape(())
    return r * scale


def trace(a):
    """Sum of the diagonal of the trailing two dims.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> float(ag.trace(np.array([[1.0, 2.0], [3.0, 4.0]])))
    5.0
    """
    return _core.sum(_diag_part(a), axis=-1)


def _diag_part(a):
    a = _core._coerce_public(a, None)
    if a.ndim < 2:
        raise ValueError(f"trace: expected a matrix or a batch of them (at least 2-D), got shape "
                         f"{tuple(a.shape)}")
    n = min(a.shape[-2], a.shape[-1])
    idx = np.arange(n)
    return a[..., idx, idx]


def diag(v, k=0):
    """numpy's ``diag``: the diagonal of a matrix, or a matrix with ``v`` on its diagonal.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.diag(np.array([1.0, 2.0])).numpy().tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    v = _core._coerce_public(v, None)
    if v.ndim == 1:
        n = v.shape[0] + abs(k)
        # the entry at (row, col) of the k-th diagonal is v[col - max(k, 0)]: scale the columns
        # of that diagonal's 0/1 mask by v placed at its columns (differentiable, O(n^2))
        pad = _core.zeros_like_tensor(_core.tensor(np.zeros(abs(k)), dtype=v.dtype))
        vcol = _core.concatenate([pad, v] if k >= 0 else [v, pad]) if k else v
        return _core.tensor(np.eye(n, k=k), dtype=v.dtype) * vcol
    if v.ndim == 2:
        m, n = v.shape
        i = np.arange(max(0, -k), min(m, n - k))
        return v[i, i + k]
    raise ValueError(f"diag: input must be 1-D or 2-D, got {v.ndim}-D")


def outer(a, b):
    """Outer product of two vectors.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.outer(np.array([1.0, 2.0]), np.array([3.0, 4.0])).numpy().tolist()
    [[3.0, 4.0], [6.0, 8.0]]
    """
    a = _core._coerce_public(a, b)
    b = _core._coerce_public(b, a)
    return _core.reshape(a, (-1, 1)) * _core.reshape(b, (1, -1))


def tensordot(a, b, axes=2):
    """Sum of products over the given axes of a and b, as numpy.tensordot: ``axes`` is an int
    n (the last n axes of a with the first n of b) or a pair of axis sequences.  One matmul
    between the two operands laid out as matrices.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5))).shape
    (2, 5)
    """
    a = _core._coerce_public(a, b)
    b = _core._coerce_public(b, a)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(f"tensordot: axes={n} does not fit operands of shapes {a.shape} "
                             f"and {b.shape}")
        ax_a, ax_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        try:
            ax_a, ax_b = axes
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: axes must be an int or a pair of axis sequences, "
                             f"got {axes!r}") from None
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot: {len(ax_a)} axes of a against {len(ax_b)} axes of b")
    for name, t, ax in (("a", a, ax_a), ("b", b, ax_b)):
        for k in ax:
            if not -t.ndim <= k < t.ndim:
                raise ValueError(f"tensordot: axis {k} is out of bounds for {name} of shape "
                                 f"{t.shape}")
    ax_a = [k % a.ndim for k in ax_a]
    ax_b = [k % b.ndim for k in ax_b]
    if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
        raise ValueError(f"tensordot: repeated axis in {axes!r}")
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot: shape mismatch, axis {i} of a {a.shape} has "
                             f"{a.shape[i]} elements, axis {j} of b {b.shape} has {b.shape[j]}")
    free_a = [k for k in range(a.ndim) if k not in ax_a]
    free_b = [k for k in range(b.ndim) if k not in ax_b]
    m = int(np.prod([a.shape[k] for k in free_a], dtype=np.int64))
    n = int(np.prod([b.shape[k] for k in free_b], dtype=np.int64))
    kk = int(np.prod([a.shape[k] for k in ax_a], dtype=np.int64))
    am = _core.reshape(_core.transpose(a, free_a + ax_a), (m, kk))
    bm = _core.reshape(_core.transpose(b, ax_b + free_b), (kk, n))
    out_shape = tuple(a.shape[k] for k in free_a) + tuple(b.shape[k] for k in free_b)
    return _core._reshape(_core.matmul(am, bm), out_shape)


def dot(a, b):
    """numpy.dot: a product with a scalar, the inner product of vectors, matmul for matrices,
    and for N-d operands the sum over a's last axis and b's second-to-last.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> float(ag.dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    a = _core._coerce_public(a, b)
    b = _core._coerce_public(b, a)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim <= 2:
        return _core.matmul(a, b)
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 2]))


def inner(a, b):
    """numpy.inner: the sum over the last axes of a and b (a product with a scalar).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.inner(np.eye(2), np.array([3.0, 4.0])).numpy().tolist()
    [3.0, 4.0]
    """
    a = _core._coerce_public(a, b)
    b = _core._coerce_public(b, a)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def einsum(subscripts, *operands):
    """Einstein summation for one or two operands, built on transpose, take, sum and matmul.

    Supports explicit (``"ij,jk->ik"``) and implicit (``"ij,jk"``) outputs, repeated indices
    within an operand (``"ii->"``, ``"ii->i"``), and batch indices (``"bij,bjk->bik"``).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> float(ag.einsum("i,i->", np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    if not isinstance(subscripts, str):
        raise TypeError("einsum: subscripts must be a string")
    s = subscripts.replace(" ", "")
    bad = sorted({c for c in s.replace("->", "") if c not in ",." and not
                  (c.isascii() and c.isalpha())})
    if bad:
        raise ValueError(f"einsum: invalid subscript {bad[0]!r} in {subscripts!r}; subscripts "
                         "must be letters (a-z, A-Z)")
    if s.count("->") > 1:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    if "->" in s:
        lhs, out = s.split("->")
    else:
        lhs = s
        letters = [c for c in lhs.replace(",", "")]
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    specs = lhs.split(",")
    if len(specs) != len(operands):
        raise ValueError(f"einsum: {len(specs)} operand specs in {subscripts!r} but {len(operands)} operands")
    if len(specs) not in (1, 2):
        raise ValueError("einsum: only one or two operands are supported")
    if "." in s:
        raise ValueError("einsum: ellipsis is not supported")
    for c in out:
        if out.count(c) > 1 or c not in lhs:
            raise ValueError(f"einsum: output index {c!r} must appear once in the output and in an input")
    ref = next((o for o in operands if isinstance(o, Tensor)), None)
    ts = [_core._coerce_public(o, ref) for o in operands]
    for spec, t in zip(specs, ts):
        if len(spec) != t.ndim:
            raise ValueError(f"einsum: operand of shape {t.shape} does not match spec {spec!r}")
    # 1. take diagonals of repeated indices and sum out indices used by one operand only
    keep_elsewhere = [set(out) | set("".join(sp for j, sp in enumerate(specs) if j != i))
                      for i in range(len(specs))]
    new_specs, new_ts = [], []
    for spec, t, keep in zip(specs, ts, keep_elsewhere):
        spec, t = _einsum_diagonals(spec, t)
        drop = [k for k, c in enumerate(spec) if c not in keep]
        if drop:
            t = _core.sum(t, axis=tuple(drop))
            spec = "".join(c for c in spec if c not in [spec[k] for k in drop])
        new_specs.append(spec)
        new_ts.append(t)
    if len(new_ts) == 1:
        spec, t = new_specs[0], new_ts[0]
        return _core.permute(t, tuple(spec.index(c) for c in out)) if len(out) > 1 else \
            (t if out == spec else _core.reshape(t, t.shape))
    (sa, a), (sb, b) = zip(new_specs, new_ts)
    batch = [c for c in sa if c in sb and c in out]
    contr = [c for c in sa if c in sb and c not in out]
    fa = [c for c in sa if c not in sb]
    fb = [c for c in sb if c not in sa]
    dims = {c: a.shape[sa.index(c)] for c in sa}
    for c in sb:
        n = b.shape[sb.index(c)]
        if c in dims and 1 not in (dims[c], n) and dims[c] != n:
            raise ValueError(f"einsum: index {c!r} has sizes {dims[c]} and {n}")
        if n != 1 or c not in dims:
            dims[c] = n
    # an index of size 1 in one operand broadcasts against the other, as in numpy
    a, b = (t if tuple(t.shape) == tuple(dims[c] for c in sp)
            else _core.broadcast_to(t, tuple(dims[c] for c in sp)) for sp, t in ((sa, a), (sb, b)))
    prod = lambda cs: int(np.prod([dims[c] for c in cs])) if cs else 1  # noqa: E731
    a2 = _core.reshape(_core.permute(a, tuple(sa.index(c) for c in batch + fa + contr)),
                       (prod(batch), prod(fa), prod(contr)))
    b2 = _core.reshape(_core.permute(b, tuple(sb.index(c) for c in batch + contr + fb)),
                       (prod(batch), prod(contr), prod(fb)))
    r = _core.matmul(a2, b2)
    order = batch + fa + fb
    r = _core._reshape(r, tuple(dims[c] for c in order))
    if len(order) > 1:
        r = _core.permute(r, tuple(order.index(c) for c in out))
    return r


def _einsum_diagonals(spec, t):
    """Replace repeated indices in one operand's spec by the diagonal (via flat-index take)."""
    while len(set(spec)) < len(spec):
        c = next(ch for ch in spec if spec.count(ch) > 1)
        axes = [k for k, ch in enumerate(spec) if ch == c]
        n = t.shape[axes[0]]
        for k in axes:
            if t.shape[k] != n:
                raise ValueError(f"einsum: repeated index {c!r} with different sizes")
        other = [k for k in range(len(spec)) if k not in axes]
        grid = np.arange(t.size).reshape(t.shape)
        grid = np.moveaxis(grid, axes, list(range(len(axes))))
        diag_idx = np.array([grid[(i,) * len(axes)] for i in range(n)])  # (n, *other)
        idx = np.moveaxis(diag_idx, 0, -1)  # (*other, n)
        t = _core._take_flat(t, np.ascontiguousarray(idx, dtype=np.int64))
        spec = "".join(spec[k] for k in other) + c
    return spec, t
