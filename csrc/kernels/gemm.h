/* gemm.h - public GEMM entry points of the autograd_c C core.
 *
 * C = act(alpha * A @ B + beta * C + bias), A is M x K, B is K x N, C is M x N.
 * Element (i,p) of A is A[i*rsa + p*csa]; (p,j) of B is B[p*rsb + j*csb];
 * (i,j) of C is C[i*rsc + j*csc].  Strides are element strides >= 0, so a
 * transposed operand is just swapped strides (handled while packing).
 * beta == 0: C is write-only (never read, may hold NaN).
 * bias: NULL or bias[j] added to column j (length N).
 * act_param: slope for leaky_relu, alpha for elu.
 * K == 0 (or alpha == 0): C = act(beta*C + bias).  M or N == 0: nothing.
 */
#ifndef AG_GEMM_H
#define AG_GEMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    AG_ACT_NONE = 0,
    AG_ACT_RELU,
    AG_ACT_LEAKY_RELU,
    AG_ACT_TANH,
    AG_ACT_SIGMOID,
    AG_ACT_GELU,
    AG_ACT_ELU
} ag_act;

void ag_gemm_f32(int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t rsa, int64_t csa,
                 const float *B, int64_t rsb, int64_t csb,
                 float beta, float *C, int64_t rsc, int64_t csc,
                 const float *bias, int act, float act_param);

void ag_gemm_f64(int64_t M, int64_t N, int64_t K, double alpha,
                 const double *A, int64_t rsa, int64_t csa,
                 const double *B, int64_t rsb, int64_t csb,
                 double beta, double *C, int64_t rsc, int64_t csc,
                 const double *bias, int act, double act_param);

/* batch products; consecutive A/B/C are strideA/strideB/strideC elements
   apart (strideA or strideB may be 0 to broadcast one operand). */
void ag_gemm_batched_f32(int64_t batch, int64_t strideA, int64_t strideB,
                         int64_t strideC,
                         int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t rsa, int64_t csa,
                         const float *B, int64_t rsb, int64_t csb,
                         float beta, float *C, int64_t rsc, int64_t csc,
                         const float *bias, int act, float act_param);

void ag_gemm_batched_f64(int64_t batch, int64_t strideA, int64_t strideB,
                         int64_t strideC,
                         int64_t M, int64_t N, int64_t K, double alpha,
                         const double *A, int64_t rsa, int64_t csa,
                         const double *B, int64_t rsb, int64_t csb,
                         double beta, double *C, int64_t rsc, int64_t csc,
                         const double *bias, int act, double act_param);

/* y[i] = elu(z[i]) = z > 0 ? z : alpha expm1(z) for n contiguous elements (y may equal z), by
   the arithmetic of the active ISA's ELU epilogue: applied to the product with act = AG_ACT_NONE
   it gives what act = AG_ACT_ELU gives.  One thread (the caller splits large arrays). */
void ag_elu_f32(const float *z, float *y, int64_t n, float alpha);
void ag_elu_f64(const double *z, double *y, int64_t n, double alpha);

/* n >= 1 (smaller values are clamped to 1).  Default: omp_get_max_threads()
   at init, which honours OMP_NUM_THREADS. */
void ag_set_num_threads(int n);
int ag_get_num_threads(void);

/* bytes of packing scratch held by all threads (each calling thread keeps
   one buffer between products and frees it when it exits) */
int64_t ag_gemm_scratch_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* AG_GEMM_H */
