# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Thin binding over the C core (csrc/ag.h).

Owns C tensor handles, validates arguments, releases the GIL around large kernels, and turns every
C status into a Python exception carrying the core's message.  Everything numeric happens in C.
"""
cimport cython
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cpython.dict cimport PyDict_GetItem
from cpython.buffer cimport (PyBUF_WRITABLE, PyBUF_ND, PyBUF_STRIDES, PyBUF_C_CONTIGUOUS, PyBUF_F_CONTIGUOUS,
                            PyBUF_ANY_CONTIGUOUS)
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

import numbers
import operator
import numpy as np
cimport numpy as cnp


class _AxisDefault(int):
    """The default of an ``axis`` argument that also takes PyTorch's ``dim=``: an int that is told
    apart from the same value passed explicitly, so that ``cat(ts, 0, dim=1)`` raises instead of
    quietly using ``dim``.  It prints as the plain int."""

    def __repr__(self):
        return int.__repr__(self)


_AXIS_0 = _AxisDefault(0)
_AXIS_LAST = _AxisDefault(-1)


cnp.import_array()
ag_init()

cdef enum:
    NOGIL_N = 32768


class LinAlgError(ValueError):
    """Raised by ``autograd_c.linalg`` for singular or non-positive-definite matrices."""


_ERRORS = {
    AG_EVALUE: ValueError,
    AG_ETYPE: TypeError,
    AG_ERUNTIME: RuntimeError,
    AG_ENOMEM: MemoryError,
    AG_ELINALG: LinAlgError,
    AG_EINDEX: IndexError,
    AG_ENOTIMPL: NotImplementedError,
}

# the exception a backward hook raised, kept for the _raise of the thread whose sweep ran it
# (per thread: another thread's unrelated error must not pick it up)
import threading as _threading
_pending_hook_error = _threading.local()

cdef int _raise() except -1:
    cdef int kind = ag_last_error_kind()
    exc = getattr(_pending_hook_error, "exc", None)
    if exc is not None:
        _pending_hook_error.exc = None
        raise exc
    msg = ag_last_error().decode("utf-8", "replace")
    if kind == AG_OK or not msg:
        raise RuntimeError("autograd_c: an operation failed without a message")
    raise _ERRORS.get(kind, RuntimeError)(msg)


cdef inline Tensor _wrap(ag_tensor *p):
    """Take ownership of a new C reference (NULL: raise the core's error)."""
    if p == NULL:
        _raise()
    cdef Tensor r = Tensor.__new__(Tensor)
    r.t = p
    if p.hook_id > 0:
        _adopt_hooks(r)
    return r


cdef inline Tensor _wrap_borrowed(ag_tensor *p):
    ag_tensor_incref(p)
    return _wrap(p)


float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
_DTYPES = (float32, float64)


cdef int _dtype_code(object dtype) except -2:
    """None -> -1, float32 -> AG_F32, float64 -> AG_F64; anything else raises TypeError."""
    if dtype is None:
        return -1
    if dtype is float32 or dtype is np.float32:
        return AG_F32
    if dtype is float64 or dtype is np.float64 or dtype is float:
        return AG_F64
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    if d == float32:
        return AG_F32
    if d == float64:
        return AG_F64
    raise TypeError(f"dtype must be float32 or float64, got {d} (autograd_c tensors are floating point)")


# ---------------------------------------------------------------------------------------------
# conversion from Python / numpy

cdef void _release_pyobj(void *o) noexcept with gil:
    Py_DECREF(<object>o)


cdef Tensor _from_array_copy(object arr, int code):
    """A fresh C-contiguous tensor holding a copy of a numeric numpy array."""
    cdef cnp.ndarray a
    cdef int64_t shape[8]
    cdef int i, nd
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a tensor from an array of dtype {arr.dtype} "
                        "(only bool, integer and floating point data are converted)")
    if code < 0:
        # by kind and size, not dtype equality: a big-endian float64 is float64 too
        code = AG_F64 if arr.dtype.kind == "f" and arr.dtype.itemsize >= 8 else AG_F32
    a = np.asarray(arr, dtype=_DTYPES[code], order="C")
    nd = a.ndim
    if nd > AG_MAXDIM:
        raise ValueError(f"tensors have at most {AG_MAXDIM} dimensions, got {nd}")
    for i in range(nd):
        shape[i] = a.shape[i]
    cdef Tensor r = _wrap(ag_tensor_empty(code, nd, shape))
    if a.nbytes:
        memcpy(r.t.storage.data, cnp.PyArray_DATA(a), a.nbytes)
    return r


cdef Tensor _coerce(object x, int code):
    """x as a Tensor; Python scalars and arrays take dtype `code` (or their own when -1)."""
    if type(x) is Tensor:
        return <Tensor>x
    if isinstance(x, Tensor):
        return <Tensor>x
    if isinstance(x, (float, int)) and code >= 0:
        return _wrap(ag_tensor_scalar(code, <double>x))
    if isinstance(x, (float, int, bool)) and not isinstance(x, np.generic):
        return _wrap(ag_tensor_scalar(AG_F32, <double>x))
    try:
        arr = np.asarray(x)
    except Exception as e:
        raise TypeError(f"cannot convert {type(x).__name__} to a tensor: {e}")
    if arr.dtype == object:
        raise TypeError(f"cannot convert {type(x).__name__} to a tensor (object array)")
    if code < 0 and isinstance(x, (list, tuple)):
        code = AG_F32       # as ag.tensor: Python sequences give float32
    return _from_array_copy(arr, code)


