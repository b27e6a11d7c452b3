/* matmul.c -- matmul (batched, broadcasting) and the fused dense layer act(x W^T + b).
 *
 * Both call the packed GEMM of kernels/gemm.c.  Transposed operands are passed as swapped strides,
 * never materialised.  The dense layer applies bias and activation in the GEMM epilogue and is a
 * single node on the tape.
 */
#include "../ag_internal.h"
#include "../kernels/gemm.h"
#include "../kernels/vmath.h"
#include <float.h>
#include <math.h>

static ag_tensor *own(ag_tensor *t) { ag_tensor_incref(t); return t; }

static void gemm_call(int dtype, int64_t M, int64_t N, int64_t K, const char *A, int64_t rsa,
                      int64_t csa, const char *B, int64_t rsb, int64_t csb, char *C, int64_t rsc,
                      int64_t csc, const char *bias, int act, double act_param)
{
    if (dtype == AG_F32)
        ag_gemm_f32(M, N, K, 1.0f, (const float *)A, rsa, csa, (const float *)B, rsb, csb, 0.0f,
                    (float *)C, rsc, csc, (const float *)bias, act, (float)act_param);
    else
        ag_gemm_f64(M, N, K, 1.0, (const double *)A, rsa, csa, (const double *)B, rsb, csb, 0.0,
                    (double *)C, rsc, csc, (const double *)bias, act, act_param);
}

/* ------------------------------------------------------------------ matmul with a diagonal operand
 * A batched operand T of shape (n, R, C) known to be diag(v) (diag.c: batch element k holds v_k
 * at row k / C, column k % C) against a plain 2-D operand M: each product is one scaled row or
 * column of M, so the (n x ...) GEMM becomes O(n * out) writes.
 *   T @ M (M: C x N):  out[k] = 0 except row k / C    = v_k * M[k % C, :]
 *   M @ T (M: P x R):  out[k] = 0 except column k % C = v_k * M[:, k / C]
 * Every element of M is read, so an output that is all finite means M is finite, and then the
 * dense zeros the GEMM would add (0 * m) change nothing; otherwise the GEMM runs instead. */
