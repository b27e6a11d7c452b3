/* reduce.c -- reductions (sum, max, min, prod, logsumexp) and softmax / log_softmax.
 *
 * Params: p.core = the input's ndim when recorded, p.i[k] = 1 when trailing dim k is reduced,
 * p.keepdims.  Applied to a tangent with extra leading axes, the same params reduce the same
 * trailing dims.  Reductions accumulate in a fixed order, so results do not depend on threads.
 */
#include "../ag_internal.h"
#include "../kernels/vmath.h"
#include "../kernels/reduce_rows.h"
#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ accumulate kernels:
 * p[0] is the output (stride 0 along reduced dims), p[1] the input; the steps (STEP_, SEL_) and
 * PARTIAL_ (a contiguous run summed through 8 interleaved partial sums) are reduce_rows.h's */
#define GEN_ACC(name, T, AT, sfx) GEN_ACC_O(name, T, AT, T, sfx)
/* OT: the output's element type (AT for the float32 -> float64 accumulators below) */
#define GEN_ACC_O(name, T, AT, OT, sfx)                                           \
    static void acc_##name##_##sfx(int64_t n, char **p, const int64_t *s, void *c) \
    {                                                                             \
        int64_t i = 0;                                                            \
        (void)c;                                                                  \
        if (s[0] == 0) {                                                          \
            AT acc = *(OT *)p[0];                                                 \
            if (PARTIAL_##name && s[1] == (int64_t)sizeof(T) && n >= 16)          \
                AG_RR_PARTIAL_SUMS(AT, acc, (const T *)p[1], i, n);               \
            for (; i < n; i++) {                                                  \
                AT x = *(const T *)(p[1] + i * s[1]);                             \
                STEP_##name(acc, x);                                              \
            }                                                                     \
            *(OT *)p[0] = (OT)acc;                                                \
        } else if (s[0] == (int64_t)sizeof(OT) && s[1] == (int64_t)sizeof(T)) {   \
            /* a row of x into a row of the (fresh, unaliased) output, as when a   \
               leading axis is reduced: the same adds in the same order, but the  \
               compiler may vectorise it, and it no longer re-reads the output    \
               behind every store (this loop ran at 290 or 510 us for a 1024 x    \
               1024 float32 sum over axis 0 depending on where the heap put the   \
               output relative to x) */                                           \
            OT *restrict o = (OT *)p[0];                                          \
            const T *restrict xs = (const T *)p[1];                               \
            for (; i < n; i++) {                                                  \
                OT x = xs[i];                                                     \
                o[i] = SEL_##name(o[i], x);                                       \
            }                                                                     \
        } else {                                                                  \
            for (; i < n; i++) {                                                  \
                OT *o = (OT *)(p[0] + i * s[0]);                                  \
                OT x = *(const T *)(p[1] + i * s[1]);                             \
                STEP_##name(*o, x);                                               \
            }                                                                     \
        }                                                                         \
    }
GEN_ACC(sum, double, double, f64)
GEN_ACC(prod, double, double, f64)
/* float32 sum / prod into a float64 output: the non-contiguous branch above accumulates in the
   output's type, and in float32 a long column drifts (std of 1e4 + N(0,1) over 1e5 rows came
   out 7.49); the result is rounded to float32 once at the end (reduce_keep_raw) */
GEN_ACC_O(sum, float, double, double, f32w)
GEN_ACC_O(prod, float, double, double, f32w)
GEN_ACC(max, float, float, f32)
GEN_ACC(max, double, double, f64)
GEN_ACC(min, float, float, f32)
GEN_ACC(min, double, double, f64)

/* ------------------------------------------------------------------ x as (K0, R, K1) blocks:
 * the reduction (keepdims shape) by reduce_rows.h's kernels, where x, its dims of size 1
 * dropped and the rest put in memory order (strides decreasing), is kept dims, then the reduced
 * ones, then kept ones, each group one stride apart (a C-contiguous tensor, a transposed or
 * permuted one, a slice of rows or of columns), the last group's stride 1, and the kept dims
 * and the reduced dims each still in their own (logical) order: then the output is contiguous
 * in the kept dims' order and each output accumulates in the order of a C-order walk, so
 * max / min return the same first NaN and first of tied zeros.  A reduced run with stride 1
 * is summed through partial sums unless ordered, so that a transposed view sums as the tensor
 * it transposes.  NULL (no error) where x has another layout. */
static ag_tensor *reduce_blocks(int op, ag_tensor *x, const int *mask, double id, int ordered)
{
    int64_t shape[AG_MAXDIM], K[3] = {1, 1, 1}, st[3] = {0, 0, 0};
    int perm[AG_MAXDIM], last[2] = {-1, -1}, nd = 0, d, i, j, ph = 0;
    const ag_reduce_rows_table *t;
    ag_tensor *o;
    const void *xs;
    void *os;
    if (x->size == 0) return NULL;
    for (d = 0; d < x->ndim; d++) {
        shape[d] = mask[d] ? 1 : x->shape[d];
        if (x->shape[d] == 1) continue;
        if (x->strides[d] <= 0) return NULL;     /* broadcast or stepped backwards */
        for (i = nd++; i > 0 && x->strides[perm[i - 1]] < x->strides[d]; i--) perm[i] = perm[i - 1];
        perm[i] = d;
    }
    for (i = 0; i < nd; i++) {
        d = perm[i];
        if (mask[d]) {
            if (ph == 2) return NULL;
            ph = 1;
        } else if (ph == 1) {
            ph = 2;
        }
        if (last[mask[d] != 0] > d) return NULL;  /* out of logical order */
        last[mask[d] != 0] = d;
        if (K[ph] > 1 && st[ph] != x->strides[d] * x->shape[d]) return NULL;
        K[ph] *= x->shape[d];
        st[ph] = x->strides[d];
    }
    if (K[1] == 1 || (K[2] > 1 && st[2] != 1)) return NULL;
    o = ag_tensor_empty(x->dtype, x->ndim, shape);
    if (!o) return NULL;
    xs = ag_ptr(x);
    os = ag_ptr(o);
    t = ag_reduce_rows_active();
    j = op == AG_OP_sum ? AG_ROWS_SUM : op == AG_OP_prod ? AG_ROWS_PROD
        : op == AG_OP_max ? AG_ROWS_MAX : AG_ROWS_MIN;
    if (x->dtype == AG_F32)
        t->f32[j]((const float *)xs, (float *)os, K[0], st[0], K[1], st[1], K[2], id, ordered);
    else
        t->f64[j]((const double *)xs, (double *)os, K[0], st[0], K[1], st[1], K[2], id, ordered);
    return o;
}

/* x is large, broadcast along no dim, and its last dim longer than 1 has a stride other than 1
   (and reduce_blocks did not take it) */
static int strided_rows(const ag_tensor *x)
{
    int d, last = -1;
    if (x->size < 4096 || ag_tensor_is_contiguous(x)) return 0;
    for (d = 0; d < x->ndim; d++) {
        if (x->shape[d] == 1) continue;
        if (x->strides[d] == 0) return 0;
        last = d;
    }
    return last >= 0 && x->strides[last] != 1;
}

/* sum of exp(x - m) into a float64 accumulator (also for float32 x: a long float32 column
   drifts, as in the sums above), m broadcast along the reduced dims */
#define GEN_LSE(T, sfx)                                                                 \
    static void acc_lse_##sfx(int64_t n, char **p, const int64_t *s, void *c)           \
    {                                                                                   \
        int64_t i;                                                                      \
        (void)c;                                                                        \
        for (i = 0; i < n; i++) {                                                       \
            double *o = (double *)(p[0] + i * s[0]);                                    \
            *o += exp((double)(*(const T *)(p[1] + i * s[1]) - *(const T *)(p[2] + i * s[2]))); \
        }                                                                               \
    }
GEN_LSE(float, f32)
GEN_LSE(double, f64)

static double reduce_identity(int op)
{
    switch (op) {
    case AG_OP_prod: return 1.0;
    case AG_OP_max: return -INFINITY;
    case AG_OP_min: return INFINITY;
    default: return 0.0;
    }
}

/* raw reduction over dims with mask[d] set (no recording); keepdims output */
static ag_tensor *reduce_keep_raw(int op, ag_tensor *x, const int *mask)
{
    int64_t shape[AG_MAXDIM], bs[2][AG_MAXDIM];
    char *base[2];
    ag_tensor *o;
    ag_row_fn fn;
    int d;
    int wide = x->dtype == AG_F32 && (op == AG_OP_sum || op == AG_OP_prod);
    o = reduce_blocks(op, x, mask, reduce_identity(op), 0);
    if (o) return o;
    if (strided_rows(x)) {
        /* a view reduce_blocks cannot walk (stride 1 neither in its last kept group nor in its
           reduced run: x[:, ::2], a permutation that reorders the kept dims): the general path
           would walk x with a stride in its inner loop (3.5 ms for a 1024 x 1024 float32 sum of
           a transpose, against 0.12 ms contiguous); a contiguous copy in the same (C) order is
           reduced in blocks instead, its runs summed in order as that walk would */
        ag_tensor *xc = ag_tensor_contiguous_copy(x);
        o = xc ? reduce_blocks(op, xc, mask, reduce_identity(op), 1) : NULL;
        ag_tensor_decref(xc);
        if (o) return o;
        ag_clear_error();
    }
    for (d = 0; d < x->ndim; d++) shape[d] = mask[d] ? 1 : x->shape[d];
    /* float32 sums and products accumulate in a float64 buffer, rounded once at the end */
    o = ag_tensor_full(wide ? AG_F64 : x->dtype, x->ndim, shape, reduce_identity(op));
    if (!o) return NULL;
    if (x->size != 0) {
        for (d = 0; d < x->ndim; d++) {
            bs[0][d] = mask[d] ? 0 : o->strides[d] * (int64_t)ag_dtype_size(o->dtype);
            bs[1][d] = x->strides[d] * (int64_t)ag_dtype_size(x->dtype);
        }
        base[0] = ag_ptr(o);
        base[1] = ag_ptr(x);
        switch (op) {
        case AG_OP_sum: fn = wide ? acc_sum_f32w : acc_sum_f64; break;
        case AG_OP_prod: fn = wide ? acc_prod_f32w : acc_prod_f64; break;
        case AG_OP_max: fn = x->dtype == AG_F32 ? acc_max_f32 : acc_max_f64; break;
        default: fn = x->dtype == AG_F32 ? acc_min_f32 : acc_min_f64; break;
        }
        ag_iter(2, x->ndim, x->shape, base, bs, fn, NULL);
    }
    if (wide) {
        ag_tensor *o32 = ag_tensor_empty(AG_F32, x->ndim, shape);
        if (o32) {
            const double *src = (const double *)ag_ptr(o);
            float *dst = (float *)ag_ptr(o32);
            int64_t i;
            for (i = 0; i < o32->size; i++)
                dst[i] = (float)src[i];
        }
        ag_tensor_decref(o);
        o = o32;
    }
    return o;
}

static void params_mask(const ag_params *p, const ag_tensor *x, int *mask)
{
    int lead = x->ndim - p->core, d;
    for (d = 0; d < x->ndim; d++) mask[d] = d >= lead && p->i[d - lead];
}

/* drop the reduced dims of a keepdims result (a view: the result is contiguous) */
static ag_tensor *squeeze_reduced(ag_tensor *o, const int *mask)
{
    int64_t shape[AG_MAXDIM];
    int d, nd = 0;
    ag_tensor *r;
    for (d = 0; d < o->ndim; d++)
        if (!mask[d]) shape[nd++] = o->shape[d];
    r = ag_tensor_view(o, nd, shape, NULL, o->offset);
    ag_tensor_decref(o);
    return r;
}

static ag_tensor *lse_trailing(ag_tensor *x, const int *mask);

static ag_tensor *logsumexp_keep_raw(ag_tensor *x, const int *mask)
{
    ag_tensor *m, *o, *s = lse_trailing(x, mask);
    int64_t bs[3][AG_MAXDIM], i;
    int64_t es = (int64_t)ag_dtype_size(x->dtype);
    char *base[3];
    int d;
    if (s) return s;
    ag_clear_error();
    m = reduce_keep_raw(AG_OP_max, x, mask);
    if (!m) return NULL;
    /* rows that are all -inf (or contain +inf) keep their max; shift by 0 there */
    for (i = 0; i < m->size; i++) {
        if (m->dtype == AG_F32) { float *v = (float *)m->storage->data; if (!isfinite(v[i])) v[i] = 0; }
        else { double *v = (double *)m->storage->data; if (!isfinite(v[i])) v[i] = 0; }
    }
    s = ag_tensor_zeros(AG_F64, m->ndim, m->shape);
    o = s ? ag_tensor_empty(x->dtype, m->ndim, m->shape) : NULL;
    if (!o) { ag_tensor_decref(m); ag_tensor_decref(s); return NULL; }
    for (d = 0; d < x->ndim; d++) {
        bs[0][d] = mask[d] ? 0 : s->strides[d] * (int64_t)sizeof(double);
        bs[1][d] = x->strides[d] * es;
        bs[2][d] = mask[d] ? 0 : m->strides[d] * es;
    }
    base[0] = ag_ptr(s); base[1] = ag_ptr(x); base[2] = ag_ptr(m);
    if (x->size) ag_iter(3, x->ndim, x->shape, base, bs, x->dtype == AG_F32 ? acc_lse_f32 : acc_lse_f64, NULL);
    {
        const double *sv = (const double *)s->storage->data;
        for (i = 0; i < o->size; i++) {
            if (o->dtype == AG_F32)
                ((float *)o->storage->data)[i] = (float)(((const float *)m->storage->data)[i] + log(sv[i]));
            else
                ((double *)o->storage->data)[i] = ((const double *)m->storage->data)[i] + log(sv[i]);
        }
    }
    ag_tensor_decref(m);
    ag_tensor_decref(s);
    return o;
}

static ag_tensor *reduce_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *o;
    int mask[AG_MAXDIM], d;
    (void)nin;
    params_mask(p, x, mask);
    if (op == AG_OP_max || op == AG_OP_min) {
        for (d = 0; d < x->ndim; d++)
            if (mask[d] && x->shape[d] == 0) {
                ag_set_error(AG_EVALUE, "%s: zero-size reduction has no identity", ag_op_name(op));
                return NULL;
            }
    }
    o = op == AG_OP_logsumexp ? logsumexp_keep_raw(x, mask) : reduce_keep_raw(op, x, mask);
    if (!o || p->keepdims) return o;
    return squeeze_reduced(o, mask);
}