def tensor(data, dtype=None, requires_grad=False):
    """Create a tensor holding a copy of ``data``.

    float64 numpy input stays float64; Python floats, lists and other numeric arrays give
    float32 unless ``dtype`` says otherwise.

    Parameters
    ----------
    data : array_like or Tensor
    dtype : {None, "float32", "float64"}
    requires_grad : bool
        Record operations on this tensor so that ``backward`` can compute its gradient (a bool:
        another type raises TypeError, as in PyTorch).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    cdef int code = _dtype_code(dtype)
    cdef int rg = _bool_arg(requires_grad, "tensor()", "requires_grad", True)
    cdef Tensor r
    if isinstance(data, Tensor):
        src = <Tensor>data
        r = _wrap(ag_tensor_cast(src.t, src.t.dtype if code < 0 else code))
    else:
        if isinstance(data, (float, int)) and not isinstance(data, (bool, np.generic)):
            arr = np.asarray(data, dtype=np.float64 if code == AG_F64 else np.float32)
        else:
            try:
                arr = np.asarray(data)
            except (ValueError, TypeError) as e:
                raise type(e)(f"tensor: cannot convert {type(data).__name__} to an array: {e}") from None
        if arr.dtype == object:
            raise TypeError("tensor: cannot convert an object array (ragged or non-numeric data)")
        if arr.dtype.kind == "c":
            raise TypeError("tensor: complex data is not supported")
        if requires_grad and arr.dtype.kind not in "f" and code < 0:
            raise TypeError(f"tensor: only floating point data can require gradients, got {arr.dtype}; "
                            "pass dtype='float32' or 'float64' explicitly to convert")
        if isinstance(data, (list, tuple)) and code < 0:
            code = AG_F32
        r = _from_array_copy(arr, code)
    if rg:
        r.t.requires_grad = 1
    return r


def from_numpy(object a):
    """Wrap a float32/float64 numpy array without copying: the tensor and the array share memory.

    The array is kept alive as long as the tensor (or any view of it) lives.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> a = np.zeros(3); t = ag.from_numpy(a); a[0] = 5.0; float(t[0])
    5.0
    """
    cdef cnp.ndarray arr
    cdef int64_t shape[8]
    cdef int64_t strides[8]
    cdef int i, nd, code
    cdef ag_storage *s
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    arr = <cnp.ndarray>a
    if arr.dtype not in _DTYPES or not arr.dtype.isnative:
        raise TypeError(f"from_numpy: only native-byte-order float32 and float64 arrays can share memory, "
                        f"got {arr.dtype}; use ag.tensor(a) to convert with a copy")
    if not arr.flags.writeable:
        raise ValueError("from_numpy: the array is read-only; use ag.tensor(a) to copy it")
    if not arr.flags.aligned:
        raise ValueError("from_numpy: the array's data is not aligned to its itemsize (e.g. a view "
                         "at an odd byte offset); use ag.tensor(a) to copy it")
    nd = arr.ndim
    if nd > AG_MAXDIM:
        raise ValueError(f"tensors have at most {AG_MAXDIM} dimensions, got {nd}")
    code = AG_F32 if arr.dtype == float32 else AG_F64
    isz = arr.itemsize
    for i in range(nd):
        shape[i] = arr.shape[i]
        if arr.strides[i] < 0 or arr.strides[i] % isz:
            raise ValueError("from_numpy: arrays with negative or unaligned strides cannot be shared; "
                             "use ag.tensor(a) (copies) or np.ascontiguousarray(a) first")
        strides[i] = arr.strides[i] // isz
    Py_INCREF(arr)
    s = ag_storage_wrap(cnp.PyArray_DATA(arr), arr.nbytes, <void *>arr, _release_pyobj)
    if s == NULL:
        Py_DECREF(arr)
        _raise()
    cdef ag_tensor *t = ag_tensor_from_storage(s, code, nd, shape, strides, 0)
    ag_storage_decref(s)
    return _wrap(t)


# ---------------------------------------------------------------------------------------------
# hooks: the only place where the backward sweep calls Python

# A hook id's callables live in a dict {token: fn}.  The registry keeps that dict through a
# _HookSlot, which the garbage collector does not track, so the registry's reference is as
# invisible to the collector as the C side's (the tensor, and a non-leaf's grad_fn node, carry
# only the id).  The tensor's wrapper accounts for that hidden reference: when the wrapper is the
# only owner of its C tensor, and the tensor the only owner of its grad_fn node, nothing but that
# wrapper can ever fire the hooks, so its traverse reports the registry's reference to the dict
# as its own (a second visit after its _hookfns one; a wrapper made before the first hook was
# registered, through another wrapper, has no _hookfns and visits the dict, found by id, once).
# A hook that holds its own tensor is then an ordinary cycle that gc.collect() frees (PyTorch's
# tensor traverse makes the same sole-owner test).  While anything else holds the tensor or its node
# (a graph, a second wrapper), the dict stays alive, so hooks fire after their wrapper is gone.

@cython.no_gc
cdef class _HookSlot:
    cdef readonly dict fns

    def __cinit__(self):
        self.fns = {}


_hooks = {}          # hook id -> _HookSlot
cdef dict _hook_slots = _hooks   # the same dict, typed: the traverse looks a slot up by id
_next_hook = [0]     # the last hook id or handle token handed out
# hook id -> number of C objects still carrying it (the tensor, and a non-leaf's grad_fn node);
# when the last one is freed, the core calls _hook_release and the callables are dropped
_hook_holders = {}

cdef extern from "Python.h":
    ctypedef int (*visitproc)(PyObject *, void *)
    ctypedef int (*traverseproc)(PyObject *, visitproc, void *)
    ctypedef struct _TypeWithTraverse "PyTypeObject":
        traverseproc tp_traverse


cdef void _adopt_hooks(Tensor r):
    """point wrapper r at the hooks of its C tensor, for its traverse"""
    cdef _HookSlot slot = _hooks.get(r.t.hook_id)
    if slot is not None:
        r._hookfns = slot.fns


cdef int _visit_hidden_hooks(Tensor w, visitproc visit, void *arg) noexcept:
    cdef ag_tensor *t = w.t
    cdef PyObject *slot
    if t == NULL or t.hook_id <= 0 or t.refcount != 1:
        return 0
    # refcount is ag_node's first member (csrc/ag_internal.h); ag.h keeps the node opaque
    if t.grad_fn != NULL and (<int64_t *>t.grad_fn)[0] != 1:
        return 0
    if w._hookfns is not None:
        return visit(<PyObject *>w._hookfns, arg)
    # a wrapper made before the first hook was registered (through another wrapper, since
    # dropped) holds no reference to the dict: report the registry's, found by id
    slot = PyDict_GetItem(_hook_slots, t.hook_id)
    if slot == NULL:
        return 0
    return visit(<PyObject *>(<_HookSlot>slot).fns, arg)


cdef traverseproc _tensor_traverse_base = (<_TypeWithTraverse *><PyObject *>Tensor).tp_traverse

cdef int _tensor_traverse(PyObject *o, visitproc visit, void *arg) noexcept:
    cdef int r = _tensor_traverse_base(o, visit, arg)
    if r:
        return r
    return _visit_hidden_hooks(<Tensor>o, visit, arg)

(<_TypeWithTraverse *><PyObject *>Tensor).tp_traverse = _tensor_traverse


cdef ag_tensor *_hook_trampoline(int64_t hid, ag_tensor *g, void *ctx) noexcept with gil:
    cdef Tensor cur
    cdef _HookSlot slot
    try:
        slot = _hooks.get(hid)
        fns = list(slot.fns.values()) if slot is not None else ()
        cur = _wrap_borrowed(g)
        for fn in fns:
            out = fn(cur)
            if out is not None:
                try:
                    nxt = _coerce(out, g.dtype)
                except TypeError as e:
                    raise TypeError(f"hook returned {type(out).__name__}, which is not a "
                                    f"gradient (return None or a tensor of shape "
                                    f"{tuple(cur.shape)}): {e}") from e
                if nxt.t.dtype != g.dtype:
                    raise TypeError(f"hook returned a gradient of dtype {nxt.dtype}, expected "
                                    f"{cur.dtype} (the dtype of the gradient it was given)")
                if tuple(nxt.shape) != tuple(cur.shape):
                    raise ValueError(f"hook returned a gradient of shape {tuple(nxt.shape)}, "
                                     f"expected {tuple(cur.shape)}")
                cur = nxt
        ag_tensor_incref(cur.t)
        return cur.t
    except BaseException as e:
        _pending_hook_error.exc = e
        ag_set_error(AG_ERUNTIME, b"a backward hook raised an exception")
        return NULL

ag_set_hook_callback(_hook_trampoline, NULL)


cdef void _hook_release(int64_t hid) noexcept with gil:
    try:
        left = _hook_holders.get(hid, 1) - 1
        if left > 0:
            _hook_holders[hid] = left
        else:
            _hook_holders.pop(hid, None)
            _hooks.pop(hid, None)
    except BaseException:
        pass

ag_set_hook_release(_hook_release)


def _stop_hook_release():
    ag_set_hook_release(NULL)     # at exit: nothing to drop once the interpreter winds down

import atexit as _atexit
_atexit.register(_stop_hook_release)


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook (once: a second call,
    or a call after the tensor was freed, does nothing).  The handle holds neither the hook nor
    the tensor."""

    def __init__(self, registry, key, token):
        self._registry, self._key, self._token = registry, key, token

    def remove(self):
        slot = self._registry.get(self._key)
        if slot is not None:
            slot.fns.pop(self._token, None)


