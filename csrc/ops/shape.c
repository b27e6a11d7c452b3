/* shape.c -- shape and indexing ops: reshape, permute, expand, slice, take, concat, copy, astype.
 *
 * These are linear, so each one is its own JVP (the same op applied to the tangent; params refer
 * to trailing dims, so leading batch axes of a tangent pass through) and needs only a transpose
 * rule for the VJP: slice <-> slice_backward, take <-> take_backward, expand <-> sum (done by the
 * sweep), reshape <-> reshape, permute <-> inverse permute, concat <-> slices.
 */
#include "../ag_internal.h"
#include <stdio.h>

static ag_tensor *own(ag_tensor *t) { ag_tensor_incref(t); return t; }

/* ------------------------------------------------------------------ reshape */
/* strides for viewing t as (nd, shape) without a copy, or 0 if impossible (numpy's rule) */
static int reshape_strides(const ag_tensor *t, int lead, int nd, const int64_t *shape, int64_t *out)
{
    int64_t osh[AG_MAXDIM], ost[AG_MAXDIM];
    int on = 0, i, oi = 0, oj = 0, ni = 0, nj = 0;
    for (i = lead; i < t->ndim; i++)
        if (t->shape[i] != 1) { osh[on] = t->shape[i]; ost[on] = t->strides[i]; on++; }
    while (ni < nd && oi < on) {
        int64_t np = shape[ni], op = osh[oi], k;
        nj = ni + 1;
        oj = oi + 1;
        while (np != op) {
            if (np < op) np *= shape[nj++];
            else op *= osh[oj++];
        }
        for (k = oi; k < oj - 1; k++)
            if (ost[k] != ost[k + 1] * osh[k + 1]) return 0;
        out[nj - 1] = ost[oj - 1];
        for (k = nj - 1; k > ni; k--) out[k - 1] = out[k] * shape[k];
        ni = nj;
        oi = oj;
    }
    /* trailing ones of the new shape */
    for (; ni < nd; ni++) out[ni] = 1;
    /* size-1 dims inside: give them a harmless stride */
    for (i = 0; i < nd; i++) if (shape[i] == 1 && i + 1 < nd) out[i] = out[i + 1] * shape[i + 1];
    return 1;
}

static ag_tensor *reshape_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0];
    int lead = x->ndim - p->core, nd = lead + p->ni, i;
    int64_t shape[AG_MAXDIM + 1], st[AG_MAXDIM + 1], n1 = 1, n2 = 1;
    (void)op; (void)nin;
    if (nd > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "reshape: result would have more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    for (i = 0; i < lead; i++) { shape[i] = x->shape[i]; st[i] = x->strides[i]; }
    for (i = 0; i < p->ni; i++) { shape[lead + i] = p->i[i]; n1 *= p->i[i]; }
    for (i = lead; i < x->ndim; i++) n2 *= x->shape[i];
    if (n1 != n2) {
        char b1[160], b2[160];
        ag_format_shape(b1, sizeof b1, x->ndim - lead, x->shape + lead);
        ag_format_shape(b2, sizeof b2, p->ni, p->i);
        ag_set_error(AG_EVALUE, "reshape: cannot reshape a tensor of shape %s into shape %s", b1, b2);
        return NULL;
    }
    if (n1 == 0 || reshape_strides(x, lead, p->ni, p->i, st + lead))
        return ag_tensor_view(x, nd, shape, n1 == 0 ? NULL : st, x->offset);
    {
        ag_tensor *c = ag_tensor_contiguous_copy(x), *r;
        if (!c) return NULL;
        r = ag_tensor_view(c, nd, shape, NULL, 0);
        ag_tensor_decref(c);
        return r;
    }
}

/* raw (unrecorded) reshape: a view when the strides allow, else a contiguous copy */
ag_tensor *ag_reshape_view_or_copy(ag_tensor *x, int nd, const int64_t *shape)
{
    ag_params p;
    ag_tensor *in = x;
    int i;
    ag_params_init(&p);
    p.core = x->ndim;
    p.ni = nd;
    for (i = 0; i < nd; i++) p.i[i] = shape[i];
    return reshape_fwd(AG_OP_reshape, &in, 1, &p);
}

