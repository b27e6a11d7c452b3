/* vmath.c -- dispatch of vectorised elementwise math.  Handles float32 and float64 C-contiguous
 * inputs on the AVX-512 and AVX2 kernel tables (blocks of AG_VM_BLOCK elements, OpenMP-parallel
 * for large arrays); everything else returns 0 and takes the portable libm loop in
 * ops/elementwise.c. */
#include "vmath.h"
#include "cpu.h"
#include "gemm_internal.h"
#include "../ag_internal.h"

#define AG_VM_BLOCK 1024

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
    ag_vmath_dmul_f32_fn fn = 0;
    const float *vp, *xp;
    float *op_;
    int64_t n, nb, b, vs = 1;
    int d;
    if (v->dtype != AG_F32 || x->dtype != AG_F32 || o->dtype != AG_F32 || v->size != o->size ||
        x->size != o->size || !ag_tensor_is_contiguous(x) || !ag_tensor_is_contiguous(o))
        return 0;
    if (!ag_tensor_is_contiguous(v)) {
        for (d = 0; d < v->ndim; d++)
            if (v->strides[d] != 0) return 0;
        vs = 0;
    }
#if defined(AG_X86_64)
    switch (ag_isa_active()) {
    case AG_ISA_AVX512: fn = ag_vmath_dmul_f32_avx512(op); break;
    case AG_ISA_AVX2: fn = ag_vmath_dmul_f32_avx2(op); break;
    default: break;
    }
#endif
    if (!fn) return 0;
    vp = (const float *)ag_ptr(v);
    xp = (const float *)ag_ptr(x);
    op_ = (float *)ag_ptr(o);
    n = o->size;
    nb = (n + AG_VM_BLOCK - 1) / AG_VM_BLOCK;
    AG_PAR_FOR(n >= 32768, b, nb, {
        int64_t s = b * AG_VM_BLOCK, len = n - s < AG_VM_BLOCK ? n - s : AG_VM_BLOCK;
        fn(vp + s * vs, vs, xp + s, op_ + s, len);
    });
    return 1;
}
