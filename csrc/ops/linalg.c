/* linalg.c -- inv, solve, slogdet, det (and its gradient, the cofactor matrix), cholesky over the
 * trailing two dims (leading dims batch).
 *
 * Factorisations run in double precision on a contiguous copy (float32 results are rounded
 * back).  LU uses partial pivoting; as in LAPACK, only an exactly zero pivot makes the matrix
 * singular (LinAlgError from inv and solve, (0, -inf) from slogdet): a tolerance would call
 * diag(1, 1e-20) singular.  An inverse or solution that overflows raises LinAlgError too; NaN or
 * inf in the input gives NaN results, as in numpy and PyTorch, not a "singular" error.
 */
#include "../ag_internal.h"
#include <math.h>
#include <float.h>
#include <stdio.h>

static ag_tensor *own(ag_tensor *t) { ag_tensor_incref(t); return t; }
static ag_tensor *c2(ag_tensor *(*f)(ag_tensor *, ag_tensor *), ag_tensor *a, ag_tensor *b)
{
    ag_tensor *r = (a && b) ? f(a, b) : NULL;
    ag_tensor_decref(a);
    ag_tensor_decref(b);
    return r;
}
static ag_tensor *mm(ag_tensor *a, ag_tensor *b) { return ag_matmul(a, b); }
static ag_tensor *cneg(ag_tensor *a)
{
    ag_tensor *r = a ? ag_neg(a) : NULL;
    ag_tensor_decref(a);
    return r;
}

/* the batch of square matrices of x as contiguous doubles */
static double *load_f64(ag_tensor *x, int64_t *batch, int64_t *n)
{
    int64_t i;
    double *buf;
    ag_tensor *c = ag_tensor_cast(x, AG_F64);
    if (!c) return NULL;
    *n = x->shape[x->ndim - 1];
    *batch = *n ? x->size / (*n * *n) : 0;
    buf = (double *)ag_malloc(sizeof(double) * (size_t)(x->size ? x->size : 1));
    if (buf) for (i = 0; i < x->size; i++) buf[i] = ((double *)c->storage->data)[i];
    ag_tensor_decref(c);
    return buf;
}

static ag_tensor *store(const double *buf, int dtype, int ndim, const int64_t *shape)
{
    ag_tensor *o = ag_tensor_empty(dtype, ndim, shape);
    int64_t i;
    if (!o) return NULL;
    if (dtype == AG_F64) memcpy(o->storage->data, buf, sizeof(double) * (size_t)o->size);
    else for (i = 0; i < o->size; i++) ((float *)o->storage->data)[i] = (float)buf[i];
    return o;
}

static int check_square(const char *name, ag_tensor *a)
{
    if (a->ndim < 2 || a->shape[a->ndim - 1] != a->shape[a->ndim - 2]) {
        char b[160];
        ag_format_shape(b, sizeof b, a->ndim, a->shape);
        return ag_set_error(AG_EVALUE, "%s: expected a square matrix (or a batch of them) in the "
                            "last two dimensions, got shape %s", name, b);
    }
    return 0;
}

/* in-place LU of an n x n row-major matrix with partial pivoting: P A = L U.  Returns the
 * permutation's sign; with stop_at_zero, 0 as soon as a pivot is exactly zero (NaN pivots go
 * on), else it goes on past a zero pivot (a column with nothing left to eliminate), as LAPACK's
 * getrf does, and U keeps the zero on its diagonal. */
