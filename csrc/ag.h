/* ag.h -- the one public header of the autograd_c C core.
 *
 * Tensors (refcounted, strided views over refcounted 64-byte-aligned storage), the tape
 * (nodes recorded by ag_apply), the backward sweep, and the op-level API.
 * Every function that can fail returns NULL or a negative status and leaves a message in a
 * thread-local buffer (ag_last_error / ag_last_error_kind).  The core never calls Python.
 */
#ifndef AG_H
#define AG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AG_MAXDIM 8

typedef enum { AG_F32 = 0, AG_F64 = 1 } ag_dtype;

/* error kinds, mapped to Python exceptions by the binding */
enum {
    AG_OK = 0,
    AG_EVALUE = 1,   /* ValueError */
    AG_ETYPE = 2,    /* TypeError */
    AG_ERUNTIME = 3, /* RuntimeError */
    AG_ENOMEM = 4,   /* MemoryError */
    AG_ELINALG = 5,  /* autograd_c.LinAlgError */
    AG_EINDEX = 6,   /* IndexError */
    AG_ENOTIMPL = 7  /* NotImplementedError */
};

typedef struct ag_storage {
    void *data;                 /* 64-byte aligned when owned */
    int64_t nbytes;
    int64_t refcount;
    int64_t version;            /* bumped by every in-place write */
    void *owner;                /* external owner (e.g. a numpy array) or NULL */
    void (*release)(void *owner);
    struct ag_tensor *diag;     /* owning, or NULL: a structural hint (see diag.c): the first n*n
                                   elements hold diag(diag), n = diag->size, while the version
                                   still equals diag_version */
    int64_t diag_version;
    int64_t capacity;           /* data bytes the block holds (owned storages; >= nbytes) */
} ag_storage;

struct ag_node;

typedef struct ag_tensor {
    int64_t refcount;
    ag_storage *storage;
    int64_t offset;             /* in elements */
    int64_t size;
    int64_t shape[AG_MAXDIM];
    int64_t strides[AG_MAXDIM]; /* in elements */
    int ndim;
    int dtype;
    int requires_grad;
    int retains_grad;
    struct ag_node *grad_fn;    /* owning; NULL for leaves */
    struct ag_tensor *grad;     /* owning; accumulated by backward */
    struct ag_tensor *tangent;  /* owning; forward-mode tangent (leading batch axes allowed) */
    int64_t tangent_session;    /* the forward-mode session the tangent belongs to (see below) */
    int64_t hook_id;            /* > 0 when Python hooks are registered on this tensor */
} ag_tensor;

/* hook: called by the sweep for tensors carrying hook_id > 0 (the only call into user code) */
typedef ag_tensor *(*ag_hook_fn)(int64_t hook_id, ag_tensor *grad, void *ctx);
void ag_set_hook_callback(ag_hook_fn fn, void *ctx);
/* called once per holder of a hook id when it is freed: the tensor it was registered on and,
   for a non-leaf, that tensor's grad_fn node (so the binding can drop the Python callables) */
typedef void (*ag_hook_release_fn)(int64_t hook_id);
void ag_set_hook_release(ag_hook_release_fn fn);
void ag_hook_release(int64_t hook_id);
int ag_tensor_set_hook(ag_tensor *t, int64_t id);
int ag_retain_grad(ag_tensor *t);

/* ---- errors ---- */
int ag_last_error_kind(void);
const char *ag_last_error(void);
void ag_clear_error(void);
int ag_set_error(int kind, const char *fmt, ...);

/* ---- storage and tensors ---- */
int64_t ag_live_storages(void);
int64_t ag_live_tensors(void);
int64_t ag_live_nodes(void);
ag_storage *ag_storage_new(int64_t nbytes);
ag_storage *ag_storage_wrap(void *data, int64_t nbytes, void *owner, void (*release)(void *));
void ag_storage_incref(ag_storage *s);
void ag_storage_decref(ag_storage *s);
/* freed large storage blocks wait for reuse, up to a byte limit (pool.c) */
void ag_cache_empty(void);                 /* give every kept block back to malloc */
void ag_cache_set_limit(size_t nbytes);    /* 0 keeps none */
size_t ag_cache_limit(void);
size_t ag_cache_bytes(void);               /* bytes kept now */

ag_tensor *ag_tensor_empty(int dtype, int ndim, const int64_t *shape);
ag_tensor *ag_tensor_zeros(int dtype, int ndim, const int64_t *shape);
ag_tensor *ag_tensor_full(int dtype, int ndim, const int64_t *shape, double value);
ag_tensor *ag_tensor_scalar(int dtype, double value);
ag_tensor *ag_tensor_view(ag_tensor *base, int ndim, const int64_t *shape, const int64_t *strides,
                          int64_t offset);