ag_tensor *ag_reshape_core(ag_tensor *x, int core, int ndim, const int64_t *shape)
{
    ag_params p;
    int i, infer = -1;
    int64_t known = 1, total = 1;
    if (ndim < 0 || ndim > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "reshape: at most %d dimensions, got %d", AG_MAXDIM, ndim);
        return NULL;
    }
    ag_params_init(&p);
    p.core = core;
    p.ni = ndim;
    for (i = x->ndim - core; i < x->ndim; i++) total *= x->shape[i];
    for (i = 0; i < ndim; i++) {
        if (shape[i] == -1) {
            if (infer >= 0) { ag_set_error(AG_EVALUE, "reshape: can only specify one unknown dimension"); return NULL; }
            infer = i;
        } else if (shape[i] < 0) {
            ag_set_error(AG_EVALUE, "reshape: negative dimension %lld", (long long)shape[i]);
            return NULL;
        } else {
            known *= shape[i];
        }
        p.i[i] = shape[i];
    }
    if (infer >= 0) {
        if (known == 0 || total % known) {
            char b1[160];
            ag_format_shape(b1, sizeof b1, x->ndim, x->shape);
            ag_set_error(AG_EVALUE, "reshape: cannot infer the unknown dimension for a tensor of shape %s", b1);
            return NULL;
        }
        p.i[infer] = total / known;
    }
    if (x->ndim == p.core + 0 && ndim == x->ndim && memcmp(p.i, x->shape, sizeof(int64_t) * (size_t)ndim) == 0)
        return own(x);
    return ag_apply(AG_OP_reshape, &x, 1, &p);
}

ag_tensor *ag_reshape(ag_tensor *x, int ndim, const int64_t *shape)
{
    return ag_reshape_core(x, x->ndim, ndim, shape);
}

/* A new tensor over x's memory with x's shape and strides, recorded as a reshape when x is
   differentiated.  The shape ops return x itself for an identity (cheap for the rules); the
   binding uses this instead, so that a user's y = x.reshape(x.shape) has flags, .grad and hooks
   of its own, as in PyTorch. */
ag_tensor *ag_view_alias(ag_tensor *x)
{
    ag_params p;
    int i;
    ag_params_init(&p);
    p.core = x->ndim;
    p.ni = x->ndim;
    for (i = 0; i < x->ndim; i++) p.i[i] = x->shape[i];
    return ag_apply(AG_OP_reshape, &x, 1, &p);
}

static int vjp_reshape(ag_vjp_ctx *c)
{
    ag_tensor *x = c->in[0];
    if (!c->needs[0]) return 0;
    c->gin[0] = ag_reshape_core(c->g, c->p->ni, x->ndim, x->shape);
    return c->gin[0] ? 0 : -1;
}

/* linear ops: the tangent goes through the same op */
static ag_tensor *jvp_same(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                           const ag_params *p)
{
    (void)in; (void)nin; (void)out;
    if (!tin[0]) return NULL;
    return ag_apply(op, tin, 1, p);
}

const ag_oprules ag_rules_reshape = {reshape_fwd, vjp_reshape, jvp_same, 0};

/* ------------------------------------------------------------------ permute */
static ag_tensor *permute_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0];
    int lead = x->ndim - p->core, i;
    int64_t sh[AG_MAXDIM], st[AG_MAXDIM];
    (void)op; (void)nin;
    for (i = 0; i < lead; i++) { sh[i] = x->shape[i]; st[i] = x->strides[i]; }
    for (i = 0; i < p->core; i++) {
        sh[lead + i] = x->shape[lead + p->i[i]];
        st[lead + i] = x->strides[lead + p->i[i]];
    }
    return ag_tensor_view(x, x->ndim, sh, st, x->offset);
}

ag_tensor *ag_permute_core(ag_tensor *x, int core, const int64_t *perm)
{
    ag_params p;
    int seen[AG_MAXDIM] = {0}, i, ident = 1;
    ag_params_init(&p);
    p.core = core;
    for (i = 0; i < core; i++) {
        int64_t a = perm[i];
        if (a < 0) a += core;
        if (a < 0 || a >= core || seen[a]) {
            ag_set_error(AG_EVALUE, "permute: %lld is not a valid permutation entry for %d dimensions",
                         (long long)perm[i], core);
            return NULL;
        }
        seen[a] = 1;
        p.i[i] = a;
        ident &= a == i;
    }
    if (ident) return own(x);
    return ag_apply(AG_OP_permute, &x, 1, &p);
}

ag_tensor *ag_permute(ag_tensor *x, const int *perm)
{
    int64_t p[AG_MAXDIM];
    int i;
    for (i = 0; i < x->ndim; i++) p[i] = perm[i];
    return ag_permute_core(x, x->ndim, p);
}

ag_tensor *ag_swap_last2(ag_tensor *a)
{
    int64_t p[AG_MAXDIM];
    int i;
    for (i = 0; i < a->ndim; i++) p[i] = i;
    p[a->ndim - 1] = a->ndim - 2;
    p[a->ndim - 2] = a->ndim - 1;
    return ag_permute_core(a, a->ndim, p);
}