static int lu_factor_ex(double *a, int64_t n, int64_t *piv, int stop_at_zero)
{
    int64_t i, j, k;
    int sign = 1;
    for (k = 0; k < n; k++) {
        int64_t p = k;
        double best = fabs(a[k * n + k]);
        for (i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > best) { best = fabs(a[i * n + k]); p = i; }
        piv[k] = p;
        if (best == 0) {
            if (stop_at_zero) return 0;
            continue;
        }
        if (p != k) {
            for (j = 0; j < n; j++) { double t = a[k * n + j]; a[k * n + j] = a[p * n + j]; a[p * n + j] = t; }
            sign = -sign;
        }
        for (i = k + 1; i < n; i++) {
            double f = a[i * n + k] /= a[k * n + k];
            if (f != 0) for (j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
        }
    }
    return sign;
}

/* the LU that stops at a zero pivot (0: singular) */
static int lu_factor(double *a, int64_t n, int64_t *piv) { return lu_factor_ex(a, n, piv, 1); }

/* solve (L U) X = P B in place for B of n x m (row-major) */
static void lu_solve(const double *lu, const int64_t *piv, int64_t n, double *b, int64_t m)
{
    int64_t i, j, k;
    for (k = 0; k < n; k++)
        if (piv[k] != k)
            for (j = 0; j < m; j++) { double t = b[k * m + j]; b[k * m + j] = b[piv[k] * m + j]; b[piv[k] * m + j] = t; }
    for (i = 0; i < n; i++)
        for (k = 0; k < i; k++) {
            double f = lu[i * n + k];
            if (f != 0) for (j = 0; j < m; j++) b[i * m + j] -= f * b[k * m + j];
        }
    for (i = n - 1; i >= 0; i--) {
        for (k = i + 1; k < n; k++) {
            double f = lu[i * n + k];
            if (f != 0) for (j = 0; j < m; j++) b[i * m + j] -= f * b[k * m + j];
        }
        for (j = 0; j < m; j++) b[i * m + j] /= lu[i * n + i];
    }
}

static int all_finite(const double *v, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) if (!isfinite(v[i])) return 0;
    return 1;
}

/* " b of the batch" naming the failing matrix of a batch (the flat index over the batch axes),
   "" for a single matrix */
static const char *which(char *buf, size_t sz, int64_t b, int64_t batch)
{
    if (batch > 1) snprintf(buf, sz, " %lld of the batch", (long long)b);
    else buf[0] = 0;
    return buf;
}

/* all of v finite once stored in dtype (a float32 result overflows beyond FLT_MAX) */
static int fits(const double *v, int64_t n, int dtype)
{
    int64_t i;
    if (dtype != AG_F32) return all_finite(v, n);
    for (i = 0; i < n; i++) if (!(fabs(v[i]) <= FLT_MAX)) return 0;
    return 1;
}

/* ------------------------------------------------------------------ inv */
static ag_tensor *inv_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *o = NULL;
    int64_t batch, n, b, i;
    double *buf, *res = NULL;
    int64_t *piv = NULL;
    (void)op; (void)nin; (void)p;
    if (check_square("inv", a)) return NULL;
    buf = load_f64(a, &batch, &n);
    if (!buf) return NULL;
    res = (double *)ag_malloc(sizeof(double) * (size_t)(a->size ? a->size : 1));
    piv = (int64_t *)ag_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!res || !piv) goto out;
    for (b = 0; b < batch; b++) {
        double *m = buf + b * n * n, *r = res + b * n * n;
        int fin = all_finite(m, n * n);
        if (!fin) {
            /* NaN or inf in the matrix: a NaN inverse, as numpy and PyTorch give */
            for (i = 0; i < n * n; i++) r[i] = NAN;
            continue;
        }
        if (!lu_factor(m, n, piv)) {
            char w[64];
            ag_set_error(AG_ELINALG, "inv: matrix%s is singular", which(w, sizeof w, b, batch));
            goto out;
        }
        for (i = 0; i < n * n; i++) r[i] = (i / n == i % n) ? 1.0 : 0.0;
        lu_solve(m, piv, n, r, n);
        if (!fits(r, n * n, a->dtype)) {
            ag_set_error(AG_ELINALG, "inv: matrix is singular or too ill-conditioned to invert "
                         "(the inverse overflows %s)", ag_dtype_name(a->dtype));
            goto out;
        }
    }
    o = store(res, a->dtype, a->ndim, a->shape);
out:
    free(buf); free(res); free(piv);
    return o;
}

ag_tensor *ag_inv(ag_tensor *a) { return ag_apply(AG_OP_inv, &a, 1, NULL); }

