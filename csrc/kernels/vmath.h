/* vmath.h -- vectorised elementwise math (exp, log, tanh, sigmoid, relu, softplus, gelu) for
 * contiguous float32 and float64 tensors, dispatched per ISA (AVX-512, AVX2; the generic ISA keeps the
 * scalar libm loop).  ag_vmath_unary returns 1 when it handled the op (o = f(x)), 0 to fall back
 * to the portable strided loop.  The vector functions themselves live in vmath_avx512.h and
 * vmath_avx2.h, shared with the GEMM epilogue. */
#ifndef AG_VMATH_H
#define AG_VMATH_H
#include <stdint.h>
#include "../ag.h"
int ag_vmath_unary(int op, const ag_tensor *x, ag_tensor *o);

/* the ops with vector kernels: X(op) for each (vector functions v_<op> / vd_<op>, kernels
   <op>_f32 / <op>_f64 in each ISA file) */
#define AG_VMATH_OPS(X) X(exp) X(log) X(tanh) X(sigmoid) X(relu) X(softplus) X(gelu)
#define AG_VMATH_CASE32(op) case AG_OP_##op: return op##_f32;
#define AG_VMATH_CASE64(op) case AG_OP_##op: return op##_f64;

/* internal: y[i] = f(x[i]) for i < n (x and y contiguous; y may equal x) */
typedef void (*ag_vmath_f32_fn)(const float *x, float *y, int64_t n);
/* kernel for an AG_OP_* id, or NULL where that ISA has none */
ag_vmath_f32_fn ag_vmath_f32_avx512(int op);
ag_vmath_f32_fn ag_vmath_f32_avx2(int op);
typedef void (*ag_vmath_f64_fn)(const double *x, double *y, int64_t n);
ag_vmath_f64_fn ag_vmath_f64_avx512(int op);
ag_vmath_f64_fn ag_vmath_f64_avx2(int op);
/* the kernel of the active ISA for op (contiguous x and y, y may equal x), or NULL where it has
   none (the generic ISA: callers then use libm) */
ag_vmath_f32_fn ag_vmath_active_f32(int op);
/* o[i] = v[i * vs] * f'(x[i]) (vs 1, or 0 for one broadcast value) for the ops whose derivative
   has a vector kernel (gelu) */
typedef void (*ag_vmath_dmul_f32_fn)(const float *v, int64_t vs, const float *x, float *o,
                                     int64_t n);
typedef void (*ag_vmath_dmul_f64_fn)(const double *v, int64_t vs, const double *x, double *o,
                                     int64_t n);
ag_vmath_dmul_f32_fn ag_vmath_dmul_f32_avx512(int op);
ag_vmath_dmul_f32_fn ag_vmath_dmul_f32_avx2(int op);
ag_vmath_dmul_f64_fn ag_vmath_dmul_f64_avx512(int op);
ag_vmath_dmul_f64_fn ag_vmath_dmul_f64_avx2(int op);
/* o = v * f'(x) through such a kernel when x and o are contiguous float32 or float64 of one
   dtype and size and v is too or is one value broadcast (the gradient of a sum or mean):
   returns 1 when it handled it, 0 for the portable loop */
int ag_vmath_deriv_mul(int op, const ag_tensor *v, const ag_tensor *x, ag_tensor *o);

/* row kernels of softmax, logsumexp and cross-entropy (ops/reduce.c): the shift of a row (its
   max; 0 where that is +-inf or the row is empty; NaN if the row holds one), and y = exp(x - m)
   with its sum (vexp: ag_vmath_active_*(AG_OP_exp), or NULL for libm) */
float ag_row_shift_f32(const float *x, int64_t L);
double ag_row_shift_f64(const double *x, int64_t L);
float ag_row_expsum_f32(const float *x, float *y, int64_t L, float m, ag_vmath_f32_fn vexp);
double ag_row_expsum_f64(const double *x, double *y, int64_t L, double m, ag_vmath_f64_fn vexp);
ag_vmath_f64_fn ag_vmath_active_f64(int op);

/* gelu(x) = x/2 erfc(-x/sqrt2) and its derivative in double, by the algorithm of the vector
   kernels (vmath_f64.h): the portable loops and the generic GEMM epilogue use them */
double ag_gelu_scalar(double x);
double ag_gelu_grad_scalar(double x);
double ag_gelu_grad2_scalar(double x); /* gelu''(x) = phi(x) (2 - x^2) */
/* e^{-x^2} with x^2 taken exactly (hi + lo): no relative error of ~2 x^2 eps from rounding x^2
   (erf's derivative) */
double ag_exp_neg_sq(double x);
#endif
