"""numpy functions called on Tensors: the ``__array_ufunc__`` / ``__array_function__`` protocols.

``np.sin(t)``, ``np.sum(t, axis=1)``, ``array * t``, ``np.linalg.solve(A, b)``... with a Tensor
among the arguments run the autograd_c op of the same meaning and return a Tensor, so
numpy-style code is differentiable as written.  A numpy function without a counterpart here,
or called with an option the counterpart lacks (``out=``, ``dtype=``, ``where=``...):

- returns what numpy returns for ``np.asarray`` of the Tensors when no Tensor argument requires
  grad, or when the result carries no derivative anyway (``np.isnan``, ``np.argmax``, ...);
- raises TypeError, naming the function, when a Tensor argument requires grad: numpy would
  compute on the values and silently drop the gradient.
"""
import functools
import inspect

import numpy as np

from . import _core

# numpy ufunc name -> autograd_c function name
_UFUNCS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "power": "power", "negative": "neg", "absolute": "abs", "fabs": "abs", "exp": "exp",
    "exp2": "exp2", "expm1": "expm1", "log": "log", "log2": "log2", "log10": "log10",
    "log1p": "log1p", "sqrt": "sqrt", "square": "square", "reciprocal": "reciprocal",
    "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "arcsinh": "arcsinh",
    "arccosh": "arccosh", "arctanh": "arctanh", "arctan2": "arctan2", "hypot": "hypot",
    "maximum": "maximum", "minimum": "minimum", "sign": "sign", "floor": "floor", "ceil": "ceil",
    "trunc": "trunc", "rint": "round", "equal": "equal", "not_equal": "not_equal",
    "less": "less", "less_equal": "less_equal", "greater": "greater",
    "greater_equal": "greater_equal", "matmul": "matmul", "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2",
}
# ufuncs whose counterpart is only an operator (a // b, a % b, divmod): in autograd_c._core
_OPERATOR_UFUNCS = {"floor_divide": "floor_divide", "remainder": "remainder",
                    "divmod": "_divmod"}
# ufunc.reduce / ufunc.accumulate -> autograd_c reduction / scan
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}

# numpy function (by its path) -> autograd_c function (by its path)
_FUNCTIONS = {
    "sum": "sum", "mean": "mean", "prod": "prod", "max": "max", "amax": "max", "min": "min",
    "amin": "min", "var": "var", "std": "std", "cumsum": "cumsum", "diff": "diff",
    "where": "where", "clip": "clip", "concatenate": "concatenate", "concat": "concatenate",
    "stack": "stack", "split": "split", "reshape": "reshape", "transpose": "transpose",
    "swapaxes": "swapaxes", "squeeze": "squeeze", "expand_dims": "expand_dims",
    "broadcast_to": "broadcast_to", "outer": "outer", "trace": "trace", "diag": "diag",
    "tensordot": "tensordot", "dot": "dot", "inner": "inner", "flip": "flip", "roll": "roll",
    "moveaxis": "moveaxis", "tile": "tile", "repeat": "repeat", "tril": "tril", "triu": "triu",
    "diagonal": "diagonal", "take_along_axis": "take_along_axis", "sort": "sort",
    "argsort": "argsort",
    "median": "median", "quantile": "quantile", "percentile": "percentile",
    "nanmedian": "nanmedian", "nanquantile": "nanquantile", "nanpercentile": "nanpercentile",
    "nansum": "nansum", "nanprod": "nanprod", "nanmean": "nanmean", "nanvar": "nanvar",
    "nanstd": "nanstd", "nanmax": "nanmax", "nanmin": "nanmin", "cumprod": "cumprod",
    "nancumsum": "nancumsum", "nancumprod": "nancumprod", "ptp": "ptp", "average": "average",
    "cov": "cov", "corrcoef": "corrcoef",
    "einsum": "einsum", "round": "round", "around": "round", "ravel": "flatten",
    "copy": "Tensor.clone", "zeros_like": "zeros_like", "ones_like": "ones_like",
    "full_like": "full_like",
    "linalg.inv": "linalg.inv", "linalg.solve": "linalg.solve", "linalg.det": "linalg.det",
    "linalg.slogdet": "linalg.slogdet", "linalg.cholesky": "linalg.cholesky",
    "linalg.norm": "linalg.norm",
}
# keyword values that mean "numpy's default": dropped before calling the counterpart
_BENIGN = {"out": None, "dtype": None, "where": True, "order": "C", "casting": "same_kind",
           "subok": True, "optimize": False}
