# _runtime.pxi -- grad modes, functional gradients, live counters, threads and ISA
# (included by _core.pyx).

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

def _fwd_session_begin():
    """Begin this thread's forward-mode session unless one runs (True: this call began it)."""
    return bool(ag_fwd_session_begin())

def _fwd_session_end():
    """End this thread's forward-mode session: the tangents set in it are no longer seen."""
    ag_fwd_session_end()

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
        if len(grad_outputs) != no:
            raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {no} outputs")
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

def _reaches_other_leaf(root, known):
    """Whether root's graph reaches a leaf that requires grad other than the tensors in known."""
    cdef Tensor r = _coerce(root, -1)
    cdef int n = len(known), i, st
    cdef ag_tensor **pk = <ag_tensor **>malloc(sizeof(ag_tensor *) * (n + 1))
    if pk == NULL:
        raise MemoryError()
    for i in range(n):
        pk[i] = (<Tensor>known[i]).t
    st = ag_graph_reaches_other_leaf(r.t, n, pk)
    free(pk)
    if st < 0:
        _raise()
    return st == 1

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

def _gemm_scratch_bytes():
    """Bytes of GEMM packing scratch held by all threads (each thread that ran a large product
    keeps one buffer for the next and frees it when it exits); for leak tests."""
    return ag_gemm_scratch_bytes()

def empty_cache():
    """Give every freed storage block that autograd_c keeps for reuse back to the allocator.

    Freed tensors of 64 KiB and more are kept, up to ``get_cache_limit()`` bytes, for the next
    tensor of about the same size: a training loop or a repeated Jacobian then reuses its
    buffers instead of having the operating system map fresh pages on every step.  The blocks
    are released when the limit requires it, by ``empty_cache()``, or at exit.

    Examples
    --------
    >>> import autograd_c as ag
    >>> x = ag.zeros(100_000)      # 400 kB
    >>> del x                      # freed into the cache (unless the limit is 0)
    >>> ag.cached_bytes() <= ag.get_cache_limit()
    True
    >>> ag.empty_cache(); ag.cached_bytes()
    0
    """
    ag_cache_empty()

def cached_bytes():
    """Bytes of freed storage blocks kept for reuse now (see ``empty_cache``).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.cached_bytes() <= ag.get_cache_limit()
    True
    """
    return ag_cache_bytes()

def get_cache_limit():
    """The most bytes of freed storage blocks kept for reuse (default 128 MiB; always 0 in an
    address-sanitizer build, which keeps nothing so that every freed block is checked).

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.get_cache_limit() in (0, 128 << 20)
    True
    """
    return ag_cache_limit()

def set_cache_limit(nbytes):
    """Keep at most ``nbytes`` bytes of freed storage blocks for reuse (0 keeps none); blocks
    over the new limit go back to the allocator now.  A single block larger than a quarter
    of the limit is never kept.

    Examples
    --------
    >>> import autograd_c as ag
    >>> old = ag.get_cache_limit()
    >>> ag.set_cache_limit(0); ag.cached_bytes()
    0
    >>> ag.set_cache_limit(old)
    """
    import operator
    try:
        n = operator.index(nbytes)
    except TypeError:
        raise TypeError(f"set_cache_limit: nbytes must be an int, got {type(nbytes).__name__}") from None
    if n < 0:
        raise ValueError(f"set_cache_limit: nbytes must be >= 0, got {n}")
    cdef size_t most = <size_t>-1
    ag_cache_set_limit(most if n > most else <size_t>n)

def get_num_threads():
    """Number of threads the kernels use.

    Examples
    --------
    >>> import autograd_c as ag
    >>> ag.get_num_threads() >= 1
    True
    """
    return ag_num_threads()

def set_num_threads(n):
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
    try:
        n = operator.index(n)      # 1.5 was taken as 1
    except TypeError:
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}") from None
    if not 1 <= n < (1 << 31):
        raise ValueError(f"set_num_threads: n must be >= 1 (and fit in an int), got {n}")
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
