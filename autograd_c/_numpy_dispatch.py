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
    "greater_equal": "greater_equal", "matmul": "matmul",
}
# ufunc.reduce / ufunc.accumulate -> autograd_c reduction / scan
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}
_ACCUMULATE = {"add": "cumsum"}

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
    "einsum": "einsum", "round": "round", "around": "round",
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


def _on_values(name, call, args, kwargs, why):
    """Run numpy on the values, unless that would drop a gradient."""
    if name not in _NO_DERIVATIVE and any(t.requires_grad for t in _tensors((args, kwargs), [])):
        raise TypeError(
            f"numpy.{name} on a Tensor that requires grad: {why}, and computing it on the values "
            f"would silently drop the gradient. Use autograd_c's functions, or .detach() the "
            f"tensor to leave the graph on purpose")
    return call(*_plain(args), **_plain(kwargs))


def _is_default(key, value):
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


def _check_out(name, kwargs):
    if _tensors(kwargs.get("out"), []):
        raise TypeError(f"numpy.{name}(..., out=<Tensor>): numpy cannot write into a Tensor "
                        f"(it would bypass autograd); use the result, or an in-place Tensor op")


def array_ufunc(ufunc, method, inputs, kwargs):
    import autograd_c as ag
    name = ufunc.__name__
    _check_out(name, kwargs)
    target = None
    if method == "__call__":
        target = _UFUNCS.get(name)
    elif method == "reduce":
        target = _REDUCE.get(name)
    elif method == "accumulate":
        target = _ACCUMULATE.get(name)
    fn = getattr(ag, target) if target else None
    label = name if method == "__call__" else f"{name}.{method}"
    if fn is not None:
        kw = dict(kwargs)
        if method == "accumulate":
            kw.setdefault("axis", 0)
        elif method == "reduce":
            kw.setdefault("axis", 0)       # numpy's ufunc.reduce default, unlike np.sum's
        kw = _kwargs_for(fn, kw)
        if kw is not None:
            return fn(*inputs, **kw)
        why = f"autograd_c's {target} takes no {sorted(set(kwargs) - set(_BENIGN))} here"
    else:
        why = "autograd_c has no counterpart of this ufunc"
    return _on_values(label, getattr(ufunc, method), inputs, kwargs, why)


# reductions run as the Tensor's method, which takes numpy's dtype= (a cast) and refuses out=
_METHODS = {"sum": "sum", "mean": "mean", "prod": "prod", "max": "max", "amax": "max",
            "min": "min", "amin": "min", "var": "var", "std": "std"}
_METHOD_KWARGS = {"axis", "keepdims", "dtype", "out", "ddof"}


def array_function(func, args, kwargs):
    fn = _functions().get(func)
    name = getattr(func, "__name__", str(func))
    _check_out(name, kwargs)
    method = _METHODS.get(name) if getattr(func, "__module__", "") == "numpy" else None
    if method and args and isinstance(args[0], _core.Tensor) and len(args) <= 2:
        kw = {k: v for k, v in kwargs.items() if not (k == "where" and v is True)}
        if set(kw) <= _METHOD_KWARGS and not (method not in ("var", "std") and "ddof" in kw):
            return getattr(args[0], method)(*args[1:], **kw)
        return _on_values(name, func, args, kwargs,
                          f"its arguments {sorted(set(kw) - _METHOD_KWARGS)} have no autograd_c "
                          f"counterpart")
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
        kw = _kwargs_for(fn, kwargs)
        if kw is not None:
            try:
                inspect.signature(fn).bind(*args, **kw)
            except TypeError:
                kw = None
            except ValueError:
                pass
        if kw is not None:
            return fn(*args, **kw)
        why = f"its arguments {sorted(kwargs)} have no autograd_c counterpart"
    else:
        why = "autograd_c has no counterpart of this function"
    return _on_values(name, func, args, kwargs, why)