ag_tensor *ag_tensor_from_storage(ag_storage *s, int dtype, int ndim, const int64_t *shape,
                                  const int64_t *strides, int64_t offset);
ag_tensor *ag_tensor_alias(ag_tensor *t);         /* same data, no graph */
ag_tensor *ag_tensor_contiguous_copy(ag_tensor *t); /* fresh C-contiguous copy, no graph */
ag_tensor *ag_tensor_cast(ag_tensor *t, int dtype); /* fresh copy in dtype, no graph */
void ag_tensor_incref(ag_tensor *t);
void ag_tensor_decref(ag_tensor *t);
int ag_tensor_is_contiguous(const ag_tensor *t);
int ag_same_shape(const ag_tensor *a, const ag_tensor *b);
size_t ag_dtype_size(int dtype);
const char *ag_dtype_name(int dtype);
int ag_format_shape(char *buf, size_t n, int ndim, const int64_t *shape);
double ag_tensor_get_flat(const ag_tensor *t, int64_t i); /* i-th element in C order */
int ag_check_shape(int ndim, const int64_t *shape, int64_t *size_out);

/* ---- grad / tangent modes (thread-local) ---- */
int ag_grad_enabled(void);
int ag_set_grad_enabled(int on); /* returns the previous value */
int ag_fwd_enabled(void);
int ag_set_fwd_enabled(int on);
/* Forward-mode sessions: a tangent belongs to the session running on its thread when it was
 * set or computed (0: none), and is seen (by ops, in-place checks and the binding) only while
 * that session runs, so no tangent outlives the transform that made it, whatever tensors escape
 * it.  The outermost function transform begins one (1: it began one, 0: one was running) and
 * ends it when it returns.  Session ids are unique across threads. */
int ag_fwd_session_begin(void);
void ag_fwd_session_end(void);
int64_t ag_fwd_session(void);
ag_tensor *ag_tangent_of(const ag_tensor *t); /* t's live tangent (borrowed) or NULL */

/* ---- in-place (outside the graph) ---- */
int ag_inplace_check(ag_tensor *t, const char *opname);
int ag_copy_into(ag_tensor *dst, ag_tensor *src);   /* dst[...] = src (broadcast), bumps version */
int ag_fill(ag_tensor *t, double value);
int ag_inplace_binary(ag_tensor *t, ag_tensor *other, int op); /* t op= other; op is AG_OP_* */
void ag_bump_version(ag_tensor *t);
int ag_set_tangent(ag_tensor *t, ag_tensor *tangent);
/* the batched identity, shape (n, *shape) with n = prod(shape): the seed of a Jacobian.  It
   carries the diagonal hint, so ops it meets can skip the dense work (diag.c) */
ag_tensor *ag_tensor_eye_batched(int dtype, int ndim, const int64_t *shape);
/* forget a storage's diagonal hint for good: its memory is exported (numpy may write to it) */
void ag_storage_drop_diag(ag_storage *s);
/* 1 when t's values are known to be diag(v) through a valid hint (introspection for tests) */
int ag_tensor_has_diag(ag_tensor *t);
int ag_set_requires_grad(ag_tensor *t, int flag);

/* ---- backward ---- */
int ag_backward(ag_tensor *root, ag_tensor *grad, int retain_graph, int create_graph);
/* reverse sweep returning gradients for `inputs` (not accumulated into .grad) */
int ag_grad(int nout, ag_tensor **outputs, ag_tensor **grad_outputs, int nin, ag_tensor **inputs,
            ag_tensor **results, int retain_graph, int create_graph, int allow_unused);
/* 1 when root's graph reaches a leaf requiring grad other than `known` (not walked past) */
int ag_graph_reaches_other_leaf(ag_tensor *root, int nknown, ag_tensor **known);
const char *ag_node_name(const struct ag_node *n);

/* ---- op ids (the op table) ---- */
enum {
#define AG_OP(name, nin, flags) AG_OP_##name,
#include "ops/ops.def"
#undef AG_OP
    AG_NUM_OPS
};
const char *ag_op_name(int op);
int ag_op_nin(int op);
int ag_op_flags(int op);
#define AG_FLAG_ELEMWISE 1
#define AG_FLAG_LINEAR 2
#define AG_FLAG_REDUCE 4
#define AG_FLAG_NONDIFF 8
#define AG_FLAG_VIEW 16

