"""ag.save / ag.load: nested dicts of arrays and scalars (state dicts) as .npz files.

Arrays are stored as plain ``.npy`` members; the structure (nested dicts, lists, tuples,
numbers, strings, None, which arrays were Tensors) is a JSON manifest stored as a uint8 member.
Loading uses ``allow_pickle=False``: it never runs code from the file.
"""
import json
import os
import zipfile
import zlib

import numpy as np

from . import _core
from ._core import Tensor

__all__ = ["save", "load"]

# what a damaged or foreign file can raise from zipfile / numpy / json (zipfile answers a corrupt
# header with NotImplementedError for an "unsupported" method or version, RuntimeError for
# "encrypted", zlib.error for bad compressed data)
_BAD_FILE = (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError, UnicodeDecodeError,
             TypeError, RecursionError, NotImplementedError, RuntimeError, zlib.error,
             OverflowError, IndexError)

_MANIFEST = "__autograd_c_manifest__"
_FORMAT = "autograd_c.save/1"


def _encode(obj, arrays, path, active):
    """obj as JSON-able data, its arrays added to ``arrays``; ``active``: the ids of the
    containers being encoded (those that hold obj), to refuse a container inside itself."""
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = np.array(obj.numpy(), copy=True)
        return {"__tensor__": key, "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"ag.save: an object array{_where(path)} cannot be saved without pickle")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays, path, active)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (dict, tuple, list)):
        if id(obj) in active:
            raise ValueError(f"ag.save: the object contains itself{_where(path)} (a circular "
                             "reference); it cannot be saved")
        active.add(id(obj))
        try:
            return _encode_container(obj, arrays, path, active)
        finally:
            active.discard(id(obj))
    raise TypeError(_unsupported(obj, path))


def _encode_container(obj, arrays, path, active):
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, arrays, f"{path}/{k}", active) for k, v in obj.items()}
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise TypeError(f"ag.save: dict key {k!r}{_where(path)} is not a str/int/float/bool")
            items.append([k, _encode(v, arrays, f"{path}/{k}", active)])
        return {"__dict__": items}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{path}/{i}", active)
                              for i, v in enumerate(obj)]}
    return [_encode(v, arrays, f"{path}/{i}", active) for i, v in enumerate(obj)]


def _where(path):
    """' at 'a/0/w'' for a value inside the saved object; nothing for the object itself"""
    return f" at {path.lstrip('/')!r}" if path else ""


def _unsupported(obj, path):
    """The message for an object ag.save cannot store: what it is, where (the key path inside
    the saved object), what is supported, and for a model or an optimizer the call to use."""
    msg = (f"ag.save: cannot save a {type(obj).__name__}{_where(path)} (supported: dicts, lists, "
           "tuples, Tensors, numpy arrays, numbers, strings, None)")
    if callable(getattr(obj, "state_dict", None)):
        from .nn import Module
        from .optim import Optimizer
        name = ("model" if isinstance(obj, Module) else
                "optimizer" if isinstance(obj, Optimizer) else "obj")
        msg += (f"; save its state instead: ag.save({name}.state_dict(), path), and restore it "
                f"with {name}.load_state_dict(ag.load(path))")
    return msg


def _decode(obj, npz, path):
    if isinstance(obj, list):
        return [_decode(v, npz, path) for v in obj]
    if not isinstance(obj, dict):
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise ValueError(f"unexpected manifest entry at {path}")
    if "__tensor__" in obj or "__array__" in obj:
        key = obj.get("__tensor__", obj.get("__array__"))
        if not isinstance(key, str) or key not in npz.files:
            raise ValueError(f"array {key!r} referenced at {path} is missing")
        arr = npz[key]
        if "__tensor__" in obj:
            if arr.dtype not in (np.float32, np.float64):
                raise ValueError(f"tensor at {path} has dtype {arr.dtype}")
            return _core.tensor(arr, dtype=arr.dtype, requires_grad=bool(obj.get("requires_grad")))
        return arr
    if "__tuple__" in obj:
        return tuple(_decode(v, npz, path) for v in obj["__tuple__"])
    if "__dict__" in obj:
        out = {}
        for pair in obj["__dict__"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ValueError(f"bad dict entry at {path}")
            out[pair[0]] = _decode(pair[1], npz, f"{path}/{pair[0]}")
        return out
    return {k: _decode(v, npz, f"{path}/{k}") for k, v in obj.items()}


def save(obj, path):
    """Save a (nested) dict of Tensors / arrays / numbers, e.g. ``model.state_dict()``, to
    ``path`` as an uncompressed .npz file (no pickle).

    Examples
    --------
    >>> import autograd_c as ag, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> ag.save({"w": ag.ones(2), "step": 3}, p)
    >>> ag.load(p)["step"]
    3
    """
    arrays = {}
    try:
        manifest = {"format": _FORMAT, "root": _encode(obj, arrays, "", set())}
        text = json.dumps(manifest, allow_nan=True)
    except RecursionError:
        raise ValueError("ag.save: the object is nested too deeply to save (Python's recursion "
                         "limit)") from None
    blob = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays, **{_MANIFEST: blob})
    else:
        np.savez(path, **arrays, **{_MANIFEST: blob})


def load(path, *, weights_only=True):
    """Load what :func:`save` wrote.  A truncated, foreign or crafted file raises ValueError;
    nothing in the file is ever executed (``allow_pickle=False``).  An error of the operating
    system (a missing or unreadable file, a directory) is raised as it is (an OSError).

    Parameters
    ----------
    path : str, os.PathLike or file object
    weights_only : bool or None, default True
        PyTorch's ``torch.load`` flag, for code written for it: ag.load only ever loads
        tensors, arrays and plain data, which is ``weights_only=True``; False (unpickling
        arbitrary objects) is refused with ValueError.

    Examples
    --------
    >>> import autograd_c as ag
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'w.npz')
    >>> ag.save({'w': ag.ones(2)}, path)
    >>> ag.load(path)['w']
    tensor([1., 1.])
    """
    if weights_only is not None and not weights_only:
        raise ValueError("ag.load: weights_only=False is not supported: ag.load never unpickles "
                         "objects (it loads tensors, arrays, numbers, strings and containers)")
    try:
        npz = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except _BAD_FILE as e:
        raise ValueError(f"ag.load: {path!r} is not a readable autograd_c save file ({e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"ag.load: {path!r} is a single .npy array, not an autograd_c save file")
    try:
        with npz:
            if _MANIFEST not in npz.files:
                raise ValueError("no manifest")
            raw = npz[_MANIFEST]
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError("malformed manifest")
            manifest = json.loads(raw.tobytes().decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
                raise ValueError("unknown format")
            return _decode(manifest.get("root"), npz, "")
    except _BAD_FILE as e:
        raise ValueError(f"ag.load: {path!r} is not a valid autograd_c save file ({e})") from None