static int vjp_permute(ag_vjp_ctx *c)
{
    int64_t inv[AG_MAXDIM];
    int i;
    if (!c->needs[0]) return 0;
    for (i = 0; i < c->p->core; i++) inv[c->p->i[i]] = i;
    c->gin[0] = ag_permute_core(c->g, c->p->core, inv);
    return c->gin[0] ? 0 : -1;
}

const ag_oprules ag_rules_permute = {permute_fwd, vjp_permute, jvp_same, 0};

/* ------------------------------------------------------------------ expand (broadcast_to) */
static ag_tensor *expand_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0];
    int lead = x->ndim - p->core, nd = lead + p->ni, i;
    int64_t sh[AG_MAXDIM + 1], st[AG_MAXDIM + 1];
    (void)op; (void)nin;
    if (p->ni < p->core || nd > AG_MAXDIM) goto bad;
    for (i = 0; i < lead; i++) { sh[i] = x->shape[i]; st[i] = x->strides[i]; }
    for (i = 0; i < p->ni; i++) {
        int j = i - (p->ni - p->core); /* core dim of x aligned to the right */
        int64_t want = p->i[i];
        sh[lead + i] = want;
        if (j < 0) st[lead + i] = 0;
        else {
            int64_t have = x->shape[lead + j];
            if (have == want) st[lead + i] = x->strides[lead + j];
            else if (have == 1) st[lead + i] = 0;
            else goto bad;
        }
    }
    return ag_tensor_view(x, nd, sh, st, x->offset);
bad:
    {
        char b1[160], b2[160];
        ag_format_shape(b1, sizeof b1, p->core, x->shape + (x->ndim - p->core));
        ag_format_shape(b2, sizeof b2, p->ni, p->i);
        ag_set_error(AG_EVALUE, "broadcast_to: cannot broadcast a tensor of shape %s to shape %s", b1, b2);
    }
    return NULL;
}

ag_tensor *ag_expand(ag_tensor *x, int ndim, const int64_t *shape)
{
    ag_params p;
    int i;
    if (ndim > AG_MAXDIM || ndim < 0) {
        ag_set_error(AG_EVALUE, "broadcast_to: at most %d dimensions", AG_MAXDIM);
        return NULL;
    }
    if (ndim == x->ndim && memcmp(shape, x->shape, sizeof(int64_t) * (size_t)ndim) == 0) return own(x);
    ag_params_init(&p);
    p.core = x->ndim;
    p.ni = ndim;
    for (i = 0; i < ndim; i++) p.i[i] = shape[i];
    return ag_apply(AG_OP_expand, &x, 1, &p);
}

/* the sweep sums the gradient down to the input's shape */
static int vjp_identity(ag_vjp_ctx *c)
{
    if (c->needs[0]) c->gin[0] = own(c->g);
    return 0;
}

const ag_oprules ag_rules_expand = {expand_fwd, vjp_identity, jvp_same, 0};

/* ------------------------------------------------------------------ slice (basic indexing)
 * p.core = input ndim; p.i[d] = start of input dim d; p.ni = output core ndim;
 * p.i[8 + 3k] = source input dim of output dim k (-1: new axis), p.i[9 + 3k] = step,
 * p.i[10 + 3k] = length; p.i[40 + d] = input dim d's size (for slice_backward) */
#define SL_SRC(p, k) ((p)->i[8 + 3 * (k)])
#define SL_STEP(p, k) ((p)->i[9 + 3 * (k)])
#define SL_LEN(p, k) ((p)->i[10 + 3 * (k)])
#define SL_INSHAPE(p, d) ((p)->i[40 + (d)])

/* view of x (lead dims + input core shape) selected by p */
static ag_tensor *slice_view(ag_tensor *x, const ag_params *p)
{
    int lead = x->ndim - p->core, nd = lead + p->ni, i;
    int64_t sh[AG_MAXDIM + 1], st[AG_MAXDIM + 1], off = x->offset;
    if (nd > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "indexing: result would have more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    for (i = 0; i < lead; i++) { sh[i] = x->shape[i]; st[i] = x->strides[i]; }
    for (i = 0; i < p->core; i++) off += p->i[i] * x->strides[lead + i];
    for (i = 0; i < p->ni; i++) {
        int64_t s = SL_SRC(p, i);
        sh[lead + i] = SL_LEN(p, i);
        st[lead + i] = s < 0 ? 0 : x->strides[lead + s] * SL_STEP(p, i);
    }
    return ag_tensor_view(x, nd, sh, st, off);
}

static ag_tensor *slice_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    (void)op; (void)nin;
    return slice_view(in[0], p);
}