/* reshape a reduced gradient to keepdims shape and broadcast it over x */
ag_tensor *ag_expand_to_input(ag_tensor *g, const ag_params *p, const ag_tensor *x)
{
    int64_t shape[AG_MAXDIM];
    int d, j = 0, nred = 0, lead;
    ag_tensor *k, *r;
    for (d = 0; d < p->core; d++) nred += p->i[d] != 0;
    lead = g->ndim - (p->keepdims ? p->core : p->core - nred);
    if (p->keepdims) return ag_expand(g, x->ndim, x->shape);
    for (d = 0; d < lead; d++) shape[j++] = g->shape[d];
    {
        int gi = lead;
        for (d = 0; d < p->core; d++) shape[j++] = p->i[d] ? 1 : g->shape[gi++];
    }
    k = ag_reshape(g, j, shape);
    if (!k) return NULL;
    r = ag_expand(k, x->ndim, x->shape);
    ag_tensor_decref(k);
    return r;
}

ag_tensor *ag_reduce_p(int op, ag_tensor *x, const ag_params *p) { return ag_apply(op, &x, 1, p); }

static ag_tensor *keep_params_apply(int op, ag_tensor *x, const ag_params *p)
{
    ag_params q = *p;
    q.ibuf = NULL;
    q.keepdims = 1;
    return ag_apply(op, &x, 1, &q);
}

