/* vmath.c -- dispatch of vectorised elementwise math.  Handles float32 C-contiguous inputs on
 * the AVX-512 and AVX2 kernel tables (blocks of AG_VM_BLOCK elements, OpenMP-parallel for large
 * arrays); everything else returns 0 and takes the portable libm loop in ops/elementwise.c. */
#include "vmath.h"
#include "cpu.h"
#include "gemm_internal.h"
#include "../ag_internal.h"

#define AG_VM_BLOCK 1024

int ag_vmath_unary(int op, const ag_tensor *x, ag_tensor *o)
{
    ag_vmath_f32_fn fn = 0;
    const float *xp;
    float *yp;
    int64_t n, nb, b;
    if (x->dtype != AG_F32 || o->dtype != AG_F32 || x->size != o->size ||
        !ag_tensor_is_contiguous(x) || !ag_tensor_is_contiguous(o))
        return 0;
#if defined(AG_X86_64)
    switch (ag_isa_active()) {
    case AG_ISA_AVX512: fn = ag_vmath_f32_avx512(op); break;
    case AG_ISA_AVX2: fn = ag_vmath_f32_avx2(op); break;
    default: break;
    }
#endif
    if (!fn) return 0;
    xp = (const float *)ag_ptr(x);
    yp = (float *)ag_ptr(o);
    n = x->size;
    nb = (n + AG_VM_BLOCK - 1) / AG_VM_BLOCK;
    AG_PAR_FOR(n >= 32768, b, nb, {
        int64_t s = b * AG_VM_BLOCK, len = n - s < AG_VM_BLOCK ? n - s : AG_VM_BLOCK;
        fn(xp + s, yp + s, len);
    });
    return 1;
}
