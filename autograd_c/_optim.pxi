# _optim.pxi -- bindings for the fused optimizer steps of csrc/optim.c (included by _core.pyx).
#
# A _FusedGroup holds C arrays of the parameters of one optimizer param group and of their
# state buffers, built once, so that each step() is one call into C with no per-parameter
# Python work.

cdef extern from "optim.h" nogil:
    int ag_optim_sgd(int n, ag_tensor **params, ag_tensor **momentum_buf, int64_t *steps,
                     double lr, double momentum, double dampening, int nesterov,
                     double weight_decay, int maximize)
    int ag_optim_adam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                      ag_tensor **max_exp_avg_sq, int64_t *steps, double lr, double beta1,
                      double beta2, double eps, double weight_decay, int decoupled, int amsgrad,
                      int maximize)
    int ag_optim_rmsprop(int n, ag_tensor **params, ag_tensor **square_avg,
                         ag_tensor **momentum_buf, ag_tensor **grad_avg, int64_t *steps,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, int centered, int maximize)
    int ag_optim_adagrad(int n, ag_tensor **params, ag_tensor **state_sum, int64_t *steps,
                         double lr, double lr_decay, double weight_decay, double eps,
                         int maximize)
    int ag_optim_adamax(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_inf,
                        int64_t *steps, double lr, double beta1, double beta2, double eps,
                        double weight_decay, int maximize)
    int ag_optim_nadam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                       int64_t *steps, double *mu_product, double lr, double beta1, double beta2,
                       double eps, double weight_decay, double momentum_decay, int decoupled,
                       int maximize)
    int ag_optim_radam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                       int64_t *steps, double lr, double beta1, double beta2, double eps,
                       double weight_decay, int decoupled, int maximize)
    int ag_optim_adadelta(int n, ag_tensor **params, ag_tensor **square_avg,
                          ag_tensor **acc_delta, int64_t *steps, double lr, double rho,
                          double eps, double weight_decay, int maximize)
    int ag_optim_grad_norm(int n, ag_tensor **params, double p, double *out)
    int ag_optim_scale_grads(int n, ag_tensor **params, double s)
    int ag_optim_clip_grads(int n, ag_tensor **params, double c)
    int ag_optim_zero_grad(int n, ag_tensor **params, int set_to_none)

cdef enum:
    _NBUF = 3

cdef enum:
    _OPT_SGD, _OPT_ADAM, _OPT_RMSPROP, _OPT_ADAGRAD, _OPT_ADAMAX, _OPT_NADAM, _OPT_RADAM
    _OPT_ADADELTA, _OPT_GRAD_NORM, _OPT_SCALE_GRADS, _OPT_CLIP_GRADS


cdef int _optim_call(int algo, int n, ag_tensor **params, int64_t *steps, ag_tensor **b0,
                     ag_tensor **b1, ag_tensor **b2, const double *h, const int *f,
                     double *x) noexcept nogil:
    """The fused C function ``algo`` on a group: ``b0..b2`` its state buffers, ``h`` its
    hyper-parameters and ``f`` its flags (each in the C signature's order), ``x`` NAdam's
    mu_product or grad_norm's output."""
    if algo == _OPT_SGD:
        return ag_optim_sgd(n, params, b0, steps, h[0], h[1], h[2], f[0], h[3], f[1])
    if algo == _OPT_ADAM:
        return ag_optim_adam(n, params, b0, b1, b2, steps, h[0], h[1], h[2], h[3], h[4], f[0],
                             f[1], f[2])
    if algo == _OPT_RMSPROP:
        return ag_optim_rmsprop(n, params, b0, b1, b2, steps, h[0], h[1], h[2], h[3], h[4], f[0],
                                f[1])
    if algo == _OPT_ADAGRAD:
        return ag_optim_adagrad(n, params, b0, steps, h[0], h[1], h[2], h[3], f[0])
    if algo == _OPT_ADAMAX:
        return ag_optim_adamax(n, params, b0, b1, steps, h[0], h[1], h[2], h[3], h[4], f[0])
    if algo == _OPT_NADAM:
        return ag_optim_nadam(n, params, b0, b1, steps, x, h[0], h[1], h[2], h[3], h[4], h[5],
                              f[0], f[1])
    if algo == _OPT_RADAM:
        return ag_optim_radam(n, params, b0, b1, steps, h[0], h[1], h[2], h[3], h[4], f[0], f[1])
    if algo == _OPT_ADADELTA:
        return ag_optim_adadelta(n, params, b0, b1, steps, h[0], h[1], h[2], h[3], f[0])
    if algo == _OPT_GRAD_NORM:
        return ag_optim_grad_norm(n, params, h[0], x)
    if algo == _OPT_SCALE_GRADS:
        return ag_optim_scale_grads(n, params, h[0])
    return ag_optim_clip_grads(n, params, h[0])


