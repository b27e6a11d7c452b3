/* vmath.c -- dispatch of vectorised elementwise math.  Handles float32 and float64 C-contiguous
 * inputs on the AVX-512 and AVX2 kernel tables (blocks of AG_VM_BLOCK elements, OpenMP-parallel
 * for large arrays); everything else returns 0 and takes the portable libm loop in
 * ops/elementwise.c. */
#include "vmath.h"
#include "cpu.h"
#include "gemm_internal.h"
#include "../ag_internal.h"

#define AG_VM_BLOCK 1024

#include <math.h>
#include "erfcx_f64_table.h"

/* The scalar forms of vd_gelu / vd_gelu_grad (vmath_f64.h), for x neither NaN nor above 40
   (x below -40 is clamped there: e^{-x^2/2} is 0 beyond).  Each computes only the pieces it
   needs: erf(z) below |z| = 0.5, else e = e^{-x^2/2} (x^2 as hi + lo, exactly) and
   hg = erfcx(|z|)/2 from the binade's polynomial. */
static double gelu_clamp(double x) { return x < -40.0 ? -40.0 : x; }

static double erf_small(double z)
{
    double w = z * z, q = AG_ERF_SMALL[12];
    int k;
    for (k = 11; k >= 0; k--)
        q = q * w + AG_ERF_SMALL[k];
    return q * z;
}

/* lo with hi + lo = x^2 exactly, hi = x * x rounded (|x| <= 40) */
static double sq_lo(double x, double hi)
{
#ifdef FP_FAST_FMA
    return fma(x, x, -hi);
#else
    /* Dekker's product: x split into two 26-bit halves */
    double c = 134217729.0 * x, xh = c - (c - x), xl = x - xh;
    return ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl;
#endif
}

/* e^{-x^2/2} for |x| <= 40 */
static double exp_neg_half_sq(double x)
{
    double hi = x * x, lo = sq_lo(x, hi), e = exp(-0.5 * hi);
    return e - e * (0.5 * lo);
}

double ag_gelu_grad2_scalar(double x)
{
    if (x != x)
        return x;
    if (!(fabs(x) <= 40.0))
        return (2.0 - x * x) * 0.0; /* 0 beyond 40; NaN at +-inf, like gelu' */
    return exp_neg_half_sq(x) * 0.39894228040143267794 * (2.0 - x * x);
}

double ag_exp_neg_sq(double x)
{
    double hi, lo, e;
    if (!(fabs(x) <= 40.0))
        return x != x ? x : 0.0; /* e^-1600 underflows; NaN passes */
    hi = x * x;
    lo = sq_lo(x, hi);
    e = exp(-hi);
    return e - e * lo;
}

static double erfcx_half(double az)
{
    int k, ex;
    double f = frexp(az > 31.0 ? 31.0 : az, &ex); /* az = f 2^ex, f in [0.5, 1), az >= 0.5 */
    double s = 4.0 * f - 3.0, q = AG_ERFCX_C[20][ex]; /* s = 2m - 3, m = 2f; slot ex */
    for (k = 19; k >= 0; k--)
        q = q * s + AG_ERFCX_C[k][ex];
    return 0.5 * q;
}

double ag_gelu_scalar(double x)
{
    double xc, z, h;
    if (x != x || x > 40.0)
        return x;
    xc = gelu_clamp(x);
    z = xc * 0.70710678118654752440;
    if (fabs(z) < 0.5)
        return 0.5 * x * (1.0 + erf_small(z));
    h = x * erfcx_half(fabs(z)) * exp_neg_half_sq(xc); /* x erfc(|z|)/2 */
    return x < 0.0 ? h : x - h;
}

double ag_gelu_grad_scalar(double x)
{
    double xc, z, e, Phi;
    if (x != x)
        return x;
    xc = x > 40.0 ? 40.0 : gelu_clamp(x);
    z = xc * 0.70710678118654752440;
    e = exp_neg_half_sq(xc);
    if (fabs(z) < 0.5)
        Phi = 0.5 * (1.0 + erf_small(z));
    else {
        double hc = erfcx_half(fabs(z)) * e;
        Phi = x < 0.0 ? hc : 1.0 - hc;
    }
    return Phi + x * e * 0.39894228040143267794;
}