/* d inv(A) = -Y dA Y;  A-bar = -Y^T G Y^T */
static int vjp_inv(ag_vjp_ctx *c)
{
    ag_tensor *y, *yt;
    if (!c->needs[0]) return 0;
    y = c->composed ? ag_inv(c->in[0]) : own(c->out);
    yt = y ? ag_swap_last2(y) : NULL;
    ag_tensor_decref(y);
    if (!yt) return -1;
    c->gin[0] = cneg(c2(mm, c2(mm, own(yt), own(c->g)), own(yt)));
    ag_tensor_decref(yt);
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_inv(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin, const ag_params *p)
{
    (void)op; (void)in; (void)nin; (void)p;
    return cneg(c2(mm, c2(mm, own(out), own(tin[0])), own(out)));
}

const ag_oprules ag_rules_inv = {inv_fwd, vjp_inv, jvp_inv, AG_SAVES_OUT};

/* ------------------------------------------------------------------ solve: X = A^-1 B, B (..., n, k)
 * Each matrix of A is factored once, when a right-hand side first needs it, however many
 * matrices of B's batch it meets: A (n, n) against B (T, n, k) (a forward Jacobian's T tangent
 * directions) costs one LU and T triangular solves, and A is never expanded to B's batch. */
static ag_tensor *solve_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *bt = in[1], *o = NULL, *be = NULL, *cb = NULL;
    int64_t bsh[AG_MAXDIM], osh[AG_MAXDIM], astr[AG_MAXDIM], idx[AG_MAXDIM];
    int64_t n, k, na = 0, nb = 1, t, i, sz;
    int nbd, d, an = a->ndim - 2, fin;
    double *abuf = NULL, *bbuf = NULL;
    int64_t *piv = NULL;
    char *state = NULL; /* per matrix of A: 0 not factored yet, 1 factored, 2 NaN or inf in it */
    (void)op; (void)nin; (void)p;
    if (check_square("solve", a)) return NULL;
    if (a->dtype != bt->dtype) {
        ag_set_error(AG_ETYPE, "solve: dtype mismatch, A is %s but B is %s (convert one with .astype)",
                     ag_dtype_name(a->dtype), ag_dtype_name(bt->dtype));
        return NULL;
    }
    n = a->shape[a->ndim - 1];
    if (bt->ndim < 2 || bt->shape[bt->ndim - 2] != n) {
        char s1[160], s2[160];
        ag_format_shape(s1, sizeof s1, a->ndim, a->shape);
        ag_format_shape(s2, sizeof s2, bt->ndim, bt->shape);
        ag_set_error(AG_EVALUE, "solve: A of shape %s and B of shape %s do not match", s1, s2);
        return NULL;
    }
    k = bt->shape[bt->ndim - 1];
    if (ag_broadcast_shapes("solve", an, a->shape, bt->ndim - 2, bt->shape, &nbd, bsh)) return NULL;
    memcpy(osh, bsh, sizeof(int64_t) * (size_t)nbd);
    osh[nbd] = n; osh[nbd + 1] = k;
    /* astr[d]: the step in A's matrix index per step of the broadcast batch axis d (0 where A
       has no such axis or a unit one) */
    for (sz = 1, d = nbd - 1; d >= 0; d--) {
        int ad = d - (nbd - an);
        astr[d] = (ad < 0 || a->shape[ad] == 1) ? 0 : sz;
        if (ad >= 0) sz *= a->shape[ad];
        nb *= bsh[d];
        idx[d] = 0;
    }
    be = ag_expand(bt, nbd + 2, osh);
    cb = be ? ag_tensor_cast(be, AG_F64) : NULL;
    abuf = cb ? load_f64(a, &na, &n) : NULL;
    if (!abuf) goto out;
    bbuf = (double *)ag_malloc(sizeof(double) * (size_t)(cb->size ? cb->size : 1));
    piv = (int64_t *)ag_malloc(sizeof(int64_t) * (size_t)(na * n > 0 ? na * n : 1));
    state = (char *)ag_malloc((size_t)(na ? na : 1));
    if (!bbuf || !piv || !state) goto out;
    memset(state, 0, (size_t)(na ? na : 1));
    memcpy(bbuf, cb->storage->data, sizeof(double) * (size_t)cb->size);
    fin = all_finite(abuf, na * n * n) && all_finite(bbuf, nb * n * k);
    for (t = 0; n && t < nb; t++) {
        int64_t ai = 0;
        double *m, *x = bbuf + t * n * k;
        for (d = 0; d < nbd; d++) ai += idx[d] * astr[d];
        for (d = nbd - 1; d >= 0; d--) {
            if (++idx[d] < bsh[d]) break;
            idx[d] = 0;
        }
        m = abuf + ai * n * n;
        if (!state[ai]) {
            if (!all_finite(m, n * n)) {
                state[ai] = 2;
            } else if (!lu_factor(m, n, piv + ai * n)) {
                char w[64];
                ag_set_error(AG_ELINALG, "solve: matrix A%s is singular", which(w, sizeof w, ai, na));
                goto out;
            } else {
                state[ai] = 1;
            }
        }
        if (state[ai] == 2) {
            /* NaN or inf in A: NaN solutions, as numpy and PyTorch give */
            for (i = 0; i < n * k; i++) x[i] = NAN;
            continue;
        }
        lu_solve(m, piv + ai * n, n, x, k);
    }
    if (fin && !fits(bbuf, nb * n * k, a->dtype)) {
        ag_set_error(AG_ELINALG, "solve: matrix A is too ill-conditioned (the solution overflows %s)",
                     ag_dtype_name(a->dtype));
        goto out;
    }
    o = store(bbuf, a->dtype, nbd + 2, osh);
out:
    ag_tensor_decref(be); ag_tensor_decref(cb);
    free(abuf); free(bbuf); free(piv); free(state);
    return o;
}