#define DIAG_TILE 32
#define GEN_DIAG_MM_T(T, sfx, ABS, MAXV)                                                         \
    static int diag_left_##sfx(int64_t n, int64_t R, int64_t C, int64_t N, const T *restrict v,  \
                               const T *restrict m, int64_t rsm, int64_t csm, T *restrict o)     \
    {                                                                                            \
        int64_t k, j;                                                                            \
        int bad = 0;                                                                             \
        if (R > 1) memset(o, 0, sizeof(T) * (size_t)(n * R * N));                                \
        for (k = 0; k < n; k++) {                                                                \
            T *ok = o + k * R * N + (k / C) * N;                                                 \
            const T *mk = m + (k % C) * rsm, vk = v[k];                                          \
            if (csm == 1) /* unit stride: a loop the compiler vectorises */                      \
                for (j = 0; j < N; j++) { T x = vk * mk[j]; ok[j] = x; bad |= !(ABS(x) <= MAXV); } \
            else                                                                                 \
                for (j = 0; j < N; j++) {                                                        \
                    T x = vk * mk[j * csm];                                                      \
                    ok[j] = x;                                                                   \
                    bad |= !(ABS(x) <= MAXV);                                                    \
                }                                                                                \
        }                                                                                        \
        return !bad;                                                                             \
    }                                                                                            \
    static int diag_right_##sfx(int64_t n, int64_t P, int64_t C, const T *restrict v,            \
                                const T *restrict m, int64_t rsm, int64_t csm, T *restrict o)    \
    {                                                                                            \
        int64_t k0, p0, k, p;                                                                    \
        int bad = 0;                                                                             \
        if (C > 1) memset(o, 0, sizeof(T) * (size_t)(n * P * C));                                \
        if (rsm == 1 && C == 1) { /* unit strides on both sides: a vectorised loop per k */      \
            for (k = 0; k < n; k++) {                                                            \
                T *ok = o + k * P;                                                               \
                const T *mk = m + k * csm, vk = v[k];                                            \
                for (p = 0; p < P; p++) { T x = vk * mk[p]; ok[p] = x; bad |= !(ABS(x) <= MAXV); } \
            }                                                                                    \
            return !bad;                                                                         \
        }                                                                                        \
        /* tiles: out[k, p, k % C] reads M[p, k / C]; either can be the strided side */          \
        for (k0 = 0; k0 < n; k0 += DIAG_TILE)                                                    \
            for (p0 = 0; p0 < P; p0 += DIAG_TILE) {                                              \
                int64_t k1 = k0 + DIAG_TILE < n ? k0 + DIAG_TILE : n;                            \
                int64_t p1 = p0 + DIAG_TILE < P ? p0 + DIAG_TILE : P;                            \
                for (k = k0; k < k1; k++) {                                                      \
                    T *ok = o + k * P * C + k % C;                                               \
                    const T *mk = m + (k / C) * csm, vk = v[k];                                  \
                    for (p = p0; p < p1; p++) {                                                  \
                        T x = vk * mk[p * rsm];                                                  \
                        ok[p * C] = x;                                                           \
                        bad |= !(ABS(x) <= MAXV);                                                \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
        return !bad;                                                                             \
    }
GEN_DIAG_MM_T(float, f32, fabsf, FLT_MAX)
GEN_DIAG_MM_T(double, f64, fabs, DBL_MAX)

/* o = a @ b when one operand is a diagonal batch and the other is 2-D: 1 when done */
static int matmul_diag(ag_tensor *a, ag_tensor *b, ag_tensor *o)
{
    ag_tensor *v;
    int f = a->dtype == AG_F32;
    if (a->ndim == 3 && b->ndim == 2 && (v = ag_diag_vec(a))) {
        int64_t n = a->shape[0], R = a->shape[1], C = a->shape[2], N = b->shape[1];
        int64_t rs = b->strides[0], cs = b->strides[1];
        return f ? diag_left_f32(n, R, C, N, (const float *)ag_ptr(v), (const float *)ag_ptr(b),
                                 rs, cs, (float *)ag_ptr(o))
                 : diag_left_f64(n, R, C, N, (const double *)ag_ptr(v), (const double *)ag_ptr(b),
                                 rs, cs, (double *)ag_ptr(o));
    }
    if (a->ndim == 2 && b->ndim == 3 && (v = ag_diag_vec(b))) {
        int64_t n = b->shape[0], P = a->shape[0], C = b->shape[2];
        int64_t rs = a->strides[0], cs = a->strides[1];
        return f ? diag_right_f32(n, P, C, (const float *)ag_ptr(v), (const float *)ag_ptr(a), rs,
                                  cs, (float *)ag_ptr(o))
                 : diag_right_f64(n, P, C, (const double *)ag_ptr(v), (const double *)ag_ptr(a), rs,
                                  cs, (double *)ag_ptr(o));
    }
    return 0;
}

/* ------------------------------------------------------------------ matmul, both operands >= 2-D */
static ag_tensor *matmul_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *a = in[0], *b = in[1], *o;
    int64_t bsh[AG_MAXDIM], osh[AG_MAXDIM], M, N, K, nb = 1, idx[AG_MAXDIM], t;
    int nbd, d, an = a->ndim, bn = b->ndim;
    int64_t es;
    (void)op; (void)nin; (void)p;
    if (a->dtype != b->dtype) {
        ag_set_error(AG_ETYPE, "matmul: dtype mismatch, %s and %s", ag_dtype_name(a->dtype),
                     ag_dtype_name(b->dtype));
        return NULL;
    }
    M = a->shape[an - 2];
    K = a->shape[an - 1];
    N = b->shape[bn - 1];
    if (b->shape[bn - 2] != K) {
        char b1[160], b2[160];
        ag_format_shape(b1, sizeof b1, an, a->shape);
        ag_format_shape(b2, sizeof b2, bn, b->shape);
        ag_set_error(AG_EVALUE, "matmul: shapes %s and %s are not aligned (%lld != %lld)", b1, b2,
                     (long long)K, (long long)b->shape[bn - 2]);
        return NULL;
    }
    if (ag_broadcast_shapes("matmul", an - 2, a->shape, bn - 2, b->shape, &nbd, bsh)) {
        /* name the whole operand shapes, not only their batch parts */
        char b1[160], b2[160];
        ag_format_shape(b1, sizeof b1, an, a->shape);
        ag_format_shape(b2, sizeof b2, bn, b->shape);
        ag_set_error(AG_EVALUE, "matmul: batch dimensions of shapes %s and %s cannot be broadcast "
                     "together", b1, b2);
        return NULL;
    }
    if (nbd + 2 > AG_MAXDIM) {
        ag_set_error(AG_EVALUE, "matmul: result would have more than %d dimensions", AG_MAXDIM);
        return NULL;
    }
    memcpy(osh, bsh, sizeof(int64_t) * (size_t)nbd);
    osh[nbd] = M;
    osh[nbd + 1] = N;
    o = ag_tensor_empty(a->dtype, nbd + 2, osh);
    if (!o || o->size == 0) return o;
    if (matmul_diag(a, b, o)) return o;
    es = (int64_t)ag_dtype_size(a->dtype);
    for (d = 0; d < nbd; d++) nb *= bsh[d];
    /* b has no batch and a's batch folds into its rows: one GEMM with M' = batch * M */
    if (bn == 2 && nbd > 0 && ag_tensor_is_contiguous(a)) {
        gemm_call(a->dtype, nb * M, N, K, ag_ptr(a), K, 1, ag_ptr(b), b->strides[0], b->strides[1],
                  ag_ptr(o), N, 1, NULL, 0, 0);
        return o;
    }
    /* a has no batch and b's batch is one strided axis: when N is smaller than the batch,
       one GEMM per column n of B, with the batch as GEMM columns (C(i, t) = out[t, i, n]) --
       the shape of a batched tangent (or cotangent) of a matrix-vector product */
    if (an == 2 && bn == 3 && N < nb) {
        int64_t n;
        for (n = 0; n < N; n++)
            gemm_call(a->dtype, M, nb, K, ag_ptr(a), a->strides[0], a->strides[1],
                      ag_ptr(b) + n * b->strides[2] * es, b->strides[1], b->strides[0],
                      ag_ptr(o) + n * es, 1 * N, M * N, NULL, 0, 0);
        return o;
    }
    {
        int64_t as[AG_MAXDIM], bs[AG_MAXDIM];
        /* batch strides (in bytes) of a and b broadcast to the batch shape */
        ag_tensor av = *a, bv = *b;
        av.ndim = an - 2;
        bv.ndim = bn - 2;
        ag_broadcast_strides(&av, nbd, bsh, as);
        ag_broadcast_strides(&bv, nbd, bsh, bs);
        for (d = 0; d < nbd; d++) idx[d] = 0;
        for (t = 0; t < nb; t++) {
            int64_t ao = 0, bo = 0;
            for (d = 0; d < nbd; d++) { ao += idx[d] * as[d]; bo += idx[d] * bs[d]; }
            gemm_call(a->dtype, M, N, K, ag_ptr(a) + ao, a->strides[an - 2], a->strides[an - 1],
                      ag_ptr(b) + bo, b->strides[bn - 2], b->strides[bn - 1],
                      ag_ptr(o) + t * M * N * es, N, 1, NULL, 0, 0);
            for (d = nbd - 1; d >= 0; d--) {
                if (++idx[d] < bsh[d]) break;
                idx[d] = 0;
            }
        }
    }
    return o;
}

static ag_tensor *matmul_nd(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2];
    in[0] = a;
    in[1] = b;
    return ag_apply(AG_OP_matmul, in, 2, NULL);
}

static ag_tensor *c2mm(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *r = (a && b) ? matmul_nd(a, b) : NULL;
    ag_tensor_decref(a);
    ag_tensor_decref(b);
    return r;
}

/* d(AB) = dA B + A dB;  A-bar = G B^T, B-bar = A^T G (batch axes summed by the sweep) */
static int vjp_matmul(ag_vjp_ctx *c)
{
    if (c->needs[0] && !(c->gin[0] = c2mm(own(c->g), ag_swap_last2(c->in[1])))) return -1;
    if (c->needs[1] && !(c->gin[1] = c2mm(ag_swap_last2(c->in[0]), own(c->g)))) return -1;
    return 0;
}

static ag_tensor *jvp_matmul(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                             const ag_params *p)
{
    /* a tangent with leading batch axes (many directions at once) first gets unit axes for the
       batch axes that only the other operand has, so that its own batch axes stay in front
       instead of being broadcast against the other operand's */
    ag_tensor *t0 = tin[0] ? ag_align_tangent(tin[0], in[0], out->ndim) : NULL;
    ag_tensor *t1 = tin[1] ? ag_align_tangent(tin[1], in[1], out->ndim) : NULL;
    ag_tensor *r1 = t0 ? matmul_nd(t0, in[1]) : NULL;
    ag_tensor *r2 = t1 ? matmul_nd(in[0], t1) : NULL;
    (void)op; (void)nin; (void)p;
    ag_tensor_decref(t0);
    ag_tensor_decref(t1);
    if ((tin[0] && !r1) || (tin[1] && !r2)) { ag_tensor_decref(r1); ag_tensor_decref(r2); return NULL; }
    if (!r1) return r2;
    if (!r2) return r1;
    {
        ag_tensor *s = ag_add(r1, r2);
        ag_tensor_decref(r1);
        ag_tensor_decref(r2);
        return s;
    }
}

const ag_oprules ag_rules_matmul = {matmul_fwd, vjp_matmul, jvp_matmul, 3u};

ag_tensor *ag_matmul(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *a2 = NULL, *b2 = NULL, *r = NULL, *s = NULL;
    int64_t sh[AG_MAXDIM];
    if (a->ndim == 0 || b->ndim == 0) {
        ag_set_error(AG_EVALUE, "matmul: operands must have at least one dimension (use * for scalars)");
        return NULL;
    }
    if (a->ndim == 1) { sh[0] = 1; sh[1] = a->shape[0]; a2 = ag_reshape(a, 2, sh); }
    else a2 = own(a);
    if (b->ndim == 1) { sh[0] = b->shape[0]; sh[1] = 1; b2 = ag_reshape(b, 2, sh); }
    else b2 = own(b);
    if (a2 && b2) r = matmul_nd(a2, b2);
    ag_tensor_decref(a2);
    ag_tensor_decref(b2);
    if (!r || (a->ndim > 1 && b->ndim > 1)) return r;
    /* drop the unit axes added for 1-D operands */
    {
        int nd = 0, d;
        for (d = 0; d < r->ndim; d++) {
            if (a->ndim == 1 && d == r->ndim - 2) continue;
            if (b->ndim == 1 && d == r->ndim - 1) continue;
            sh[nd++] = r->shape[d];
        }
        s = ag_reshape(r, nd, sh);
        ag_tensor_decref(r);
    }
    return s;
}

/* ------------------------------------------------------------------ fused dense layer
 * y = act(x W^T + b): x (..., in), W (out, in), b (out,); p.flag = activation, p.d[0] = its
 * parameter.  The VJP reads the activation's derivative from y alone (relu, leaky_relu with a
 * positive slope, tanh, sigmoid), so y is all it saves besides x and W; gelu runs as a plain
 * linear node followed by gelu's own node (see ag_linear).  elu' from y would be y + alpha,
 * which cancels where z << 0 (0 instead of alpha e^-20 in float32, 9e7 ulp off in float64),
 * so a recorded elu layer keeps the pre-activation z: ag_linear computes z = x W^T + b (the
 * product with the bias-only epilogue) and passes it as a last, non-differentiable input
 * (p.i[0] = LIN_SAVED_Z); the forward takes y = elu(z) from it in one vectorised pass with the
 * ELU epilogue's arithmetic (ag_elu_f32/f64), and the VJP and JVP take alpha e^z from it.  It
 * costs one activation-sized buffer, as the unfused linear + elu would hold; an unrecorded elu
 * layer (no gradient or tangent) stays one fused product. */
#define LIN_SAVED_Z 1

/* the saved pre-activation z of an elu layer, or NULL */
static ag_tensor *lin_saved_z(ag_tensor **in, int nin, const ag_params *p)
{
    return p->ni == 1 && p->i[0] == LIN_SAVED_Z ? in[nin - 1] : NULL;
}

/* the bias input, or NULL */
static ag_tensor *lin_bias(ag_tensor **in, int nin, const ag_params *p)
{
    return nin - (lin_saved_z(in, nin, p) != NULL) > 2 ? in[2] : NULL;
}
static int act_op(int act)
{
    switch (act) {
    case AG_ACT_RELU: return AG_OP_relu;
    case AG_ACT_LEAKY_RELU: return AG_OP_leaky_relu;
    case AG_ACT_TANH: return AG_OP_tanh;
    case AG_ACT_SIGMOID: return AG_OP_sigmoid;
    case AG_ACT_ELU: return AG_OP_elu;
    case AG_ACT_GELU: return AG_OP_gelu;
    default: return -1;
    }
}

/* rows of the layer: the product of x's leading dims (not x.size / in_features, which is
   0 / 0 for in_features = 0) */
static int64_t lin_rows(const ag_tensor *x)
{
    int64_t n = 1;
    int d;
    for (d = 0; d < x->ndim - 1; d++)
        n *= x->shape[d];
    return n;
}

/* y = elu(z) or o = v * elu'(z) on contiguous arrays, in chunks of ELU_CHUNK elements split over
   the threads from ELU_PAR_N elements */
#define ELU_CHUNK 2048
#define ELU_PAR_N 16384
#define ELU_FOR_CHUNKS(N, C, BODY)                                                           \
    do {                                                                                     \
        int64_t C, nc_ = ((N) + ELU_CHUNK - 1) / ELU_CHUNK;                                  \
        AG_PAR_FOR((N) >= ELU_PAR_N, C, nc_, BODY);                                          \
    } while (0)

static void elu_forward(const ag_tensor *z, ag_tensor *y, double alpha)
{
    int64_t n = z->size;
    if (z->dtype == AG_F32) {
        const float *zp = (const float *)ag_ptr(z);
        float *yp = (float *)ag_ptr(y);
        ELU_FOR_CHUNKS(n, c, {
            int64_t i0 = c * ELU_CHUNK;
            ag_elu_f32(zp + i0, yp + i0, n - i0 < ELU_CHUNK ? n - i0 : ELU_CHUNK, (float)alpha);
        });
    } else {
        const double *zp = (const double *)ag_ptr(z);
        double *yp = (double *)ag_ptr(y);
        ELU_FOR_CHUNKS(n, c, {
            int64_t i0 = c * ELU_CHUNK;
            ag_elu_f64(zp + i0, yp + i0, n - i0 < ELU_CHUNK ? n - i0 : ELU_CHUNK, alpha);
        });
    }
}

/* o[i] = v[i * vs] * elu'(z[i]) for i < n (vs 1, or 0 for one value; o a fresh buffer),
   elu'(z) = z > 0 ? 1 : alpha e^z: e^min(z, 0) into o through the active ISA's vector exp (libm
   on the generic ISA), then the product */
#define GEN_ELU_DMUL(T, sfx, VEXP_OF)                                                           \
    static void elu_dmul_chunk_##sfx(const T *v, int64_t vs, const T *z, T *o, int64_t m,      \
                                     T alpha, void (*vexp)(const T *, T *, int64_t))            \
    {                                                                                          \
        int64_t i;                                                                             \
        for (i = 0; i < m; i++) o[i] = z[i] > 0 ? (T)0 : z[i];                                 \
        if (vexp) vexp(o, o, m);                                                               \
        else for (i = 0; i < m; i++) o[i] = (T)exp((double)o[i]);                              \
        for (i = 0; i < m; i++) o[i] = z[i] > 0 ? v[i * vs] : v[i * vs] * (alpha * o[i]);      \
    }                                                                                          \
    static void elu_dmul_##sfx(const T *v, int64_t vs, const T *z, T *o, int64_t n, T alpha)   \
    {                                                                                          \
        void (*vexp)(const T *, T *, int64_t) = VEXP_OF(AG_OP_exp);                            \
        ELU_FOR_CHUNKS(n, c, {                                                                 \
            int64_t i0 = c * ELU_CHUNK;                                                        \
            elu_dmul_chunk_##sfx(v + i0 * vs, vs, z + i0, o + i0,                              \
                                 n - i0 < ELU_CHUNK ? n - i0 : ELU_CHUNK, alpha, vexp);        \
        });                                                                                    \
    }
