# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Thin binding over the C core (csrc/ag.h).

Owns C tensor handles, validates arguments, releases the GIL around large kernels, and turns every
C status into a Python exception carrying the core's message.  Everything numeric happens in C.
"""
cimport cython
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from cpython.buffer cimport PyBUF_WRITABLE
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

import operator
import numpy as np
cimport numpy as cnp

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

_pending_hook_error = [None]

cdef int _raise() except -1:
    cdef int kind = ag_last_error_kind()
    exc = _pending_hook_error[0]
    if exc is not None:
        _pending_hook_error[0] = None
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
        Record operations on this tensor so that ``backward`` can compute its gradient.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """
    cdef int code = _dtype_code(dtype)
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
        if isinstance(data, list) and code < 0:
            code = AG_F32
        r = _from_array_copy(arr, code)
    if requires_grad:
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

_hooks = {}
_next_hook = [0]

cdef ag_tensor *_hook_trampoline(int64_t hid, ag_tensor *g, void *ctx) noexcept with gil:
    cdef Tensor cur
    try:
        fns = _hooks.get(hid, ())
        cur = _wrap_borrowed(g)
        for fn in list(fns):
            out = fn(cur)
            if out is not None:
                nxt = _coerce(out, g.dtype)
                if tuple(nxt.shape) != tuple(cur.shape):
                    raise ValueError(f"hook returned a gradient of shape {tuple(nxt.shape)}, "
                                     f"expected {tuple(cur.shape)}")
                cur = nxt
        ag_tensor_incref(cur.t)
        return cur.t
    except BaseException as e:
        _pending_hook_error[0] = e
        ag_set_error(AG_ERUNTIME, b"a backward hook raised an exception")
        return NULL

ag_set_hook_callback(_hook_trampoline, NULL)


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, registry, key, fn):
        self._registry, self._key, self._fn = registry, key, fn

    def remove(self):
        fns = self._registry.get(self._key)
        if fns and self._fn in fns:
            fns.remove(self._fn)
            if not fns:
                del self._registry[self._key]


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

