/* vmath_avx2.c -- elementwise exp, log, tanh, sigmoid, relu, softplus, gelu on 8 float32 or 4 float64
 * lanes (the math is in vmath_avx2.h and vmath_f64.h).  Compiled with -mavx2 -mfma and only reached after cpu.c has checked the
 * CPU and OS support.  Tails go through an 8-float buffer.
 */
#include "gemm_internal.h"
#include "vmath.h"

#if defined(AG_X86_64)
#include <string.h>
#include "vmath_avx2.h"

#define V8 __m256

#define AG_VM_LOOP(NAME, F)                                                  \
    static void NAME(const float *x, float *y, int64_t n)                    \
    {                                                                        \
        int64_t i = 0;                                                       \
        for (; i + 16 <= n; i += 16) {                                       \
            V8 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);   \
            _mm256_storeu_ps(y + i, F(a));                                   \
            _mm256_storeu_ps(y + i + 8, F(b));                               \
        }                                                                    \
        for (; i < n; i += 8) {                                              \
            float buf[8] = {0};                                              \
            size_t r = (size_t)(n - i < 8 ? n - i : 8);                      \
            memcpy(buf, x + i, r * sizeof(float));                           \
            _mm256_storeu_ps(buf, F(_mm256_loadu_ps(buf)));                  \
            memcpy(y + i, buf, r * sizeof(float));                           \
        }                                                                    \
    }

#define AG_VM_DEF32(op) AG_VM_LOOP(op##_f32, v_##op)
AG_VMATH_OPS(AG_VM_DEF32)

#define AG_VM_LOOP64(NAME, F)                                                \
    static void NAME(const double *x, double *y, int64_t n)                  \
    {                                                                        \
        int64_t i = 0;                                                       \
        for (; i + 8 <= n; i += 8) {                                         \
            __m256d a = _mm256_loadu_pd(x + i), b = _mm256_loadu_pd(x + i + 4); \
            _mm256_storeu_pd(y + i, F(a));                                   \
            _mm256_storeu_pd(y + i + 4, F(b));                               \
        }                                                                    \
        for (; i < n; i += 4) {                                              \
            double buf[4] = {0};                                             \
            size_t r = (size_t)(n - i < 4 ? n - i : 4);                      \
            memcpy(buf, x + i, r * sizeof(double));                          \
            _mm256_storeu_pd(buf, F(_mm256_loadu_pd(buf)));                  \
            memcpy(y + i, buf, r * sizeof(double));                          \
        }                                                                    \
    }

#define AG_VM_DEF64(op) AG_VM_LOOP64(op##_f64, vd_##op)
AG_VMATH_OPS(AG_VM_DEF64)

ag_vmath_f32_fn ag_vmath_f32_avx2(int op)
{
    switch (op) {
    AG_VMATH_OPS(AG_VMATH_CASE32)
    default: return 0;
    }
}

ag_vmath_f64_fn ag_vmath_f64_avx2(int op)
{
    switch (op) {
    AG_VMATH_OPS(AG_VMATH_CASE64)
    default: return 0;
    }
}

/* o = v * gelu'(x) */
static void gelu_dmul_f32(const float *v, int64_t vs, const float *x, float *o, int64_t n)
{
    const __m256 v0 = _mm256_set1_ps(*v);
    int64_t i, j;
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_mul_ps(vs ? _mm256_loadu_ps(v + i) : v0,
                                              v_gelu_grad(_mm256_loadu_ps(x + i))));
    if (i < n) {
        float bv[8] = {0}, bx[8] = {0};
        size_t r = (size_t)(n - i);
        for (j = 0; j < (int64_t)r; j++) bv[j] = v[(i + j) * vs];
        memcpy(bx, x + i, r * sizeof(float));
        _mm256_storeu_ps(bv, _mm256_mul_ps(_mm256_loadu_ps(bv), v_gelu_grad(_mm256_loadu_ps(bx))));
        memcpy(o + i, bv, r * sizeof(float));
    }
}

static void gelu_dmul_f64(const double *v, int64_t vs, const double *x, double *o, int64_t n)
{
    const __m256d v0 = _mm256_set1_pd(*v);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(o + i, _mm256_mul_pd(vs ? _mm256_loadu_pd(v + i) : v0,
                                              vd_gelu_grad(_mm256_loadu_pd(x + i))));
    if (i < n) {
        double bv[4] = {0}, bx[4] = {0};
        size_t r = (size_t)(n - i);
        memcpy(bx, x + i, r * sizeof(double));
        if (vs) memcpy(bv, v + i, r * sizeof(double));
        else bv[0] = bv[1] = bv[2] = bv[3] = *v;
        _mm256_storeu_pd(bv, _mm256_mul_pd(_mm256_loadu_pd(bv), vd_gelu_grad(_mm256_loadu_pd(bx))));
        memcpy(o + i, bv, r * sizeof(double));
    }
}

ag_vmath_dmul_f32_fn ag_vmath_dmul_f32_avx2(int op)
{
    return op == AG_OP_gelu ? gelu_dmul_f32 : 0;
}

ag_vmath_dmul_f64_fn ag_vmath_dmul_f64_avx2(int op)
{
    return op == AG_OP_gelu ? gelu_dmul_f64 : 0;
}

#endif /* AG_X86_64 */