GEN_ELU_DMUL(float, f32, ag_vmath_active_f32)
GEN_ELU_DMUL(double, f64, ag_vmath_active_f64)

/* v * elu'(z), z contiguous: one pass when v has z's shape and is contiguous or one value
   broadcast (the gradient of a sum); otherwise (a tangent with leading batch axes, a strided
   cotangent) v times elu'(z) materialised by the same pass */
static ag_tensor *elu_deriv_mul(ag_tensor *z, ag_tensor *v, double alpha)
{
    int64_t vs = -1;
    int d;
    ag_tensor *o, *r;
    if (ag_same_shape(v, z)) {
        if (ag_tensor_is_contiguous(v)) vs = 1;
        else {
            for (d = 0; d < v->ndim && v->strides[d] == 0; d++) {}
            if (d == v->ndim) vs = 0;
        }
    }
    o = ag_tensor_empty(z->dtype, z->ndim, z->shape);
    if (!o) return NULL;
    if (z->dtype == AG_F32) {
        float one = 1.0f;
        elu_dmul_f32(vs >= 0 ? (const float *)ag_ptr(v) : &one, vs >= 0 ? vs : 0,
                     (const float *)ag_ptr(z), (float *)ag_ptr(o), z->size, (float)alpha);
    } else {
        double one = 1.0;
        elu_dmul_f64(vs >= 0 ? (const double *)ag_ptr(v) : &one, vs >= 0 ? vs : 0,
                     (const double *)ag_ptr(z), (double *)ag_ptr(o), z->size, alpha);
    }
    if (vs >= 0) return o;
    r = ag_mul(v, o);
    ag_tensor_decref(o);
    return r;
}