@cython.freelist(64)
cdef class Tensor:
    """An n-dimensional float32/float64 array that records operations for differentiation.

    Create tensors with :func:`autograd_c.tensor`, :func:`autograd_c.from_numpy` or the
    creation functions (``zeros``, ``randn``...).  ``np.asarray(t)`` is a zero-copy view.
    """

    __array_priority__ = 1000
    __array_ufunc__ = None   # numpy defers to our reflected operators

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
        buf.shape = meta
        buf.strides = meta + self.t.ndim
        buf.suboffsets = NULL

    def __releasebuffer__(self, Py_buffer *buf):
        free(buf.internal)

    def numpy(self):
        """A numpy view of this tensor's memory (no copy)."""
        return np.asarray(self)

    # ---- metadata
    @property
    def shape(self):
        return tuple([self.t.shape[i] for i in range(self.t.ndim)])

    @property
    def dtype(self):
        return _DTYPES[self.t.dtype]

    @property
    def ndim(self):
        return self.t.ndim

    @property
    def size(self):
        return self.t.size

    def __len__(self):
        if self.t.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.t.shape[0]

    def __iter__(self):
        if self.t.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.t.shape[0]):
            yield self[i]

    def __hash__(self):
        return id(self) >> 4

    @property
    def requires_grad(self):
        return bool(self.t.requires_grad)

    @requires_grad.setter
    def requires_grad(self, value):
        if ag_set_requires_grad(self.t, 1 if value else 0):
            _raise()

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self.t.grad_fn == NULL

    @property
    def grad_fn(self):
        """Name of the op that produced this tensor, or None for a leaf."""
        if self.t.grad_fn == NULL:
            return None
        return ag_node_name(self.t.grad_fn).decode()

    @property
    def grad(self):
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
        ag_tensor_incref(g.t)
        ag_tensor_decref(self.t.grad)
        self.t.grad = g.t

    @property
    def tangent(self):
        """Forward-mode tangent carried by this tensor (inside ``ag.jvp``), or None."""
        if self.t.tangent == NULL:
            return None
        return _wrap_borrowed(self.t.tangent)

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
        return transpose(self)

    @property
    def mT(self):
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

    def __bool__(self):
        if self.t.size != 1:
            raise ValueError("the truth value of a tensor with more than one element is ambiguous")
        return self.item() != 0

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """A tensor sharing this one's memory, outside the graph."""
        return _wrap(ag_tensor_alias(self.t))

    def __reduce__(self):
        """Pickle / ``copy.deepcopy`` support: the data (a C-contiguous numpy copy) and
        ``requires_grad``.  The graph is not saved: a non-leaf pickles as its data, like a
        detached leaf with the same ``requires_grad``; ``.grad`` and tangents are not kept."""
        return (_rebuild_tensor, (np.array(self, copy=True, order="C"), bool(self.t.requires_grad)))

    def copy(self):
        """A copy of the data, outside the graph (see ``clone`` for a recorded copy)."""
        return _wrap(ag_tensor_contiguous_copy(self.t))

    def clone(self):
        """A recorded copy: gradients flow back to this tensor."""
        return _wrap(ag_contiguous(self.t))

    def contiguous(self):
        if ag_tensor_is_contiguous(self.t):
            return self
        return _wrap(ag_contiguous(self.t))

    def is_contiguous(self):
        return bool(ag_tensor_is_contiguous(self.t))

    def astype(self, dtype):
        """Convert to ``dtype`` (recorded: gradients flow back, cast to the original dtype)."""
        cdef int code = _dtype_code(dtype)
        if code == self.t.dtype:
            return self
        return _wrap(ag_astype(self.t, code))

    def float(self):
        return self.astype(float32)

    def double(self):
        return self.astype(float64)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extra = ""
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
        if not self.t.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if hid <= 0:
            _next_hook[0] += 1
            hid = _next_hook[0]
            if ag_tensor_set_hook(self.t, hid):
                _raise()
            _hooks[hid] = []
        _hooks.setdefault(hid, []).append(fn)
        return RemovableHandle(_hooks, hid, fn)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if ag_retain_grad(self.t):
            _raise()

    @property
    def retains_grad(self):
        return bool(self.t.retains_grad)

    # ---- in place (outside the graph)
    def zero_(self):
        if ag_fill(self.t, 0.0):
            _raise()
        return self

    def fill_(self, value):
        if ag_fill(self.t, float(value)):
            _raise()
        return self

    def copy_(self, src):
        cdef Tensor s = _coerce(src, self.t.dtype)
        if ag_copy_into(self.t, s.t):
            _raise()
        return self

    def _inplace(self, int op, other):
        cdef Tensor o = _coerce(other, self.t.dtype)
        if ag_inplace_check(self.t, ag_op_name(op)):
            _raise()
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
        return self._inplace(AG_OP_add, other)

    def sub_(self, other):
        return self._inplace(AG_OP_sub, other)

    def mul_(self, other):
        return self._inplace(AG_OP_mul, other)

    def div_(self, other):
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
        return _binop(AG_OP_eq, self, other)

    def __ne__(self, other):
        return _binop(AG_OP_ne, self, other)

    # ---- indexing
    def __getitem__(self, key):
        return _getitem(self, key)

    def __setitem__(self, key, value):
        cdef Tensor v
        if ag_inplace_check(self.t, b"setitem"):
            _raise()
        arr = np.asarray(self)
        if isinstance(value, Tensor):
            v = <Tensor>value
            if v.t.storage == self.t.storage:
                value = np.array(value)
            else:
                value = np.asarray(value)
        arr[_numpy_key(key)] = value
        ag_bump_version(self.t)

    # ---- methods mirroring the functions
    def sum(self, axis=None, keepdims=False):
        return sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return std(self, axis, keepdims, ddof)

    def max(self, axis=None, keepdims=False):
        return max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return min(self, axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return prod(self, axis, keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return logsumexp(self, axis, keepdims)

    def argmax(self, axis=None):
        return np.argmax(self.numpy(), axis=axis)

    def argmin(self, axis=None):
        return np.argmin(self.numpy(), axis=axis)

    def reshape(self, *shape):
        return reshape(self, *shape)

    def view(self, *shape):
        return reshape(self, *shape)

    def transpose(self, *axes):
        return transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def permute(self, *dims):
        return permute(self, *dims)

    def swapaxes(self, a, b):
        return swapaxes(self, a, b)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def unsqueeze(self, axis):
        return unsqueeze(self, axis)

    def flatten(self, start_dim=0, end_dim=-1):
        return flatten(self, start_dim, end_dim)

    def expand(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return broadcast_to(self, shape)

    def broadcast_to(self, shape):
        return broadcast_to(self, shape)

    def matmul(self, other):
        return matmul(self, other)

    def clip(self, a_min=None, a_max=None):
        return clip(self, a_min, a_max)

    def exp(self):
        return _unary(AG_OP_exp, self)

    def log(self):
        return _unary(AG_OP_log, self)

    def sqrt(self):
        return _unary(AG_OP_sqrt, self)

    def tanh(self):
        return _unary(AG_OP_tanh, self)

    def sigmoid(self):
        return _unary(AG_OP_sigmoid, self)

    def relu(self):
        return _unary(AG_OP_relu, self)

    def abs(self):
        return _unary(AG_OP_abs, self)

    def sin(self):
        return _unary(AG_OP_sin, self)

    def cos(self):
        return _unary(AG_OP_cos, self)

    def softmax(self, axis=-1):
        return softmax(self, axis)

    def log_softmax(self, axis=-1):
        return log_softmax(self, axis)


# ---------------------------------------------------------------------------------------------
# op plumbing

cdef inline int _code_of(object x):
    if isinstance(x, Tensor):
        return (<Tensor>x).t.dtype
    return -1


cdef Tensor _binop(int op, object a, object b):
    cdef Tensor ta, tb
    cdef ag_tensor *r
    if isinstance(a, Tensor):
        ta = <Tensor>a
        tb = _coerce(b, ta.t.dtype)
    elif isinstance(b, Tensor):
        tb = <Tensor>b
        ta = _coerce(a, tb.t.dtype)
    else:
        ta = _coerce(a, -1)
        tb = _coerce(b, ta.t.dtype)
    if ta.t.size + tb.t.size >= NOGIL_N:
        with nogil:
            r = ag_binary(op, ta.t, tb.t)
    else:
        r = ag_binary(op, ta.t, tb.t)
    return _wrap(r)


cdef Tensor _unary(int op, object x):
    cdef Tensor tx = _coerce(x, -1)
    cdef ag_tensor *r
    if tx.t.size >= NOGIL_N:
        with nogil:
            r = ag_unary(op, tx.t)
    else:
        r = ag_unary(op, tx.t)
    return _wrap(r)


cdef Tensor _unary_p(int op, object x, double param):
    cdef Tensor tx = _coerce(x, -1)
    cdef ag_tensor *r
    with nogil:
        r = ag_unary_p(op, tx.t, param)
    return _wrap(r)


cdef int _axes(object axis, int ndim, int *out) except -2:
    """None -> -1 (all axes); an int or a sequence of ints -> their count."""
    cdef int n = 0
    if axis is None:
        return -1
    if isinstance(axis, (tuple, list)):
        if len(axis) > AG_MAXDIM:
            raise ValueError(f"too many axes: {axis}")
        for a in axis:
            out[n] = operator.index(a)
            n += 1
        return n
    out[0] = operator.index(axis)
    return 1


cdef Tensor _reduce(int op, object x, object axis, bint keepdims):
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes)
    cdef ag_tensor *r
    with nogil:
        r = ag_reduce(op, tx.t, nax, axes, keepdims)
    return _wrap(r)


# ---- elementwise functions
def neg(x):
    """-x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.neg(ag.tensor([1.0, -2.0]))
    tensor([-1.,  2.])
    """
    return _unary(AG_OP_neg, x)

def abs(x):
    """|x|, elementwise (gradient 0 at 0).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.abs(ag.tensor([-1.5, 2.0]))
    tensor([1.5, 2. ])
    """
    return _unary(AG_OP_abs, x)

def exp(x):
    """e**x, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.exp(ag.tensor([0.0, 1.0]))
    tensor([1.    , 2.7183])
    """
    return _unary(AG_OP_exp, x)

def log(x):
    """Natural logarithm, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.log(ag.tensor([1.0, 4.0]))
    tensor([0.    , 1.3863])
    """
    return _unary(AG_OP_log, x)

def log1p(x):
    """log(1 + x), accurate for small x.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.log1p(ag.tensor([0.0, 1e-10], dtype='float64')).tolist()
    [0.0, 9.999999999500001e-11]
    """
    return _unary(AG_OP_log1p, x)

def sqrt(x):
    """Square root, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sqrt(ag.tensor([4.0, 9.0]))
    tensor([2., 3.])
    """
    return _unary(AG_OP_sqrt, x)

def sin(x):
    """Sine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sin(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_sin, x)

def cos(x):
    """Cosine, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.cos(ag.tensor([0.0]))
    tensor([1.])
    """
    return _unary(AG_OP_cos, x)

def tan(x):
    """Tangent, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tan(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_tan, x)

def tanh(x):
    """Hyperbolic tangent, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.tanh(ag.tensor([0.0, 100.0]))
    tensor([0., 1.])
    """
    return _unary(AG_OP_tanh, x)

def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), computed stably.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sigmoid(ag.tensor([0.0, -1000.0]))
    tensor([0.5, 0. ])
    """
    return _unary(AG_OP_sigmoid, x)

def relu(x):
    """max(x, 0), elementwise (gradient 0 at 0).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.relu(ag.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return _unary(AG_OP_relu, x)

def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.leaky_relu(ag.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    return _unary_p(AG_OP_leaky_relu, x, negative_slope)

def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.elu(ag.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return _unary_p(AG_OP_elu, x, alpha)

def softplus(x):
    """log(1 + exp(x)), computed stably.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.softplus(ag.tensor([0.0], dtype='float64')).item() == np.log(2.0)
    np.True_
    """
    return _unary(AG_OP_softplus, x)

def gelu(x):
    """Exact GELU: x * Phi(x) with Phi the standard normal CDF.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.gelu(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_gelu, x)

def silu(x):
    """x * sigmoid(x) (also called swish).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.silu(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_silu, x)

def erf(x):
    """The error function, elementwise.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.erf(ag.tensor([0.0]))
    tensor([0.])
    """
    return _unary(AG_OP_erf, x)

def sign(x):
    """-1, 0 or 1 by the sign of x (no gradient).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sign(ag.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return _unary(AG_OP_sign, x)

def add(a, b):
    """a + b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.add(ag.ones(2, 2), ag.tensor([1.0, 2.0]))
    tensor([[2., 3.],
            [2., 3.]])
    """
    return _binop(AG_OP_add, a, b)

def subtract(a, b):
    """a - b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.subtract(ag.tensor([3.0]), 1.0)
    tensor([2.])
    """
    return _binop(AG_OP_sub, a, b)

def multiply(a, b):
    """a * b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.multiply(ag.tensor([2.0, 3.0]), ag.tensor([4.0, 5.0]))
    tensor([ 8., 15.])
    """
    return _binop(AG_OP_mul, a, b)

def divide(a, b):
    """a / b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.divide(ag.tensor([1.0, 3.0]), 2.0)
    tensor([0.5, 1.5])
    """
    return _binop(AG_OP_div, a, b)

def power(a, b):
    """a ** b with broadcasting.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.power(ag.tensor([2.0, 3.0]), 2.0)
    tensor([4., 9.])
    """
    return _binop(AG_OP_pow, a, b)

def maximum(a, b):
    """Elementwise maximum; at ties the gradient is split equally.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.maximum(ag.tensor([1.0, 5.0]), ag.tensor([3.0, 2.0]))
    tensor([3., 5.])
    """
    return _binop(AG_OP_maximum, a, b)

def minimum(a, b):
    """Elementwise minimum; at ties the gradient is split equally.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.minimum(ag.tensor([1.0, 5.0]), ag.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    return _binop(AG_OP_minimum, a, b)

def equal(a, b):
    """a == b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 3.0]))
    tensor([1., 0.])
    """
    return _binop(AG_OP_eq, a, b)

def not_equal(a, b):
    """a != b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.not_equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 3.0]))
    tensor([0., 1.])
    """
    return _binop(AG_OP_ne, a, b)

def less(a, b):
    """a < b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.less(ag.tensor([1.0, 2.0]), ag.tensor([1.5, 1.5]))
    tensor([1., 0.])
    """
    return _binop(AG_OP_lt, a, b)

def less_equal(a, b):
    """a <= b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.less_equal(ag.tensor([1.0, 2.0]), ag.tensor([1.0, 1.0]))
    tensor([1., 0.])
    """
    return _binop(AG_OP_le, a, b)

def greater(a, b):
    """a > b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.greater(ag.tensor([1.0, 2.0]), ag.tensor([1.5, 1.5]))
    tensor([0., 1.])
    """
    return _binop(AG_OP_gt, a, b)

def greater_equal(a, b):
    """a >= b elementwise with broadcasting, as a 0/1 float tensor (not differentiable).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.greater_equal(ag.tensor([1.0, 2.0]), ag.tensor([2.0, 2.0]))
    tensor([0., 1.])
    """
    return _binop(AG_OP_ge, a, b)

def where(condition, a, b):
    """Elementwise ``a if condition else b`` (condition: nonzero is true; it gets no gradient).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.where(ag.tensor([1.0, 0.0]), ag.tensor([1.0, 2.0]), ag.tensor([9.0, 9.0]))
    tensor([1., 9.])
    """
    cdef Tensor ta, tb, tc
    code = _code_of(a)
    if code < 0:
        code = _code_of(b)
    ta = _coerce(a, code)
    tb = _coerce(b, ta.t.dtype)
    if isinstance(condition, Tensor) and (<Tensor>condition).t.dtype == ta.t.dtype:
        tc = <Tensor>condition
    else:
        tc = _coerce(np.asarray(condition, dtype=_DTYPES[ta.t.dtype]) if not isinstance(condition, Tensor)
                     else condition.astype(_DTYPES[ta.t.dtype]), ta.t.dtype)
    return _wrap(ag_where(tc.t, ta.t, tb.t))

def clip(x, a_min=None, a_max=None):
    """Limit x to [a_min, a_max] (either may be None); gradient 1 inside, 0 outside.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.clip(ag.tensor([-2.0, 0.5, 2.0]), -1.0, 1.0)
    tensor([-1. ,  0.5,  1. ])
    """
    cdef Tensor tx = _coerce(x, -1)
    if a_min is None and a_max is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    return _wrap(ag_clip(tx.t, 0.0 if a_min is None else float(a_min),
                         0.0 if a_max is None else float(a_max), a_min is not None, a_max is not None))


# ---- reductions
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all axes; an int or a tuple).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.sum(ag.ones(2, 3), axis=1)
    tensor([3., 3.])
    """
    return _reduce(AG_OP_sum, x, axis, keepdims)

def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``; tied maxima share the gradient.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.max(ag.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=0)
    tensor([3., 5.])
    """
    return _reduce(AG_OP_max, x, axis, keepdims)

def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``; tied minima share the gradient.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.min(ag.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
    tensor([1., 2.])
    """
    return _reduce(AG_OP_min, x, axis, keepdims)

def prod(x, axis=None, keepdims=False):
    """Product over ``axis`` (exact gradient also where entries are zero).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.prod(ag.tensor([2.0, 3.0, 4.0]))
    tensor(24.)
    """
    return _reduce(AG_OP_prod, x, axis, keepdims)

def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, max-shifted for stability.

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.logsumexp(ag.tensor([0.0, 0.0], dtype='float64')).item() == np.log(2.0)
    np.True_
    """
    return _reduce(AG_OP_logsumexp, x, axis, keepdims)

def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.mean(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
    tensor([2., 3.])
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes)
    return _wrap(ag_mean(tx.t, nax, axes, keepdims))

def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with numpy's convention (``ddof=0``: divide by n).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.var(ag.tensor([1.0, 3.0]))
    tensor(1.)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes)
    return _wrap(ag_var(tx.t, nax, axes, keepdims, ddof))

def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over ``axis`` (numpy's ``ddof`` convention).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.std(ag.tensor([1.0, 3.0]))
    tensor(1.)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int axes[8]
    cdef int nax = _axes(axis, tx.t.ndim, axes)
    return _wrap(ag_std(tx.t, nax, axes, keepdims, ddof))

def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (max-shifted, stable for large inputs).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.softmax(ag.tensor([0.0, 0.0]))
    tensor([0.5, 0.5])
    """
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_softmax(tx.t, operator.index(axis), 0))

def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis`` (stable).

    Examples
    --------
    >>> import numpy as np, autograd_c as ag
    >>> ag.log_softmax(ag.tensor([1.0, 1.0], dtype='float64')).tolist() == [-np.log(2.0)] * 2
    True
    """
    cdef Tensor tx = _coerce(x, -1)
    return _wrap(ag_softmax(tx.t, operator.index(axis), 1))


# ---- contractions
def matmul(a, b):
    """Matrix product with numpy's rules: 1-D operands, 2-D, and broadcast batches.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.matmul(ag.ones(2, 3), ag.ones(3, 4)).shape
    (2, 4)
    """
    cdef Tensor ta, tb
    cdef ag_tensor *r
    code = _code_of(a)
    if code < 0:
        code = _code_of(b)
    ta = _coerce(a, code)
    tb = _coerce(b, ta.t.dtype)
    with nogil:
        r = ag_matmul(ta.t, tb.t)
    return _wrap(r)

_ACTS = {None: 0, "none": 0, "identity": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4,
         "gelu": 5, "elu": 6}

def linear(x, weight, bias=None, activation=None, negative_slope=0.01, alpha=1.0):
    """Fused dense layer ``activation(x @ weight.T + bias)``: one GEMM with the bias and the
    activation applied in its epilogue, one node on the tape.

    ``weight`` has shape (out_features, in_features) as in PyTorch.  ``activation`` is one of
    None, "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "elu".

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag._core.linear(ag.ones(2, 3), ag.ones(4, 3), ag.zeros(4), 'relu')
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    """
    cdef Tensor tx, tw, tb = None
    cdef ag_tensor *r
    cdef double prm = 0.0
    if activation not in _ACTS:
        raise ValueError(f"linear: unknown activation {activation!r}; expected one of "
                         "None, 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu', 'elu'")
    cdef int act = _ACTS[activation]
    if act == 2:
        prm = negative_slope
    elif act == 6:
        prm = alpha
    tx = _coerce(x, _code_of(weight))
    tw = _coerce(weight, tx.t.dtype)
    if bias is not None:
        tb = _coerce(bias, tx.t.dtype)
    with nogil:
        r = ag_linear(tx.t, tw.t, tb.t if tb is not None else NULL, act, prm)
    return _wrap(r)


# ---- shapes
cdef object _shape_arg(tuple shape):
    if len(shape) == 1 and not isinstance(shape[0], int) and not hasattr(shape[0], "__index__"):
        shape = tuple(shape[0])
    return tuple(operator.index(s) for s in shape)


def reshape(x, *shape):
    """A tensor with the same data and a new shape (-1 infers one dimension); a view when the
    strides allow it.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.reshape(ag.arange(6), (2, 3)).shape
    (2, 3)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int64_t sh[8]
    shp = _shape_arg(shape)
    if len(shp) > AG_MAXDIM:
        raise ValueError(f"reshape: at most {AG_MAXDIM} dimensions")
    for i, s in enumerate(shp):
        sh[i] = s
    return _wrap(ag_reshape(tx.t, len(shp), sh))


def permute(x, *dims):
    """Reorder the dimensions (a view).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.permute(ag.zeros(2, 3, 4), (2, 0, 1)).shape
    (4, 2, 3)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int perm[8]
    d = _shape_arg(dims)
    if len(d) != tx.t.ndim:
        raise ValueError(f"permute: expected {tx.t.ndim} dimensions, got {len(d)}")
    for i, a in enumerate(d):
        perm[i] = a
    return _wrap(ag_permute(tx.t, perm))


def transpose(x, axes=None):
    """Permute the dimensions; by default reverse them (numpy's rule).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.transpose(ag.zeros(2, 3)).shape
    (3, 2)
    """
    cdef Tensor tx = _coerce(x, -1)
    if axes is None:
        axes = tuple(range(tx.t.ndim))[::-1]
    return permute(tx, tuple(axes))


def swapaxes(x, axis1, axis2):
    """Exchange two dimensions (a view).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.swapaxes(ag.zeros(2, 3, 4), 0, 2).shape
    (4, 3, 2)
    """
    cdef Tensor tx = _coerce(x, -1)
    n = tx.t.ndim
    a1, a2 = operator.index(axis1), operator.index(axis2)
    if not (-n <= a1 < n and -n <= a2 < n):
        raise ValueError(f"swapaxes: axes ({axis1}, {axis2}) out of bounds for dimension {n}")
    p = list(range(n))
    p[a1], p[a2] = p[a2], p[a1]
    return permute(tx, tuple(p))


def squeeze(x, axis=None):
    """Remove size-1 dimensions (all of them, or those in ``axis``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.squeeze(ag.zeros(1, 3, 1)).shape
    (3,)
    """
    cdef Tensor tx = _coerce(x, -1)
    shape = tx.shape
    n = len(shape)
    if axis is None:
        new = tuple(s for s in shape if s != 1)
    else:
        axs = (axis,) if isinstance(axis, int) else tuple(axis)
        norm = set()
        for a in axs:
            if not -n <= a < n:
                raise ValueError(f"squeeze: axis {a} is out of bounds for dimension {n}")
            a = a % n
            if shape[a] != 1:
                raise ValueError(f"squeeze: cannot select axis {a} of size {shape[a]} (must be 1)")
            norm.add(a)
        new = tuple(s for i, s in enumerate(shape) if i not in norm)
    return reshape(tx, new)


def unsqueeze(x, axis):
    """Insert a size-1 dimension at ``axis`` (numpy's expand_dims).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.unsqueeze(ag.zeros(3), 0).shape
    (1, 3)
    """
    cdef Tensor tx = _coerce(x, -1)
    n = tx.t.ndim
    a = operator.index(axis)
    if not -n - 1 <= a <= n:
        raise ValueError(f"unsqueeze: axis {a} is out of bounds for a result of dimension {n + 1}")
    if a < 0:
        a += n + 1
    shape = list(tx.shape)
    shape.insert(a, 1)
    return reshape(tx, tuple(shape))

expand_dims = unsqueeze


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.flatten(ag.zeros(2, 3, 4), 1).shape
    (2, 12)
    """
    cdef Tensor tx = _coerce(x, -1)
    shape = tx.shape
    n = len(shape)
    if n == 0:
        return reshape(tx, (1,))
    if not (-n <= start_dim < n and -n <= end_dim < n):
        raise ValueError(f"flatten: start_dim {start_dim} / end_dim {end_dim} out of bounds for dimension {n}")
    s, e = start_dim % n, end_dim % n
    if s > e:
        raise ValueError("flatten: start_dim must not come after end_dim")
    mid = 1
    for d in shape[s:e + 1]:
        mid *= d
    return reshape(tx, shape[:s] + (mid,) + shape[e + 1:])


def broadcast_to(x, shape):
    """View ``x`` broadcast to ``shape`` (stride 0 along broadcast axes).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.broadcast_to(ag.tensor([1.0, 2.0]), (3, 2)).shape
    (3, 2)
    """
    cdef Tensor tx = _coerce(x, -1)
    cdef int64_t sh[8]
    shp = _shape_arg((shape,) if not isinstance(shape, int) else ((shape,),))
    if len(shp) > AG_MAXDIM:
        raise ValueError(f"broadcast_to: at most {AG_MAXDIM} dimensions")
    for i, s in enumerate(shp):
        sh[i] = s
    return _wrap(ag_expand(tx.t, len(shp), sh))

expand = broadcast_to


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.concatenate([ag.ones(2), ag.zeros(1)])
    tensor([1., 1., 0.])
    """
    seq = list(tensors)
    if not seq:
        raise ValueError("concatenate: need at least one tensor")
    code = -1
    for s in seq:
        code = _code_of(s)
        if code >= 0:
            break
    ts = [_coerce(s, code) for s in seq]
    cdef int n = len(ts), i
    cdef ag_tensor **arr = <ag_tensor **>malloc(sizeof(ag_tensor *) * n)
    cdef ag_tensor *r
    if arr == NULL:
        raise MemoryError()
    for i in range(n):
        arr[i] = (<Tensor>ts[i]).t
    r = ag_concat(n, arr, operator.index(axis))
    free(arr)
    return _wrap(r)

cat = concatenate


def stack(tensors, axis=0):
    """Join tensors along a new axis.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.stack([ag.ones(2), ag.zeros(2)]).shape
    (2, 2)
    """
    seq = list(tensors)
    if not seq:
        raise ValueError("stack: need at least one tensor")
    code = -1
    for s in seq:
        code = _code_of(s)
        if code >= 0:
            break
    ts = [_coerce(s, code) for s in seq]
    shape0 = ts[0].shape
    for i, t in enumerate(ts):
        if t.shape != shape0:
            raise ValueError(f"stack: all tensors must have the same shape; tensor 0 has {shape0}, "
                             f"tensor {i} has {t.shape}")
    return concatenate([unsqueeze(t, axis) for t in ts], axis)


def split(x, indices_or_sections, axis=0):
    """Split along ``axis`` into equal sections (an int) or at the given indices (numpy's rule).

    Examples
    --------
    >>> import autograd_c as ag
    >>> [t.tolist() for t in ag.split(ag.arange(4), 2)]
    [[0.0, 1.0], [2.0, 3.0]]
    """
    cdef Tensor tx = _coerce(x, -1)
    n = tx.t.ndim
    if n == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    ax = operator.index(axis)
    if not -n <= ax < n:
        raise ValueError(f"split: axis {axis} is out of bounds for dimension {n}")
    ax %= n
    length = tx.shape[ax]
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0 or length % k:
            raise ValueError(f"split: an axis of length {length} cannot be split into {k} equal sections")
        bounds = [i * (length // k) for i in range(k + 1)]
    else:
        bounds = [0] + [builtins_min(builtins_max(int(i), 0), length) for i in indices_or_sections] + [length]
    pre = (slice(None),) * ax
    return [tx[pre + (slice(bounds[i], builtins_max(bounds[i], bounds[i + 1])),)]
            for i in range(len(bounds) - 1)]

import builtins as _builtins
builtins_min = _builtins.min
builtins_max = _builtins.max


# ---- indexing
cdef object _numpy_key(object key):
    """Index key for numpy: tensors become boolean masks."""
    if isinstance(key, tuple):
        return tuple(_numpy_key(k) for k in key)
    if isinstance(key, Tensor):
        a = np.asarray(key)
        if a.size and not np.all((a == 0) | (a == 1)):
            raise IndexError("tensors used as indices must be boolean masks (0/1, e.g. from a "
                             "comparison); pass integer indices as a list or a numpy integer array")
        return a != 0
    return key


cdef Tensor _getitem(Tensor x, object key):
    cdef int64_t starts[8]
    cdef int64_t steps[8]
    cdef int64_t lens[8]
    cdef int src[8]
    cdef int nd = x.t.ndim, d = 0, k = 0, i
    if not isinstance(key, tuple):
        key = (key,)
    basic = True
    for kk in key:
        if not (kk is None or kk is Ellipsis or isinstance(kk, slice)
                or (isinstance(kk, (int, np.integer)) and not isinstance(kk, (bool, np.bool_)))):
            basic = False
            break
    if not basic:
        nk = _numpy_key(key)
        try:
            idx = np.arange(x.t.size, dtype=np.int64).reshape(x.shape)[nk]
        except IndexError:
            raise
        except Exception as e:
            raise IndexError(f"invalid index {key!r}: {e}")
        idx = np.asarray(idx, dtype=np.int64, order="C")
        if idx.ndim > AG_MAXDIM:
            raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
        return _take(x, idx)
    n_ell = 0
    n_consume = 0
    for kk in key:
        if kk is Ellipsis:
            n_ell += 1
        elif kk is not None:
            n_consume += 1
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_consume > nd:
        raise IndexError(f"too many indices for tensor: tensor is {nd}-dimensional, but {n_consume} were indexed")
    if n_ell == 0:
        key = key + (Ellipsis,)
    for i in range(nd):
        starts[i] = 0
    for kk in key:
        if kk is Ellipsis:
            for i in range(nd - n_consume):
                if k >= AG_MAXDIM:
                    raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
                src[k] = d
                steps[k] = 1
                lens[k] = x.t.shape[d]
                k += 1
                d += 1
        elif kk is None:
            if k >= AG_MAXDIM:
                raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
            src[k] = -1
            steps[k] = 1
            lens[k] = 1
            k += 1
        elif isinstance(kk, slice):
            if k >= AG_MAXDIM:
                raise IndexError(f"indexing result would have more than {AG_MAXDIM} dimensions")
            size = x.t.shape[d]
            start, stop, step = kk.indices(size)
            length = len(range(start, stop, step))
            src[k] = d
            steps[k] = step
            lens[k] = length
            starts[d] = start if length > 0 else 0
            k += 1
            d += 1
        else:
            size = x.t.shape[d]
            j = operator.index(kk)
            if j < -size or j >= size:
                raise IndexError(f"index {j} is out of bounds for axis {d} with size {size}")
            starts[d] = j + size if j < 0 else j
            d += 1
    return _wrap(ag_slice(x.t, starts, k, src, steps, lens))


cdef Tensor _take(Tensor x, cnp.ndarray idx):
    cdef int64_t shape[8]
    cdef int i
    for i in range(idx.ndim):
        shape[i] = idx.shape[i]
    return _wrap(ag_take(x.t, <const int64_t *>cnp.PyArray_DATA(idx), idx.size, idx.ndim, shape))


# ---------------------------------------------------------------------------------------------
# modes, gradients, introspection

def is_grad_enabled():
    """Whether operations are being recorded in this thread.

    Examples
    --------
    >>> import autograd_c as ag
    >>> with ag.no_grad():
    ...     ag.is_grad_enabled()
    False
    """
    return bool(ag_grad_enabled())

def _set_grad_enabled(bint on):
    return bool(ag_set_grad_enabled(on))

def _set_fwd_enabled(bint on):
    return bool(ag_set_fwd_enabled(on))

def _grad(outputs, grad_outputs, inputs, bint retain_graph, bint create_graph, bint allow_unused):
    """Gradients of outputs w.r.t. inputs (leaves' .grad untouched); None for unused inputs
    when allow_unused."""
    outs = [_coerce(o, -1) for o in outputs]
    ins = list(inputs)
    cdef int no = len(outs), ni = len(ins), i, st
    for i in range(ni):
        if not isinstance(ins[i], Tensor):
            raise TypeError(f"grad: input {i} is not a Tensor")
    gos = None
    if grad_outputs is not None:
        gos = [None if g is None else _coerce(g, (<Tensor>outs[i]).t.dtype) for i, g in enumerate(grad_outputs)]
    cdef ag_tensor **po = <ag_tensor **>malloc(sizeof(ag_tensor *) * (no + 1))
    cdef ag_tensor **pg = <ag_tensor **>malloc(sizeof(ag_tensor *) * (no + 1))
    cdef ag_tensor **pi = <ag_tensor **>malloc(sizeof(ag_tensor *) * (ni + 1))
    cdef ag_tensor **pr = <ag_tensor **>malloc(sizeof(ag_tensor *) * (ni + 1))
    if po == NULL or pg == NULL or pi == NULL or pr == NULL:
        free(po); free(pg); free(pi); free(pr)
        raise MemoryError()
    for i in range(no):
        po[i] = (<Tensor>outs[i]).t
        pg[i] = NULL if gos is None or gos[i] is None else (<Tensor>gos[i]).t
    for i in range(ni):
        pi[i] = (<Tensor>ins[i]).t
    with nogil:
        st = ag_grad(no, po, pg, ni, pi, pr, retain_graph, create_graph, allow_unused)
    res = []
    if st == 0:
        for i in range(ni):
            res.append(None if pr[i] == NULL else _wrap(pr[i]))
    free(po); free(pg); free(pi); free(pr)
    if st:
        _raise()
    return res

def live_storages():
    """Number of live C storages (for leak tests).

    Examples
    --------
    >>> import autograd_c as ag
    >>> isinstance(ag.live_storages(), int)
    True
    """
    return ag_live_storages()

def live_tensors():
    """Number of live C tensors (for leak tests).

    Examples
    --------
    >>> import autograd_c as ag
    >>> isinstance(ag.live_tensors(), int)
    True
    """
    return ag_live_tensors()

def live_nodes():
    """Number of live tape nodes (for leak tests).

    Examples
    --------
    >>> import autograd_c as ag
    >>> isinstance(ag.live_nodes(), int)
    True
    """
    return ag_live_nodes()

def get_num_threads():
    """Number of threads the kernels use.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.get_num_threads() >= 1
    True
    """
    return ag_num_threads()

def set_num_threads(int n):
    """Set the number of threads the kernels use (n >= 1).

    In a child process created by ``os.fork()`` the kernels stay on one thread (OpenMP cannot be
    restarted after a fork); use the "spawn" or "forkserver" start method for multi-threaded
    worker processes.

    Examples
    --------
    >>> import autograd_c as ag
    >>> n = ag.get_num_threads()
    >>> ag.set_num_threads(1); ag.get_num_threads()
    1
    >>> ag.set_num_threads(n)
    """
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    ag_threads_set(n)
    if ag_num_threads() != n:
        import warnings
        warnings.warn(f"set_num_threads({n}): this process was created by os.fork(), where the "
                      "kernels run on one thread (OpenMP cannot be used after a fork); use the "
                      "'spawn' or 'forkserver' start method for multi-threaded workers",
                      RuntimeWarning, stacklevel=2)

def isa():
    """The instruction set the kernels use now ("avx512", "avx2" or "generic")."""
    return ag_isa_current_name().decode()

def best_isa():
    """The best instruction set this CPU supports."""
    return ag_isa_best_name().decode()

def isa_warning():
    cdef const char *w = ag_isa_warning()
    return None if w == NULL else w.decode()

def _set_isa(name):
    codes = {"generic": 0, "avx2": 1, "avx512": 2}
    if name not in codes:
        raise ValueError(f"unknown ISA {name!r}")
    if ag_set_isa(codes[name]):
        raise ValueError(f"ISA {name!r} is not supported on this CPU")

def op_table():
    """The primitive ops of the core: a list of (name, n_inputs, flags)."""
    return [(ag_op_name(i).decode(), ag_op_nin(i), ag_op_flags(i)) for i in range(AG_NUM_OPS)]


# ---- op families bound in their own include files
include "_linalg.pxi"
include "_optim.pxi"
include "_nn.pxi"