ag_tensor *ag_solve(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2];
    in[0] = a; in[1] = b;
    return ag_apply(AG_OP_solve, in, 2, NULL);
}

/* X = A^-1 B:  B-bar = A^-T G,  A-bar = -B-bar X^T */
static int vjp_solve(ag_vjp_ctx *c)
{
    ag_tensor *gb, *x;
    gb = c2(ag_solve, ag_swap_last2(c->in[0]), own(c->g));
    if (!gb) return -1;
    if (c->needs[0]) {
        x = c->composed ? ag_solve(c->in[0], c->in[1]) : own(c->out);
        c->gin[0] = cneg(c2(mm, own(gb), x ? ag_swap_last2(x) : NULL));
        ag_tensor_decref(x);
        if (!c->gin[0]) { ag_tensor_decref(gb); return -1; }
    }
    if (c->needs[1]) c->gin[1] = gb;
    else ag_tensor_decref(gb);
    return 0;
}

/* dX = A^-1 (dB - dA X).  A tangent with leading batch axes (many directions) first gets unit
   axes for the batch axes that only the other operand has, so its directions stay in front
   instead of meeting the other operand's batch (A (2, n, n) with B (n, k), or the reverse). */
static ag_tensor *jvp_solve(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin, const ag_params *p)
{
    ag_tensor *rhs = tin[1] ? ag_align_tangent(tin[1], in[1], out->ndim) : NULL;
    (void)op; (void)nin; (void)p;
    if (tin[1] && !rhs) return NULL;
    if (tin[0]) {
        ag_tensor *t = c2(mm, ag_align_tangent(tin[0], in[0], out->ndim), own(out));
        if (!t) { ag_tensor_decref(rhs); return NULL; }
        rhs = rhs ? c2(ag_sub, rhs, t) : cneg(t);
    }
    return rhs ? c2(ag_solve, own(in[0]), rhs) : NULL;
}

const ag_oprules ag_rules_solve = {solve_fwd, vjp_solve, jvp_solve, 1u | AG_SAVES_OUT};

/* ------------------------------------------------------------------ slogdet: log|det A| */
static int slogdet_raw(ag_tensor *a, double *signs, double *logs, int64_t *batch_out)
{
    int64_t batch, n, b, i;
    double *buf = load_f64(a, &batch, &n);
    int64_t *piv;
    if (!buf) return -1;
    piv = (int64_t *)ag_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!piv) { free(buf); return -1; }
    for (b = 0; b < batch; b++) {
        double *m = buf + b * n * n, s, l = 0;
        int sg = lu_factor(m, n, piv);
        if (!sg) {
            /* exactly singular (to working precision): numpy's (0, -inf) */
            signs[b] = 0;
            logs[b] = -INFINITY;
            continue;
        }
        s = sg;
        for (i = 0; i < n; i++) {
            double d = m[i * n + i];
            if (d < 0) s = -s;
            if (d != d) s = NAN; /* NaN input: (nan, nan) like numpy */
            l += log(fabs(d));
        }
        signs[b] = s;
        logs[b] = l;
    }
    *batch_out = batch;
    free(buf);
    free(piv);
    return 0;
}

/* signs then log|det|s of a's batch of matrices, in a fresh array of 2 nb doubles (nb: the
   batch size); the empty matrix has (1, 0), as in numpy */
