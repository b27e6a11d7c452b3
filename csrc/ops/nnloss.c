/* nnloss.c -- cross-entropy with integer labels as one fused op: log-softmax and the negative
 * log-likelihood of the label in a single pass per row, stable for logits of any size.
 *
 * in[0]: logits (..., N, C); p.ibuf: the N labels; output: per-sample losses (..., N).
 * loss_n = logsumexp(x_n) - x_n[y_n]
 */
#include "../ag_internal.h"
#include "../kernels/vmath.h"
#include <math.h>
#include <stdlib.h>

/* rows through the softmax row kernels of reduce.c (vectorised max, sum and exp); tmp: C
   elements of scratch for the forward */
#define GEN_CE_FWD(T, sfx, LOG)                                                               \
    static void ce_rows_##sfx(const T *x, T *out, T *tmp, int64_t rows, int64_t N, int64_t C, \
                              const int64_t *y)                                               \
    {                                                                                         \
        ag_vmath_##sfx##_fn vexp = ag_vmath_active_##sfx(AG_OP_exp);                          \
        int64_t r;                                                                            \
        for (r = 0; r < rows; r++) {                                                          \
            const T *xr = x + r * C;                                                          \
            T m = ag_row_shift_##sfx(xr, C);                                                  \
            out[r] = m + LOG(ag_row_expsum_##sfx(xr, tmp, C, m, vexp)) - xr[y[r % N]];        \
        }                                                                                     \
    }                                                                                         \
    /* gx = g * (softmax(x) - onehot(y)) */                                                   \
    static void ce_grad_rows_##sfx(const T *x, const T *g, T *gx, int64_t rows, int64_t N,    \
                                   int64_t C, const int64_t *y)                               \
    {                                                                                         \
        ag_vmath_##sfx##_fn vexp = ag_vmath_active_##sfx(AG_OP_exp);                          \
        int64_t r, j;                                                                         \
        for (r = 0; r < rows; r++) {                                                          \
            const T *xr = x + r * C;                                                          \
            T *o = gx + r * C, gr = g[r], m = ag_row_shift_##sfx(xr, C), s;                   \
            s = gr / ag_row_expsum_##sfx(xr, o, C, m, vexp);                                  \
            for (j = 0; j < C; j++) o[j] *= s;                                                \
            o[y[r % N]] -= gr;                                                                \
        }                                                                                     \
    }
GEN_CE_FWD(float, f32, logf)
GEN_CE_FWD(double, f64, log)

static ag_tensor *contig(ag_tensor *x)
{
    if (ag_tensor_is_contiguous(x)) { ag_tensor_incref(x); return x; }
    return ag_tensor_contiguous_copy(x);
}

static ag_tensor *ce_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *xc, *o;
    int64_t N = p->ibuf->n, C = x->shape[x->ndim - 1], rows;
    void *tmp;
    (void)op; (void)nin;
    if (x->ndim < 2 || x->shape[x->ndim - 2] != N) {
        ag_set_error(AG_EVALUE, "cross_entropy: logits must be (..., N, C) with N = %lld labels",
                     (long long)N);
        return NULL;
    }
    o = ag_tensor_empty(x->dtype, x->ndim - 1, x->shape);
    if (!o) return NULL;
    xc = contig(x);
    if (!xc) { ag_tensor_decref(o); return NULL; }
    rows = C ? x->size / C : 0;
    tmp = malloc((size_t)(C ? C : 1) * ag_dtype_size(x->dtype));
    if (!tmp) {
        ag_tensor_decref(xc);
        ag_tensor_decref(o);
        ag_set_error(AG_ENOMEM, "cross_entropy: out of memory");
        return NULL;
    }
    if (x->dtype == AG_F32)
        ce_rows_f32((const float *)ag_ptr(xc), (float *)ag_ptr(o), (float *)tmp, rows, N, C, p->ibuf->data);
    else
        ce_rows_f64((const double *)ag_ptr(xc), (double *)ag_ptr(o), (double *)tmp, rows, N, C, p->ibuf->data);
    free(tmp);
    ag_tensor_decref(xc);
    return o;
}

/* one-hot rows of the labels as a constant (N, C) tensor */
static ag_tensor *onehot(const ag_params *p, int dtype, int64_t C)
{
    int64_t sh[2], n;
    ag_tensor *h;
    sh[0] = p->ibuf->n;
    sh[1] = C;
    h = ag_tensor_zeros(dtype, 2, sh);
    if (!h) return NULL;
    for (n = 0; n < sh[0]; n++) {
        if (dtype == AG_F32) ((float *)h->storage->data)[n * C + p->ibuf->data[n]] = 1.0f;
        else ((double *)h->storage->data)[n * C + p->ibuf->data[n]] = 1.0;
    }
    return h;
}