static ag_tensor *linear_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *w = in[1], *b = lin_bias(in, nin, p), *z = lin_saved_z(in, nin, p);
    ag_tensor *x2, *bc = NULL, *o;
    int64_t N, I = w->shape[1], O = w->shape[0], sh[AG_MAXDIM], x2s[2];
    (void)op;
    if (z) {
        /* z: the contiguous output of the bias-only product (ag_linear) */
        o = ag_tensor_empty(z->dtype, z->ndim, z->shape);
        if (o) elu_forward(z, o, p->d[0]);
        return o;
    }
    N = lin_rows(x);
    x2s[0] = N;
    x2s[1] = I;
    /* a 2-D view of x when its leading dims merge, else a copy */
    x2 = ag_reshape_view_or_copy(x, 2, x2s);
    if (!x2) return NULL;
    if (b && !ag_tensor_is_contiguous(b)) {
        bc = ag_tensor_contiguous_copy(b);
        if (!bc) { ag_tensor_decref(x2); return NULL; }
    }
    memcpy(sh, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    sh[x->ndim - 1] = O;
    o = ag_tensor_empty(x->dtype, x->ndim, sh);
    if (o && o->size)
        gemm_call(x->dtype, N, O, I, ag_ptr(x2), x2->strides[0], x2->strides[1], ag_ptr(w),
                  w->strides[1], w->strides[0], ag_ptr(o), O, 1,
                  b ? ag_ptr(bc ? bc : b) : NULL, p->flag, p->d[0]);
    ag_tensor_decref(x2);
    ag_tensor_decref(bc);
    return o;
}

