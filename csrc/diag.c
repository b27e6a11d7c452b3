/* diag.c -- structured (diagonal) batched tensors: the hint that lets a Jacobian skip dense work.
 *
 * A Jacobian pushes the identity basis through ONE pass: a batched tangent (forward mode) or
 * cotangent (reverse mode) of shape (n, *s), n = prod(s), whose batch element k is e_k.  Pushed
 * densely through a matmul that is an n x n x n GEMM, although diag(v) @ M is a row scaling.
 *
 * The storage of such a tensor may carry a hint: "my first n*n elements are diag(v)" (in C
 * order, batch element k is v_k e_k), v a contiguous vector of n elements that the storage owns.
 * The dense values stay materialised and correct, so an op that ignores the hint is right; the
 * ops that know it take a fast path (ag_unary_deriv_mul, mul/div by an operand without the batch
 * axis, matmul with a 2-D operand) and their results equal what the dense kernels produce.
 *
 * The hint lives on the storage rather than on one tensor: every contiguous, offset-0 view with
 * a leading axis of n and n*n elements -- a reshape of the core, the tangent of a reshape, a
 * saved alias -- sees the same values, and one invalidation covers all aliases.  It holds while
 * the storage version equals the version at which it was set (every in-place write bumps the
 * version) and is dropped for good when the memory is exported through the buffer protocol,
 * since numpy writes do not bump the version.  Hints are only ever set on fresh storages.
 */
#include "ag_internal.h"
#include <float.h>
#include <math.h>

void ag_storage_drop_diag(ag_storage *s)
{
    if (s && s->diag) AG_ATOMIC_STORE(&s->diag_version, -1);
}

ag_tensor *ag_diag_vec(ag_tensor *t)
{
    ag_storage *s = t->storage;
    ag_tensor *v = s->diag;
    int64_t n;
    if (!v || AG_ATOMIC_LOAD(&s->diag_version) != AG_ATOMIC_LOAD(&s->version)) return NULL;
    n = v->size;
    if (t->ndim < 1 || n == 0 || t->offset != 0 || t->dtype != v->dtype || t->shape[0] != n ||
        t->size != n * n || !ag_tensor_is_contiguous(t))
        return NULL;
    return v;
}

int ag_tensor_has_diag(ag_tensor *t) { return ag_diag_vec(t) != NULL; }

int ag_all_finite(const ag_tensor *t)
{
    int64_t i, n = t->size;
    int bad = 0;
    if (t->dtype == AG_F32) {
        const float *p = (const float *)ag_ptr(t);
        for (i = 0; i < n; i++) bad |= !(fabsf(p[i]) <= FLT_MAX); /* NaN compares false */
    } else {
        const double *p = (const double *)ag_ptr(t);
        for (i = 0; i < n; i++) bad |= !(fabs(p[i]) <= DBL_MAX);
    }
    return !bad;
}

ag_tensor *ag_diag_new(ag_tensor *w, int ndim, const int64_t *shape)
{
    ag_tensor *t = ag_tensor_zeros(w->dtype, ndim, shape);
    int64_t k, n = w->size;
    if (!t) { ag_tensor_decref(w); return NULL; }
    if (w->dtype == AG_F32) {
        float *o = (float *)ag_ptr(t);
        const float *v = (const float *)ag_ptr(w);
        for (k = 0; k < n; k++) o[k * (n + 1)] = v[k];
    } else {
        double *o = (double *)ag_ptr(t);
        const double *v = (const double *)ag_ptr(w);
        for (k = 0; k < n; k++) o[k * (n + 1)] = v[k];
    }
    t->storage->diag = w;
    t->storage->diag_version = t->storage->version;
    return t;
}

ag_tensor *ag_tensor_eye_batched(int dtype, int ndim, const int64_t *shape)
{
    int64_t sh[AG_MAXDIM], n;
    ag_tensor *ones;
    if (ag_check_shape(ndim, shape, &n)) return NULL;
    if (ndim + 1 > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "a batched identity would need more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    if (n > 0 && n > INT64_MAX / 16 / n) {
        ag_set_error(AG_EVALUE, "a batched identity of %lld directions is too large", (long long)n);
        return NULL;
    }
    sh[0] = n;
    memcpy(sh + 1, shape, sizeof(int64_t) * (size_t)ndim);
    if (n == 0) return ag_tensor_zeros(dtype, ndim + 1, sh);
    ones = ag_tensor_full(dtype, 1, &n, 1.0);
    return ones ? ag_diag_new(ones, ndim + 1, sh) : NULL;
}
