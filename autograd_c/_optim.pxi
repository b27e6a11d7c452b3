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

    def sgd(self, double lr, double momentum, double dampening, bint nesterov, double weight_decay,
            bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, momentum != 0.0)
        if self.total >= NOGIL_N:
            with nogil:
                st = ag_optim_sgd(self.n, self.params, b0, self.steps, lr, momentum, dampening,
                                  nesterov, weight_decay, maximize)
        else:
            st = ag_optim_sgd(self.n, self.params, b0, self.steps, lr, momentum, dampening,
                              nesterov, weight_decay, maximize)
        if st:
            _raise()

    def adam(self, double lr, double beta1, double beta2, double eps, double weight_decay,
             bint decoupled, bint amsgrad, bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        cdef ag_tensor **b1 = self._buf(1, True)
        cdef ag_tensor **b2 = self._buf(2, amsgrad)
        if self.total >= NOGIL_N:
            with nogil:
                st = ag_optim_adam(self.n, self.params, b0, b1, b2, self.steps, lr, beta1, beta2,
                                   eps, weight_decay, decoupled, amsgrad, maximize)
        else:
            st = ag_optim_adam(self.n, self.params, b0, b1, b2, self.steps, lr, beta1, beta2,
                               eps, weight_decay, decoupled, amsgrad, maximize)
        if st:
            _raise()

    def rmsprop(self, double lr, double alpha, double eps, double weight_decay, double momentum,
                bint centered, bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        cdef ag_tensor **b1 = self._buf(1, momentum > 0)
        cdef ag_tensor **b2 = self._buf(2, centered)
        with nogil:
            st = ag_optim_rmsprop(self.n, self.params, b0, b1, b2, self.steps, lr, alpha, eps,
                                  weight_decay, momentum, centered, maximize)
        if st:
            _raise()

    def adagrad(self, double lr, double lr_decay, double weight_decay, double eps, bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        with nogil:
            st = ag_optim_adagrad(self.n, self.params, b0, self.steps, lr, lr_decay,
                                  weight_decay, eps, maximize)
        if st:
            _raise()

    def adamax(self, double lr, double beta1, double beta2, double eps, double weight_decay,
               bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        cdef ag_tensor **b1 = self._buf(1, True)
        with nogil:
            st = ag_optim_adamax(self.n, self.params, b0, b1, self.steps, lr, beta1, beta2, eps,
                                 weight_decay, maximize)
        if st:
            _raise()

    def nadam(self, double[::1] mu_product, double lr, double beta1, double beta2, double eps,
              double weight_decay, double momentum_decay, bint decoupled, bint maximize):
        """``mu_product``: float64 array, one entry per parameter, advanced in place."""
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        cdef ag_tensor **b1 = self._buf(1, True)
        if mu_product.shape[0] != self.n:
            raise ValueError(f"NAdam: expected {self.n} mu_product entries, got "
                             f"{mu_product.shape[0]}")
        with nogil:
            st = ag_optim_nadam(self.n, self.params, b0, b1, self.steps, &mu_product[0], lr,
                                beta1, beta2, eps, weight_decay, momentum_decay, decoupled,
                                maximize)
        if st:
            _raise()

    def radam(self, double lr, double beta1, double beta2, double eps, double weight_decay,
              bint decoupled, bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        cdef ag_tensor **b1 = self._buf(1, True)
        with nogil:
            st = ag_optim_radam(self.n, self.params, b0, b1, self.steps, lr, beta1, beta2, eps,
                                weight_decay, decoupled, maximize)
        if st:
            _raise()

    def adadelta(self, double lr, double rho, double eps, double weight_decay, bint maximize):
        cdef int st
        cdef ag_tensor **b0 = self._buf(0, True)
        cdef ag_tensor **b1 = self._buf(1, True)
        with nogil:
            st = ag_optim_adadelta(self.n, self.params, b0, b1, self.steps, lr, rho, eps,
                                   weight_decay, maximize)
        if st:
            _raise()

    def zero_grad(self, bint set_to_none=True):
        ag_optim_zero_grad(self.n, self.params, set_to_none)

    def grad_norm_acc(self, double p):
        """sum |g|^p over all gradients (max |g| for p = inf)."""
        cdef double out = 0.0
        cdef int st
        with nogil:
            st = ag_optim_grad_norm(self.n, self.params, p, &out)
        if st:
            _raise()
        return out

    def scale_grads(self, double s):
        cdef int st
        with nogil:
            st = ag_optim_scale_grads(self.n, self.params, s)
        if st:
            _raise()

    def clip_grads(self, double c):
        """Clamp every gradient to [-c, c] in place."""
        cdef int st
        with nogil:
            st = ag_optim_clip_grads(self.n, self.params, c)
        if st:
            _raise()


def _rebuild_fused_group(params, bufs, steps):
    """Unpickle a _FusedGroup written by ``_FusedGroup.__reduce__``."""
    g = _FusedGroup(params)
    for k, b in enumerate(bufs):
        if b is not None:
            g.set_buffers(k, b)
    g.set_steps(steps)
    return g