static ag_tensor *own(ag_tensor *t) { ag_tensor_incref(t); return t; }
static ag_tensor *c2(ag_tensor *(*f)(ag_tensor *, ag_tensor *), ag_tensor *a, ag_tensor *b)
{
    ag_tensor *r = (a && b) ? f(a, b) : NULL;
    ag_tensor_decref(a);
    ag_tensor_decref(b);
    return r;
}

/* "the product of the other elements of the group", prod_{j != i} x_j, exact with zeros in the
 * group and built from recorded ops whose own derivative is exact too (the Hessian of prod at a
 * point with one or two zeros is not zero).  With P the product of the group's nonzero entries,
 * Z its number of zeros and S the sum of its zero entries (value 0, derivative 1 at each zero):
 *   x_i != 0:  (P / x_i) * (1 if Z == 0, S if Z == 1, else 0)
 *   x_i == 0:  P * (1 if Z == 1, S - x_i if Z == 2, else 0)
 * Values and first derivatives are exact for any Z (a product of two or more zeros has a zero
 * derivative); third and higher derivatives are exact where the group has at most two zeros. */
static ag_tensor *prod_others(ag_tensor *x, const ag_params *p)
{
    ag_tensor *zero = ag_tensor_scalar(x->dtype, 0.0), *one = ag_tensor_scalar(x->dtype, 1.0);
    ag_tensor *two = ag_tensor_scalar(x->dtype, 2.0);
    ag_tensor *isz = (zero && one && two) ? ag_binary(AG_OP_eq, x, zero) : NULL;
    ag_tensor *xnz = isz ? ag_where(isz, one, x) : NULL;
    ag_tensor *P = xnz ? keep_params_apply(AG_OP_prod, xnz, p) : NULL;
    ag_tensor *zc = isz ? keep_params_apply(AG_OP_sum, isz, p) : NULL;
    ag_tensor *xz = isz ? ag_where(isz, x, zero) : NULL;
    ag_tensor *S = xz ? keep_params_apply(AG_OP_sum, xz, p) : NULL;
    ag_tensor *r = NULL;
    if (P && zc && S) {
        ag_tensor *none = ag_binary(AG_OP_eq, zc, zero);
        ag_tensor *onez = ag_binary(AG_OP_eq, zc, one);
        ag_tensor *twoz = ag_binary(AG_OP_eq, zc, two);
        /* x_i != 0 */
        ag_tensor *zprod = (none && onez) ? ag_where(onez, S, zero) : NULL;
        ag_tensor *zfac = zprod ? ag_where(none, one, zprod) : NULL;
        ag_tensor *nz = zfac ? c2(ag_mul, ag_div(P, xnz), own(zfac)) : NULL;
        /* x_i == 0 */
        ag_tensor *rest = (twoz && S) ? c2(ag_sub, own(S), own(x)) : NULL;
        ag_tensor *rest2 = rest ? ag_where(twoz, rest, zero) : NULL;
        ag_tensor *ofac = (rest2 && onez) ? ag_where(onez, one, rest2) : NULL;
        ag_tensor *zr = ofac ? ag_mul(P, ofac) : NULL;
        r = (nz && zr) ? ag_where(isz, zr, nz) : NULL;
        ag_tensor_decref(none); ag_tensor_decref(onez); ag_tensor_decref(twoz);
        ag_tensor_decref(zprod); ag_tensor_decref(zfac); ag_tensor_decref(nz);
        ag_tensor_decref(rest); ag_tensor_decref(rest2); ag_tensor_decref(ofac); ag_tensor_decref(zr);
    }
    ag_tensor_decref(zero); ag_tensor_decref(one); ag_tensor_decref(two); ag_tensor_decref(isz);
    ag_tensor_decref(xnz); ag_tensor_decref(P); ag_tensor_decref(zc);
    ag_tensor_decref(xz); ag_tensor_decref(S);
    return r;
}