# results that carry no derivative: computed by numpy on the values whatever the grad mode
_NO_DERIVATIVE = {
    "isnan", "isinf", "isfinite", "signbit", "isclose", "allclose", "array_equal",
    "array_equiv", "argmax", "argmin", "argsort", "argwhere", "nonzero", "flatnonzero",
    "count_nonzero", "any", "all", "shape", "ndim", "size", "searchsorted", "logical_and",
    "logical_or", "logical_not", "logical_xor", "result_type", "may_share_memory",
    "shares_memory", "iscomplexobj", "isrealobj", "isscalar",
}


def _resolve(path, root):
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


_function_table = None


def _functions():
    """{numpy function: autograd_c function}, built on first use (after the package loaded)."""
    global _function_table
    if _function_table is None:
        import autograd_c as ag
        table = {}
        for np_path, ag_path in _FUNCTIONS.items():
            f, g = _resolve(np_path, np), _resolve(ag_path, ag)
            if f is not None and g is not None:
                table[f] = g
        _function_table = table
    return _function_table


def _tensors(obj, out):
    if isinstance(obj, _core.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors(o, out)
    return out


def _plain(obj):
    """obj with every Tensor replaced by its values (np.asarray)."""
    if isinstance(obj, _core.Tensor):
        return np.asarray(obj)
    if isinstance(obj, list):
        return [_plain(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _differentiated(tensors):
    """Whether a tensor requires grad or carries a forward-mode tangent (inside ag.jvp or a
    forward-mode jacobian, where requires_grad is False)."""
    return any(t.requires_grad or t.tangent is not None for t in tensors)


# numpy functions that write into an argument: (its position, its name).  Into a Tensor, the
# write is an in-place op: refused where one would be, and counted by the version counter (a
# backward that saved the tensor raises instead of using the new values)
_WRITERS = {"copyto": (0, "dst"), "put": (0, "a"), "place": (0, "arr"), "putmask": (0, "a"),
            "fill_diagonal": (0, "a"), "put_along_axis": (0, "arr")}


def _destination(name, args, kwargs):
    """The Tensor a numpy writer (or ufunc.at) would write into, or None."""
    where = (0, "a") if name.endswith(".at") else _WRITERS.get(name)
    if where is None:
        return None
    dst = args[where[0]] if len(args) > where[0] else kwargs.get(where[1])
    return dst if isinstance(dst, _core.Tensor) else None


def _on_values(name, call, args, kwargs, why):
    """Run numpy on the values, unless that would drop a gradient or a tangent."""
    dst = _destination(name, args, kwargs)
    tensors = [t for t in _tensors((args, kwargs), []) if t is not dst]
    if name not in _NO_DERIVATIVE and _differentiated(tensors):
        raise TypeError(
            f"numpy.{name} on a Tensor that requires grad (or carries a forward-mode tangent): "
            f"{why}, and computing it on the values "
            f"would silently drop the gradient. Use autograd_c's functions, or .detach() the "
            f"tensor to leave the graph on purpose")
    if dst is not None:
        return _core._numpy_write(dst, name, call, _plain(args), _plain(kwargs))
    return call(*_plain(args), **_plain(kwargs))


def _is_default(key, value):
    if key == "optimize":       # einsum's contraction-order hint: any value gives the same result
        return True
    d = _BENIGN[key]
    return value is d or (isinstance(value, str) and value == d)


def _kwargs_for(fn, kwargs):
    """kwargs without numpy's no-op defaults, or None if the counterpart cannot take them."""
    kw = {k: v for k, v in kwargs.items() if not (k in _BENIGN and _is_default(k, v))}
    if not kw:
        return kw
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    return kw if all(k in params for k in kw) else None


def _check_out(name, args, kwargs):
    out = kwargs.get("out")
    if _tensors(out, []):
        raise TypeError(f"numpy.{name}(..., out=<Tensor>): numpy cannot write into a Tensor "
                        f"(it would bypass autograd); use the result, or an in-place Tensor op")
    if any(o is not None for o in (out if isinstance(out, tuple) else (out,))) and \
            _differentiated(_tensors(args, [])):
        raise TypeError(f"numpy.{name}(..., out=<ndarray>) with a Tensor that requires grad: a "
                        f"numpy array cannot hold the gradient (``arr += t`` is such a call); "
                        f"use ``arr + t``, which returns a Tensor")


def _unsupported(fn, kwargs):
    """The keywords of kwargs, other than numpy's no-op defaults, that fn does not take."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    return sorted(k for k, v in kwargs.items()
                  if not (k in _BENIGN and _is_default(k, v)) and k not in params)


_ufunc_fns = {}     # ufunc -> autograd_c function, for plain calls without keywords


def array_ufunc(ufunc, method, inputs, kwargs):
    if method == "__call__" and not kwargs:
        fn = _ufunc_fns.get(ufunc)
        if fn is not None:
            return fn(*inputs)
    import autograd_c as ag
    name = ufunc.__name__
    _check_out(name, inputs, kwargs)
    target = None
    if method == "__call__":
        target = _UFUNCS.get(name)
    elif method == "reduce":
        target = _REDUCE.get(name)
    elif method == "accumulate":
        target = _ACCUMULATE.get(name)
    fn = getattr(ag, target) if target else None
    if method == "__call__" and name in _OPERATOR_UFUNCS:
        target = _OPERATOR_UFUNCS[name]
        fn = getattr(_core, target)
    label = name if method == "__call__" else f"{name}.{method}"
    if fn is not None:
        if method == "__call__":
            _ufunc_fns[ufunc] = fn
        kw = dict(kwargs)
        if method == "accumulate":
            kw.setdefault("axis", 0)
            if kw["axis"] is None and inputs and np.ndim(inputs[0]) != 1:
                raise ValueError(f"numpy.{name}.accumulate: axis=None (flattening) is only "
                                 f"for 1-d input, as in numpy; got shape {np.shape(inputs[0])}")
        elif method == "reduce":
            kw.setdefault("axis", 0)       # numpy's ufunc.reduce default, unlike np.sum's
        kw = _kwargs_for(fn, kw)
        if kw is not None:
            return fn(*inputs, **kw)
        why = f"autograd_c's {target} takes no {_unsupported(fn, kwargs)} here"
    else:
        why = "autograd_c has no counterpart of this ufunc"
    return _on_values(label, getattr(ufunc, method), inputs, kwargs, why)


# reductions run as the Tensor's method, which takes numpy's dtype= (a cast) and refuses out=
_METHODS = {"sum": "sum", "mean": "mean", "prod": "prod", "max": "max", "amax": "max",
            "min": "min", "amin": "min", "var": "var", "std": "std"}
_METHOD_KWARGS = {"axis", "keepdims", "dtype", "out", "ddof"}
# numpy's other names for a counterpart's parameter (numpy 2: clip's min/max, var's correction)
_ALIASES = {"min": "a_min", "max": "a_max", "correction": "ddof",
            ("where", "x"): "a", ("where", "y"): "b"}
_P = inspect.Parameter
_signatures = {}

# numpy < 2 gives its C-implemented array functions no signature (inspect.signature raises);
# numpy 2 has these, and they name the same parameters numpy 1.26 accepts.
_C_FUNCTION_SIGNATURES = {
    "concatenate": lambda arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind": 0,
    "where": lambda condition, x=None, y=None, /: 0,
    "dot": lambda a, b, out=None: 0,
    "inner": lambda a, b, /: 0,
    "vdot": lambda a, b, /: 0,
    "copyto": lambda dst, src, casting="same_kind", where=True: 0,
    "putmask": lambda a, /, mask, values: 0,
    "empty_like": lambda prototype, /, dtype=None, order="K", subok=True, shape=None: 0,
    "bincount": lambda x, /, weights=None, minlength=0: 0,
    "lexsort": lambda keys, axis=-1: 0,
}


def _signature(f):
    try:
        return _signatures[f]
    except KeyError:
        pass
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        stub = _C_FUNCTION_SIGNATURES.get(getattr(f, "__name__", None)) \
            if getattr(f, "__module__", None) == "numpy" else None
        sig = inspect.signature(stub) if stub is not None else None
    _signatures[f] = sig
    return sig


_plans = {}


def _named(func, args, kwargs):
    """numpy's arguments as {parameter: value} in numpy's parameter order, positional ones
    named in numpy's order; None when numpy's signature is unknown or the call does not fit it
    (numpy raises then).  inspect's bind is slow: a call's shape (function, number of
    positional arguments, keyword names) is bound once and the names are reused."""
    sig = _signature(func)
    if sig is None:
        return None
    key = (func, len(args), tuple(kwargs))
    plan = _plans.get(key)
    if plan is None:
        try:
            bound = sig.bind(*args, **kwargs).arguments
        except TypeError:
            return None
        simple = all(p.kind is not _P.VAR_POSITIONAL for p in sig.parameters.values()) and \
            all(k in sig.parameters and sig.parameters[k].kind is not _P.VAR_KEYWORD
                for k in kwargs)
        plan = (list(sig.parameters)[:len(args)], list(bound)) if simple else False
        _plans[key] = plan
        if not simple:
            return sig, bound
    elif plan is False:
        try:
            return sig, sig.bind(*args, **kwargs).arguments
        except TypeError:
            return None
    values = dict(zip(plan[0], args), **kwargs)
    return sig, {n: values[n] for n in plan[1]}


@functools.lru_cache(maxsize=None)
def _target(func, fn, k):
    """fn's parameter for numpy's parameter k of func: the same name (or numpy's other name,
    _ALIASES), or fn's first parameter for numpy's first (the array: a / x); None if fn has
    no such parameter."""
    np_sig, ag_sig = _signature(func), _signature(fn)
    target = _ALIASES.get((func.__name__, k), _ALIASES.get(k, k))
    if target in ag_sig.parameters:
        return target
    first = next(iter(ag_sig.parameters.values()), None)
    if k == next(iter(np_sig.parameters), None) and first is not None and \
            first.name not in np_sig.parameters and first.kind is _P.POSITIONAL_OR_KEYWORD:
        return first.name
    return None


@functools.lru_cache(maxsize=None)
def _required(fn):
    return tuple(p.name for p in _signature(fn).parameters.values() if p.default is _P.empty
                 and p.kind in (_P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY))


def _counterpart_arguments(func, fn, args, kwargs):
    """(args, kwargs) for fn from numpy's call of func, matched by parameter name (numpy's and
    autograd_c's positional orders differ: np.sum(a, axis, dtype, ...) vs sum(x, axis,
    keepdims)); a parameter named differently at the same position (a / x) is the same one.
    Returns (None, why) when fn cannot take the call."""
    named, ag_sig = _named(func, args, kwargs), _signature(fn)
    if named is None or ag_sig is None:
        if not kwargs:
            return (args, {}), None
        return None, f"its arguments {sorted(kwargs)} have no autograd_c counterpart"
    np_sig, bound = named
    pos, kw, lacking = [], {}, []
    for name, value in bound.items():
        kind = np_sig.parameters[name].kind
        if kind is _P.VAR_POSITIONAL:
            pos.extend(value)
            continue
        for k, v in (value.items() if kind is _P.VAR_KEYWORD else ((name, value),)):
            if k == "subok" or (k in _BENIGN and _is_default(k, v)):
                continue
            target = _target(func, fn, k)
            if target is None or target in kw:
                lacking.append(k)
            else:
                kw[target] = v
    if lacking:
        return None, f"its arguments {sorted(lacking)} have no autograd_c counterpart"
    if pos:
        try:
            ag_sig.bind(*pos, **kw)
        except TypeError as e:
            return None, f"autograd_c's counterpart cannot take this call ({e})"
        return (pos, kw), None
    needed = [n for n in _required(fn) if n not in kw]
    if needed:
        return None, f"autograd_c's counterpart needs the arguments {needed}"
    for p in ag_sig.parameters.values():      # leading ones positionally (Cython methods)
        if p.kind is not _P.POSITIONAL_OR_KEYWORD or p.name not in kw:
            break
        pos.append(kw.pop(p.name))
    return (pos, kw), None


def _concatenate(func, args, kwargs, fn):
    """np.concatenate(..., axis=None): the flattened arrays joined."""
    named = _named(func, args, kwargs)
    if named and "axis" in named[1] and named[1]["axis"] is None:
        arrays = [_core.reshape(a, (-1,)) if isinstance(a, _core.Tensor) else np.ravel(a)
                  for a in named[1]["arrays"]]
        rest = {k: v for k, v in named[1].items() if k not in ("arrays", "axis")}
        return func(arrays, axis=0, **rest)
    return None


def _expand_dims(func, args, kwargs, fn):
    """np.expand_dims with a tuple of axes: a reshape to the shape numpy gives."""
    named = _named(func, args, kwargs)
    if named and isinstance(named[1].get("axis"), (tuple, list)):
        x = _core._coerce_public(named[1]["a"], None)
        probe = np.broadcast_to(np.empty((), dtype=bool), x.shape)   # shape only, no memory
        return _core.reshape(x, np.expand_dims(probe, named[1]["axis"]).shape)
    return None


def _where(func, args, kwargs, fn):
    """np.where(condition) alone: np.nonzero, indices that carry no derivative."""
    if len(args) == 1 and not kwargs:
        return np.nonzero(_plain(args[0]))
    return None


def _clip(func, args, kwargs, fn):
    """np.clip where autograd_c's clip (scalar bounds, lo <= hi) differs from numpy: array or
    Tensor bounds, lo > hi, no bound at all.  numpy's result is minimum(maximum(a, lo), hi)."""
    named = _named(func, args, kwargs)
    if not named or set(named[1]) - {"a", "a_min", "a_max", "min", "max"}:
        return None
    kw = named[1]
    lo, hi = kw.get("a_min", kw.get("min")), kw.get("a_max", kw.get("max"))
    bounds = [b for b in (lo, hi) if b is not None]
    if bounds and all(np.ndim(b) == 0 and not isinstance(b, _core.Tensor) for b in bounds) \
            and (len(bounds) == 1 or float(lo) <= float(hi)):
        return None                                     # autograd_c's clip
    y = _core._coerce_public(kw["a"], None)
    if not bounds:
        return _core.Tensor.clone(y)
    if lo is not None:
        y = _core.maximum(y, lo)
    return _core.minimum(y, hi) if hi is not None else y


def _trace(func, args, kwargs, fn):
    """np.trace: the diagonal ``offset`` of numpy's plane (axis1, axis2), (0, 1) by default,
    summed; autograd_c's trace sums the trailing plane's (a batch), so it differs beyond 2-d."""
    named = _named(func, args, kwargs)
    if not named:
        return None
    kw = {k: v for k, v in named[1].items() if not (k in _BENIGN and _is_default(k, v))}
    extra = set(kw) - {"a", "offset", "axis1", "axis2"}
    if extra:                       # dtype= / out=: numpy's, where no gradient is lost
        return _on_values("trace", func, args, kwargs,
                          f"its arguments {sorted(extra)} have no autograd_c counterpart")
    from .manipulation import diagonal
    return _core.sum(diagonal(kw["a"], kw.get("offset", 0), kw.get("axis1", 0),
                              kw.get("axis2", 1)), axis=-1)


_SPECIAL = {"concatenate": _concatenate, "expand_dims": _expand_dims, "where": _where,
            "clip": _clip, "trace": _trace}


def array_function(func, args, kwargs):
    fn = _functions().get(func)
    name = getattr(func, "__name__", str(func))
    _check_out(name, args, kwargs)
    method = _METHODS.get(name) if getattr(func, "__module__", "") == "numpy" else None
    if method and len(args) <= 2 and isinstance(args[0], _core.Tensor) and \
            set(kwargs) <= _METHOD_KWARGS - {"ddof"}:     # (a, axis): numpy's order and ours
        return getattr(args[0], method)(*args[1:], **kwargs)
    if method:
        named = _named(func, args, kwargs)
        first = next(iter(named[1].values()), None) if named else None
        if isinstance(first, _core.Tensor):
            kw = {_ALIASES.get(k, k): v for k, v in list(named[1].items())[1:]
                  if not (k == "where" and v is True)}
            if set(kw) <= _METHOD_KWARGS and not (method not in ("var", "std") and "ddof" in kw):
                return getattr(first, method)(**kw)
            return _on_values(name, func, args, kwargs,
                              f"its arguments {sorted(set(kw) - _METHOD_KWARGS)} have no "
                              f"autograd_c counterpart")
    if fn is not None:
        if fn is _core.reshape:
            kw = dict(kwargs)
            shape = kw.pop("shape", kw.pop("newshape", None))
            if shape is None and len(args) > 1:
                args, shape = args[:1], args[1]
            if kw.get("order", "C") == "C" and kw.pop("copy", None) is None:
                kw.pop("order", None)
                if not kw and shape is not None:
                    return fn(args[0], shape)
            return _on_values(name, func, args, kwargs, "only order='C' reshapes are supported")
        special = _SPECIAL.get(name)
        result = special(func, args, kwargs, fn) if special else None
        if result is not None:
            return result
        call, why = _counterpart_arguments(func, fn, args, kwargs)
        if call is not None:
            try:
                return fn(*call[0], **call[1])
            except NotImplementedError as e:    # an option the counterpart lacks: numpy's
                why = str(e)                    # answer when no gradient is lost
    else:
        why = "autograd_c has no counterpart of this function"
    return _on_values(name, func, args, kwargs, why)