/* g (..., N) with a unit axis appended, to scale rows of (..., N, C) */
static ag_tensor *unsqueeze_last(ag_tensor *g)
{
    int64_t sh[AG_MAXDIM];
    memcpy(sh, g->shape, sizeof(int64_t) * (size_t)g->ndim);
    sh[g->ndim] = 1;
    return ag_reshape(g, g->ndim + 1, sh);
}

/* d loss_n / d x_n = softmax(x_n) - onehot(y_n) */
static int ce_vjp(ag_vjp_ctx *c)
{
    ag_tensor *x = c->in[0];
    int64_t C = x->shape[x->ndim - 1];
    if (!c->needs[0]) return 0;
    if (!c->composed && ag_tensor_is_contiguous(c->g)) {
        ag_tensor *xc = contig(x), *gx = xc ? ag_tensor_empty(x->dtype, x->ndim, x->shape) : NULL;
        int64_t rows = C ? x->size / C : 0;
        if (!gx) { ag_tensor_decref(xc); return -1; }
        if (x->dtype == AG_F32)
            ce_grad_rows_f32((const float *)ag_ptr(xc), (const float *)ag_ptr(c->g), (float *)ag_ptr(gx),
                             rows, c->p->ibuf->n, C, c->p->ibuf->data);
        else
            ce_grad_rows_f64((const double *)ag_ptr(xc), (const double *)ag_ptr(c->g), (double *)ag_ptr(gx),
                             rows, c->p->ibuf->n, C, c->p->ibuf->data);
        ag_tensor_decref(xc);
        c->gin[0] = gx;
        return 0;
    }
    {
        ag_tensor *sm = ag_softmax(x, -1, 0), *h = onehot(c->p, x->dtype, C), *d, *g1;
        d = (sm && h) ? ag_sub(sm, h) : NULL;
        g1 = d ? unsqueeze_last(c->g) : NULL;
        c->gin[0] = g1 ? ag_mul(g1, d) : NULL;
        ag_tensor_decref(sm); ag_tensor_decref(h); ag_tensor_decref(d); ag_tensor_decref(g1);
    }
    return c->gin[0] ? 0 : -1;
}

/* d loss_n = sum_c softmax_c t_c - t_{y_n} */
static ag_tensor *ce_jvp(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                         const ag_params *p)
{
    ag_tensor *x = in[0], *sm, *h, *d, *prod, *r;
    int64_t C = x->shape[x->ndim - 1];
    int axis = -1;
    (void)op; (void)nin; (void)out;
    sm = ag_softmax(x, -1, 0);
    h = onehot(p, x->dtype, C);
    d = (sm && h) ? ag_sub(sm, h) : NULL;
    prod = d ? ag_mul(tin[0], d) : NULL;
    r = prod ? ag_reduce(AG_OP_sum, prod, 1, &axis, 0) : NULL;
    ag_tensor_decref(sm); ag_tensor_decref(h); ag_tensor_decref(d); ag_tensor_decref(prod);
    return r;
}

const ag_oprules ag_rules_cross_entropy = {ce_fwd, ce_vjp, ce_jvp, 1u};

ag_tensor *ag_cross_entropy(ag_tensor *logits, const int64_t *labels, int64_t n)
{
    ag_params p;
    ag_tensor *r;
    int64_t i, C;
    if (logits->ndim != 2 || logits->shape[0] != n) {
        char b[160];
        ag_format_shape(b, sizeof b, logits->ndim, logits->shape);
        ag_set_error(AG_EVALUE, "cross_entropy: logits of shape %s do not match %lld labels "
                     "(expected (N, C))", b, (long long)n);
        return NULL;
    }
    C = logits->shape[1];
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= C) {
            ag_set_error(AG_EINDEX, "cross_entropy: label %lld at position %lld is out of range for "
                         "%lld classes", (long long)labels[i], (long long)i, (long long)C);
            return NULL;
        }
    ag_params_init(&p);
    p.core = 2;
    p.ibuf = ag_ibuf_new(n);
    if (!p.ibuf) return NULL;
    memcpy(p.ibuf->data, labels, sizeof(int64_t) * (size_t)n);
    r = ag_apply(AG_OP_cross_entropy, &logits, 1, &p);
    ag_params_clear(&p);
    return r;
}
