/* ag_internal.h -- structures shared by the core's files, not part of the public API. */
#ifndef AG_INTERNAL_H
#define AG_INTERNAL_H

#include "ag.h"
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER)
#define AG_TLS __declspec(thread)
#else
#define AG_TLS __thread
#endif

/* atomics: GCC/Clang builtins, MSVC interlocked intrinsics (reference counts, counters, claims) */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define AG_ATOMIC_INC(p) _InterlockedIncrement64((volatile __int64 *)(p))
#define AG_ATOMIC_DEC(p) _InterlockedDecrement64((volatile __int64 *)(p))
#define AG_ATOMIC_LOAD(p) (*(volatile int64_t *)(p))
#define AG_ATOMIC_STORE(p, v) _InterlockedExchange64((volatile __int64 *)(p), (v))
#define AG_ATOMIC_CLAIM(p) (_InterlockedCompareExchange((volatile long *)(p), 1, 0) == 0)
#define AG_ATOMIC_UNCLAIM(p) _InterlockedExchange((volatile long *)(p), 0)
#else
#define AG_ATOMIC_INC(p) __atomic_add_fetch((p), 1, __ATOMIC_RELAXED)
#define AG_ATOMIC_DEC(p) __atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL)
#define AG_ATOMIC_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define AG_ATOMIC_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define AG_ATOMIC_CLAIM(p) \
    __extension__({ int ag_expected_ = 0; \
        __atomic_compare_exchange_n((p), &ag_expected_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED); })
#define AG_ATOMIC_UNCLAIM(p) __atomic_store_n((p), 0, __ATOMIC_RELEASE)
#endif

#define AG_MAXPI 48

/* refcounted int64 buffer (indices of take) */
typedef struct ag_ibuf {
    int64_t refcount;
    int64_t n;
    int64_t data[];
} ag_ibuf;

/* Op parameters.  Shapes and axes always refer to the TRAILING `core` dims of an input, so the
 * same op applied to a tangent with extra leading (batch) axes does the batched thing: this is
 * what lets forward-mode push many tangent directions through one pass. */
typedef struct ag_params {
    int64_t i[AG_MAXPI];
    int ni;
    int core;      /* number of trailing input dims the params describe */
    int keepdims;
    int flag;
    double d[4];
    ag_ibuf *ibuf; /* owned */
} ag_params;

typedef struct ag_node {
    int64_t refcount;
    int64_t seq;     /* creation order: a topological order of the graph */
    int64_t epoch;   /* last backward that visited it (atomic access) */
    int busy;        /* claimed by a running sweep (compare-and-swap): one sweep per node */
    int op;
    int nin;
    int released;
    int out_hook;    /* nonzero: output tensor carries a hook (id in out_hook_id) */
    int64_t out_hook_id;
    ag_params p;
    ag_tensor *out;  /* detached alias of the output (owning) when the rule reads it */
    int64_t out_version;
    ag_tensor *gradbuf;
    ag_tensor *retain; /* weak: output tensor whose .grad is retained */
    int out_ndim;
    int64_t out_shape[AG_MAXDIM];
    ag_tensor **in;  /* owning refs to inputs: the graph's edges */
    int64_t *ver;    /* versions of inputs at record time */
    char *needs;     /* input i needs a gradient */
} ag_node;

typedef struct ag_vjp_ctx {
    int op;
    ag_node *n;
    ag_tensor *g;       /* cotangent, shape of the output */
    ag_tensor **in;
    int nin;
    ag_tensor *out;     /* saved output (detached) */
    const ag_params *p;
    const char *needs;
    ag_tensor **gin;    /* filled by the rule: a gradient per input (any broadcastable shape is
                           summed down to the input's shape by the sweep), NULL for none */
    int composed;       /* express the rule through differentiable ops (create_graph / tangents) */
} ag_vjp_ctx;