/* v * act'(z) for y = act(z), v shaped as y (or with leading batch axes), outside the graph:
   from y alone, except elu's: alpha e^z from the saved z */
static ag_tensor *act_deriv_mul(ag_tensor **in, int nin, const ag_params *p, ag_tensor *y, ag_tensor *v)
{
    ag_params q;
    ag_tensor *z = lin_saved_z(in, nin, p), *zy, *r;
    if (p->flag != AG_ACT_ELU) {
        ag_params_init(&q);
        q.d[0] = p->d[0];
        q.d[1] = 1.0; /* the derivative from y alone */
        return ag_unary_deriv_mul(act_op(p->flag), y, y, v, &q);
    }
    if (!z) {
        ag_set_error(AG_EVALUE, "linear: internal error, an elu layer was recorded without its "
                     "pre-activation");
        return NULL;
    }
    zy = ag_reshape(z, y->ndim, y->shape); /* laid out as y (the JVP passes y as (rows, out)) */
    r = zy ? elu_deriv_mul(zy, v, p->d[0]) : NULL;
    ag_tensor_decref(zy);
    return r;
}

/* gradient w.r.t. the pre-activation, g * act'(z), from y (fast) or rebuilt from ops */
static ag_tensor *linear_dz(ag_vjp_ctx *c)
{
    int aop = act_op(c->p->flag);
    ag_tensor *z, *d, *r;
    if (aop < 0) return own(c->g);
    if (!c->composed) return act_deriv_mul(c->in, c->nin, c->p, c->out, c->g);
    z = ag_linear(c->in[0], c->in[1], lin_bias(c->in, c->nin, c->p), 0, 0);
    if (!z) return NULL;
    {
        ag_params q;
        ag_params_init(&q);
        q.d[0] = c->p->d[0];
        d = ag_unary_deriv_composed(aop, z, &q);
    }
    ag_tensor_decref(z);
    r = d ? ag_mul(c->g, d) : NULL;
    ag_tensor_decref(d);
    return r;
}