static double *slogdet_batch(ag_tensor *a, int64_t *nb_out)
{
    int64_t batch = 0, nb = 1, i;
    double *s;
    int d;
    for (d = 0; d < a->ndim - 2; d++) nb *= a->shape[d];
    s = (double *)ag_malloc(sizeof(double) * (size_t)(2 * nb + 1));
    if (!s) return NULL;
    if (slogdet_raw(a, s, s + nb, &batch)) { free(s); return NULL; }
    if (a->shape[a->ndim - 1] == 0) for (i = 0; i < nb; i++) { s[i] = 1; s[nb + i] = 0; }
    *nb_out = nb;
    return s;
}

/* Where slogdet_fwd leaves the signs it computed with log|det| (from the same LU), set by
   ag_slogdet around its ag_apply and taken (cleared) on entry, so the matrix is factored once
   and no other forward, nested or later, sees it.  NULL: the signs are not wanted. */
static AG_TLS ag_tensor **slogdet_sign_slot;

static ag_tensor *slogdet_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *o, **slot = slogdet_sign_slot;
    int64_t nb;
    double *s;
    (void)op; (void)nin; (void)p;
    slogdet_sign_slot = NULL;
    if (check_square("slogdet", a) || !(s = slogdet_batch(a, &nb))) return NULL;
    o = store(s + nb, a->dtype, a->ndim - 2, a->shape);
    if (o && slot) {
        *slot = store(s, a->dtype, o->ndim, o->shape);
        if (!*slot) { ag_tensor_decref(o); o = NULL; }
    }
    free(s);
    return o;
}

ag_tensor *ag_slogdet(ag_tensor *a, ag_tensor **sign_out)
{
    ag_tensor *r, *sign = NULL;
    slogdet_sign_slot = sign_out ? &sign : NULL;
    r = ag_apply(AG_OP_slogdet, &a, 1, NULL);
    slogdet_sign_slot = NULL;
    if (!r || !sign_out) {
        ag_tensor_decref(sign);   /* the forward ran but recording or the tangent failed */
        return r;
    }
    *sign_out = sign;
    return r;
}

/* unit axes appended so a batch of scalars lines up with a batch of matrices */
static ag_tensor *add_two_axes(ag_tensor *g)
{
    int64_t sh[AG_MAXDIM];
    memcpy(sh, g->shape, sizeof(int64_t) * (size_t)g->ndim);
    sh[g->ndim] = 1;
    sh[g->ndim + 1] = 1;
    return ag_reshape(g, g->ndim + 2, sh);
}

/* add_two_axes taking (and releasing) its argument's reference */
static ag_tensor *add_two_axes_owned(ag_tensor *g)
{
    ag_tensor *r = g ? add_two_axes(g) : NULL;
    ag_tensor_decref(g);
    return r;
}

/* sum of x over its trailing two axes (keepdims as given), taking x's reference */
static ag_tensor *sum_last2(ag_tensor *x, int keepdims)
{
    int axes[2] = {-2, -1};
    ag_tensor *r = x ? ag_reduce(AG_OP_sum, x, 2, axes, keepdims) : NULL;
    ag_tensor_decref(x);
    return r;
}

/* d log|det A| = A^-T does not exist at a singular A: say so instead of the inverse's own
   error (both modes) */
static void singular_grad_error(void)
{
    if (ag_last_error_kind() == AG_ELINALG)
        ag_set_error(AG_ELINALG, "slogdet: no derivative at a singular matrix (log|det| is -inf "
                     "there and its gradient, the inverse, does not exist or overflows; det "
                     "itself is differentiable everywhere)");
}

