/* tensor.c -- errors, refcounted aligned storage, tensors and views, strided iteration. */
#include "ag_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <math.h>

/* ------------------------------------------------------------------ errors */
static AG_TLS int err_kind;
static AG_TLS char err_msg[1024];

int ag_last_error_kind(void) { return err_kind; }
const char *ag_last_error(void) { return err_msg; }
void ag_clear_error(void) { err_kind = AG_OK; err_msg[0] = 0; }

int ag_set_error(int kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    err_kind = kind;
    return -1;
}

/* ------------------------------------------------------------------ memory */
static int64_t live_storages, live_tensors;
int64_t ag_live_storages(void) { return AG_ATOMIC_LOAD(&live_storages); }
int64_t ag_live_tensors(void) { return AG_ATOMIC_LOAD(&live_tensors); }

void *ag_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) ag_set_error(AG_ENOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *ag_aligned_alloc(size_t n)
{
    void *p = NULL;
    size_t sz = (n + 63) & ~(size_t)63;
    if (sz == 0) sz = 64;
#if defined(_MSC_VER)
    p = _aligned_malloc(sz, 64);
#else
    if (posix_memalign(&p, 64, sz) != 0) p = NULL;
#endif
    if (!p) ag_set_error(AG_ENOMEM, "out of memory allocating a tensor of %zu bytes", n);
    return p;
}

void ag_aligned_free(void *p)
{
#if defined(_MSC_VER)
    _aligned_free(p);
#else
    free(p);
#endif
}

size_t ag_dtype_size(int dtype) { return dtype == AG_F64 ? 8 : 4; }
const char *ag_dtype_name(int dtype) { return dtype == AG_F64 ? "float64" : "float32"; }

/* owned storages keep the header and the data in one malloc block, the data at the first
 * 64-byte boundary after the header: one malloc/free per tensor instead of malloc +
 * posix_memalign (glibc's memalign path costs ~1,500 instructions, more than a small op) */
static char *inline_data(ag_storage *s)
{
    return (char *)(((uintptr_t)(s + 1) + 63) & ~(uintptr_t)63);
}

ag_storage *ag_storage_new(int64_t nbytes)
{
    ag_storage *s;
    size_t cap;
    if (nbytes < 0) { ag_set_error(AG_EVALUE, "negative storage size"); return NULL; }
    if ((uint64_t)nbytes > SIZE_MAX - sizeof *s - 128) {
        ag_set_error(AG_ENOMEM, "out of memory allocating a tensor of %lld bytes", (long long)nbytes);
        return NULL;
    }
    cap = ((size_t)nbytes + 63) & ~(size_t)63;
    if ((size_t)nbytes <= AG_POOL_STORAGE_DATA) {
        s = (ag_storage *)ag_pool_get(AG_POOL_STORAGE);
        cap = AG_POOL_STORAGE_DATA;
    } else if (!(s = (ag_storage *)ag_cache_get(cap, &cap))) {
        s = (ag_storage *)malloc(sizeof *s + 64 + cap);
        if (!s) {                   /* the kept blocks go back first, then one more try */
            ag_cache_empty();
            s = (ag_storage *)malloc(sizeof *s + 64 + cap);
        }
    }
    if (!s) {
        ag_set_error(AG_ENOMEM, "out of memory allocating a tensor of %lld bytes", (long long)nbytes);
        return NULL;
    }
    s->data = inline_data(s);
    s->nbytes = nbytes;
    s->refcount = 1;
    s->version = 0;
    s->owner = NULL;
    s->release = NULL;
    s->diag = NULL;
    s->diag_version = -1;
    s->capacity = (int64_t)cap;
    AG_ATOMIC_INC(&live_storages);
    return s;
}

ag_storage *ag_storage_wrap(void *data, int64_t nbytes, void *owner, void (*release)(void *))
{
    ag_storage *s = (ag_storage *)ag_malloc(sizeof *s);
    if (!s) return NULL;
    s->data = data;
    s->nbytes = nbytes;
    s->refcount = 1;
    s->version = 0;
    s->owner = owner;
    s->release = release;
    s->diag = NULL;
    s->diag_version = -1;
    s->capacity = 0;
    AG_ATOMIC_INC(&live_storages);
    return s;
}

void ag_storage_incref(ag_storage *s) { AG_ATOMIC_INC(&s->refcount); }

void ag_storage_decref(ag_storage *s)
{
    if (!s) return;
    if (AG_ATOMIC_DEC(&s->refcount) == 0) {
        ag_tensor_decref(s->diag); /* a plain vector: its own storage carries no hint */
        if (s->release) s->release(s->owner);
        else if (s->data != (void *)inline_data(s)) ag_aligned_free(s->data);
        if (s->release || s->data != (void *)inline_data(s))
            free(s);
        else if ((size_t)s->capacity == AG_POOL_STORAGE_DATA)
            ag_pool_put(AG_POOL_STORAGE, s);
        else if (!ag_cache_put(s, (size_t)s->capacity))
            free(s);
        AG_ATOMIC_DEC(&live_storages);
    }
}

/* ------------------------------------------------------------------ tensors */
int ag_check_shape(int ndim, const int64_t *shape, int64_t *size_out)
{
    int64_t size = 1;
    int i;
    if (ndim < 0 || ndim > AG_MAXDIM)
        return ag_set_error(AG_EVALUE, "tensors have at most %d dimensions, got %d", AG_MAXDIM, ndim);
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return ag_set_error(AG_EVALUE, "negative dimension %lld in shape", (long long)shape[i]);
        if (shape[i] > 0 && size > INT64_MAX / 16 / shape[i])
            return ag_set_error(AG_EVALUE, "shape is too large: its number of elements overflows");
        size *= shape[i];
    }
    if (size_out) *size_out = size;
    return 0;
}