/* ---- ops: each returns a new reference or NULL (error set) ---- */
ag_tensor *ag_unary(int op, ag_tensor *x);
ag_tensor *ag_unary_p(int op, ag_tensor *x, double param);
ag_tensor *ag_binary(int op, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_where(ag_tensor *cond, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_clip(ag_tensor *x, double lo, double hi, int has_lo, int has_hi);
ag_tensor *ag_reduce(int op, ag_tensor *x, int nax, const int *axes, int keepdims);
ag_tensor *ag_mean(ag_tensor *x, int nax, const int *axes, int keepdims);
ag_tensor *ag_var(ag_tensor *x, int nax, const int *axes, int keepdims, double ddof);
ag_tensor *ag_std(ag_tensor *x, int nax, const int *axes, int keepdims, double ddof);
ag_tensor *ag_softmax(ag_tensor *x, int axis, int log);
/* running sum along axis; reverse: from the end */
ag_tensor *ag_cumsum(ag_tensor *x, int axis, int reverse);
ag_tensor *ag_matmul(ag_tensor *a, ag_tensor *b);
ag_tensor *ag_linear(ag_tensor *x, ag_tensor *w, ag_tensor *b, int act, double act_param);
ag_tensor *ag_reshape(ag_tensor *x, int ndim, const int64_t *shape);
ag_tensor *ag_permute(ag_tensor *x, const int *perm);
ag_tensor *ag_expand(ag_tensor *x, int ndim, const int64_t *shape);
ag_tensor *ag_sum_to(ag_tensor *g, int ndim, const int64_t *shape);
/* basic indexing: for each input dim a start; for each output dim its source input dim
   (-1 for a new axis), step and length; input dims with no output dim are fixed at start */
ag_tensor *ag_slice(ag_tensor *x, const int64_t *starts, int out_ndim, const int *src,
                    const int64_t *steps, const int64_t *lens);
/* gather by flat C-order indices into x (already bounds-checked, non-negative) */
ag_tensor *ag_take(ag_tensor *x, const int64_t *idx, int64_t nidx, int out_ndim,
                   const int64_t *out_shape);
/* the same over the trailing `core` dims of x (flat indices into them, checked here), the
   leading dims a batch: out shape = x's leading dims + out_shape */
ag_tensor *ag_take_core(ag_tensor *x, int core, const int64_t *idx, int64_t nidx, int out_ndim,
                        const int64_t *out_shape);
ag_tensor *ag_concat(int n, ag_tensor **xs, int axis);
/* x rolled by shift along axis (numpy.roll for one axis); its VJP is the roll back */
ag_tensor *ag_roll(ag_tensor *x, int axis, int64_t shift);
/* sorting along the last axis in numpy's stable order (NaN last, -0.0 == +0.0, ties in input
   order): ag_argsort writes x->size indices within each row (not recorded, returns 0 or -1);
   ag_sort returns the sorted values, recorded as a gather at the sorted positions */
int ag_argsort(ag_tensor *x, int64_t *order);
ag_tensor *ag_sort(ag_tensor *x);
ag_tensor *ag_contiguous(ag_tensor *x);
ag_tensor *ag_view_alias(ag_tensor *x);  /* a tensor of its own over x's memory (recorded) */
ag_tensor *ag_astype(ag_tensor *x, int dtype);
ag_tensor *ag_scale(ag_tensor *x, double s);     /* x * s (s a Python scalar) */
ag_tensor *ag_add_scalar(ag_tensor *x, double s);
ag_tensor *ag_pow_scalar(ag_tensor *x, double s);

/* ---- linear algebra (trailing two dims; leading dims batch) ---- */
ag_tensor *ag_inv(ag_tensor *a);
ag_tensor *ag_solve(ag_tensor *a, ag_tensor *b);
ag_tensor *ag_slogdet(ag_tensor *a, ag_tensor **sign_out);
ag_tensor *ag_cholesky(ag_tensor *a);
ag_tensor *ag_det(ag_tensor *a);
ag_tensor *ag_cofactor(ag_tensor *a);   /* adj(a)^T, the gradient of det */

/* cross-entropy with integer labels: per-sample losses of (N, C) logits, fused log-softmax + NLL */
ag_tensor *ag_cross_entropy(ag_tensor *logits, const int64_t *labels, int64_t n);

/* ---- threads and kernels ---- */
void ag_init(void);
int ag_num_threads(void);
void ag_threads_set(int n);
const char *ag_isa_current_name(void);
const char *ag_isa_best_name(void);

#ifdef __cplusplus
}
#endif
#endif