/* d log|det A| = tr(A^-1 dA);  A-bar = g A^-T */
static int vjp_slogdet(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    {
        ag_tensor *ainv = ag_inv(c->in[0]);
        ag_tensor *ait = ainv ? ag_swap_last2(ainv) : NULL;
        ag_tensor_decref(ainv);
        if (!ait) {
            singular_grad_error();
            return -1;
        }
        c->gin[0] = c2(ag_mul, add_two_axes(c->g), ait);
    }
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_slogdet(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin, const ag_params *p)
{
    ag_tensor *ainv = ag_inv(in[0]), *ait = ainv ? ag_swap_last2(ainv) : NULL;
    (void)op; (void)nin; (void)out; (void)p;
    ag_tensor_decref(ainv);
    if (!ait) {
        singular_grad_error();
        return NULL;
    }
    return sum_last2(c2(ag_mul, own(tin[0]), ait), 0);
}

const ag_oprules ag_rules_slogdet = {slogdet_fwd, vjp_slogdet, jvp_slogdet, 1u};

/* ------------------------------------------------------------------ det and its cofactor matrix
 * d det(A) = <cof(A), dA> with cof(A) = adj(A)^T, a polynomial in A that exists at singular
 * matrices too (nonzero at rank n-1, zero at rank <= n-2); det * A^-T is it only when A is
 * invertible.  cof is its own primitive so that the first derivatives never divide by det. */
static ag_tensor *det_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *o;
    int64_t nb, i;
    double *s;
    (void)op; (void)nin; (void)p;
    if (check_square("det", a) || !(s = slogdet_batch(a, &nb))) return NULL;
    /* numpy's det: sign * exp(log|det|), which neither overflows nor underflows on the way */
    for (i = 0; i < nb; i++) s[i] *= exp(s[nb + i]);
    o = store(s, a->dtype, a->ndim - 2, a->shape);
    free(s);
    return o;
}

ag_tensor *ag_det(ag_tensor *a) { return ag_apply(AG_OP_det, &a, 1, NULL); }

/* adj(U) of an upper-triangular U without a division, so a zero on U's diagonal is no
 * special case.  Column j of U^-1 is x with x_j = 1/u_jj and u_ii x_i = -sum_{k>i} u_ik x_k;
 * w_i = (prod_{l=i..j} u_ll) x_i is then a polynomial:
 *   w_j = 1,  w_i = -sum_{k=i+1..j} u_ik (prod_{l=i+1..k-1} u_ll) w_k,
 * and adj(U)_ij = det(U) x_i = (prod_{l<i} u_ll) (prod_{l>j} u_ll) w_i.  adj is written to r
 * (upper triangle, zeros below); w is scratch of n doubles. */
static void adj_upper(const double *u, int64_t n, double *r, double *w)
{
    int64_t i, j, k;
    for (i = 0; i < n * n; i++) r[i] = 0;
    for (j = 0; j < n; j++) {
        double post = 1, pre = 1;
        for (k = j + 1; k < n; k++) post *= u[k * n + k];
        w[j] = 1;
        for (i = j - 1; i >= 0; i--) {
            double acc = 0, run = 1;
            for (k = i + 1; k <= j; k++) {
                acc += u[i * n + k] * run * w[k];
                run *= u[k * n + k];
            }
            w[i] = -acc;
        }
        for (i = 0; i <= j; i++) {
            r[i * n + j] = pre * post * w[i];
            pre *= u[i * n + i];
        }
    }
}

/* cof(A) = adj(A)^T from P A = L U (getrf, going on past zero pivots): adj(A) = adj(P A) adj(P)^-1
 * = sign(P) adj(U) L^-1 P, since adj(X Y) = adj(Y) adj(X), adj(L) = L^-1 and adj(P) = sign(P) P^T.
 * m is overwritten; out gets cof(A); scratch holds n*n + n doubles. */
static void cofactor_one(double *m, int64_t n, int64_t *piv, double *out, double *scratch)
{
    int64_t i, j, k;
    double *adj = scratch, sgn = lu_factor_ex(m, n, piv, 0);
    adj_upper(m, n, adj, scratch + n * n);
    /* adj <- adj L^-1: row by row, y L = x solved from the last column back (L unit lower) */
    for (i = 0; i < n; i++)
        for (j = n - 1; j >= 0; j--)
            for (k = j + 1; k < n; k++) adj[i * n + j] -= adj[i * n + k] * m[k * n + j];
    /* adj <- adj P: P = S_{n-1} ... S_0 (S_k swaps k and piv[k]), so the column swaps apply last
       to first */
    for (k = n - 1; k >= 0; k--)
        if (piv[k] != k)
            for (i = 0; i < n; i++) {
                double t = adj[i * n + k];
                adj[i * n + k] = adj[i * n + piv[k]];
                adj[i * n + piv[k]] = t;
            }
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) out[i * n + j] = sgn * adj[j * n + i];
}