static ag_tensor *tensor_alloc(void)
{
    ag_tensor *t = (ag_tensor *)ag_pool_get(AG_POOL_TENSOR);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->refcount = 1;
    AG_ATOMIC_INC(&live_tensors);
    return t;
}

static void set_contig_strides(ag_tensor *t)
{
    int64_t st = 1;
    int i;
    for (i = t->ndim - 1; i >= 0; i--) {
        t->strides[i] = st;
        st *= t->shape[i];
    }
}

ag_tensor *ag_tensor_from_storage(ag_storage *s, int dtype, int ndim, const int64_t *shape,
                                  const int64_t *strides, int64_t offset)
{
    ag_tensor *t;
    int64_t size;
    if (ag_check_shape(ndim, shape, &size)) return NULL;
    t = tensor_alloc();
    if (!t) return NULL;
    t->ndim = ndim;
    t->dtype = dtype;
    t->size = size;
    if (ndim) memcpy(t->shape, shape, ndim * sizeof(int64_t));
    if (strides) memcpy(t->strides, strides, ndim * sizeof(int64_t));
    else set_contig_strides(t);
    t->offset = offset;
    t->storage = s;
    ag_storage_incref(s);
    return t;
}

ag_tensor *ag_tensor_empty(int dtype, int ndim, const int64_t *shape)
{
    ag_tensor *t;
    ag_storage *s;
    int64_t size;
    if (ag_check_shape(ndim, shape, &size)) return NULL;
    s = ag_storage_new(size * (int64_t)ag_dtype_size(dtype));
    if (!s) return NULL;
    t = ag_tensor_from_storage(s, dtype, ndim, shape, NULL, 0);
    ag_storage_decref(s);
    return t;
}

ag_tensor *ag_tensor_zeros(int dtype, int ndim, const int64_t *shape)
{
    ag_tensor *t = ag_tensor_empty(dtype, ndim, shape);
    if (t) memset(t->storage->data, 0, (size_t)(t->size * ag_dtype_size(dtype)));
    return t;
}

ag_tensor *ag_tensor_full(int dtype, int ndim, const int64_t *shape, double v)
{
    ag_tensor *t = ag_tensor_empty(dtype, ndim, shape);
    int64_t i;
    if (!t) return NULL;
    if (dtype == AG_F32) {
        float *p = (float *)t->storage->data, fv = (float)v;
        for (i = 0; i < t->size; i++) p[i] = fv;
    } else {
        double *p = (double *)t->storage->data;
        for (i = 0; i < t->size; i++) p[i] = v;
    }
    return t;
}