ag_vmath_f32_fn ag_vmath_active_f32(int op)
{
#if defined(AG_X86_64)
    switch (ag_isa_active()) {
    case AG_ISA_AVX512: return ag_vmath_f32_avx512(op);
    case AG_ISA_AVX2: return ag_vmath_f32_avx2(op);
    default: break;
    }
#endif
    (void)op;
    return 0;
}

ag_vmath_f64_fn ag_vmath_active_f64(int op)
{
#if defined(AG_X86_64)
    switch (ag_isa_active()) {
    case AG_ISA_AVX512: return ag_vmath_f64_avx512(op);
    case AG_ISA_AVX2: return ag_vmath_f64_avx2(op);
    default: break;
    }
#endif
    (void)op;
    return 0;
}

int ag_vmath_unary(int op, const ag_tensor *x, ag_tensor *o)
{
    ag_vmath_f32_fn f32 = 0;
    ag_vmath_f64_fn f64 = 0;
    char *xp, *yp;
    int64_t n, nb, b, es;
    if (x->dtype != o->dtype || (x->dtype != AG_F32 && x->dtype != AG_F64) ||
        x->size != o->size || !ag_tensor_is_contiguous(x) || !ag_tensor_is_contiguous(o))
        return 0;
    if (x->dtype == AG_F32) f32 = ag_vmath_active_f32(op);
    else f64 = ag_vmath_active_f64(op);
    if (!f32 && !f64) return 0;
    xp = (char *)ag_ptr(x);
    yp = (char *)ag_ptr(o);
    es = (int64_t)ag_dtype_size(x->dtype);
    n = x->size;
    nb = (n + AG_VM_BLOCK - 1) / AG_VM_BLOCK;
    AG_PAR_FOR(n >= 32768 / (es / 4), b, nb, {
        int64_t s = b * AG_VM_BLOCK, len = n - s < AG_VM_BLOCK ? n - s : AG_VM_BLOCK;
        if (f32)
            f32((const float *)(xp + s * es), (float *)(yp + s * es), len);
        else
            f64((const double *)(xp + s * es), (double *)(yp + s * es), len);
    });
    return 1;
}

int ag_vmath_deriv_mul(int op, const ag_tensor *v, const ag_tensor *x, ag_tensor *o)
{
    ag_vmath_dmul_f32_fn f32 = 0;
    ag_vmath_dmul_f64_fn f64 = 0;
    char *vp, *xp, *op_;
    int64_t n, nb, b, vs = 1, es;
    int d;
    if ((o->dtype != AG_F32 && o->dtype != AG_F64) || v->dtype != o->dtype ||
        x->dtype != o->dtype || v->size != o->size || x->size != o->size ||
        !ag_tensor_is_contiguous(x) || !ag_tensor_is_contiguous(o))
        return 0;
    if (!ag_tensor_is_contiguous(v)) {
        for (d = 0; d < v->ndim; d++)
            if (v->strides[d] != 0) return 0;
        vs = 0;
    }
#if defined(AG_X86_64)
    switch (ag_isa_active()) {
    case AG_ISA_AVX512:
        if (o->dtype == AG_F32) f32 = ag_vmath_dmul_f32_avx512(op);
        else f64 = ag_vmath_dmul_f64_avx512(op);
        break;
    case AG_ISA_AVX2:
        if (o->dtype == AG_F32) f32 = ag_vmath_dmul_f32_avx2(op);
        else f64 = ag_vmath_dmul_f64_avx2(op);
        break;
    default: break;
    }
#endif
    if (!f32 && !f64) return 0;
    vp = (char *)ag_ptr(v);
    xp = (char *)ag_ptr(x);
    op_ = (char *)ag_ptr(o);
    es = (int64_t)ag_dtype_size(o->dtype);
    n = o->size;
    nb = (n + AG_VM_BLOCK - 1) / AG_VM_BLOCK;
    AG_PAR_FOR(n >= 32768 / (es / 4), b, nb, {
        int64_t s = b * AG_VM_BLOCK, len = n - s < AG_VM_BLOCK ? n - s : AG_VM_BLOCK;
        if (f32)
            f32((const float *)(vp + s * vs * es), vs, (const float *)(xp + s * es),
                (float *)(op_ + s * es), len);
        else
            f64((const double *)(vp + s * vs * es), vs, (const double *)(xp + s * es),
                (double *)(op_ + s * es), len);
    });
    return 1;
}