/* the factor d out / d x (shape broadcastable to x) for each reduction */
static ag_tensor *reduce_partial(int op, ag_tensor *x, ag_tensor *out, const ag_params *p, int composed)
{
    ag_tensor *ok, *r;
    switch (op) {
    case AG_OP_max:
    case AG_OP_min: {
        /* d max = mask / count: the gradient is shared between tied maxima */
        ag_tensor *o = ag_expand_to_input(out, p, x);
        ag_tensor *m = o ? ag_binary(AG_OP_eq, x, o) : NULL;
        ag_tensor *cnt = m ? keep_params_apply(AG_OP_sum, m, p) : NULL;
        ag_tensor_decref(o);
        return c2(ag_div, m, cnt);
    }
    case AG_OP_prod:
        return prod_others(x, p);
    case AG_OP_logsumexp:
        /* d lse = softmax = exp(x - lse) */
        ok = composed ? keep_params_apply(AG_OP_logsumexp, x, p) : ag_expand_to_input(out, p, x);
        r = ok ? ag_sub(x, ok) : NULL;
        ag_tensor_decref(ok);
        ok = r ? ag_unary(AG_OP_exp, r) : NULL;
        ag_tensor_decref(r);
        return ok;
    default:
        return NULL;
    }
}

static int vjp_reduce(ag_vjp_ctx *c)
{
    ag_tensor *ge, *f;
    if (!c->needs[0]) return 0;
    ge = ag_expand_to_input(c->g, c->p, c->in[0]);
    if (!ge) return -1;
    if (c->op == AG_OP_sum) { c->gin[0] = ge; return 0; }
    f = reduce_partial(c->op, c->in[0], c->out, c->p, c->composed);
    c->gin[0] = c2(ag_mul, ge, f);
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_reduce(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                             const ag_params *p)
{
    ag_tensor *f, *tf, *r;
    (void)nin;
    if (op == AG_OP_sum) return ag_reduce_p(AG_OP_sum, tin[0], p);
    f = reduce_partial(op, in[0], out, p, 0);
    tf = c2(ag_mul, own(tin[0]), f);
    if (!tf) return NULL;
    r = ag_reduce_p(AG_OP_sum, tf, p);
    ag_tensor_decref(tf);
    return r;
}

const ag_oprules ag_rules_sum = {reduce_fwd, vjp_reduce, jvp_reduce, 0};
const ag_oprules ag_rules_max = {reduce_fwd, vjp_reduce, jvp_reduce, 1u | AG_SAVES_OUT};
const ag_oprules ag_rules_min = {reduce_fwd, vjp_reduce, jvp_reduce, 1u | AG_SAVES_OUT};
const ag_oprules ag_rules_prod = {reduce_fwd, vjp_reduce, jvp_reduce, 1u};
const ag_oprules ag_rules_logsumexp = {reduce_fwd, vjp_reduce, jvp_reduce, 1u | AG_SAVES_OUT};

static int reduce_params(const char *name, ag_tensor *x, int nax, const int *axes, int keepdims,
                         ag_params *p)
{
    int mask[AG_MAXDIM], d;
    if (ag_normalize_axes(name, x->ndim, nax, axes, mask)) return -1;
    ag_params_init(p);
    p->core = x->ndim;
    for (d = 0; d < x->ndim; d++) p->i[d] = mask[d];
    p->keepdims = keepdims;
    return 0;
}

ag_tensor *ag_reduce(int op, ag_tensor *x, int nax, const int *axes, int keepdims)
{
    ag_params p;
    if (reduce_params(ag_op_name(op), x, nax, axes, keepdims, &p)) return NULL;
    return ag_apply(op, &x, 1, &p);
}

static int64_t reduced_count(ag_tensor *x, const ag_params *p)
{
    int64_t n = 1;
    int d;
    for (d = 0; d < x->ndim; d++) if (p->i[d]) n *= x->shape[d];
    return n;
}

ag_tensor *ag_mean(ag_tensor *x, int nax, const int *axes, int keepdims)
{
    ag_params p;
    ag_tensor *s, *r;
    int64_t n;
    if (reduce_params("mean", x, nax, axes, keepdims, &p)) return NULL;
    n = reduced_count(x, &p);
    s = ag_apply(AG_OP_sum, &x, 1, &p);
    if (!s) return NULL;
    r = ag_scale(s, n ? 1.0 / (double)n : NAN);
    ag_tensor_decref(s);
    return r;
}

/* var = sum((x - mean)^2) / max(n - ddof, 0), numpy's convention: inf where ddof >= n and the
   squares sum to more than 0, NaN where they sum to 0 (one element with ddof = 1, or no element) */
ag_tensor *ag_var(ag_tensor *x, int nax, const int *axes, int keepdims, double ddof)
{
    ag_params p;
    ag_tensor *m, *d, *sq, *s, *r;
    int64_t n;
    if (reduce_params("var", x, nax, axes, keepdims, &p)) return NULL;
    n = reduced_count(x, &p);
    m = ag_mean(x, nax, axes, 1);
    d = m ? ag_sub(x, m) : NULL;
    sq = d ? ag_mul(d, d) : NULL;
    s = sq ? ag_apply(AG_OP_sum, &sq, 1, &p) : NULL;
    r = s ? ag_scale(s, (double)n - ddof > 0 ? 1.0 / ((double)n - ddof) : isnan(ddof) ? NAN : INFINITY) : NULL;
    ag_tensor_decref(m); ag_tensor_decref(d); ag_tensor_decref(sq); ag_tensor_decref(s);
    return r;
}

/* std = sqrt(var), with the derivative 0 where var is 0 (a constant slice), as in PyTorch: there
   sqrt's 1 / (2 sqrt(var)) is inf and var's derivative 0, and their product NaN.  Built as
   where(var == 0, 0, sqrt(where(var == 0, 1, var))), so that forward mode, reverse mode and
   higher orders all see the mask; the values are sqrt(var) everywhere. */
ag_tensor *ag_std(ag_tensor *x, int nax, const int *axes, int keepdims, double ddof)
{
    ag_tensor *v = ag_var(x, nax, axes, keepdims, ddof), *zero, *one, *z, *safe, *s, *r;
    if (!v) return NULL;
    zero = ag_tensor_scalar(v->dtype, 0.0);
    one = ag_tensor_scalar(v->dtype, 1.0);
    z = zero ? ag_binary(AG_OP_eq, v, zero) : NULL;
    safe = z && one ? ag_where(z, one, v) : NULL;
    s = safe ? ag_unary(AG_OP_sqrt, safe) : NULL;
    r = s ? ag_where(z, zero, s) : NULL;
    ag_tensor_decref(v); ag_tensor_decref(zero); ag_tensor_decref(one);
    ag_tensor_decref(z); ag_tensor_decref(safe); ag_tensor_decref(s);
    return r;
}

/* ------------------------------------------------------------------ row kernels of softmax,
 * log_softmax and logsumexp over contiguous rows of length L.  The max and the sum run over RW
 * interleaved partial results combined in a fixed order: the compiler vectorises them, and the
 * result is the same on every ISA and thread count.  exp(x - m) goes through the active ISA's
 * vector kernel when it has one (libm otherwise). */
#define RW 8
#define GEN_ROWS(T, sfx, EXP, LOG)                                                      \
    /* the shift m of a row: its max, 0 where that is +-inf (or the row is empty), NaN where \
       the row holds a NaN */                                                           \
    T ag_row_shift_##sfx(const T *x, int64_t L)                                        \
    {                                                                                   \
        T mx[RW], m;                                                                    \
        int64_t j;                                                                      \
        int k, nan = 0;                                                                 \
        for (k = 0; k < RW; k++) mx[k] = -INFINITY;                                     \
        for (j = 0; j + RW <= L; j += RW)                                               \
            for (k = 0; k < RW; k++) {                                                  \
                T v = x[j + k];                                                         \
                mx[k] = v > mx[k] ? v : mx[k];                                          \
                nan |= v != v;                                                          \
            }                                                                           \
        for (; j < L; j++) { T v = x[j]; mx[0] = v > mx[0] ? v : mx[0]; nan |= v != v; } \
        m = mx[0];                                                                      \
        for (k = 1; k < RW; k++) m = mx[k] > m ? mx[k] : m;                             \
        return nan ? (T)NAN : isfinite(m) ? m : 0;                                      \
    }                                                                                   \
    /* y = exp(x - m); returns the sum of y */                                          \
    T ag_row_expsum_##sfx(const T *x, T *y, int64_t L, T m, ag_vmath_##sfx##_fn vexp)  \
    {                                                                                   \
        T acc[RW] = {0};                                                                \
        int64_t j;                                                                      \
        int k;                                                                          \
        for (j = 0; j < L; j++) y[j] = x[j] - m;                                        \
        if (vexp) vexp(y, y, L);                                                        \
        else for (j = 0; j < L; j++) y[j] = EXP(y[j]);                                  \
        for (j = 0; j + RW <= L; j += RW)                                               \
            for (k = 0; k < RW; k++) acc[k] += y[j + k];                                \
        for (; j < L; j++) acc[0] += y[j];                                              \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
    }                                                                                   \
    static void softmax_row_##sfx(const T *xr, T *yr, int64_t L, int logm,              \
                                  ag_vmath_##sfx##_fn vexp)                             \
    {                                                                                   \
        T m = ag_row_shift_##sfx(xr, L), s = ag_row_expsum_##sfx(xr, yr, L, m, vexp);         \
        int64_t j;                                                                      \
        if (logm) {                                                                     \
            s = LOG(s);                                                                 \
            for (j = 0; j < L; j++) yr[j] = xr[j] - m - s;                              \
        } else {                                                                        \
            s = 1 / s;                                                                  \
            for (j = 0; j < L; j++) yr[j] *= s;                                         \
        }                                                                               \
    }                                                                                   \
    static void softmax_rows_##sfx(const T *x, T *y, int64_t rows, int64_t L, int logm) \
    {                                                                                   \
        ag_vmath_##sfx##_fn vexp = ag_vmath_active_##sfx(AG_OP_exp);                    \
        int64_t r;                                                                      \
        AG_PAR_FOR(rows * L >= 32768 && rows >= 2, r, rows,                             \
                   { softmax_row_##sfx(x + r * L, y + r * L, L, logm, vexp); });        \
    }                                                                                   \
    /* o[r] = logsumexp of row r; tmp: rows * L scratch */                              \
    static void lse_rows_##sfx(const T *x, T *tmp, T *o, int64_t rows, int64_t L)       \
    {                                                                                   \
        ag_vmath_##sfx##_fn vexp = ag_vmath_active_##sfx(AG_OP_exp);                    \
        int64_t r;                                                                      \
        AG_PAR_FOR(rows * L >= 32768 && rows >= 2, r, rows, {                           \
            T m = ag_row_shift_##sfx(x + r * L, L);                                     \
            o[r] = m + LOG(ag_row_expsum_##sfx(x + r * L, tmp + r * L, L, m, vexp));    \
        });                                                                             \
    }
GEN_ROWS(float, f32, expf, logf)
GEN_ROWS(double, f64, exp, log)

/* logsumexp over trailing dims of a contiguous x as rows (keepdims shape); NULL where x is
   not contiguous or a reduced dim precedes a kept one (the general path then runs) */
static ag_tensor *lse_trailing(ag_tensor *x, const int *mask)
{
    int64_t shape[AG_MAXDIM], rows = 1, L = 1;
    int d, k = x->ndim;
    ag_tensor *o;
    void *tmp;
    while (k > 0 && mask[k - 1]) k--;
    for (d = 0; d < k; d++) if (mask[d]) return NULL;
    if (!ag_tensor_is_contiguous(x)) return NULL;
    for (d = 0; d < x->ndim; d++) {
        shape[d] = d < k ? x->shape[d] : 1;
        if (d < k) rows *= x->shape[d]; else L *= x->shape[d];
    }
    o = ag_tensor_empty(x->dtype, x->ndim, shape);
    if (!o) return NULL;
    tmp = malloc((size_t)(x->size ? x->size : 1) * ag_dtype_size(x->dtype));
    if (!tmp) { ag_tensor_decref(o); return NULL; }
    if (x->dtype == AG_F32) lse_rows_f32((const float *)ag_ptr(x), (float *)tmp, (float *)ag_ptr(o), rows, L);
    else lse_rows_f64((const double *)ag_ptr(x), (double *)tmp, (double *)ag_ptr(o), rows, L);
    free(tmp);
    return o;
}

static ag_tensor *softmax_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *xc, *y, *r;
    int axis = x->ndim + (int)p->i[0], d, j = 0;
    int64_t perm_shape[AG_MAXDIM], L, rows, strides[AG_MAXDIM];
    int perm[AG_MAXDIM];
    (void)nin;
    /* view of x with `axis` moved last, copied contiguous */
    for (d = 0; d < x->ndim; d++) if (d != axis) perm[j++] = d;
    perm[j] = axis;
    {
        int64_t sh[AG_MAXDIM], sd[AG_MAXDIM];
        ag_tensor *v;
        for (d = 0; d < x->ndim; d++) { sh[d] = x->shape[perm[d]]; sd[d] = x->strides[perm[d]]; }
        v = ag_tensor_view(x, x->ndim, sh, sd, x->offset);
        if (!v) return NULL;
        xc = ag_tensor_is_contiguous(v) ? (ag_tensor_incref(v), v) : ag_tensor_contiguous_copy(v);
        ag_tensor_decref(v);
        if (!xc) return NULL;
        memcpy(perm_shape, sh, sizeof sh);
    }
    L = x->ndim ? x->shape[axis] : 1;
    rows = L ? x->size / L : 0;
    y = ag_tensor_empty(x->dtype, x->ndim, perm_shape);
    if (!y) { ag_tensor_decref(xc); return NULL; }
    if (x->dtype == AG_F32) softmax_rows_f32((const float *)ag_ptr(xc), (float *)ag_ptr(y), rows, L, op == AG_OP_log_softmax);
    else softmax_rows_f64((const double *)ag_ptr(xc), (double *)ag_ptr(y), rows, L, op == AG_OP_log_softmax);
    ag_tensor_decref(xc);
    /* permute back: a view of y in x's dim order */
    for (d = 0; d < x->ndim; d++) strides[perm[d]] = y->strides[d];
    r = ag_tensor_view(y, x->ndim, x->shape, strides, 0);
    ag_tensor_decref(y);
    return r;
}

static ag_tensor *softmax_keep_sum(ag_tensor *t, const ag_params *p)
{
    /* sum over the softmax axis (trailing-relative), keepdims */
    int axis = t->ndim + (int)p->i[0];
    return ag_reduce(AG_OP_sum, t, 1, &axis, 1);
}

ag_tensor *ag_softmax(ag_tensor *x, int axis, int logm)
{
    ag_params p;
    const char *name = logm ? "log_softmax" : "softmax";
    if (x->ndim == 0) {
        ag_set_error(AG_EVALUE, "%s: needs at least one dimension", name);
        return NULL;
    }
    if (axis < -x->ndim || axis >= x->ndim) {
        ag_set_error(AG_EVALUE, "%s: axis %d is out of bounds for a tensor of dimension %d", name,
                     axis, x->ndim);
        return NULL;
    }
    ag_params_init(&p);
    p.core = x->ndim;
    p.i[0] = axis < 0 ? axis : axis - x->ndim;
    return ag_apply(logm ? AG_OP_log_softmax : AG_OP_softmax, &x, 1, &p);
}

/* softmax: d y = y * (dx - sum(dx * y)) (a symmetric Jacobian: the same for VJP and JVP);
 * log_softmax: JVP dx - sum(softmax * dx), VJP g - softmax * sum(g) */
static ag_tensor *softmax_rule(int op, ag_tensor *x, ag_tensor *out, ag_tensor *v, const ag_params *p,
                               int composed, int forward)
{
    ag_tensor *y, *s, *r;
    if (op == AG_OP_softmax) {
        ag_tensor *vy;
        y = composed ? ag_apply(AG_OP_softmax, &x, 1, p) : own(out);
        vy = y ? ag_mul(v, y) : NULL;
        s = vy ? softmax_keep_sum(vy, p) : NULL;
        ag_tensor_decref(vy);
        r = c2(ag_mul, y, c2(ag_sub, own(v), s));
        return r;
    }
    y = composed ? ag_apply(AG_OP_softmax, &x, 1, p) : ag_unary(AG_OP_exp, out);
    if (!forward) {
        s = softmax_keep_sum(v, p);
        return c2(ag_sub, own(v), c2(ag_mul, y, s));
    }
    /* the Jacobian of log_softmax is not symmetric: JVP t - sum(softmax * t) */
    {
        ag_tensor *yv = y ? ag_mul(y, v) : NULL;
        s = yv ? softmax_keep_sum(yv, p) : NULL;
        ag_tensor_decref(yv);
        ag_tensor_decref(y);
        return c2(ag_sub, own(v), s);
    }
}

static int vjp_softmax(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    c->gin[0] = softmax_rule(c->op, c->in[0], c->out, c->g, c->p, c->composed, 0);
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_softmax(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                              const ag_params *p)
{
    (void)nin;
    return softmax_rule(op, in[0], out, tin[0], p, 0, 1);
}

const ag_oprules ag_rules_softmax = {softmax_fwd, vjp_softmax, jvp_softmax, AG_SAVES_OUT};
const ag_oprules ag_rules_log_softmax = {softmax_fwd, vjp_softmax, jvp_softmax, AG_SAVES_OUT};