ag_tensor *ag_tensor_scalar(int dtype, double v) { return ag_tensor_full(dtype, 0, NULL, v); }

ag_tensor *ag_tensor_view(ag_tensor *base, int ndim, const int64_t *shape, const int64_t *strides,
                          int64_t offset)
{
    return ag_tensor_from_storage(base->storage, base->dtype, ndim, shape, strides, offset);
}

ag_tensor *ag_tensor_alias(ag_tensor *t)
{
    return ag_tensor_from_storage(t->storage, t->dtype, t->ndim, t->shape, t->strides, t->offset);
}

void ag_tensor_incref(ag_tensor *t) { if (t) AG_ATOMIC_INC(&t->refcount); }

void ag_tensor_decref(ag_tensor *t)
{
    if (!t) return;
    if (AG_ATOMIC_DEC(&t->refcount) == 0) {
        if (t->grad_fn) {
            if (t->grad_fn->retain == t) t->grad_fn->retain = NULL;
            ag_node_decref(t->grad_fn);
        }
        ag_tensor_decref(t->grad);
        ag_tensor_decref(t->tangent);
        ag_storage_decref(t->storage);
        if (t->hook_id > 0) ag_hook_release(t->hook_id);
        ag_pool_put(AG_POOL_TENSOR, t);
        AG_ATOMIC_DEC(&live_tensors);
    }
}

int ag_tensor_is_contiguous(const ag_tensor *t)
{
    int64_t st = 1;
    int i;
    for (i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->strides[i] != st) return 0;
        st *= t->shape[i];
    }
    return 1;
}

int ag_same_shape(const ag_tensor *a, const ag_tensor *b)
{
    return a->ndim == b->ndim && memcmp(a->shape, b->shape, a->ndim * sizeof(int64_t)) == 0;
}

int ag_format_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t used = 0;
    int i;
    used += snprintf(buf + used, n - used, "(");
    for (i = 0; i < ndim && used < n; i++)
        used += snprintf(buf + used, n - used, ndim == 1 ? "%lld," : (i ? ", %lld" : "%lld"),
                         (long long)shape[i]);
    if (used < n) used += snprintf(buf + used, n - used, ")");
    return (int)used;
}

double ag_tensor_get_flat(const ag_tensor *t, int64_t i)
{
    int64_t off = t->offset;
    int d;
    for (d = t->ndim - 1; d >= 0; d--) {
        int64_t s = t->shape[d];
        off += (i % s) * t->strides[d];
        i /= s;
    }
    if (t->dtype == AG_F32) return ((float *)t->storage->data)[off];
    return ((double *)t->storage->data)[off];
}

/* ------------------------------------------------------------------ broadcasting */
int ag_broadcast_shapes(const char *opname, int na, const int64_t *sa, int nb, const int64_t *sb,
                        int *nout, int64_t *out)
{
    int n = na > nb ? na : nb, i;
    for (i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : sa[i - (n - na)];
        int64_t db = i < n - nb ? 1 : sb[i - (n - nb)];
        if (da != db && da != 1 && db != 1) {
            char b1[160], b2[160];
            ag_format_shape(b1, sizeof b1, na, sa);
            ag_format_shape(b2, sizeof b2, nb, sb);
            return ag_set_error(AG_EVALUE, "%s: shapes %s and %s cannot be broadcast together",
                                opname, b1, b2);
        }
        out[i] = da == 1 ? db : da;
    }
    *nout = n;
    return 0;
}

void ag_broadcast_strides(const ag_tensor *t, int ndim, const int64_t *shape, int64_t *bs)
{
    int i, lead = ndim - t->ndim;
    int64_t es = (int64_t)ag_dtype_size(t->dtype);
    for (i = 0; i < ndim; i++) {
        if (i < lead) bs[i] = 0;
        else {
            int j = i - lead;
            bs[i] = (t->shape[j] == 1 && shape[i] != 1) ? 0 : t->strides[j] * es;
        }
    }
}