typedef ag_tensor *(*ag_fwd_fn)(int op, ag_tensor **in, int nin, const ag_params *p);
typedef int (*ag_vjp_fn)(ag_vjp_ctx *c);
/* tangents tin[i] may be NULL (zero); they carry the same leading batch axes; the result may
   be any shape broadcastable to (batch..., out.shape) or NULL for zero */
typedef ag_tensor *(*ag_jvp_fn)(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                                const ag_params *p);

#define AG_SAVES_OUT (1u << 31)
#define AG_SAVES_ALL 0x7fffffffu

typedef struct ag_oprules {
    ag_fwd_fn fwd;
    ag_vjp_fn vjp;
    ag_jvp_fn jvp;
    unsigned saves; /* bit i: the VJP reads input i's values; AG_SAVES_OUT: reads the output */
} ag_oprules;

typedef struct ag_opdef {
    const char *name;
    int nin;
    int flags;
    const ag_oprules *r;
} ag_opdef;

extern const ag_opdef ag_op_table[AG_NUM_OPS];

/* fixed-size block pools (pool.c) */
enum { AG_POOL_TENSOR = 0, AG_POOL_NODE = 1, AG_POOL_STORAGE = 2, AG_POOL_COUNT = 3 };
#define AG_POOL_NODE_NIN 3
#define AG_POOL_NODE_BYTES (sizeof(ag_node) + AG_POOL_NODE_NIN * (sizeof(ag_tensor *) + sizeof(int64_t) + 1))
#define AG_POOL_STORAGE_DATA 512
#define AG_POOL_STORAGE_BYTES (sizeof(ag_storage) + 64 + AG_POOL_STORAGE_DATA)
void *ag_pool_get(int cls);
void ag_pool_put(int cls, void *block);
/* the large-block cache (pool.c): blocks whose data capacity is at least AG_BIG_MIN bytes */
#define AG_BIG_MIN ((size_t)64 << 10)
#define AG_CACHE_DEFAULT_LIMIT ((size_t)128 << 20)
void *ag_cache_get(size_t cap, size_t *got); /* a block for >= cap data bytes, or NULL */
int ag_cache_put(void *block, size_t cap);   /* 1: kept; 0: the caller frees it */
void ag_leaf_lock(const void *leaf);        /* serializes accumulation into one leaf's .grad */
void ag_leaf_unlock(const void *leaf);
void ag_pool_atfork_prepare(void);           /* takes every pool and cache lock */
void ag_pool_atfork_release(void);           /* releases them (parent and child) */

/* record-or-not application of a primitive: forward, tape node, tangent */
ag_tensor *ag_apply(int op, ag_tensor **in, int nin, const ag_params *p);
void ag_params_init(ag_params *p);
void ag_params_copy(ag_params *dst, const ag_params *src);
void ag_params_clear(ag_params *p);
ag_ibuf *ag_ibuf_new(int64_t n);
void ag_ibuf_decref(ag_ibuf *b);

void ag_node_incref(ag_node *n);
void ag_node_decref(ag_node *n);

/* helpers */
void *ag_malloc(size_t n);
void *ag_aligned_alloc(size_t n);
void ag_aligned_free(void *p);
int ag_broadcast_shapes(const char *opname, int na, const int64_t *sa, int nb, const int64_t *sb,
                        int *nout, int64_t *out);
int ag_normalize_axes(const char *opname, int ndim, int nax, const int *axes, int *mask_out);
/* strided view of t broadcast to (ndim, shape): byte strides into bs */
void ag_broadcast_strides(const ag_tensor *t, int ndim, const int64_t *shape, int64_t *bs);

/* N-ary strided iteration: fn is called once per innermost row */
typedef void (*ag_row_fn)(int64_t n, char **ptrs, const int64_t *bstrides, void *ctx);
void ag_iter(int nops, int ndim, const int64_t *shape, char **base,
             int64_t bstrides[][AG_MAXDIM], ag_row_fn fn, void *ctx);