cdef class _FusedGroup:
    """C-side view of one parameter group: parameter pointers, up to three state buffers per
    parameter, and per-parameter step counters (used by ``autograd_c.optim``)."""
    cdef int n
    cdef ag_tensor **params
    cdef ag_tensor **bufs[3]
    cdef int64_t *steps
    cdef list _params
    cdef list _bufs
    cdef int64_t total

    def __cinit__(self, params):
        cdef int i, k
        self.params = NULL
        self.steps = NULL
        for k in range(_NBUF):
            self.bufs[k] = NULL
        plist = list(params)
        for i, p in enumerate(plist):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer: parameter {i} is a {type(p).__name__}, not a Tensor")
        self.n = len(plist)
        self._params = plist
        self._bufs = [None] * _NBUF
        self.params = <ag_tensor **>malloc(sizeof(ag_tensor *) * (self.n + 1))
        self.steps = <int64_t *>malloc(sizeof(int64_t) * (self.n + 1))
        if self.params == NULL or self.steps == NULL:
            raise MemoryError()
        self.total = 0
        for i in range(self.n):
            self.params[i] = (<Tensor>plist[i]).t
            self.steps[i] = 0
            self.total += (<Tensor>plist[i]).t.size

    def __dealloc__(self):
        cdef int k
        free(self.params)
        free(self.steps)
        for k in range(_NBUF):
            free(self.bufs[k])

    def set_buffers(self, int k, tensors):
        """Install buffer slot ``k`` (a list of Tensors, one per parameter, or None)."""
        cdef int i
        if not 0 <= k < _NBUF:
            raise ValueError(f"buffer slot {k} out of range")
        free(self.bufs[k])
        self.bufs[k] = NULL
        self._bufs[k] = None
        if tensors is None:
            return
        ts = list(tensors)
        if len(ts) != self.n:
            raise ValueError(f"expected {self.n} buffers, got {len(ts)}")
        for i, b in enumerate(ts):
            if not isinstance(b, Tensor):
                raise TypeError(f"buffer {i} is not a Tensor")
        self.bufs[k] = <ag_tensor **>malloc(sizeof(ag_tensor *) * (self.n + 1))
        if self.bufs[k] == NULL:
            raise MemoryError()
        for i in range(self.n):
            self.bufs[k][i] = (<Tensor>ts[i]).t
        self._bufs[k] = ts

    def get_steps(self):
        return [self.steps[i] for i in range(self.n)]

    def __reduce__(self):
        # pickle / deepcopy: the same parameters (shared with the model through the pickle memo),
        # the state buffers and the step counters
        return (_rebuild_fused_group, (self._params, list(self._bufs), self.get_steps()))

    def set_steps(self, steps):
        cdef int i
        st = [int(s) for s in steps]
        if len(st) != self.n:
            raise ValueError(f"expected {self.n} step counts, got {len(st)}")
        for i in range(self.n):
            if st[i] < 0:
                raise ValueError(f"step counts must be >= 0, got {st[i]}")
            self.steps[i] = st[i]

    cdef inline ag_tensor **_buf(self, int k, bint need) except? NULL:
        if self.bufs[k] == NULL and need:
            raise ValueError(f"optimizer state buffer {k} was not created")
        return self.bufs[k]

    cdef int _run(self, int algo, ag_tensor **b0, ag_tensor **b1, ag_tensor **b2,
                  const double *h, const int *f, double *x) except -1:
        """One fused C call (see _optim_call).  Small groups keep the GIL: releasing it costs
        little alone, but a busy Python thread takes it and handing it back waits for that
        thread, which costs far more than a tiny step (DESIGN: skip the release for tiny
        tensors)."""
        cdef int st
        if self.total >= NOGIL_N:
            with nogil:
                st = _optim_call(algo, self.n, self.params, self.steps, b0, b1, b2, h, f, x)
        else:
            st = _optim_call(algo, self.n, self.params, self.steps, b0, b1, b2, h, f, x)
        if st:
            _raise()
        return 0

    def sgd(self, double lr, double momentum, double dampening, bint nesterov, double weight_decay,
            bint maximize):
        cdef double h[4]
        cdef int f[2]
        h[:] = [lr, momentum, dampening, weight_decay]
        f[:] = [nesterov, maximize]
        self._run(_OPT_SGD, self._buf(0, momentum != 0.0), NULL, NULL, h, f, NULL)

    def adam(self, double lr, double beta1, double beta2, double eps, double weight_decay,
             bint decoupled, bint amsgrad, bint maximize):
        cdef double h[5]
        cdef int f[3]
        h[:] = [lr, beta1, beta2, eps, weight_decay]
        f[:] = [decoupled, amsgrad, maximize]
        self._run(_OPT_ADAM, self._buf(0, True), self._buf(1, True), self._buf(2, amsgrad), h, f,
                  NULL)

    def rmsprop(self, double lr, double alpha, double eps, double weight_decay, double momentum,
                bint centered, bint maximize):
        cdef double h[5]
        cdef int f[2]
        h[:] = [lr, alpha, eps, weight_decay, momentum]
        f[:] = [centered, maximize]
        self._run(_OPT_RMSPROP, self._buf(0, True), self._buf(1, momentum > 0),
                  self._buf(2, centered), h, f, NULL)

    def adagrad(self, double lr, double lr_decay, double weight_decay, double eps, bint maximize):
        cdef double h[4]
        cdef int f[1]
        h[:] = [lr, lr_decay, weight_decay, eps]
        f[0] = maximize
        self._run(_OPT_ADAGRAD, self._buf(0, True), NULL, NULL, h, f, NULL)

    def adamax(self, double lr, double beta1, double beta2, double eps, double weight_decay,
               bint maximize):
        cdef double h[5]
        cdef int f[1]
        h[:] = [lr, beta1, beta2, eps, weight_decay]
        f[0] = maximize
        self._run(_OPT_ADAMAX, self._buf(0, True), self._buf(1, True), NULL, h, f, NULL)

    def nadam(self, double[::1] mu_product, double lr, double beta1, double beta2, double eps,
              double weight_decay, double momentum_decay, bint decoupled, bint maximize):
        """``mu_product``: float64 array, one entry per parameter, advanced in place."""
        cdef double h[6]
        cdef int f[2]
        if mu_product.shape[0] != self.n:
            raise ValueError(f"NAdam: expected {self.n} mu_product entries, got "
                             f"{mu_product.shape[0]}")
        h[:] = [lr, beta1, beta2, eps, weight_decay, momentum_decay]
        f[:] = [decoupled, maximize]
        self._run(_OPT_NADAM, self._buf(0, True), self._buf(1, True), NULL, h, f,
                  &mu_product[0])

    def radam(self, double lr, double beta1, double beta2, double eps, double weight_decay,
              bint decoupled, bint maximize):
        cdef double h[5]
        cdef int f[2]
        h[:] = [lr, beta1, beta2, eps, weight_decay]
        f[:] = [decoupled, maximize]
        self._run(_OPT_RADAM, self._buf(0, True), self._buf(1, True), NULL, h, f, NULL)

    def adadelta(self, double lr, double rho, double eps, double weight_decay, bint maximize):
        cdef double h[4]
        cdef int f[1]
        h[:] = [lr, rho, eps, weight_decay]
        f[0] = maximize
        self._run(_OPT_ADADELTA, self._buf(0, True), self._buf(1, True), NULL, h, f, NULL)

    def zero_grad(self, bint set_to_none=True):
        ag_optim_zero_grad(self.n, self.params, set_to_none)

    def grad_norm_acc(self, double p):
        """sum |g|^p over all gradients (max |g| for p = inf)."""
        cdef double out = 0.0
        self._run(_OPT_GRAD_NORM, NULL, NULL, NULL, &p, NULL, &out)
        return out

    def scale_grads(self, double s):
        self._run(_OPT_SCALE_GRADS, NULL, NULL, NULL, &s, NULL, NULL)

    def clip_grads(self, double c):
        """Clamp every gradient to [-c, c] in place."""
        self._run(_OPT_CLIP_GRADS, NULL, NULL, NULL, &c, NULL, NULL)