static ag_tensor *slice_backward_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *g = in[0], *z, *v;
    int lead = g->ndim - p->ni, i;
    int64_t sh[AG_MAXDIM + 1];
    (void)op; (void)nin;
    for (i = 0; i < lead; i++) sh[i] = g->shape[i];
    for (i = 0; i < p->core; i++) sh[lead + i] = SL_INSHAPE(p, i);
    z = ag_tensor_empty(g->dtype, lead + p->core, sh);
    if (!z) return NULL;
    v = slice_view(z, p);
    if (!v) { ag_tensor_decref(z); return NULL; }
    /* the selected places are distinct (one per output element), so a slice with as many
       elements as the input (a flip, a full slice) covers it: one pass, no zero fill first */
    if (v->size != z->size) memset(z->storage->data, 0, (size_t)z->size * ag_dtype_size(z->dtype));
    ag_copy_raw(v, g);
    ag_tensor_decref(v);
    return z;
}

ag_tensor *ag_slice_p(ag_tensor *x, const ag_params *p) { return ag_apply(AG_OP_slice, &x, 1, p); }
ag_tensor *ag_slice_backward_p(ag_tensor *g, const ag_params *p) { return ag_apply(AG_OP_slice_backward, &g, 1, p); }

ag_tensor *ag_slice(ag_tensor *x, const int64_t *starts, int out_ndim, const int *src,
                    const int64_t *steps, const int64_t *lens)
{
    ag_params p;
    int used[AG_MAXDIM] = {0}, d, k;
    if (out_ndim < 0 || out_ndim > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "indexing: result would have more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    ag_params_init(&p);
    p.core = x->ndim;
    p.ni = out_ndim;
    for (d = 0; d < x->ndim; d++) {
        p.i[d] = starts[d];
        SL_INSHAPE(&p, d) = x->shape[d];
    }
    for (k = 0; k < out_ndim; k++) {
        int s = src[k];
        SL_SRC(&p, k) = s;
        SL_STEP(&p, k) = steps[k];
        SL_LEN(&p, k) = lens[k];
        if (s >= 0) {
            int64_t n, last;
            if (s >= x->ndim || used[s] || lens[k] < 0) goto bad;
            n = x->shape[s];
            used[s] = 1;
            if (lens[k] > 0) {
                last = starts[s] + (lens[k] - 1) * steps[k];
                if (starts[s] < 0 || starts[s] >= n || last < 0 || last >= n) goto bad;
            }
        } else if (lens[k] != 1) goto bad;
    }
    for (d = 0; d < x->ndim; d++)
        if (!used[d] && (starts[d] < 0 || starts[d] >= x->shape[d])) {
            ag_set_error(AG_EINDEX, "index %lld is out of bounds for axis %d with size %lld",
                         (long long)starts[d], d, (long long)x->shape[d]);
            return NULL;
        }
    return ag_apply(AG_OP_slice, &x, 1, &p);
bad:
    ag_set_error(AG_EINDEX, "indexing: slice parameters out of bounds");
    return NULL;
}

static int vjp_slice(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    c->gin[0] = c->op == AG_OP_slice ? ag_slice_backward_p(c->g, c->p) : ag_slice_p(c->g, c->p);
    return c->gin[0] ? 0 : -1;
}

const ag_oprules ag_rules_slice = {slice_fwd, vjp_slice, jvp_same, 0};
const ag_oprules ag_rules_slice_backward = {slice_backward_fwd, vjp_slice, jvp_same, 0};

/* ------------------------------------------------------------------ take (advanced indexing)
 * p.core = input ndim, p.i[0..core) = input core shape, p.ni = index ndim,
 * p.i[8..8+ni) = index shape, p.ibuf = flat C-order indices into the input's core */
#define TK_OSH(p, k) ((p)->i[8 + (k)])

/* r when the index is a repeat of each of the N core elements r times in turn (idx[j] = j / r,
 * as repeat along the last axis builds it), else 0.  The gather is then a spread of each element
 * to r consecutive places and its transpose a sum of r consecutive gradients: flat passes over
 * the whole batch (row b's group i is flat group b N + i), with no index loads and no zero fill. */
static int64_t take_repeat_count(const ag_ibuf *buf, int64_t N)
{
    int64_t M = buf->n, r, j, k;
    if (N <= 0 || M <= 0 || M % N) return 0;
    r = M / N;
    for (j = 0; j < N; j++)
        for (k = 0; k < r; k++)
            if (buf->data[j * r + k] != j) return 0;
    return r;
}

#define TK_PAR_N 32768 /* elements of the repeated side above which the passes use the team */

/* o[t r + k] = x[t] for t < n, k < r; r = 2 and 3 unrolled so the compiler vectorises them */
#define REPEAT_SPREAD(T, XS, OS, n, r)                                                          \
    do {                                                                                        \
        const T *xs_ = (const T *)(XS);                                                         \
        T *os_ = (T *)(OS);                                                                     \
        int64_t t_, k_, n_ = (n), r_ = (r);                                                     \
        if (r_ == 2)                                                                            \
            AG_PAR_FOR(n_ * 2 >= TK_PAR_N, t_, n_, os_[2 * t_] = os_[2 * t_ + 1] = xs_[t_];);  \
        else if (r_ == 3)                                                                       \
            AG_PAR_FOR(n_ * 3 >= TK_PAR_N, t_, n_,                                              \
                       os_[3 * t_] = os_[3 * t_ + 1] = os_[3 * t_ + 2] = xs_[t_];);            \
        else                                                                                    \
            AG_PAR_FOR(n_ * r_ >= TK_PAR_N, t_, n_,                                             \
                       for (k_ = 0; k_ < r_; k_++) os_[t_ * r_ + k_] = xs_[t_];);              \
    } while (0)

/* d repeat: o[t] = g[t r] + g[t r + 1] + ... + g[t r + r - 1], added in that order (as the
 * scatter adds them), one read of g and one write of o; each o[t] comes from one thread */
#define REPEAT_GROUP_SUM(T, GS, OS, n, r)                                                       \
    do {                                                                                        \
        const T *gs_ = (const T *)(GS);                                                         \
        T *os_ = (T *)(OS);                                                                     \
        int64_t t_, k_, n_ = (n), r_ = (r);                                                     \
        if (r_ == 2)                                                                            \
            AG_PAR_FOR(n_ * 2 >= TK_PAR_N, t_, n_, os_[t_] = gs_[2 * t_] + gs_[2 * t_ + 1];);  \
        else if (r_ == 3)                                                                       \
            AG_PAR_FOR(n_ * 3 >= TK_PAR_N, t_, n_,                                              \
                       os_[t_] = gs_[3 * t_] + gs_[3 * t_ + 1] + gs_[3 * t_ + 2];);            \
        else                                                                                    \
            AG_PAR_FOR(n_ * r_ >= TK_PAR_N, t_, n_, {                                           \
                T s_ = gs_[t_ * r_];                                                            \
                for (k_ = 1; k_ < r_; k_++) s_ += gs_[t_ * r_ + k_];                            \
                os_[t_] = s_;                                                                   \
            });                                                                                 \
    } while (0)

static ag_tensor *take_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *xc, *o;
    int lead = x->ndim - p->core, i;
    int64_t sh[AG_MAXDIM + 1], B = 1, N = 1, M = p->ibuf->n, b, j, r;
    const int64_t *idx = p->ibuf->data;
    (void)op; (void)nin;
    if (lead + p->ni > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "indexing: result would have more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    for (i = 0; i < lead; i++) { sh[i] = x->shape[i]; B *= x->shape[i]; }
    for (i = 0; i < p->ni; i++) sh[lead + i] = TK_OSH(p, i);
    for (i = 0; i < p->core; i++) N *= p->i[i];
    o = ag_tensor_empty(x->dtype, lead + p->ni, sh);
    if (!o) return NULL;
    xc = ag_tensor_is_contiguous(x) ? own(x) : ag_tensor_contiguous_copy(x);
    if (!xc) { ag_tensor_decref(o); return NULL; }
    if ((r = take_repeat_count(p->ibuf, N)) > 0) {
        if (x->dtype == AG_F32) REPEAT_SPREAD(float, ag_ptr(xc), ag_ptr(o), B * N, r);
        else REPEAT_SPREAD(double, ag_ptr(xc), ag_ptr(o), B * N, r);
    } else if (x->dtype == AG_F32) {
        const float *xs = (const float *)ag_ptr(xc);
        float *os = (float *)ag_ptr(o);
        for (b = 0; b < B; b++)
            for (j = 0; j < M; j++) os[b * M + j] = xs[b * N + idx[j]];
    } else {
        const double *xs = (const double *)ag_ptr(xc);
        double *os = (double *)ag_ptr(o);
        for (b = 0; b < B; b++)
            for (j = 0; j < M; j++) os[b * M + j] = xs[b * N + idx[j]];
    }
    ag_tensor_decref(xc);
    return o;
}

/* zeros of the input's shape with g scattered in (repeated indices add up) */
static ag_tensor *take_backward_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *g = in[0], *gc, *o;
    int lead = g->ndim - p->ni, i;
    int64_t sh[AG_MAXDIM + 1], B = 1, N = 1, M = p->ibuf->n, b, j, r;
    const int64_t *idx = p->ibuf->data;
    (void)op; (void)nin;
    for (i = 0; i < lead; i++) { sh[i] = g->shape[i]; B *= g->shape[i]; }
    for (i = 0; i < p->core; i++) { sh[lead + i] = p->i[i]; N *= p->i[i]; }
    r = take_repeat_count(p->ibuf, N);
    /* a repeat writes every element of o: no zero fill */
    o = r > 0 ? ag_tensor_empty(g->dtype, lead + p->core, sh) : ag_tensor_zeros(g->dtype, lead + p->core, sh);
    if (!o) return NULL;
    gc = ag_tensor_is_contiguous(g) ? own(g) : ag_tensor_contiguous_copy(g);
    if (!gc) { ag_tensor_decref(o); return NULL; }
    if (r > 0) {
        if (g->dtype == AG_F32) REPEAT_GROUP_SUM(float, ag_ptr(gc), ag_ptr(o), B * N, r);
        else REPEAT_GROUP_SUM(double, ag_ptr(gc), ag_ptr(o), B * N, r);
    } else if (g->dtype == AG_F32) {
        const float *gs = (const float *)ag_ptr(gc);
        float *os = (float *)ag_ptr(o);
        for (b = 0; b < B; b++)
            for (j = 0; j < M; j++) os[b * N + idx[j]] += gs[b * M + j];
    } else {
        const double *gs = (const double *)ag_ptr(gc);
        double *os = (double *)ag_ptr(o);
        for (b = 0; b < B; b++)
            for (j = 0; j < M; j++) os[b * N + idx[j]] += gs[b * M + j];
    }
    ag_tensor_decref(gc);
    return o;
}

