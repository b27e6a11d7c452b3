/* scan.c -- cumulative sums along an axis: forward kernel, VJP and JVP.
 *
 * cumsum is linear: its JVP is the cumsum of the tangent, and its VJP the cumsum of the
 * cotangent run the other way (the transpose of a lower-triangular ones matrix is upper
 * triangular).  One op with a direction flag serves both, so the backward of a backward is
 * again a cumsum.  The axis is stored trailing-relative, so rules also apply to cotangents and
 * tangents that carry extra leading (batch) axes, as the Jacobian transforms pass them.
 */
#include "../ag_internal.h"

#define PAR_N 32768

/* y[i] = x[0] + ... + x[i] (or x[i] + ... + x[L-1] when reverse), accumulated in double:
 * float32 results are the correctly rounded running sums up to the double accumulation's
 * error, and the order is fixed, so 1 and N threads agree bitwise. */
#define GEN_SCAN(T, sfx)                                                                  \
    static void scan_row_##sfx(const char *x, int64_t xs, char *y, int64_t ys, int64_t L, \
                               int reverse)                                               \
    {                                                                                     \
        double acc = 0;                                                                   \
        int64_t k;                                                                        \
        for (k = 0; k < L; k++) {                                                         \
            int64_t j = reverse ? L - 1 - k : k;                                          \
            acc += (double)*(const T *)(x + j * xs);                                      \
            *(T *)(y + j * ys) = (T)acc;                                                  \
        }                                                                                 \
    }
GEN_SCAN(float, f32)
GEN_SCAN(double, f64)

static ag_tensor *cumsum_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *y;
    const int axis = x->ndim + (int)p->i[0], reverse = p->flag;
    const int64_t es = (int64_t)ag_dtype_size(x->dtype);
    int64_t shp[AG_MAXDIM], xst[AG_MAXDIM], yst[AG_MAXDIM], rows = 1, L, r;
    int d, nd = 0;
    char *xb, *yb;
    (void)op; (void)nin;
    y = ag_tensor_empty(x->dtype, x->ndim, x->shape);
    if (!y) return NULL;
    L = x->shape[axis];
    for (d = 0; d < x->ndim; d++) {
        if (d == axis) continue;
        shp[nd] = x->shape[d];
        xst[nd] = x->strides[d] * es;
        yst[nd] = y->strides[d] * es;
        rows *= x->shape[d];
        nd++;
    }
    if (L == 0 || rows == 0) return y;
    xb = ag_ptr(x);
    yb = ag_ptr(y);
    AG_PAR_FOR(rows * L >= PAR_N && rows > 1, r, rows, {
        int64_t rem = r, xo = 0, yo = 0;
        int k;
        for (k = nd - 1; k >= 0; k--) {
            int64_t i = rem % shp[k];
            rem /= shp[k];
            xo += i * xst[k];
            yo += i * yst[k];
        }
        if (x->dtype == AG_F32)
            scan_row_f32(xb + xo, x->strides[axis] * es, yb + yo, y->strides[axis] * es, L, reverse);
        else
            scan_row_f64(xb + xo, x->strides[axis] * es, yb + yo, y->strides[axis] * es, L, reverse);
    });
    return y;
}

static ag_tensor *scan_apply(ag_tensor *x, const ag_params *p, int reverse)
{
    ag_params q = *p;
    q.ibuf = NULL;
    q.flag = reverse;
    return ag_apply(AG_OP_cumsum, &x, 1, &q);
}

ag_tensor *ag_cumsum(ag_tensor *x, int axis, int reverse)
{
    ag_params p;
    if (axis < -x->ndim || axis >= x->ndim) {
        ag_set_error(AG_EVALUE, "cumsum: axis %d is out of bounds for a tensor of dimension %d",
                     axis, x->ndim);
        return NULL;
    }
    ag_params_init(&p);
    p.core = x->ndim;
    p.i[0] = axis < 0 ? axis : axis - x->ndim;
    return scan_apply(x, &p, reverse != 0);
}

static int vjp_cumsum(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    c->gin[0] = scan_apply(c->g, c->p, !c->p->flag);
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_cumsum(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                             const ag_params *p)
{
    (void)op; (void)in; (void)nin; (void)out;
    return scan_apply(tin[0], p, p->flag);
}

const ag_oprules ag_rules_cumsum = {cumsum_fwd, vjp_cumsum, jvp_cumsum, 0};