static ag_tensor *cofactor_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *o = NULL;
    int64_t batch, n, b, i;
    double *buf, *res = NULL, *scratch = NULL;
    int64_t *piv = NULL;
    (void)op; (void)nin; (void)p;
    if (check_square("cofactor", a)) return NULL;
    buf = load_f64(a, &batch, &n);
    if (!buf) return NULL;
    res = (double *)ag_malloc(sizeof(double) * (size_t)(a->size ? a->size : 1));
    scratch = (double *)ag_malloc(sizeof(double) * (size_t)(n * n + n + 1));
    piv = (int64_t *)ag_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!res || !scratch || !piv) goto out;
    for (b = 0; b < batch; b++) {
        double *m = buf + b * n * n, *r = res + b * n * n;
        if (!all_finite(m, n * n)) {
            for (i = 0; i < n * n; i++) r[i] = NAN; /* as inv: NaN or inf in, NaN out */
            continue;
        }
        cofactor_one(m, n, piv, r, scratch);
    }
    o = store(res, a->dtype, a->ndim, a->shape);
out:
    free(buf); free(res); free(scratch); free(piv);
    return o;
}

ag_tensor *ag_cofactor(ag_tensor *a) { return ag_apply(AG_OP_cofactor, &a, 1, NULL); }

/* d det = <cof(A), dA>;  A-bar = g cof(A) */
static int vjp_det(ag_vjp_ctx *c)
{
    ag_tensor *cof;
    if (!c->needs[0]) return 0;
    /* cof first: an op that ran after its failure would clear its error message */
    cof = ag_cofactor(c->in[0]);
    if (!cof) return -1;
    c->gin[0] = c2(ag_mul, add_two_axes(c->g), cof);
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_det(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin, const ag_params *p)
{
    (void)op; (void)nin; (void)out; (void)p;
    return sum_last2(c2(ag_mul, own(tin[0]), ag_cofactor(in[0])), 0);
}

const ag_oprules ag_rules_det = {det_fwd, vjp_det, jvp_det, 1u};

/* The derivative of cof, det's Hessian: a symmetric linear map X -> D(X), so one function
 * serves as VJP (X the cotangent) and JVP (X the tangent).  n = 1: cof = [1], D = 0.  n = 2:
 * cof(A) = R A R^T with R = [[0, 1], [-1, 0]] is linear, D(X) = cof(X), everywhere.  n >= 3,
 * from cof = det A^-T:  D(X) = det (<A^-T, X> A^-T - A^-T X^T A^-T), built from differentiable
 * ops (so higher orders follow); it needs A^-1, so at a singular A it is an error. */
static ag_tensor *cofactor_deriv(ag_tensor *a, ag_tensor *x)
{
    ag_tensor *ainv, *ait, *inner, *term, *det;
    int64_t n = a->shape[a->ndim - 1];
    if (n <= 1) return NULL;
    if (n == 2) return ag_cofactor(x);
    ainv = ag_inv(a);
    if (!ainv) {
        if (ag_last_error_kind() == AG_ELINALG)
            ag_set_error(AG_ELINALG, "det: the second derivative at a singular matrix is not "
                         "implemented for n >= 3 (first derivatives are)");
        return NULL;
    }
    ait = ag_swap_last2(ainv);
    ag_tensor_decref(ainv);
    if (!ait) return NULL;
    /* each step only after the last succeeded: a later op would clear a failure's message */
    inner = sum_last2(ag_mul(x, ait), 1);
    term = inner ? c2(ag_mul, inner, own(ait)) : NULL;
    if (term) {
        ag_tensor *xt = ag_swap_last2(x);
        ag_tensor *q = xt ? c2(mm, c2(mm, own(ait), xt), own(ait)) : NULL;
        term = q ? c2(ag_sub, term, q) : (ag_tensor_decref(term), NULL);
    }
    ag_tensor_decref(ait);
    if (!term) return NULL;
    det = add_two_axes_owned(ag_det(a));
    return det ? c2(ag_mul, det, term) : (ag_tensor_decref(term), NULL);
}

static int vjp_cofactor(ag_vjp_ctx *c)
{
    if (!c->needs[0] || c->in[0]->shape[c->in[0]->ndim - 1] <= 1) return 0;
    c->gin[0] = cofactor_deriv(c->in[0], c->g);
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_cofactor(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin, const ag_params *p)
{
    (void)op; (void)nin; (void)out; (void)p;
    return cofactor_deriv(in[0], tin[0]);
}

const ag_oprules ag_rules_cofactor = {cofactor_fwd, vjp_cofactor, jvp_cofactor, 1u};

/* ------------------------------------------------------------------ cholesky: A = L L^T */
static ag_tensor *cholesky_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *o = NULL;
    int64_t batch, n, b, i, j, k;
    double *buf;
    (void)op; (void)nin; (void)p;
    if (check_square("cholesky", a)) return NULL;
    buf = load_f64(a, &batch, &n);
    if (!buf) return NULL;
    for (b = 0; b < batch; b++) {
        double *m = buf + b * n * n;
        for (j = 0; j < n; j++) {
            double s = m[j * n + j];
            for (k = 0; k < j; k++) s -= m[j * n + k] * m[j * n + k];
            if (!(s > 0) || !isfinite(s)) {
                char w[64];
                ag_set_error(AG_ELINALG, "cholesky: matrix%s is not positive definite (leading minor %lld)",
                             which(w, sizeof w, b, batch), (long long)(j + 1));
                free(buf);
                return NULL;
            }
            m[j * n + j] = sqrt(s);
            for (i = j + 1; i < n; i++) {
                double t = m[i * n + j];
                for (k = 0; k < j; k++) t -= m[i * n + k] * m[j * n + k];
                m[i * n + j] = t / m[j * n + j];
            }
            for (k = j + 1; k < n; k++) m[j * n + k] = 0; /* upper part */
        }
    }
    o = store(buf, a->dtype, a->ndim, a->shape);
    free(buf);
    return o;
}

ag_tensor *ag_cholesky(ag_tensor *a) { return ag_apply(AG_OP_cholesky, &a, 1, NULL); }

/* Phi(X): the lower triangle of X with its diagonal halved */
static ag_tensor *phi(ag_tensor *x)
{
    int64_t n, i, j, sh[2];
    ag_tensor *m;
    if (!x) return NULL;
    n = x->shape[x->ndim - 1];
    sh[0] = n; sh[1] = n;
    m = ag_tensor_zeros(x->dtype, 2, sh);
    if (!m) { ag_tensor_decref(x); return NULL; }
    for (i = 0; i < n; i++)
        for (j = 0; j <= i; j++) {
            double v = i == j ? 0.5 : 1.0;
            if (x->dtype == AG_F32) ((float *)m->storage->data)[i * n + j] = (float)v;
            else ((double *)m->storage->data)[i * n + j] = v;
        }
    return c2(ag_mul, x, m);
}

/* (X + X^T) / 2, taking X's reference */
static ag_tensor *sym_owned(ag_tensor *x)
{
    ag_tensor *sum = x ? c2(ag_add, own(x), ag_swap_last2(x)) : NULL, *r;
    ag_tensor_decref(x);
    r = sum ? ag_scale(sum, 0.5) : NULL;
    ag_tensor_decref(sum);
    return r;
}

/* A-bar = sym(L^-T Phi(L^T G) L^-1) with sym(S) = (S + S^T) / 2 */
static int vjp_cholesky(ag_vjp_ctx *c)
{
    ag_tensor *l, *li, *lit, *s;
    if (!c->needs[0]) return 0;
    l = c->composed ? ag_cholesky(c->in[0]) : own(c->out);
    if (!l) return -1;
    li = ag_inv(l);
    lit = li ? ag_swap_last2(li) : NULL;
    s = c2(mm, c2(mm, own(lit), phi(c2(mm, ag_swap_last2(l), own(c->g)))), own(li));
    ag_tensor_decref(l); ag_tensor_decref(li); ag_tensor_decref(lit);
    if (!s) return -1;
    c->gin[0] = sym_owned(s);
    return c->gin[0] ? 0 : -1;
}

/* dL = L Phi(L^-1 sym(dA) L^-T): the tangent symmetrised, as the VJP's gradient is, so that both
   modes differentiate the same function (A read as symmetric); without it the forward and the
   reverse Jacobians differed, and an upper-triangle tangent, which the forward never reads,
   moved L */
static ag_tensor *jvp_cholesky(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin, const ag_params *p)
{
    ag_tensor *li = ag_inv(out), *lit = li ? ag_swap_last2(li) : NULL;
    (void)op; (void)in; (void)nin; (void)p;
    return c2(mm, own(out), phi(c2(mm, c2(mm, li, sym_owned(own(tin[0]))), lit)));
}

const ag_oprules ag_rules_cholesky = {cholesky_fwd, vjp_cholesky, jvp_cholesky, AG_SAVES_OUT};