cpdef bint _bool_arg(value, str who, str arg, bint torch_style=False) except -1:
    """The one check of a bool flag: True/False for a bool or numpy bool; anything else (1,
    "yes", None...) raises TypeError "<who>: <arg> must be a bool, got <type> <repr>".

    ``torch_style`` words it as PyTorch's argument parser does, "<who>: argument '<arg>' must be
    bool, not <type>" (``who`` is then e.g. "tensor()"; an empty ``who`` gives "<arg> must be
    bool, not <type>"), for the functions that mirror a PyTorch signature.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    tname = type(value).__name__
    if torch_style:
        raise TypeError(f"{who}: argument '{arg}' must be bool, not {tname}" if who
                        else f"{arg} must be bool, not {tname}")
    try:
        text = repr(value)
    except Exception:
        text = "<unprintable>"
    if len(text) > 80:
        text = text[:77] + "..."
    raise TypeError(f"{who}: {arg} must be a bool, got {tname} {text}")


def _rebuild_tensor(data, requires_grad):
    """Unpickle a Tensor written by ``Tensor.__reduce__`` (data must be float32/float64)."""
    if not isinstance(data, np.ndarray) or data.dtype not in _DTYPES:
        raise TypeError("_rebuild_tensor: expected a float32/float64 numpy array")
    cdef Tensor r = _from_array_copy(data, AG_F32 if data.dtype == float32 else AG_F64)
    if requires_grad:
        r.t.requires_grad = 1
    return r


# ---------------------------------------------------------------------------------------------
# the Tensor

_dispatch_module = None
_UFUNC_BINOPS = {np.add: AG_OP_add, np.subtract: AG_OP_sub, np.multiply: AG_OP_mul,
                 np.divide: AG_OP_div, np.power: AG_OP_pow, np.maximum: AG_OP_maximum,
                 np.minimum: AG_OP_minimum, np.equal: AG_OP_eq, np.not_equal: AG_OP_ne,
                 np.less: AG_OP_lt, np.less_equal: AG_OP_le, np.greater: AG_OP_gt,
                 np.greater_equal: AG_OP_ge}

cdef object _numpy_dispatch():
    """the protocol module, imported on first use (it imports this module)"""
    global _dispatch_module
    if _dispatch_module is None:
        from . import _numpy_dispatch as m
        _dispatch_module = m
    return _dispatch_module


@cython.freelist(64)
cdef class Tensor:
    """An n-dimensional float32/float64 array that records operations for differentiation.

    Create tensors with :func:`autograd_c.tensor`, :func:`autograd_c.from_numpy` or the
    creation functions (``zeros``, ``randn``...).  ``np.asarray(t)`` is a zero-copy view.
    """

    __array_priority__ = 1000

    # np.sin(t), np.sum(t), array * t ... run autograd_c's ops (autograd_c/_numpy_dispatch.py)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # array (op) tensor: the arithmetic and comparison ufuncs straight to the op, the rest
        # (and every keyword) through the protocol module
        if method == "__call__" and not kwargs and len(inputs) == 2:
            op = _UFUNC_BINOPS.get(ufunc)
            if op is not None:
                return _binop(op, inputs[0], inputs[1])
        return _numpy_dispatch().array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _numpy_dispatch().array_function(func, args, kwargs)

    def __cinit__(self):
        self.t = NULL

    def __dealloc__(self):
        if self.t != NULL:
            ag_tensor_decref(self.t)
            self.t = NULL

    def __init__(self, *args, **kwargs):
        raise TypeError("create tensors with autograd_c.tensor(data), not Tensor(...)")

    # ---- buffer protocol: np.asarray(t) is a zero-copy view
    def __getbuffer__(self, Py_buffer *buf, int flags):
        cdef Py_ssize_t isz = 4 if self.t.dtype == AG_F32 else 8
        cdef Py_ssize_t *meta = <Py_ssize_t *>malloc(sizeof(Py_ssize_t) * 2 * (self.t.ndim + 1))
        cdef int i
        if meta == NULL:
            raise MemoryError()
        # a consumer that does not take strides (hashlib, file.write...) or asks for contiguous
        # data reads buf.len bytes from buf.buf: wrong data for a strided view, and past the end
        # of the storage for a reversed one
        if not ag_tensor_is_contiguous(self.t) and (
                (flags & PyBUF_STRIDES) != PyBUF_STRIDES or
                flags & (PyBUF_C_CONTIGUOUS | PyBUF_F_CONTIGUOUS | PyBUF_ANY_CONTIGUOUS) & ~PyBUF_STRIDES):
            free(meta)
            raise BufferError(f"this tensor (shape {self.shape}) is a non-contiguous view and the "
                              "consumer needs contiguous memory; use t.contiguous() or np.asarray(t)")
        # numpy writes do not bump the version: a structural hint cannot survive the export
        ag_storage_drop_diag(self.t.storage)
        for i in range(self.t.ndim):
            meta[i] = self.t.shape[i]
            meta[self.t.ndim + i] = self.t.strides[i] * isz
        buf.buf = <char *>self.t.storage.data + self.t.offset * isz
        buf.format = b"f" if self.t.dtype == AG_F32 else b"d"
        buf.internal = meta
        buf.itemsize = isz
        buf.len = self.t.size * isz
        buf.ndim = self.t.ndim
        buf.obj = self
        buf.readonly = 0
        for i in range(self.t.ndim):
            if self.t.strides[i] == 0 and self.t.shape[i] > 1:
                # a broadcast view: one write would change every element that aliases it, so
                # the export is read-only, as numpy's own broadcast views
                if flags & PyBUF_WRITABLE:
                    free(meta)
                    raise BufferError("a broadcast tensor view cannot be exported writable")
                buf.readonly = 1
        buf.shape = meta
        buf.strides = meta + self.t.ndim
        buf.suboffsets = NULL
        if (flags & PyBUF_STRIDES) != PyBUF_STRIDES:
            buf.strides = NULL           # contiguous here (checked above): implied by the shape
        if (flags & PyBUF_ND) != PyBUF_ND:
            buf.ndim = 1                 # plain bytes (hashlib, file.write), as PyBuffer_FillInfo
            buf.shape = NULL

    def __releasebuffer__(self, Py_buffer *buf):
        free(buf.internal)

    def numpy(self):
        """A numpy view of this tensor's memory (no copy)."""
        return np.asarray(self)

    def __array__(self, dtype=None, copy=None):
        """numpy's array protocol (numpy 2's signature): a view of this tensor's memory, or a
        copy when ``copy`` is True or ``dtype`` differs; ``copy=False`` with another dtype
        raises ValueError, as numpy's own arrays do."""
        a = np.asarray(self)
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError(f"__array__: a tensor of dtype {a.dtype} cannot be converted to "
                                 f"{np.dtype(dtype)} without a copy (copy=False)")
            return a.astype(dtype)
        return a.copy() if copy else a

    # ---- metadata
    @property
    def shape(self):
        """The size of each axis, a tuple of ints (PyTorch's ``t.shape`` / ``t.size()``)."""
        return tuple([self.t.shape[i] for i in range(self.t.ndim)])

    @property
    def dtype(self):
        """The element type, ``numpy.dtype('float32')`` or ``numpy.dtype('float64')``."""
        return _DTYPES[self.t.dtype]

    @property
    def ndim(self):
        """The number of axes (``t.dim()`` in PyTorch)."""
        return self.t.ndim

    @property
    def size(self):
        """The number of elements, an int (numpy's ``ndarray.size``).

        PyTorch's ``t.size()`` is the shape: use ``t.shape``, or ``t.numel()`` for this count.
        """
        return self.t.size

    def __len__(self):
        if self.t.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.t.shape[0]

    def __contains__(self, value):
        """``v in t``: whether any element equals v (numpy's and PyTorch's meaning)."""
        return bool(np.any(np.asarray(self) == np.asarray(value)))

    def __iter__(self):
        if self.t.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.t.shape[0]):
            yield self[i]

    def __hash__(self):
        return id(self) >> 4

    @property
    def requires_grad(self):
        """Whether operations on this tensor are recorded for differentiation.

        Assigning it takes a bool only (TypeError otherwise, as in PyTorch).
        """
        return bool(self.t.requires_grad)

    @requires_grad.setter
    def requires_grad(self, value):
        if ag_set_requires_grad(self.t, _bool_arg(value, "", "requires_grad", True)):
            _raise()

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self.

        ``requires_grad`` must be a bool (or numpy bool): anything else raises TypeError, as in
        PyTorch.
        """
        cdef int flag = _bool_arg(requires_grad, "requires_grad_()", "requires_grad", True)
        if ag_set_requires_grad(self.t, flag):
            _raise()
        return self

    @property
    def is_leaf(self):
        """True for a tensor made by the user (not computed by a recorded op): backward fills its
        ``.grad``.
        """
        return self.t.grad_fn == NULL

    @property
    def grad_fn(self):
        """Name of the op that produced this tensor, or None for a leaf."""
        if self.t.grad_fn == NULL:
            return None
        return ag_node_name(self.t.grad_fn).decode()

    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (a Tensor of this shape and dtype), or None.

        Assign a Tensor or array of the same shape and dtype, or None to release it.
        """
        if self.t.grad == NULL:
            return None
        return _wrap_borrowed(self.t.grad)

    @grad.setter
    def grad(self, value):
        cdef Tensor g
        if value is None:
            ag_tensor_decref(self.t.grad)
            self.t.grad = NULL
            return
        g = _coerce(value, self.t.dtype)
        if g.shape != self.shape:
            raise ValueError(f"grad: assigned gradient of shape {g.shape} to a tensor of shape {self.shape}")
        if g.t.dtype != self.t.dtype:
            raise TypeError(f"grad: assigned gradient of dtype {g.dtype} to a tensor of dtype "
                            f"{self.dtype} (convert it with .astype())")
        ag_tensor_incref(g.t)
        ag_tensor_decref(self.t.grad)
        self.t.grad = g.t

    @property
    def tangent(self):
        """Forward-mode tangent carried by this tensor (inside ``ag.jvp``), or None (always
        None once the transform that set it has returned)."""
        cdef ag_tensor *tan = ag_tangent_of(self.t)
        if tan == NULL:
            return None
        return _wrap_borrowed(tan)

    def _set_tangent(self, tangent):
        cdef Tensor tt
        if tangent is None:
            ag_set_tangent(self.t, NULL)
            return
        tt = _coerce(tangent, self.t.dtype)
        if ag_set_tangent(self.t, tt.t):
            _raise()

    @property
    def _version(self):
        return self.t.storage.version

    @property
    def T(self):
        """The transpose, all axes reversed (numpy's ``.T``).

        For a 2-D tensor this is PyTorch's ``.T``; for a batch of matrices use ``mT``.
        """
        return transpose(self)

    @property
    def mT(self):
        """The last two axes swapped (PyTorch's ``mT``): each matrix of a batch transposed."""
        return swapaxes(self, -1, -2)

    def item(self):
        """The single element as a Python float."""
        if self.t.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                             f"scalar, this one has shape {self.shape}")
        return ag_tensor_get_flat(self.t, 0)

    def __float__(self):
        return self.item()

    def __int__(self):
        return int(self.item())

    def __format__(self, spec):
        # f"{loss:.4f}": a 0-d tensor formats as its value (as in PyTorch); f"{t}" stays str(t)
        if self.t.ndim == 0 and spec:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __bool__(self):
        if self.t.size != 1:
            raise ValueError(f"the truth value of a tensor with {'no' if self.t.size == 0 else 'more than one'} "
                             f"element is ambiguous (shape {self.shape})")
        return self.item() != 0

    def tolist(self):
        """The values as nested Python lists of floats (a float for a 0-d tensor)."""
        return self.numpy().tolist()

    def detach(self):
        """A tensor sharing this one's memory, outside the graph."""
        return _wrap(ag_tensor_alias(self.t))

    def __reduce__(self):
        """Pickle support: the data (a C-contiguous numpy copy) and ``requires_grad``.  The
        graph is not saved: a non-leaf pickles as its data, like a detached leaf with the same
        ``requires_grad``; ``.grad`` and tangents are not kept (PyTorch's pickling drops
        ``.grad`` too).  ``copy.deepcopy`` keeps ``.grad``: see ``__deepcopy__``."""
        return (_rebuild_tensor, (np.array(self, copy=True, order="C"), bool(self.t.requires_grad)))

    def __deepcopy__(self, memo):
        """``copy.deepcopy(t)``: what pickling keeps (the data and ``requires_grad``, a leaf)
        and a copy of ``.grad``, as in PyTorch; nothing is shared with ``t``."""
        cdef Tensor r = _rebuild_tensor(np.array(self, copy=True, order="C"),
                                        bool(self.t.requires_grad))
        if self.t.grad != NULL:
            r.grad = _wrap(ag_tensor_contiguous_copy(self.t.grad))
        return r

    def copy(self):
        """A copy of the data, outside the graph (see ``clone`` for a recorded copy)."""
        return _wrap(ag_tensor_contiguous_copy(self.t))

    def clone(self):
        """A recorded copy: gradients flow back to this tensor."""
        return _wrap(ag_contiguous(self.t))

    def contiguous(self):
        """This tensor if its memory is C-contiguous, else a recorded C-contiguous copy."""
        if ag_tensor_is_contiguous(self.t):
            return self
        return _wrap(ag_contiguous(self.t))

    def is_contiguous(self):
        """Whether the elements lie in memory in C (row-major) order without gaps."""
        return bool(ag_tensor_is_contiguous(self.t))

    def astype(self, dtype):
        """Convert to ``dtype`` (recorded: gradients flow back, cast to the original dtype)."""
        cdef int code = _dtype_code(dtype)
        if code == self.t.dtype:
            return self
        return _wrap(ag_astype(self.t, code))

    def float(self):
        """This tensor as float32 (``astype(float32)``, recorded; self when already float32)."""
        return self.astype(float32)

    def double(self):
        """This tensor as float64 (``astype(float64)``, recorded; self when already float64)."""
        return self.astype(float64)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.t.size == 0 and self.t.ndim != 1:   # "[]" alone does not say (0, 3) from (2, 0)
            extra += f", size={tuple(self.shape)}"
        if self.t.dtype == AG_F64:
            extra += ", dtype=float64"
        if self.t.grad_fn != NULL:
            extra += f", grad_fn=<{self.grad_fn}>"
        elif self.t.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- autograd
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Parameters
        ----------
        grad : Tensor or array_like, optional
            Cotangent of ``self``; required unless ``self`` has a single element.
        retain_graph : bool
            Keep the saved values so that backward can run again through this graph.
        create_graph : bool
            Record the backward itself, so the gradients can be differentiated again.
        """
        cdef Tensor g = None
        cdef ag_tensor *gp = NULL
        cdef int rg = 1 if retain_graph or create_graph else 0
        cdef int cg = 1 if create_graph else 0
        cdef int st
        if grad is not None:
            g = _coerce(grad, self.t.dtype)
            gp = g.t
        with nogil:
            st = ag_backward(self.t, gp, rg, cg)
        if st:
            _raise()

    def register_hook(self, fn):
        """Call ``fn(grad)`` when this tensor's gradient is computed; a non-None return value
        replaces the gradient.  Returns a handle with ``remove()``."""
        cdef int64_t hid = self.t.hook_id
        cdef _HookSlot slot
        if not callable(fn):
            raise TypeError(f"register_hook: hook must be callable, got {type(fn).__name__}")
        if not self.t.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if hid <= 0:
            _next_hook[0] += 1
            hid = _next_hook[0]
            if ag_tensor_set_hook(self.t, hid):
                _raise()
            _hook_holders[hid] = 2 if self.t.grad_fn != NULL else 1
            _hooks[hid] = _HookSlot()
        slot = _hooks.get(hid)
        if slot is None:           # defensive: the slot lives until the tensor and its node go
            slot = _hooks[hid] = _HookSlot()
        _next_hook[0] += 1
        slot.fns[_next_hook[0]] = fn
        _adopt_hooks(self)
        return RemovableHandle(_hooks, hid, _next_hook[0])

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if ag_retain_grad(self.t):
            _raise()

    @property
    def retains_grad(self):
        """Whether ``retain_grad()`` was called: a non-leaf then keeps its ``.grad`` after
        backward.
        """
        return bool(self.t.retains_grad)

    # ---- in place (outside the graph)
    def zero_(self):
        """Set every element to 0 in place and return self.

        In-place ops are not recorded: refused on a tensor in a recorded graph or a leaf that
        requires grad (use ``ag.no_grad()``).
        """
        if ag_fill(self.t, 0.0):
            _raise()
        return self

    def fill_(self, value):
        """Set every element to ``value`` (a real number, or a one-element tensor or array) in
        place; a value that requires grad is refused, as in ``copy_``."""
        cdef double v
        _refuse_grad_source(value, "fill_")
        if isinstance(value, (Tensor, np.ndarray)):
            if np.size(value) != 1:
                raise ValueError(f"fill_: the value must be a number or a one-element tensor, "
                                 f"got one of shape {tuple(np.shape(value))}")
            if np.asarray(value).dtype.kind not in "biuf":
                raise TypeError(f"fill_: the value must be a real number, got an array of dtype "
                                f"{np.asarray(value).dtype}")
            v = float(np.asarray(value).reshape(()))
        elif isinstance(value, (numbers.Real, np.bool_)):
            v = float(value)
        else:
            raise TypeError(f"fill_: the value must be a real number or a one-element tensor, "
                            f"got {type(value).__name__}")
        if ag_fill(self.t, v):
            _raise()
        return self

    def copy_(self, src):
        """Copy ``src``'s values (broadcast to this shape, cast to this dtype) in place; returns
        self.

        Not recorded: a ``src`` that requires grad is refused (PyTorch would record the copy).
        """
        cdef Tensor s = _coerce(src, self.t.dtype)
        _refuse_grad_source(s, "copy_")
        if ag_copy_into(self.t, s.t):
            _raise()
        return self

    def _inplace(self, int op, other):
        cdef Tensor o = _coerce(other, self.t.dtype)
        if ag_inplace_check(self.t, ag_op_name(op)):
            _raise()
        _refuse_grad_source(o, "in-place " + ag_op_name(op).decode())
        if ag_inplace_binary(self.t, o.t, op):
            _raise()
        return self

    def __iadd__(self, other):
        return self._inplace(AG_OP_add, other)

    def __isub__(self, other):
        return self._inplace(AG_OP_sub, other)

    def __imul__(self, other):
        return self._inplace(AG_OP_mul, other)

    def __itruediv__(self, other):
        return self._inplace(AG_OP_div, other)

    def add_(self, other):
        """In-place ``self += other`` (other broadcast to this shape); returns self.

        Not recorded: refused on a tensor in a recorded graph or a leaf that requires grad, where
        PyTorch records it.
        """
        return self._inplace(AG_OP_add, other)

    def sub_(self, other):
        """In-place ``self -= other`` (other broadcast to this shape); returns self.

        Not recorded: refused on a tensor in a recorded graph or a leaf that requires grad, where
        PyTorch records it.
        """
        return self._inplace(AG_OP_sub, other)

    def mul_(self, other):
        """In-place ``self *= other`` (other broadcast to this shape); returns self.

        Not recorded: refused on a tensor in a recorded graph or a leaf that requires grad, where
        PyTorch records it.
        """
        return self._inplace(AG_OP_mul, other)

    def div_(self, other):
        """In-place ``self /= other`` (other broadcast to this shape); returns self.

        Not recorded: refused on a tensor in a recorded graph or a leaf that requires grad, where
        PyTorch records it.
        """
        return self._inplace(AG_OP_div, other)

    # ---- operators
    def __add__(self, other):
        return _binop(AG_OP_add, self, other)

    def __radd__(self, other):
        return _binop(AG_OP_add, other, self)

    def __sub__(self, other):
        return _binop(AG_OP_sub, self, other)

    def __rsub__(self, other):
        return _binop(AG_OP_sub, other, self)

    def __mul__(self, other):
        return _binop(AG_OP_mul, self, other)

    def __rmul__(self, other):
        return _binop(AG_OP_mul, other, self)

    def __truediv__(self, other):
        return _binop(AG_OP_div, self, other)

    def __rtruediv__(self, other):
        return _binop(AG_OP_div, other, self)

    def __pow__(self, other, mod):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported")
        return _binop(AG_OP_pow, self, other)

    def __rpow__(self, other, mod):
        return _binop(AG_OP_pow, other, self)

    def __floordiv__(self, other):
        return floor_divide(self, other)

    def __rfloordiv__(self, other):
        return floor_divide(other, self)

    def __mod__(self, other):
        return remainder(self, other)

    def __rmod__(self, other):
        return remainder(other, self)

    def __divmod__(self, other):
        return _divmod(self, other)

    def __rdivmod__(self, other):
        return _divmod(other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return _unary(AG_OP_neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(AG_OP_abs, self)

    def __lt__(self, other):
        return _binop(AG_OP_lt, self, other)

    def __le__(self, other):
        return _binop(AG_OP_le, self, other)

    def __gt__(self, other):
        return _binop(AG_OP_gt, self, other)

    def __ge__(self, other):
        return _binop(AG_OP_ge, self, other)

    def __eq__(self, other):
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented   # Python then answers False (t == None, t == "mean", t in [None])
        return _binop(AG_OP_eq, self, other)

    def __ne__(self, other):
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented
        return _binop(AG_OP_ne, self, other)

    # ---- indexing
    def __getitem__(self, key):
        return _getitem(self, key)

    def __setitem__(self, key, value):
        _setitem(self, key, value)

    # ---- methods mirroring the functions
    # dtype / out: numpy's reductions (np.sum(t), np.mean(t)...) call these methods with them
    def sum(self, axis=None, keepdims=False, dtype=None, out=None, *, dim=None, keepdim=None):
        """Sum over ``axis`` (all elements when None), ``ag.sum``; ``dim``/``keepdim`` are
        PyTorch's names.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("sum", axis, None, keepdims, dim, keepdim)
        return sum(_method_input(self, "sum", dtype, out), axis, keepdims)

    def mean(self, axis=None, keepdims=False, dtype=None, out=None, *, dim=None, keepdim=None):
        """Arithmetic mean over ``axis`` (all elements when None), ``ag.mean``; ``dim``/``keepdim``
        also work.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("mean", axis, None, keepdims, dim, keepdim)
        return mean(_method_input(self, "mean", dtype, out), axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0, dtype=None, out=None, *, dim=None,
            keepdim=None):
        """Variance over ``axis`` (all elements when None) with ``ddof`` (numpy's default 0, the
        population variance).

        PyTorch's ``var`` defaults to the unbiased estimate: pass ``ddof=1`` for it.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("var", axis, None, keepdims, dim, keepdim)
        return var(_method_input(self, "var", dtype, out), axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0, dtype=None, out=None, *, dim=None,
            keepdim=None):
        """Standard deviation over ``axis`` (all elements when None) with ``ddof`` (numpy's default
        0).

        PyTorch's ``std`` defaults to the unbiased estimate: pass ``ddof=1`` for it.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("std", axis, None, keepdims, dim, keepdim)
        return std(_method_input(self, "std", dtype, out), axis, keepdims, ddof)

    def max(self, axis=None, keepdims=False, out=None, *, dim=None, keepdim=None):
        """The largest value over ``axis`` (all elements when None), ``ag.max``.

        With ``dim`` it returns the values only, not PyTorch's ``(values, indices)``: use
        ``argmax`` for those.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("max", axis, None, keepdims, dim, keepdim)
        return max(_method_input(self, "max", None, out), axis, keepdims)

    def min(self, axis=None, keepdims=False, out=None, *, dim=None, keepdim=None):
        """The smallest value over ``axis`` (all elements when None), ``ag.min``.

        With ``dim`` it returns the values only, not PyTorch's ``(values, indices)``: use
        ``argmin`` for those.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("min", axis, None, keepdims, dim, keepdim)
        return min(_method_input(self, "min", None, out), axis, keepdims)

    def prod(self, axis=None, keepdims=False, dtype=None, out=None, *, dim=None, keepdim=None):
        """Product over ``axis`` (all elements when None), ``ag.prod``; ``dim``/``keepdim`` also
        work.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("prod", axis, None, keepdims, dim, keepdim)
        return prod(_method_input(self, "prod", dtype, out), axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """``log(sum(exp(self)))`` over ``axis``, computed stably (all elements when None, where
        PyTorch needs ``dim``).
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("logsumexp", axis, None, keepdims, dim, keepdim)
        return logsumexp(self, axis, keepdims)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The index of the largest value over ``axis`` (of the flattened tensor when None).

        Returns an int64 numpy array (or numpy integer), not a Tensor: indices carry no gradient.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("argmax", axis, None, keepdims, dim, keepdim)
        return np.argmax(self.numpy(), axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The index of the smallest value over ``axis`` (of the flattened tensor when None).

        Returns an int64 numpy array (or numpy integer), not a Tensor: indices carry no gradient.
        """
        if dim is not None or keepdim is not None:
            axis, keepdims = _dims_alias("argmin", axis, None, keepdims, dim, keepdim)
        return np.argmin(self.numpy(), axis=axis, keepdims=keepdims)

    def argsort(self, axis=-1, kind=None, order=None, *, stable=None):
        """The indices that sort this tensor along ``axis`` in the stable order: ``ag.argsort``
        (an int64 numpy array).

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.tensor([3.0, 1.0, 2.0]).argsort()
        array([1, 2, 0])
        """
        from .manipulation import argsort
        return argsort(self, axis, kind, order, stable=stable)

    def sort(self, axis=-1, kind=None, order=None, *, stable=None):
        """Sort in place along ``axis``, as numpy's ``ndarray.sort`` (returns None), in
        ``ag.sort``'s stable order; an in-place op, so not for a tensor in a recorded graph.
        ``ag.sort(t)`` returns a sorted copy that carries the gradient.

        Examples
        --------
        >>> import autograd_c as ag
        >>> t = ag.tensor([3.0, 1.0, 2.0]); t.sort(); t
        tensor([1., 2., 3.])
        """
        from .manipulation import sort
        if axis is None:
            raise TypeError("Tensor.sort: axis=None would flatten, which an in-place sort "
                            "cannot do (numpy's rule); use ag.sort(t, axis=None)")
        if ag_inplace_check(self.t, b"sort"):
            _raise()
        self.copy_(sort(self.detach(), axis, kind, order, stable=stable))

    def reshape(self, *shape):
        """The same elements in a new shape (ints or one tuple, one of them may be -1): a view when
        the layout allows, else a copy; recorded.
        """
        return reshape(self, *shape)

    def view(self, *shape):
        """The same memory seen with a new shape (ints or one tuple, one may be -1); recorded.

        As in PyTorch, a layout that needs a copy raises RuntimeError: use ``reshape``.
        """
        return _view(self, shape)

    def transpose(self, *axes):
        """numpy's transpose: ``t.transpose()`` reverses the axes and ``t.transpose(axes)`` (or
        one integer per axis) permutes them; two integer axes ``t.transpose(a, b)`` swap them, as
        PyTorch's (numpy would read ``transpose(0, 1)`` of a matrix as the identity).

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.zeros(2, 3).transpose(0, 1).shape
        (3, 2)
        >>> ag.zeros(2, 3, 4).transpose(2, 0, 1).shape
        (4, 2, 3)
        """
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            return swapaxes(self, axes[0], axes[1])
        return transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def permute(self, *dims):
        """The axes reordered as ``dims`` (a view; recorded), PyTorch's ``permute``."""
        return permute(self, *dims)

    def swapaxes(self, a, b):
        """Axes ``a`` and ``b`` exchanged (a view; recorded), numpy's ``swapaxes``."""
        return swapaxes(self, a, b)

    def squeeze(self, axis=None, *, dim=None):
        """Remove axes of size 1: all of them, or ``axis`` (an int or tuple; ``dim`` also works).

        As in numpy, naming an axis whose size is not 1 raises ValueError (PyTorch leaves it).
        """
        return squeeze(self, _dim_alias("squeeze", axis, None, dim) if dim is not None else axis)

    def unsqueeze(self, axis=None, *, dim=None):
        """Insert an axis of size 1 at ``axis`` (``dim``), which is required, as in PyTorch."""
        return unsqueeze(self, _dim_alias("unsqueeze", axis, None, dim) if dim is not None else axis)

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes ``start_dim`` to ``end_dim`` merged into one (all by default, giving 1-D);
        recorded.
        """
        return flatten(self, start_dim, end_dim)

    def expand(self, *shape):
        """A broadcast view of the given shape (ints or one tuple), PyTorch's ``expand``; recorded.
        """
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return broadcast_to(self, shape)

    def broadcast_to(self, shape):
        """A broadcast view of the given shape (numpy's ``broadcast_to``; exported to numpy
        read-only); recorded.
        """
        return broadcast_to(self, shape)

    def matmul(self, other):
        """The matrix product ``self @ other`` with numpy's broadcasting rules (1-D operands as
        vectors).
        """
        return matmul(self, other)

    def clip(self, a_min=None, a_max=None):
        """Elementwise ``min(max(self, a_min), a_max)`` (either bound may be None), numpy's
        ``clip``.
        """
        return clip(self, a_min, a_max)

    def exp(self):
        """Elementwise ``e ** x`` (recorded)."""
        return _unary(AG_OP_exp, self)

    def log(self):
        """Elementwise natural logarithm (recorded; -inf at 0, NaN below)."""
        return _unary(AG_OP_log, self)

    def sqrt(self):
        """Elementwise square root (recorded; NaN below 0)."""
        return _unary(AG_OP_sqrt, self)

    def tanh(self):
        """Elementwise hyperbolic tangent (recorded)."""
        return _unary(AG_OP_tanh, self)

    def sigmoid(self):
        """Elementwise logistic function ``1 / (1 + exp(-x))`` (recorded)."""
        return _unary(AG_OP_sigmoid, self)

    def relu(self):
        """Elementwise ``max(x, 0)`` (recorded; the gradient at 0 is 0, as in PyTorch)."""
        return _unary(AG_OP_relu, self)

    def abs(self):
        """Elementwise absolute value ``|x|`` (recorded; the gradient at 0 is 0, as in PyTorch)."""
        return _unary(AG_OP_abs, self)

    def sin(self):
        """Elementwise sine, in radians (recorded)."""
        return _unary(AG_OP_sin, self)

    def cos(self):
        """Elementwise cosine, in radians (recorded)."""
        return _unary(AG_OP_cos, self)

    def tan(self):
        """Elementwise tangent, in radians (recorded)."""
        return _unary(AG_OP_tan, self)

    def sinh(self):
        """Elementwise hyperbolic sine (recorded)."""
        return _unary(AG_OP_sinh, self)

    def cosh(self):
        """Elementwise hyperbolic cosine (recorded)."""
        return _unary(AG_OP_cosh, self)

    def arcsin(self):
        """Elementwise inverse sine (recorded; PyTorch's ``asin``)."""
        return _unary(AG_OP_arcsin, self)

    def arccos(self):
        """Elementwise inverse cosine (recorded; PyTorch's ``acos``)."""
        return _unary(AG_OP_arccos, self)

    def arctan(self):
        """Elementwise inverse tangent (recorded; PyTorch's ``atan``)."""
        return _unary(AG_OP_arctan, self)

    def arcsinh(self):
        """Elementwise inverse hyperbolic sine (recorded; PyTorch's ``asinh``)."""
        return _unary(AG_OP_arcsinh, self)

    def arccosh(self):
        """Elementwise inverse hyperbolic cosine (recorded; PyTorch's ``acosh``)."""
        return _unary(AG_OP_arccosh, self)

    def arctanh(self):
        """Elementwise inverse hyperbolic tangent (recorded; PyTorch's ``atanh``)."""
        return _unary(AG_OP_arctanh, self)

    def expm1(self):
        """Elementwise ``exp(x) - 1``, accurate for small x (recorded)."""
        return _unary(AG_OP_expm1, self)

    def exp2(self):
        """Elementwise ``2 ** x`` (recorded)."""
        return _unary(AG_OP_exp2, self)

    def log2(self):
        """Elementwise base-2 logarithm (recorded)."""
        return _unary(AG_OP_log2, self)

    def log10(self):
        """Elementwise base-10 logarithm (recorded)."""
        return _unary(AG_OP_log10, self)

    def log1p(self):
        """Elementwise ``log(1 + x)``, accurate for small x (recorded)."""
        return _unary(AG_OP_log1p, self)

    def floor(self):
        """Elementwise largest integer <= x, as a float.

        Not differentiable: the result does not require grad (PyTorch gives a zero gradient).
        """
        return _unary(AG_OP_floor, self)

    def ceil(self):
        """Elementwise smallest integer >= x, as a float.

        Not differentiable: the result does not require grad (PyTorch gives a zero gradient).
        """
        return _unary(AG_OP_ceil, self)

    def trunc(self):
        """Elementwise integer part (rounded toward 0), as a float.

        Not differentiable: the result does not require grad (PyTorch gives a zero gradient).
        """
        return _unary(AG_OP_trunc, self)

    def round(self, decimals=0):
        """Round to ``decimals`` places, halves to even (as numpy and PyTorch).

        Not differentiable: the result does not require grad (PyTorch gives a zero gradient).
        """
        return round(self, decimals)

    def square(self):
        """Elementwise ``x * x`` (recorded)."""
        return square(self)

    def reciprocal(self):
        """Elementwise ``1 / x`` (recorded)."""
        return reciprocal(self)

    @cython.embedsignature(False)
    def softmax(self, axis=_AXIS_LAST, *, dim=None):
        """Tensor.softmax(self, axis=-1, *, dim=None)

        ``exp(x) / sum(exp(x))`` along ``axis`` (``dim``), computed stably; the axis defaults to
        the last one.
        """
        return softmax(self, _dim_alias("softmax", axis, _AXIS_LAST, dim) if dim is not None else axis)

    @cython.embedsignature(False)
    def log_softmax(self, axis=_AXIS_LAST, *, dim=None):
        """Tensor.log_softmax(self, axis=-1, *, dim=None)

        ``x - logsumexp(x)`` along ``axis`` (``dim``), computed stably; the axis defaults to the
        last one.
        """
        return log_softmax(self, _dim_alias("log_softmax", axis, _AXIS_LAST, dim) if dim is not None else axis)

    def cumsum(self, axis=None, *, dim=None):
        """Cumulative sum along ``axis`` (``dim``); recorded.

        As in numpy, ``axis=None`` sums the flattened tensor (PyTorch requires ``dim``).
        """
        return cumsum(self, _dim_alias("cumsum", axis, None, dim) if dim is not None else axis)

    # ---- PyTorch spellings that do not conflict with numpy's (README "Conventions"; the
    # functions are in _ops_torch.pxi)
    def numel(self):
        """The number of elements, ``t.size`` (PyTorch's ``numel()``).

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.zeros(2, 3).numel()
        6
        """
        return self.t.size

    def dim(self):
        """The number of dimensions, ``t.ndim`` (PyTorch's ``dim()``; also ``ndimension()``).

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.zeros(2, 3).dim()
        2
        """
        return self.t.ndim

    def ndimension(self):
        """The number of axes, ``t.ndim`` (PyTorch's alias of ``dim()``)."""
        return self.t.ndim

    def clamp(self, min=None, max=None):
        """``ag.clamp(self, min, max)``: ``clip`` with PyTorch's argument names."""
        return clamp(self, min, max)

    def pow(self, exponent):
        """``self ** exponent`` (recorded)."""
        return _binop(AG_OP_pow, self, exponent)

    def norm(self, p="fro", dim=None, keepdim=False):
        """PyTorch's ``Tensor.norm``: the 2-norm over ``dim`` (all elements when None; ``p`` 2
        or "fro"), or the 1- or inf-norm (``p=1``, ``p=float("inf")``).

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.tensor([[3.0, 4.0], [0.0, 0.0]]).norm(dim=1)
        tensor([5., 0.])
        """
        return _tensor_norm(self, p, dim, keepdim)

    def detach_(self):
        """Take this leaf out of graph recording in place (``requires_grad = False``; ``.grad``
        is kept) and return it.  A non-leaf tensor raises: use ``detach()``.

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.ones(2, requires_grad=True).detach_().requires_grad
        False
        """
        if self.t.grad_fn != NULL:
            raise RuntimeError(f"detach_: this tensor was computed by {self.grad_fn} (it is not a "
                               "leaf), and only a leaf can be detached in place here; use detach(), "
                               "which returns a detached tensor sharing its memory")
        self.t.requires_grad = 0
        return self

    def to(self, *args, **kwargs):
        """PyTorch's ``to``: ``t.to(dtype)``, ``t.to("cpu")``, ``t.to("cpu", dtype)``,
        ``t.to(other)`` (other's dtype) or keywords ``dtype=``, ``device=``, ``copy=``,
        ``non_blocking=`` (ignored).  The device must be the CPU; a dtype change is recorded as
        ``astype``; self is returned when nothing changes and ``copy`` is False.

        Examples
        --------
        >>> import autograd_c as ag
        >>> ag.ones(2).to("float64").dtype
        dtype('float64')
        >>> t = ag.ones(2); t.to("cpu") is t
        True
        """
        return _tensor_to(self, args, kwargs)

    def cpu(self):
        """self: tensors live on the CPU."""
        return self

    @property
    def device(self):
        """``"cpu"``: the only device (PyTorch's ``t.device``)."""
        return "cpu"

    @property
    def data(self):
        """A tensor sharing this one's memory, outside the graph (``detach()``), as PyTorch's
        ``.data``.  In-place changes through it bump the shared version counter, so a backward
        that saved this tensor raises instead of using the changed values.  Assigning
        ``t.data = v`` copies v's values in (same shape and dtype).

        Examples
        --------
        >>> import autograd_c as ag
        >>> w = ag.ones(2, requires_grad=True); w.data.requires_grad
        False
        """
        return _wrap(ag_tensor_alias(self.t))

    @data.setter
    def data(self, value):
        _set_data(self, value)


# ---- the op functions, indexing and runtime controls, and the op families, each in its own
# include file (one module, split along its seams)
include "_ops_elementwise.pxi"
include "_ops_shape.pxi"
include "_indexing.pxi"
include "_runtime.pxi"
include "_linalg.pxi"
include "_optim.pxi"
include "_nn.pxi"
include "_ops_scan.pxi"
include "_ops_sort.pxi"
include "_ops_torch.pxi"