/* z = x W^T + b:  x-bar = dz W, W-bar = dz^T x (rows flattened), b-bar = sum of dz over rows */
static int vjp_linear(ag_vjp_ctx *c)
{
    ag_tensor *x = c->in[0], *w = c->in[1], *dz, *dz2, *x2;
    int64_t O = w->shape[0], I = w->shape[1], s2[2];
    int st = 0;
    dz = linear_dz(c);
    if (!dz) return -1;
    s2[0] = lin_rows(x);
    s2[1] = O;
    dz2 = ag_reshape(dz, 2, s2);
    ag_tensor_decref(dz);
    if (!dz2) return -1;
    if (c->needs[0]) {
        ag_tensor *gx = matmul_nd(dz2, w);
        c->gin[0] = gx ? ag_reshape(gx, x->ndim, x->shape) : NULL;
        ag_tensor_decref(gx);
        if (!c->gin[0]) st = -1;
    }
    if (!st && c->needs[1]) {
        s2[1] = I;
        x2 = ag_reshape(x, 2, s2);
        c->gin[1] = x2 ? c2mm(ag_swap_last2(dz2), x2) : NULL;
        if (!c->gin[1]) st = -1;
    }
    if (!st && lin_bias(c->in, c->nin, c->p) && c->needs[2]) {
        int ax = 0;
        c->gin[2] = ag_reduce(AG_OP_sum, dz2, 1, &ax, 0);
        if (!c->gin[2]) st = -1;
    }
    ag_tensor_decref(dz2);
    return st;
}