int ag_normalize_axes(const char *opname, int ndim, int nax, const int *axes, int *mask)
{
    int i;
    for (i = 0; i < ndim; i++) mask[i] = nax < 0;   /* nax < 0: all axes */
    for (i = 0; i < nax; i++) {
        int a = axes[i];
        if (a < -ndim || a >= ndim || (ndim == 0 && a != 0 && a != -1))
            return ag_set_error(AG_EVALUE, "%s: axis %d is out of bounds for a tensor of dimension %d",
                                opname, a, ndim);
        if (ndim == 0) continue;
        if (a < 0) a += ndim;
        if (mask[a]) return ag_set_error(AG_EVALUE, "%s: repeated axis %d", opname, axes[i]);
        mask[a] = 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ iteration */
void ag_iter(int nops, int ndim, const int64_t *shape, char **base,
             int64_t bstrides[][AG_MAXDIM], ag_row_fn fn, void *ctx)
{
    int64_t sh[AG_MAXDIM], st[8][AG_MAXDIM], idx[AG_MAXDIM], inner[8];
    char *ptr[8];
    int nd = 0, d, k;
    int64_t total = 1;
    /* drop size-1 dims and merge dims that are contiguous for every operand */
    for (d = 0; d < ndim; d++) {
        if (shape[d] == 0) return;
        if (shape[d] == 1) continue;
        if (nd > 0) {
            int merge = 1;
            for (k = 0; k < nops; k++)
                if (st[k][nd - 1] != bstrides[k][d] * shape[d]) { merge = 0; break; }
            if (merge) {
                sh[nd - 1] *= shape[d];
                for (k = 0; k < nops; k++) st[k][nd - 1] = bstrides[k][d];
                continue;
            }
        }
        sh[nd] = shape[d];
        for (k = 0; k < nops; k++) st[k][nd] = bstrides[k][d];
        nd++;
    }
    if (nd == 0) {
        for (k = 0; k < nops; k++) inner[k] = 0;
        fn(1, base, inner, ctx);
        return;
    }
    for (k = 0; k < nops; k++) inner[k] = st[k][nd - 1];
    for (d = 0; d < nd - 1; d++) { idx[d] = 0; total *= sh[d]; }
    for (k = 0; k < nops; k++) ptr[k] = base[k];
    while (total-- > 0) {
        fn(sh[nd - 1], ptr, inner, ctx);
        for (d = nd - 2; d >= 0; d--) {
            idx[d]++;
            for (k = 0; k < nops; k++) ptr[k] += st[k][d];
            if (idx[d] < sh[d]) break;
            for (k = 0; k < nops; k++) ptr[k] -= st[k][d] * sh[d];
            idx[d] = 0;
        }
    }
}

/* when every operand is C-contiguous with the first one's shape, the loop is one row: skip the
   stride set-up of ag_iter (it dominates for tiny tensors) */
int ag_iter_single_row(int nops, ag_tensor **ops, ag_row_fn fn, void *ctx)
{
    int64_t st[8];
    char *base[8];
    int k;
    for (k = 0; k < nops; k++) {
        if ((k && !ag_same_shape(ops[k], ops[0])) || !ag_tensor_is_contiguous(ops[k])) return 0;
        st[k] = (int64_t)ag_dtype_size(ops[k]->dtype);
        base[k] = ag_ptr(ops[k]);
    }
    if (ops[0]->size) fn(ops[0]->size, base, st, ctx);
    return 1;
}

/* ag_copy_raw (dst <- src, broadcast and converted) lives in copy.c */
ag_tensor *ag_tensor_cast(ag_tensor *t, int dtype)
{
    ag_tensor *o = ag_tensor_empty(dtype, t->ndim, t->shape);
    if (!o) return NULL;
    ag_copy_raw(o, t);
    return o;
}

ag_tensor *ag_tensor_contiguous_copy(ag_tensor *t) { return ag_tensor_cast(t, t->dtype); }

/* ------------------------------------------------------------------ in place, outside the graph */
void ag_bump_version(ag_tensor *t) { AG_ATOMIC_INC(&t->storage->version); }

int ag_inplace_check(ag_tensor *t, const char *opname)
{
    int d;
    /* a broadcast view (stride 0 over a dimension > 1) would write one element many times */
    for (d = 0; d < t->ndim; d++)
        if (t->strides[d] == 0 && t->shape[d] > 1)
            return ag_set_error(AG_ERUNTIME,
                                "%s: in-place write into a broadcast (expanded) tensor, where several "
                                "elements share one memory location; make a copy first", opname);
    if (t->grad_fn && ag_grad_enabled())
        return ag_set_error(AG_ERUNTIME,
                            "%s: in-place modification of a tensor that is part of a recorded graph "
                            "(output of %s) is not supported; use an out-of-place op",
                            opname, ag_node_name(t->grad_fn));
    if (t->requires_grad && !t->grad_fn && ag_grad_enabled())
        return ag_set_error(AG_ERUNTIME,
                            "%s: a leaf tensor that requires grad is being used in an in-place "
                            "operation; wrap it in `with ag.no_grad():`", opname);
    /* its tangent would keep describing the old values */
    if (ag_tangent_of(t) && ag_fwd_enabled())
        return ag_set_error(AG_ERUNTIME,
                            "%s: in-place modification of a tensor that carries a forward-mode "
                            "tangent (from ag.jvp or a forward-mode jacobian) is not supported; "
                            "use an out-of-place op", opname);
    return 0;
}

int ag_copy_into(ag_tensor *dst, ag_tensor *src)
{
    int nout;
    int64_t out[AG_MAXDIM];
    if (ag_inplace_check(dst, "copy_")) return -1;
    if (ag_broadcast_shapes("copy_", dst->ndim, dst->shape, src->ndim, src->shape, &nout, out))
        return -1;
    if (nout != dst->ndim || memcmp(out, dst->shape, nout * sizeof(int64_t)) != 0) {
        char b1[160], b2[160];
        ag_format_shape(b1, sizeof b1, src->ndim, src->shape);
        ag_format_shape(b2, sizeof b2, dst->ndim, dst->shape);
        return ag_set_error(AG_EVALUE, "copy_: value of shape %s cannot be broadcast to %s", b1, b2);
    }
    if (src->storage == dst->storage) {
        ag_tensor *tmp = ag_tensor_contiguous_copy(src);
        if (!tmp) return -1;
        ag_copy_raw(dst, tmp);
        ag_tensor_decref(tmp);
    } else {
        ag_copy_raw(dst, src);
    }
    ag_bump_version(dst);
    return 0;
}

int ag_fill(ag_tensor *t, double v)
{
    ag_tensor *s;
    if (ag_inplace_check(t, "fill_")) return -1;
    s = ag_tensor_scalar(t->dtype, v);
    if (!s) return -1;
    ag_copy_raw(t, s);
    ag_tensor_decref(s);
    ag_bump_version(t);
    return 0;
}

int ag_set_tangent(ag_tensor *t, ag_tensor *tan)
{
    int i, lead;
    if (tan) {
        lead = tan->ndim - t->ndim;
        if (lead < 0 || lead > 1 || tan->dtype != t->dtype ||
            memcmp(tan->shape + lead, t->shape, t->ndim * sizeof(int64_t)) != 0) {
            char b1[160], b2[160];
            ag_format_shape(b1, sizeof b1, tan->ndim, tan->shape);
            ag_format_shape(b2, sizeof b2, t->ndim, t->shape);
            return ag_set_error(AG_EVALUE,
                                "jvp: tangent of shape %s and dtype %s does not match primal of "
                                "shape %s and dtype %s",
                                b1, ag_dtype_name(tan->dtype), b2, ag_dtype_name(t->dtype));
        }
        (void)i;
        ag_tensor_incref(tan);
    }
    ag_tensor_decref(t->tangent);
    t->tangent = tan;
    t->tangent_session = tan ? ag_fwd_session() : 0;
    return 0;
}

int ag_set_requires_grad(ag_tensor *t, int flag)
{
    if (!flag && t->grad_fn)
        return ag_set_error(AG_ERUNTIME,
                            "requires_grad: a non-leaf tensor's flag cannot be cleared; use detach()");
    t->requires_grad = flag ? 1 : 0;
    return 0;
}