int ag_iter_single_row(int nops, ag_tensor **ops, ag_row_fn fn, void *ctx);
/* for (I = 0; I < N; I++) BODY, in an OpenMP team of ag_num_threads() only when COND holds and
 * more than one thread is allowed (one in a fork() child).  A plain branch, not an OpenMP
 * if-clause: with the clause false libgomp still starts and ends a team of one, which costs a
 * futex syscall per call -- more than a whole small op. */
#define AG_PAR_FOR(COND, I, N, ...)                                                    \
    do {                                                                               \
        if ((COND) && ag_num_threads() > 1) {                                          \
            _Pragma("omp parallel for num_threads(ag_num_threads()) schedule(static)") \
            for (I = 0; I < (N); I++) { __VA_ARGS__ }                                  \
        } else {                                                                       \
            for (I = 0; I < (N); I++) { __VA_ARGS__ }                                  \
        }                                                                              \
    } while (0)

/* element pointer of tensor */
static inline char *ag_ptr(const ag_tensor *t)
{
    return (char *)t->storage->data + t->offset * (int64_t)ag_dtype_size(t->dtype);
}

/* ops used by rules (all go through ag_apply, so they record / carry tangents as the modes say) */
ag_tensor *ag_add(ag_tensor *a, ag_tensor *b);
ag_tensor *ag_sub(ag_tensor *a, ag_tensor *b);
ag_tensor *ag_mul(ag_tensor *a, ag_tensor *b);
ag_tensor *ag_div(ag_tensor *a, ag_tensor *b);
ag_tensor *ag_neg(ag_tensor *a);
ag_tensor *ag_swap_last2(ag_tensor *a);
ag_tensor *ag_align_tangent(ag_tensor *t, const ag_tensor *x, int out_ndim);
ag_tensor *ag_unary_deriv_mul(int op, ag_tensor *x, ag_tensor *y, ag_tensor *v,
                              const ag_params *p);
ag_tensor *ag_unary_deriv_composed(int op, ag_tensor *x, const ag_params *p);
ag_tensor *ag_reduce_p(int op, ag_tensor *x, const ag_params *p);
ag_tensor *ag_expand_to_input(ag_tensor *g, const ag_params *p, const ag_tensor *x);
ag_tensor *ag_slice_p(ag_tensor *x, const ag_params *p);
ag_tensor *ag_slice_backward_p(ag_tensor *g, const ag_params *p);
ag_tensor *ag_take_p(ag_tensor *x, const ag_params *p);
/* ag_take with indices already in a buffer (taken over, in bounds: not checked, not copied) */
ag_tensor *ag_take_ibuf(ag_tensor *x, ag_ibuf *buf, int out_ndim, const int64_t *out_shape);
ag_tensor *ag_take_backward_p(ag_tensor *g, const ag_params *p);
ag_tensor *ag_reshape_view_or_copy(ag_tensor *x, int nd, const int64_t *shape);
int ag_copy_raw(ag_tensor *dst, ag_tensor *src);
ag_tensor *ag_reshape_core(ag_tensor *x, int core, int ndim, const int64_t *shape);
ag_tensor *ag_permute_core(ag_tensor *x, int core, const int64_t *perm);

/* structured (diagonal) batched tensors (diag.c): the flat vector v when t's values are known
 * to be diag(v) -- t contiguous at offset 0, t->shape[0] == n, n*n elements, batch element k
 * equal to v_k e_k -- else NULL (borrowed) */
ag_tensor *ag_diag_vec(ag_tensor *t);
/* a fresh tensor of `shape` (shape[0] = n = w->size, n*n elements) equal to diag(w), carrying
 * the hint; takes ownership of w (a contiguous vector that nothing else writes) */
ag_tensor *ag_diag_new(ag_tensor *w, int ndim, const int64_t *shape);
/* every element of a contiguous tensor is finite: a fast path that skips the dense zeros is
 * exact only then (0 * inf is nan) */
int ag_all_finite(const ag_tensor *t);

/* rules of each family, collected by tape.c */
#define AG_OP(name, nin, flags) extern const ag_oprules ag_rules_##name;
#include "ops/ops.def"
#undef AG_OP

#endif
