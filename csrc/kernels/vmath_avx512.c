/* vmath_avx512.c -- elementwise f32 exp, log, tanh, sigmoid, relu, softplus on 16 lanes (the
 * math is in vmath_avx512.h).  Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma and
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

AG_VM_LOOP(exp_f32, v_exp)
AG_VM_LOOP(log_f32, v_log)
AG_VM_LOOP(tanh_f32, v_tanh)
AG_VM_LOOP(sigmoid_f32, v_sigmoid)
AG_VM_LOOP(relu_f32, v_relu)
AG_VM_LOOP(softplus_f32, v_softplus)

ag_vmath_f32_fn ag_vmath_f32_avx512(int op)
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
