/* vmath_avx512.c -- elementwise exp, log, tanh, sigmoid, relu, softplus, gelu on 16 float32 or 8
 * float64 lanes (the math is in vmath_avx512.h and vmath_f64.h).  Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma and
 * only reached after cpu.c has checked the CPU and OS support.  Tails use masked loads/stores.
 */
#include "gemm_internal.h"
#include "vmath.h"

#if defined(AG_X86_64)
#include "vmath_avx512.h"

#define V16 __m512

#define AG_VM_LOOP(NAME, F)                                                        \
    static void NAME(const float *x, float *y, int64_t n)                          \
    {                                                                              \
        int64_t i = 0;                                                             \
        for (; i + 32 <= n; i += 32) {                                             \
            V16 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);       \
            _mm512_storeu_ps(y + i, F(a));                                         \
            _mm512_storeu_ps(y + i + 16, F(b));                                    \
        }                                                                          \
        for (; i < n; i += 16) {                                                   \
            int64_t r = n - i;                                                     \
            __mmask16 k = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1); \
            _mm512_mask_storeu_ps(y + i, k, F(_mm512_maskz_loadu_ps(k, x + i)));   \
        }                                                                          \
    }

#define AG_VM_DEF32(op) AG_VM_LOOP(op##_f32, v_##op)
AG_VMATH_OPS(AG_VM_DEF32)

#define AG_VM_LOOP64(NAME, F)                                                      \
    static void NAME(const double *x, double *y, int64_t n)                        \
    {                                                                              \
        int64_t i = 0;                                                             \
        for (; i + 16 <= n; i += 16) {                                             \
            __m512d a = _mm512_loadu_pd(x + i), b = _mm512_loadu_pd(x + i + 8);    \
            _mm512_storeu_pd(y + i, F(a));                                         \
            _mm512_storeu_pd(y + i + 8, F(b));                                     \
        }                                                                          \
        for (; i < n; i += 8) {                                                    \
            int64_t r = n - i;                                                     \
            __mmask8 k = r >= 8 ? (__mmask8)0xff : (__mmask8)((1u << r) - 1);     \
            _mm512_mask_storeu_pd(y + i, k, F(_mm512_maskz_loadu_pd(k, x + i)));   \
        }                                                                          \
    }

#define AG_VM_DEF64(op) AG_VM_LOOP64(op##_f64, vd_##op)
AG_VMATH_OPS(AG_VM_DEF64)

ag_vmath_f32_fn ag_vmath_f32_avx512(int op)
{
    switch (op) {
    AG_VMATH_OPS(AG_VMATH_CASE32)
    default: return 0;
    }
}

ag_vmath_f64_fn ag_vmath_f64_avx512(int op)
{
    switch (op) {
    AG_VMATH_OPS(AG_VMATH_CASE64)
    default: return 0;
    }
}

/* o = v * f'(x), v broadcast when vs == 0; W lanes, masked tails */
#define AG_DMUL_LOOP(NAME, T, V, W, M, SET1, LOADZ, STOREM, MUL, F)               \
    static void NAME(const T *v, int64_t vs, const T *x, T *o, int64_t n)         \
    {                                                                             \
        const V v0 = SET1(*v);                                                    \
        int64_t i;                                                                \
        for (i = 0; i < n; i += W) {                                              \
            int64_t r = n - i;                                                    \
            M k = r >= W ? (M)-1 : (M)((1u << r) - 1);                            \
            V g = F(LOADZ(k, x + i));                                             \
            V vv = vs ? LOADZ(k, v + i) : v0;                                     \
            STOREM(o + i, k, MUL(vv, g));                                         \
        }                                                                         \
    }
AG_DMUL_LOOP(gelu_dmul_f32, float, __m512, 16, __mmask16, _mm512_set1_ps, _mm512_maskz_loadu_ps,
             _mm512_mask_storeu_ps, _mm512_mul_ps, v_gelu_grad)
AG_DMUL_LOOP(gelu_dmul_f64, double, __m512d, 8, __mmask8, _mm512_set1_pd, _mm512_maskz_loadu_pd,
             _mm512_mask_storeu_pd, _mm512_mul_pd, vd_gelu_grad)

ag_vmath_dmul_f32_fn ag_vmath_dmul_f32_avx512(int op)
{
    return op == AG_OP_gelu ? gelu_dmul_f32 : 0;
}

ag_vmath_dmul_f64_fn ag_vmath_dmul_f64_avx512(int op)
{
    return op == AG_OP_gelu ? gelu_dmul_f64 : 0;
}

#endif /* AG_X86_64 */
