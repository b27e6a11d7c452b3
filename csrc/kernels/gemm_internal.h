/* gemm_internal.h - kernel table shared by gemm.c, cpu.c and the per-ISA
 * gemm_*.c files.  Not part of the public API.
 *
 * Pointers are passed as void* so that the driver in gemm.c is written once
 * for both dtypes; every kernel casts to its own element type.
 */
#ifndef AG_GEMM_INTERNAL_H
#define AG_GEMM_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#if defined(_MSC_VER)
#define AG_INLINE static __forceinline
#define AG_ALIGN(n) __declspec(align(n))
#define AG_RESTRICT __restrict
#else
#define AG_INLINE static inline __attribute__((always_inline))
#define AG_ALIGN(n) __attribute__((aligned(n)))
#define AG_RESTRICT __restrict__
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define AG_X86_64 1
#endif

/* epilogue: C = act(alpha*AB + beta*C + bias); act_param as in gemm.h */
typedef struct { float alpha, beta, act_param; int act; } ag_epi_f32;
typedef struct { double alpha, beta, act_param; int act; } ag_epi_f64;

/* pack rows [0,m) x cols [0,k) of A into ceil(m/MR) micro-panels of MR*k
   elements (k-major, MR contiguous per k, rows >= m zero). */
typedef void (*ag_packA_fn)(int64_t m, int64_t k, const void *A, int64_t rsa,
                            int64_t csa, void *Ap);
/* pack rows [0,k) x cols [0,n) of B into ceil(n/NR) micro-panels of k*NR
   elements (k-major, NR contiguous per k, cols >= n zero). */
typedef void (*ag_packB_fn)(int64_t k, int64_t n, const void *B, int64_t rsb,
                            int64_t csb, void *Bp);
/* one MR x NR tile from packed panels; only the m x n corner is stored.
   bias (may be NULL) already points at the tile's first column. */
typedef void (*ag_ukr_fn)(int64_t k, const void *Ap, const void *Bp, void *C,
                          int64_t rsc, int64_t csc, int m, int n,
                          const void *bias, const void *epi);
/* product without packing A, for small problems.  B is read as blocks of
   nr columns with unit column stride: column block q (columns q*nr ...) of
   row p is at B + q*bps + p*rsb.  Row-major B: bps = nr; B packed by
   packB: rsb = nr, bps = k*nr. */
typedef void (*ag_small_fn)(int64_t m, int64_t n, int64_t k, const void *A,
                            int64_t rsa, int64_t csa, const void *B,
                            int64_t rsb, int64_t bps, void *C, int64_t rsc,
                            int64_t csc, const void *bias, const void *epi);

typedef struct {
    int mr, nr;         /* register tile */
    int mc, kc, nc;     /* cache blocks (mc % mr == 0, nc % nr == 0) */
    ag_packA_fn packA;
    ag_packB_fn packB;
    ag_ukr_fn ukr;
    ag_small_fn small;
} ag_gemm_kernels;

/* y[i] = elu(z[i]) = z > 0 ? z : alpha expm1(z) for n contiguous elements (y may equal z), by
   the arithmetic of the ISA's ELU epilogue: the same values as the fused product */
typedef void (*ag_elu_f32_fn)(const float *z, float *y, int64_t n, float alpha);
typedef void (*ag_elu_f64_fn)(const double *z, double *y, int64_t n, double alpha);
/* such a function for an ISA file: W lanes at a time, the tail through a lane mask (MASK(r):
   the first r lanes), LOADM(p, k) / STOREM(p, k, v) masked, F(x, alpha) the vector ELU */
#define AG_ELU_LOOP(NAME, T, W, MASK_T, MASK, LOADM, STOREM, F)                 \
    static void NAME(const T *z, T *y, int64_t n, T alpha)                      \
    {                                                                           \
        int64_t i;                                                              \
        for (i = 0; i < n; i += W) {                                            \
            const MASK_T k = MASK(n - i < W ? (int)(n - i) : W);                \
            STOREM(y + i, k, F(LOADM(z + i, k), alpha));                        \
        }                                                                       \
    }

typedef struct {
    int isa;
    ag_gemm_kernels f32, f64;
    ag_elu_f32_fn elu_f32;
    ag_elu_f64_fn elu_f64;
} ag_kernel_table;

extern ag_kernel_table ag_ktab;
extern int ag_kernels_ready;

void ag_fill_table_generic(ag_kernel_table *t);
#ifdef AG_X86_64
void ag_fill_table_avx2(ag_kernel_table *t);
void ag_fill_table_avx512(ag_kernel_table *t);

#include <xmmintrin.h>
/* k iterations before the end at which the C tile is prefetched */
#define AG_PF_C 32

/* prefetch the first and last element of each of the m rows of a C tile:
   rsb = row stride in bytes, csb = column stride in elements, last = byte
   offset of the row's last element (used when csb == 1).  The kernels
   prefetch into L2 when they start and into L1 AG_PF_C steps before the
   end (earlier, the A and B streams would evict the lines from L1 again). */
#define prefetch_c(C, rsb, csb, m, last, hint)                               \
    do {                                                                      \
        const char *c_ = (const char *)(C);                                   \
        int r_;                                                               \
        for (r_ = 0; r_ < (m); r_++) {                                        \
            _mm_prefetch(c_ + r_ * (rsb), hint);                              \
            _mm_prefetch(c_ + r_ * (rsb) + (last) * ((csb) == 1), hint);      \
        }                                                                     \
    } while (0)
#endif

/* portable reference packers (gemm_generic.c), used as fallbacks */
void ag_packA_ref_f32(int mr, int64_t m, int64_t k, const float *A,
                      int64_t rsa, int64_t csa, float *Ap);
void ag_packB_ref_f32(int nr, int64_t k, int64_t n, const float *B,
                      int64_t rsb, int64_t csb, float *Bp);
void ag_packA_ref_f64(int mr, int64_t m, int64_t k, const double *A,
                      int64_t rsa, int64_t csa, double *Ap);
void ag_packB_ref_f64(int nr, int64_t k, int64_t n, const double *B,
                      int64_t rsb, int64_t csb, double *Bp);

/* scalar epilogue: C[i,j] = act(alpha*t[i*ldt+j] + beta*C[i,j] + bias[j]) for
   the m x n tile t (gemm_generic.c) */
void ag_store_tile_f32(const float *t, int ldt, float *C, int64_t rsc,
                       int64_t csc, int m, int n, const float *bias,
                       const ag_epi_f32 *e);
void ag_store_tile_f64(const double *t, int ldt, double *C, int64_t rsc,
                       int64_t csc, int m, int n, const double *bias,
                       const ag_epi_f64 *e);

/* scalar activations (libm based, exact to the dtype's precision) */
float ag_act_scalar_f32(float x, int act, float p);
double ag_act_scalar_f64(double x, int act, double p);

#endif /* AG_GEMM_INTERNAL_H */