static ag_tensor *jvp_linear(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                             const ag_params *p)
{
    ag_tensor *x = in[0], *w = in[1], *tz = NULL, *t, *x2, *o2, *ty, *r;
    int64_t O = w->shape[0], I = w->shape[1], N = lin_rows(x), s2[2], s3[2];
    int aop = act_op(p->flag);
    (void)op;
    s2[0] = N; s2[1] = I;
    if (tin[0]) {
        ag_tensor *tx2 = ag_reshape_core(tin[0], x->ndim, 2, s2);
        tz = c2mm(tx2, ag_swap_last2(w));
        if (!tz) return NULL;
    }
    if (tin[1]) {
        x2 = ag_reshape(x, 2, s2);
        t = c2mm(x2, ag_swap_last2(tin[1]));
        if (!t) { ag_tensor_decref(tz); return NULL; }
        if (tz) { ag_tensor *s = ag_add(tz, t); ag_tensor_decref(tz); ag_tensor_decref(t); tz = s; }
        else tz = t;
        if (!tz) return NULL;
    }
    if (lin_bias(in, nin, p) && tin[2]) {
        s3[0] = 1; s3[1] = O;
        t = ag_reshape_core(tin[2], 1, 2, s3);
        if (t && !tz) {
            /* only the bias moves: its tangent, one row, spread over the N rows */
            s3[0] = N;
            tz = ag_tensor_zeros(x->dtype, 2, s3);
            if (!tz) { ag_tensor_decref(t); return NULL; }
        }
        if (tz && t) { ag_tensor *s = ag_add(tz, t); ag_tensor_decref(tz); ag_tensor_decref(t); tz = s; }
        else { ag_tensor_decref(tz); tz = NULL; }
        if (!tz) return NULL;
    }
    s3[0] = N; s3[1] = O;
    if (aop >= 0) {
        o2 = ag_reshape(out, 2, s3);
        ty = o2 ? act_deriv_mul(in, nin, p, o2, tz) : NULL;
        ag_tensor_decref(o2);
        ag_tensor_decref(tz);
        if (!ty) return NULL;
    } else {
        ty = tz;
    }
    r = ag_reshape_core(ty, 2, out->ndim, out->shape);
    ag_tensor_decref(ty);
    return r;
}

