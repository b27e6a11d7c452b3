/* vmath_avx2.c -- elementwise f32 exp, log, tanh, sigmoid, relu, softplus on 8 lanes (the math
 * is in vmath_avx2.h).  Compiled with -mavx2 -mfma and only reached after cpu.c has checked the
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

AG_VM_LOOP(exp_f32, v_exp)
AG_VM_LOOP(log_f32, v_log)
AG_VM_LOOP(tanh_f32, v_tanh)
AG_VM_LOOP(sigmoid_f32, v_sigmoid)
AG_VM_LOOP(relu_f32, v_relu)
AG_VM_LOOP(softplus_f32, v_softplus)

ag_vmath_f32_fn ag_vmath_f32_avx2(int op)
{
    switch (op) {
    case AG_OP_exp: return exp_f32;
    case AG_OP_log: return log_f32;
    case AG_OP_tanh: return tanh_f32;
    case AG_OP_sigmoid: return sigmoid_f32;
    case AG_OP_relu: return relu_f32;
    case AG_OP_softplus: return softplus_f32;
    default: return 0;
    }
}

#endif /* AG_X86_64 */