ag_tensor *ag_take_p(ag_tensor *x, const ag_params *p) { return ag_apply(AG_OP_take, &x, 1, p); }
ag_tensor *ag_take_backward_p(ag_tensor *g, const ag_params *p) { return ag_apply(AG_OP_take_backward, &g, 1, p); }

/* the gather of the trailing `core` dims of x by buf (owned: released here); leading dims are
   a batch */
static ag_tensor *take_ibuf_core(ag_tensor *x, int core, ag_ibuf *buf, int out_ndim,
                                 const int64_t *out_shape)
{
    ag_params p;
    ag_tensor *r;
    int i;
    ag_params_init(&p);
    p.core = core;
    for (i = 0; i < core; i++) p.i[i] = x->shape[x->ndim - core + i];
    p.ni = out_ndim;
    for (i = 0; i < out_ndim; i++) TK_OSH(&p, i) = out_shape[i];
    p.ibuf = buf;
    r = ag_apply(AG_OP_take, &x, 1, &p);
    ag_params_clear(&p);
    return r;
}

ag_tensor *ag_take_core(ag_tensor *x, int core, const int64_t *idx, int64_t nidx, int out_ndim,
                        const int64_t *out_shape)
{
    ag_ibuf *buf;
    int64_t j, prod = 1, n = 1;
    int i;
    if (core < 0 || core > x->ndim) {
        ag_set_error(AG_EVALUE, "take: %d trailing dimensions of a tensor of dimension %d", core, x->ndim);
        return NULL;
    }
    if (out_ndim < 0 || out_ndim > AG_MAXDIM || x->ndim - core + out_ndim > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "indexing: result would have more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    for (i = 0; i < out_ndim; i++) prod *= out_shape[i];
    if (prod != nidx) {
        ag_set_error(AG_EVALUE, "take: index shape does not match the number of indices");
        return NULL;
    }
    for (i = x->ndim - core; i < x->ndim; i++) n *= x->shape[i];
    for (j = 0; j < nidx; j++)
        if (idx[j] < 0 || idx[j] >= n) {
            ag_set_error(AG_EINDEX, "index %lld is out of bounds for a tensor of size %lld",
                         (long long)idx[j], (long long)n);
            return NULL;
        }
    buf = ag_ibuf_new(nidx);
    if (!buf) return NULL;
    memcpy(buf->data, idx, sizeof(int64_t) * (size_t)nidx);
    return take_ibuf_core(x, core, buf, out_ndim, out_shape);
}

ag_tensor *ag_take(ag_tensor *x, const int64_t *idx, int64_t nidx, int out_ndim, const int64_t *out_shape)
{
    return ag_take_core(x, x->ndim, idx, nidx, out_ndim, out_shape);
}

ag_tensor *ag_take_ibuf(ag_tensor *x, ag_ibuf *buf, int out_ndim, const int64_t *out_shape)
{
    return take_ibuf_core(x, x->ndim, buf, out_ndim, out_shape);
}

static int vjp_take(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    c->gin[0] = c->op == AG_OP_take ? ag_take_backward_p(c->g, c->p) : ag_take_p(c->g, c->p);
    return c->gin[0] ? 0 : -1;
}

const ag_oprules ag_rules_take = {take_fwd, vjp_take, jvp_same, 0};
const ag_oprules ag_rules_take_backward = {take_backward_fwd, vjp_take, jvp_same, 0};

/* ------------------------------------------------------------------ concat along a trailing axis
 * p.i[0] = axis (negative, counted from the end).
 * p.flag = CONCAT_ROLL: one input x rolled by p.i[1] (in [1, n)) along the axis, numpy.roll's
 * concatenation of x's last p.i[1] elements and its first n - p.i[1] made in one op, so that its
 * transpose is the roll back (one copy) rather than two zero-filled scatters and their sum */
#define CONCAT_ROLL 1

/* view of t: `len` elements from `start` along dim ax */
static ag_tensor *narrow(ag_tensor *t, int ax, int64_t start, int64_t len)
{
    int64_t sh[AG_MAXDIM];
    memcpy(sh, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    sh[ax] = len;
    return ag_tensor_view(t, t->ndim, sh, t->strides, t->offset + start * t->strides[ax]);
}

static ag_tensor *roll_fwd(ag_tensor *x, int ax, int64_t s)
{
    int64_t n = x->shape[ax];
    ag_tensor *o = ag_tensor_empty(x->dtype, x->ndim, x->shape), *src = NULL, *dst = NULL;
    int k;
    if (!o) return NULL;
    for (k = 0; k < 2; k++) {   /* x[n - s:] -> o[:s], x[:n - s] -> o[s:] */
        src = narrow(x, ax, k ? 0 : n - s, k ? n - s : s);
        dst = src ? narrow(o, ax, k ? s : 0, k ? n - s : s) : NULL;
        if (dst) ag_copy_raw(dst, src);
        ag_tensor_decref(src);
        ag_tensor_decref(dst);
        if (!dst) { ag_tensor_decref(o); return NULL; }
    }
    return o;
}

static ag_tensor *roll_p(ag_tensor *x, int axis, int64_t shift)
{
    ag_params p;
    ag_params_init(&p);
    p.core = x->ndim;
    p.i[0] = axis - x->ndim;
    p.i[1] = shift;
    p.flag = CONCAT_ROLL;
    return ag_apply(AG_OP_concat, &x, 1, &p);
}

/* x rolled by shift along axis (numpy.roll): always a new tensor */
ag_tensor *ag_roll(ag_tensor *x, int axis, int64_t shift)
{
    int64_t n;
    if (axis < -x->ndim || axis >= x->ndim) {
        ag_set_error(AG_EVALUE, "roll: axis %d is out of bounds for a tensor of dimension %d", axis,
                     x->ndim);
        return NULL;
    }
    if (axis < 0) axis += x->ndim;
    n = x->shape[axis];
    shift = n ? shift % n : 0;
    if (shift < 0) shift += n;
    if (shift == 0) return ag_contiguous(x);
    return roll_p(x, axis, shift);
}

static ag_tensor *concat_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x0 = in[0], *o;
    int ax = x0->ndim + (int)p->i[0], i, d;
    int64_t sh[AG_MAXDIM], off = 0;
    (void)op;
    if (p->flag == CONCAT_ROLL) return roll_fwd(x0, ax, p->i[1]);
    memcpy(sh, x0->shape, sizeof sh);
    sh[ax] = 0;
    for (i = 0; i < nin; i++) {
        ag_tensor *x = in[i];
        if (x->dtype != x0->dtype) {
            ag_set_error(AG_ETYPE, "concatenate: dtype mismatch, %s and %s (input %d)",
                         ag_dtype_name(x0->dtype), ag_dtype_name(x->dtype), i);
            return NULL;
        }
        if (x->ndim != x0->ndim) {
            ag_set_error(AG_EVALUE, "concatenate: all inputs must have the same number of dimensions "
                         "(input 0 has %d, input %d has %d)", x0->ndim, i, x->ndim);
            return NULL;
        }
        for (d = 0; d < x0->ndim; d++)
            if (d != ax && x->shape[d] != x0->shape[d]) {
                char b1[160], b2[160];
                ag_format_shape(b1, sizeof b1, x0->ndim, x0->shape);
                ag_format_shape(b2, sizeof b2, x->ndim, x->shape);
                ag_set_error(AG_EVALUE, "concatenate: shapes %s and %s differ outside axis %d", b1, b2,
                             ax);
                return NULL;
            }
        sh[ax] += x->shape[ax];
    }
    o = ag_tensor_empty(x0->dtype, x0->ndim, sh);
    if (!o) return NULL;
    for (i = 0; i < nin; i++) {
        ag_tensor *v;
        int64_t vsh[AG_MAXDIM];
        memcpy(vsh, o->shape, sizeof vsh);
        vsh[ax] = in[i]->shape[ax];
        v = ag_tensor_view(o, o->ndim, vsh, o->strides, off * o->strides[ax]);
        if (!v) { ag_tensor_decref(o); return NULL; }
        ag_copy_raw(v, in[i]);
        ag_tensor_decref(v);
        off += in[i]->shape[ax];
    }
    return o;
}

ag_tensor *ag_concat(int n, ag_tensor **xs, int axis)
{
    ag_params p;
    int nd;
    if (n < 1) {
        ag_set_error(AG_EVALUE, "concatenate: need at least one tensor");
        return NULL;
    }
    nd = xs[0]->ndim;
    if (nd == 0) {
        ag_set_error(AG_EVALUE, "concatenate: zero-dimensional tensors cannot be concatenated");
        return NULL;
    }
    if (axis < -nd || axis >= nd) {
        ag_set_error(AG_EVALUE, "concatenate: axis %d is out of bounds for tensors of dimension %d", axis, nd);
        return NULL;
    }
    ag_params_init(&p);
    p.core = nd;
    p.i[0] = axis < 0 ? axis : axis - nd;
    /* a single input is copied too (as numpy's), so writing into the result leaves it alone */
    return ag_apply(AG_OP_concat, xs, n, &p);
}

/* d concat = the slices of the gradient along the axis */
static int vjp_concat(ag_vjp_ctx *c)
{
    ag_tensor *g = c->g;
    int ax = g->ndim + (int)c->p->i[0], i, d;
    int64_t off = 0;
    if (c->p->flag == CONCAT_ROLL) {   /* d roll(x, s) = roll(g, n - s) */
        if (!c->needs[0]) return 0;
        c->gin[0] = roll_p(g, ax, g->shape[ax] - c->p->i[1]);
        return c->gin[0] ? 0 : -1;
    }
    for (i = 0; i < c->nin; i++) {
        int64_t len = c->in[i]->shape[ax - (g->ndim - c->in[i]->ndim)];
        if (c->needs[i]) {
            int64_t starts[AG_MAXDIM], steps[AG_MAXDIM], lens[AG_MAXDIM];
            int src[AG_MAXDIM];
            for (d = 0; d < g->ndim; d++) {
                starts[d] = d == ax ? off : 0;
                src[d] = d;
                steps[d] = 1;
                lens[d] = d == ax ? len : g->shape[d];
            }
            c->gin[i] = len ? ag_slice(g, starts, g->ndim, src, steps, lens)
                            : ag_tensor_zeros(g->dtype, c->in[i]->ndim, c->in[i]->shape);
            if (!c->gin[i]) return -1;
        }
        off += len;
    }
    return 0;
}

static ag_tensor *jvp_concat(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                             const ag_params *p)
{
    ag_tensor **ts = (ag_tensor **)ag_malloc(sizeof(ag_tensor *) * (size_t)nin), *r = NULL, *ref = NULL;
    int i, k, lead = 0;
    (void)op; (void)out;
    if (!ts) return NULL;
    for (i = 0; i < nin; i++) if (tin[i]) { ref = tin[i]; lead = tin[i]->ndim - in[i]->ndim; break; }
    for (i = 0; i < nin; i++) {
        if (tin[i]) ts[i] = own(tin[i]);
        else {
            int64_t sh[AG_MAXDIM + 1];
            for (k = 0; k < lead; k++) sh[k] = ref->shape[k];
            memcpy(sh + lead, in[i]->shape, sizeof(int64_t) * (size_t)in[i]->ndim);
            ts[i] = ag_tensor_zeros(in[i]->dtype, lead + in[i]->ndim, sh);
            if (!ts[i]) { for (k = 0; k < i; k++) ag_tensor_decref(ts[k]); free(ts); return NULL; }
        }
    }
    r = ag_apply(AG_OP_concat, ts, nin, p);
    for (i = 0; i < nin; i++) ag_tensor_decref(ts[i]);
    free(ts);
    return r;
}

const ag_oprules ag_rules_concat = {concat_fwd, vjp_concat, jvp_concat, 0};

/* ------------------------------------------------------------------ copy and astype */
static ag_tensor *copy_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    (void)nin;
    if (op == AG_OP_astype) return ag_tensor_cast(in[0], p->flag);
    return ag_tensor_contiguous_copy(in[0]);
}

ag_tensor *ag_contiguous(ag_tensor *x) { return ag_apply(AG_OP_copy, &x, 1, NULL); }

ag_tensor *ag_astype(ag_tensor *x, int dtype)
{
    ag_params p;
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_set_error(AG_ETYPE, "astype: unsupported dtype code %d", dtype);
        return NULL;
    }
    ag_params_init(&p);
    p.flag = dtype;
    return ag_apply(AG_OP_astype, &x, 1, &p);
}

static int vjp_astype(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    c->gin[0] = ag_astype(c->g, c->in[0]->dtype);
    return c->gin[0] ? 0 : -1;
}

const ag_oprules ag_rules_copy = {copy_fwd, vjp_identity, jvp_same, 0};
const ag_oprules ag_rules_astype = {copy_fwd, vjp_astype, jvp_same, 0};