def _rebuild_fused_group(params, bufs, steps):
    """Unpickle a _FusedGroup written by ``_FusedGroup.__reduce__``."""
    g = _FusedGroup(params)
    for k, b in enumerate(bufs):
        if b is not None:
            g.set_buffers(k, b)
    g.set_steps(steps)
    return g


def _groups_match(groups, built):
    """True when ``groups`` (an optimizer's ``param_groups``) is a list of dicts whose i-th
    ``"params"`` is a list holding exactly the objects of the tuple ``built[i]``, in order
    (compared by identity).  The per-step check that hand edits of ``param_groups`` are not
    silently ignored: a pointer comparison per parameter, no Python-level loop."""
    cdef Py_ssize_t i, j, n
    cdef list gl, bl, cur
    cdef tuple ps
    if type(groups) is not list or type(built) is not list:
        return False
    gl = groups
    bl = built
    n = len(gl)
    if n != len(bl):
        return False
    for i in range(n):
        g = gl[i]
        if not isinstance(g, dict):
            return False
        c = (<dict>g).get("params")
        if type(c) is not list or type(bl[i]) is not tuple:
            return False
        cur = c
        ps = bl[i]
        if len(cur) != len(ps):
            return False
        for j in range(len(ps)):
            if cur[j] is not ps[j]:
                return False
    return True