const ag_oprules ag_rules_linear = {linear_fwd, vjp_linear, jvp_linear, 3u | AG_SAVES_OUT};

/* will ag_apply record a node or a tangent for these inputs? (its own test) */
static int lin_recorded(ag_tensor **in, int nin)
{
    int i, rg = 0, tg = 0;
    for (i = 0; i < nin; i++) {
        rg |= in[i]->requires_grad;
        tg |= ag_tangent_of(in[i]) != NULL;
    }
    return (rg && ag_grad_enabled()) || (tg && ag_fwd_enabled());
}

ag_tensor *ag_linear(ag_tensor *x, ag_tensor *w, ag_tensor *b, int act, double act_param)
{
    ag_tensor *in[4], *z, *r;
    ag_params p;
    int nin;
    char b1[160], b2[160];
    if (x->dtype != w->dtype || (b && b->dtype != x->dtype)) {
        ag_set_error(AG_ETYPE, "linear: dtype mismatch (x %s, weight %s%s%s)", ag_dtype_name(x->dtype),
                     ag_dtype_name(w->dtype), b ? ", bias " : "", b ? ag_dtype_name(b->dtype) : "");
        return NULL;
    }
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1]) {
        ag_format_shape(b1, sizeof b1, x->ndim, x->shape);
        ag_format_shape(b2, sizeof b2, w->ndim, w->shape);
        ag_set_error(AG_EVALUE, "linear: input of shape %s does not match weight of shape %s "
                     "(expected weight (out_features, in_features) with in_features = x.shape[-1])", b1, b2);
        return NULL;
    }
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) {
        ag_format_shape(b1, sizeof b1, b->ndim, b->shape);
        ag_set_error(AG_EVALUE, "linear: bias of shape %s does not match out_features = %lld", b1,
                     (long long)w->shape[0]);
        return NULL;
    }
    if (act < AG_ACT_NONE || act > AG_ACT_ELU) {
        ag_set_error(AG_EVALUE, "linear: unknown activation code %d", act);
        return NULL;
    }
    /* gelu's derivative needs the pre-activation: two nodes instead of one */
    if (act == AG_ACT_GELU || (act == AG_ACT_LEAKY_RELU && act_param <= 0) ||
        (act == AG_ACT_ELU && act_param <= 0)) {
        z = ag_linear(x, w, b, AG_ACT_NONE, 0);
        if (!z) return NULL;
        r = act == AG_ACT_GELU ? ag_unary(AG_OP_gelu, z) : ag_unary_p(act_op(act), z, act_param);
        ag_tensor_decref(z);
        return r;
    }
    ag_params_init(&p);
    p.flag = act;
    p.d[0] = act_param;
    in[0] = x; in[1] = w; in[2] = b;
    nin = b ? 3 : 2;
    if (act == AG_ACT_ELU && lin_recorded(in, nin)) {
        /* the pre-activation, saved as a last input (see the top of this section) */
        int pg = ag_set_grad_enabled(0), pf = ag_set_fwd_enabled(0);
        z = ag_linear(x, w, b, AG_ACT_NONE, 0);
        ag_set_grad_enabled(pg);
        ag_set_fwd_enabled(pf);
        if (!z) return NULL;
        in[nin++] = z;
        p.ni = 1;
        p.i[0] = LIN_SAVED_Z;
        r = ag_apply(AG_OP_linear, in, nin, &p);
        ag_tensor_decref(z);
        return r;
    }
    return ag_apply(AG_OP_linear, in, nin, &p);
}
