# _core.pxd -- declarations of the C core's public API (csrc/ag.h) for the Cython binding.
from libc.stdint cimport int64_t

cdef extern from "ag.h" nogil:
    enum: AG_MAXDIM
    enum: AG_F32, AG_F64
    enum:
        AG_OK, AG_EVALUE, AG_ETYPE, AG_ERUNTIME, AG_ENOMEM, AG_ELINALG, AG_EINDEX, AG_ENOTIMPL
    enum:
        AG_OP_neg
        AG_OP_abs
        AG_OP_exp
        AG_OP_log
        AG_OP_log1p
        AG_OP_sqrt
        AG_OP_sin
        AG_OP_cos
        AG_OP_tan
        AG_OP_tanh
        AG_OP_sigmoid
        AG_OP_relu
        AG_OP_leaky_relu
        AG_OP_elu
        AG_OP_softplus
        AG_OP_gelu
        AG_OP_silu
        AG_OP_erf
        AG_OP_sign
        AG_OP_step
        AG_OP_clip
        AG_OP_sinh
        AG_OP_cosh
        AG_OP_arcsin
        AG_OP_arccos
        AG_OP_arctan
        AG_OP_arcsinh
        AG_OP_arccosh
        AG_OP_arctanh
        AG_OP_expm1
        AG_OP_exp2
        AG_OP_log2
        AG_OP_log10
        AG_OP_floor
        AG_OP_ceil
        AG_OP_rint
        AG_OP_trunc
        AG_OP_add
        AG_OP_sub
        AG_OP_mul
        AG_OP_div
        AG_OP_pow
        AG_OP_maximum
        AG_OP_minimum
        AG_OP_arctan2
        AG_OP_hypot
        AG_OP_eq
        AG_OP_ne
        AG_OP_lt
        AG_OP_le
        AG_OP_gt
        AG_OP_ge
        AG_OP_where
        AG_OP_sum
        AG_OP_max
        AG_OP_min
        AG_OP_prod
        AG_OP_logsumexp
        AG_OP_softmax
        AG_OP_log_softmax
        AG_OP_matmul
        AG_OP_linear
        AG_OP_reshape
        AG_OP_permute
        AG_OP_expand
        AG_OP_slice
        AG_OP_slice_backward
        AG_OP_take
        AG_OP_take_backward
        AG_OP_concat
        AG_OP_copy
        AG_OP_astype
        AG_OP_inv
        AG_OP_solve
        AG_OP_slogdet
        AG_OP_cholesky
        AG_OP_cross_entropy
        AG_NUM_OPS

    ctypedef struct ag_storage:
        void *data
        int64_t nbytes
        int64_t refcount
        int64_t version

    ctypedef struct ag_node

    ctypedef struct ag_tensor:
        int64_t refcount
        ag_storage *storage
        int64_t offset
        int64_t size
        int64_t shape[8]
        int64_t strides[8]
        int ndim
        int dtype
        int requires_grad
        int retains_grad
        ag_node *grad_fn
        ag_tensor *grad
        ag_tensor *tangent
        int64_t hook_id

    ctypedef ag_tensor *(*ag_hook_fn)(int64_t hook_id, ag_tensor *grad, void *ctx)
    void ag_set_hook_callback(ag_hook_fn fn, void *ctx)
    ctypedef void (*ag_hook_release_fn)(int64_t hook_id)
    void ag_set_hook_release(ag_hook_release_fn fn)
    int ag_tensor_set_hook(ag_tensor *t, int64_t id)
    int ag_retain_grad(ag_tensor *t)

    int ag_last_error_kind()
    const char *ag_last_error()
    void ag_clear_error()
    int ag_set_error(int kind, const char *fmt, ...)

    int64_t ag_live_storages()
    int64_t ag_live_tensors()
    int64_t ag_live_nodes()
    ag_storage *ag_storage_wrap(void *data, int64_t nbytes, void *owner, void (*release)(void *) noexcept)
    void ag_storage_decref(ag_storage *s)
    void ag_cache_empty()
    void ag_cache_set_limit(size_t nbytes)
    size_t ag_cache_limit()
    size_t ag_cache_bytes()
    ag_tensor *ag_tensor_empty(int dtype, int ndim, const int64_t *shape)
    ag_tensor *ag_tensor_zeros(int dtype, int ndim, const int64_t *shape)
    ag_tensor *ag_tensor_full(int dtype, int ndim, const int64_t *shape, double value)
    ag_tensor *ag_tensor_scalar(int dtype, double value)
    ag_tensor *ag_tensor_from_storage(ag_storage *s, int dtype, int ndim, const int64_t *shape,
                                      const int64_t *strides, int64_t offset)
    ag_tensor *ag_tensor_alias(ag_tensor *t)
    ag_tensor *ag_tensor_contiguous_copy(ag_tensor *t)
    ag_tensor *ag_tensor_cast(ag_tensor *t, int dtype)
    void ag_tensor_incref(ag_tensor *t)
    void ag_tensor_decref(ag_tensor *t)
    int ag_tensor_is_contiguous(const ag_tensor *t)
    double ag_tensor_get_flat(const ag_tensor *t, int64_t i)
    int ag_check_shape(int ndim, const int64_t *shape, int64_t *size_out)

    int ag_grad_enabled()
    int ag_set_grad_enabled(int on)
    int ag_fwd_enabled()
    int ag_set_fwd_enabled(int on)

    int ag_inplace_check(ag_tensor *t, const char *opname)
    int ag_copy_into(ag_tensor *dst, ag_tensor *src)
    int ag_fill(ag_tensor *t, double value)
    int ag_inplace_binary(ag_tensor *t, ag_tensor *other, int op)
    void ag_bump_version(ag_tensor *t)
    int ag_set_tangent(ag_tensor *t, ag_tensor *tangent)
    int ag_fwd_session_begin()
    void ag_fwd_session_end()
    ag_tensor *ag_tangent_of(const ag_tensor *t)
    ag_tensor *ag_tensor_eye_batched(int dtype, int ndim, const int64_t *shape)
    void ag_storage_drop_diag(ag_storage *s)
    int ag_tensor_has_diag(ag_tensor *t)
    int ag_set_requires_grad(ag_tensor *t, int flag)

    int ag_backward(ag_tensor *root, ag_tensor *grad, int retain_graph, int create_graph)
    int ag_grad(int nout, ag_tensor **outputs, ag_tensor **grad_outputs, int nin, ag_tensor **inputs,
                ag_tensor **results, int retain_graph, int create_graph, int allow_unused)
    int ag_graph_reaches_other_leaf(ag_tensor *root, int nknown, ag_tensor **known)
    const char *ag_node_name(const ag_node *n)
    const char *ag_op_name(int op)
    int ag_op_nin(int op)
    int ag_op_flags(int op)

    ag_tensor *ag_unary(int op, ag_tensor *x)
    ag_tensor *ag_unary_p(int op, ag_tensor *x, double param)
    ag_tensor *ag_binary(int op, ag_tensor *a, ag_tensor *b)
    ag_tensor *ag_where(ag_tensor *cond, ag_tensor *a, ag_tensor *b)
    ag_tensor *ag_clip(ag_tensor *x, double lo, double hi, int has_lo, int has_hi)
    ag_tensor *ag_reduce(int op, ag_tensor *x, int nax, const int *axes, int keepdims)
    ag_tensor *ag_mean(ag_tensor *x, int nax, const int *axes, int keepdims)
    ag_tensor *ag_var(ag_tensor *x, int nax, const int *axes, int keepdims, double ddof)
    ag_tensor *ag_std(ag_tensor *x, int nax, const int *axes, int keepdims, double ddof)
    ag_tensor *ag_softmax(ag_tensor *x, int axis, int log)
    ag_tensor *ag_cumsum(ag_tensor *x, int axis, int reverse)
    ag_tensor *ag_matmul(ag_tensor *a, ag_tensor *b)
    ag_tensor *ag_linear(ag_tensor *x, ag_tensor *w, ag_tensor *b, int act, double act_param)
    ag_tensor *ag_reshape(ag_tensor *x, int ndim, const int64_t *shape)
    ag_tensor *ag_permute(ag_tensor *x, const int *perm)
    ag_tensor *ag_expand(ag_tensor *x, int ndim, const int64_t *shape)
    ag_tensor *ag_slice(ag_tensor *x, const int64_t *starts, int out_ndim, const int *src,
                        const int64_t *steps, const int64_t *lens)
    ag_tensor *ag_take(ag_tensor *x, const int64_t *idx, int64_t nidx, int out_ndim,
                       const int64_t *out_shape)
    ag_tensor *ag_take_core(ag_tensor *x, int core, const int64_t *idx, int64_t nidx,
                            int out_ndim, const int64_t *out_shape)
    ag_tensor *ag_concat(int n, ag_tensor **xs, int axis)
    ag_tensor *ag_roll(ag_tensor *x, int axis, int64_t shift)
    int ag_argsort(ag_tensor *x, int64_t *order)
    ag_tensor *ag_sort(ag_tensor *x)
    ag_tensor *ag_contiguous(ag_tensor *x)
    ag_tensor *ag_view_alias(ag_tensor *x)
    ag_tensor *ag_astype(ag_tensor *x, int dtype)

    ag_tensor *ag_inv(ag_tensor *a)
    ag_tensor *ag_solve(ag_tensor *a, ag_tensor *b)
    ag_tensor *ag_slogdet(ag_tensor *a, ag_tensor **sign_out)
    ag_tensor *ag_cholesky(ag_tensor *a)
    ag_tensor *ag_det(ag_tensor *a)
    ag_tensor *ag_cofactor(ag_tensor *a)

    ag_tensor *ag_cross_entropy(ag_tensor *logits, const int64_t *labels, int64_t n)

    void ag_init()
    int ag_num_threads()
    void ag_threads_set(int n)
    const char *ag_isa_current_name()
    const char *ag_isa_best_name()

cdef extern from "kernels/cpu.h" nogil:
    int ag_set_isa(int isa)
    const char *ag_isa_warning()

cdef extern from "kernels/gemm.h" nogil:
    int64_t ag_gemm_scratch_bytes()


cdef class Tensor:
    cdef ag_tensor *t
    cdef object __weakref__
    cdef object _hookfns    # the {token: fn} dict of this tensor's hooks (see _core.pyx), or None
