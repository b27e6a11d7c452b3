/* gemm_avx512.c - AVX-512 kernels.  Compiled with
 *   -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma
 * and only reached after cpu.c has checked the CPU and OS support.
 *
 * f32: 14 x 32 register tile (28 zmm accumulators, 2 zmm of B, A broadcast
 * from memory).  f64: 14 x 16.  The epilogue (alpha, beta, bias,
 * activation) runs on the finished tile while it is still in L1.
 */
#include "gemm_internal.h"
#include "gemm.h"

#if defined(AG_X86_64)

#include <immintrin.h>
#include <string.h>
#include "vmath_avx512.h"

#define MR_S 14
#define NR_S 32
#define MR_D 14
#define NR_D 16

/* ------------------------------------------------------------------ */
/* f32 vector math, a few ulp: v_exp, v_expm1, v_tanh, v_sigmoid, v_gelu  */
/* come from vmath_avx512.h (shared with the elementwise ops)           */

/* apply the activation in place to n (multiple of 16) floats */
static void act_f32(float *t, int n, int act, float prm)
{
    const __m512 zero = _mm512_setzero_ps(), pv = _mm512_set1_ps(prm);
    int i;
    for (i = 0; i < n; i += 16) {
        __m512 x = _mm512_load_ps(t + i), y;
        __mmask16 pos = _mm512_cmp_ps_mask(x, zero, _CMP_GT_OQ);
        switch (act) {
        case AG_ACT_RELU:
            /* keep x where x > 0 or x is NaN */
            y = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LE_OQ), x, zero);
            break;
        case AG_ACT_LEAKY_RELU: y = _mm512_mask_blend_ps(pos, _mm512_mul_ps(x, pv), x); break;
        case AG_ACT_TANH: y = v_tanh(x); break;
        case AG_ACT_SIGMOID: y = v_sigmoid(x); break;
        case AG_ACT_GELU: y = v_gelu(x); break;
        case AG_ACT_ELU: y = _mm512_mask_blend_ps(pos, _mm512_mul_ps(pv, v_expm1(x)), x); break;
        default: y = x; break;
        }
        _mm512_store_ps(t + i, y);
    }
}

/* f64: vd_act (vmath_f64.h) */
static void act_f64(double *t, int n, int act, double prm)
{
    const __m512d pv = _mm512_set1_pd(prm);
    int i;
    for (i = 0; i < n; i += 8)
        _mm512_store_pd(t + i, vd_act(_mm512_load_pd(t + i), act, pv));
}

/* ------------------------------------------------------------------ */
/* tile epilogue: C = act(alpha*t + beta*C + bias) for the m x n corner   */

AG_INLINE __mmask16 mask16(int n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n > 0 ? n : 0)) - 1u); }
AG_INLINE __mmask8 mask8(int n) { return n >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (n > 0 ? n : 0)) - 1u); }

/* y = elu(z) on n contiguous elements: act_f32's / act_f64's ELU arithmetic */
AG_INLINE __m512 elu_vec_f32(__m512 x, float alpha)
{
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(pos, _mm512_mul_ps(_mm512_set1_ps(alpha), v_expm1(x)), x);
}
AG_INLINE __m512d elu_vec_f64(__m512d x, double alpha)
{
    return vd_act(x, AG_ACT_ELU, _mm512_set1_pd(alpha));
}
#define LOADM_PS(p, k) _mm512_maskz_loadu_ps((k), (p))
#define LOADM_PD(p, k) _mm512_maskz_loadu_pd((k), (p))
AG_ELU_LOOP(elu_f32, float, 16, __mmask16, mask16, LOADM_PS, _mm512_mask_storeu_ps, elu_vec_f32)
AG_ELU_LOOP(elu_f64, double, 8, __mmask8, mask8, LOADM_PD, _mm512_mask_storeu_pd, elu_vec_f64)

static void store_tile_f32(float *t, float *C, int64_t rsc, int64_t csc,
                           int m, int n, const float *bias,
                           const ag_epi_f32 *e)
{
    const __m512 alpha = _mm512_set1_ps(e->alpha), beta = _mm512_set1_ps(e->beta);
    const __mmask16 k0 = mask16(n), k1 = mask16(n - 16);
    const int has_beta = e->beta != 0.0f, act = e->act;
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    int r, j;
    if (bias) {
        b0 = _mm512_maskz_loadu_ps(k0, bias);
        b1 = _mm512_maskz_loadu_ps(k1, bias + 16);
    }
    for (r = 0; r < m; r++) {
        float *c = C + r * rsc, *x = t + r * NR_S;
        __m512 x0 = _mm512_mul_ps(_mm512_load_ps(x), alpha);
        __m512 x1 = _mm512_mul_ps(_mm512_load_ps(x + 16), alpha);
        if (has_beta) {
            __m512 c0, c1;
            if (csc == 1) {
                c0 = _mm512_maskz_loadu_ps(k0, c);
                c1 = _mm512_maskz_loadu_ps(k1, c + 16);
            } else {
                AG_ALIGN(64) float g[NR_S];
                for (j = 0; j < n; j++) g[j] = c[j * csc];
                for (; j < NR_S; j++) g[j] = 0.0f;
                c0 = _mm512_load_ps(g);
                c1 = _mm512_load_ps(g + 16);
            }
            x0 = _mm512_fmadd_ps(c0, beta, x0);
            x1 = _mm512_fmadd_ps(c1, beta, x1);
        }
        x0 = _mm512_add_ps(x0, b0);
        x1 = _mm512_add_ps(x1, b1);
        if (act == AG_ACT_NONE && csc == 1) {
            _mm512_mask_storeu_ps(c, k0, x0);
            _mm512_mask_storeu_ps(c + 16, k1, x1);
        } else {
            _mm512_store_ps(x, x0);
            _mm512_store_ps(x + 16, x1);
        }
    }
    if (act == AG_ACT_NONE && csc == 1)
        return;
    if (act != AG_ACT_NONE)
        act_f32(t, m * NR_S, act, e->act_param);
    for (r = 0; r < m; r++) {
        float *c = C + r * rsc, *x = t + r * NR_S;
        if (csc == 1) {
            _mm512_mask_storeu_ps(c, k0, _mm512_load_ps(x));
            _mm512_mask_storeu_ps(c + 16, k1, _mm512_load_ps(x + 16));
        } else {
            for (j = 0; j < n; j++) c[j * csc] = x[j];
        }
    }
}

static void store_tile_f64(double *t, double *C, int64_t rsc, int64_t csc,
                           int m, int n, const double *bias,
                           const ag_epi_f64 *e)
{
    const __m512d alpha = _mm512_set1_pd(e->alpha), beta = _mm512_set1_pd(e->beta);
    const __mmask8 k0 = mask8(n), k1 = mask8(n - 8);
    const int has_beta = e->beta != 0.0, act = e->act;
    __m512d b0 = _mm512_setzero_pd(), b1 = _mm512_setzero_pd();
    int r, j;
    if (bias) {
        b0 = _mm512_maskz_loadu_pd(k0, bias);
        b1 = _mm512_maskz_loadu_pd(k1, bias + 8);
    }
    for (r = 0; r < m; r++) {
        double *c = C + r * rsc, *x = t + r * NR_D;
        __m512d x0 = _mm512_mul_pd(_mm512_load_pd(x), alpha);
        __m512d x1 = _mm512_mul_pd(_mm512_load_pd(x + 8), alpha);
        if (has_beta) {
            __m512d c0, c1;
            if (csc == 1) {
                c0 = _mm512_maskz_loadu_pd(k0, c);
                c1 = _mm512_maskz_loadu_pd(k1, c + 8);
            } else {
                AG_ALIGN(64) double g[NR_D];
                for (j = 0; j < n; j++) g[j] = c[j * csc];
                for (; j < NR_D; j++) g[j] = 0.0;
                c0 = _mm512_load_pd(g);
                c1 = _mm512_load_pd(g + 8);
            }
            x0 = _mm512_fmadd_pd(c0, beta, x0);
            x1 = _mm512_fmadd_pd(c1, beta, x1);
        }
        x0 = _mm512_add_pd(x0, b0);
        x1 = _mm512_add_pd(x1, b1);
        if (act == AG_ACT_NONE && csc == 1) {
            _mm512_mask_storeu_pd(c, k0, x0);
            _mm512_mask_storeu_pd(c + 8, k1, x1);
        } else {
            _mm512_store_pd(x, x0);
            _mm512_store_pd(x + 8, x1);
        }
    }
    if (act == AG_ACT_NONE && csc == 1)
        return;
    if (act != AG_ACT_NONE)
        act_f64(t, m * NR_D, act, e->act_param);
    for (r = 0; r < m; r++) {
        double *c = C + r * rsc, *x = t + r * NR_D;
        if (csc == 1) {
            _mm512_mask_storeu_pd(c, k0, _mm512_load_pd(x));
            _mm512_mask_storeu_pd(c + 8, k1, _mm512_load_pd(x + 8));
        } else {
            for (j = 0; j < n; j++) c[j * csc] = x[j];
        }
    }
}

/* ------------------------------------------------------------------ */
/* micro-kernels on packed panels                                       */

static void ukr_f32(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    const float *a = (const float *)Ap, *b = (const float *)Bp;
    AG_ALIGN(64) float t[MR_S * NR_S];
    __m512 c[MR_S][2];
    int64_t p;
    int r;
#pragma GCC unroll 14
    for (r = 0; r < MR_S; r++) {
        c[r][0] = _mm512_setzero_ps();
        c[r][1] = _mm512_setzero_ps();
    }
    prefetch_c(C, rsc * 4, csc, m, n * 4 - 4, _MM_HINT_T1);
    for (p = 0; p < k; p++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        if (p == k - AG_PF_C)
            prefetch_c(C, rsc * 4, csc, m, n * 4 - 4, _MM_HINT_T0);
#pragma GCC unroll 14
        for (r = 0; r < MR_S; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
        }
        a += MR_S;
        b += NR_S;
    }
    if (k < AG_PF_C)
        prefetch_c(C, rsc * 4, csc, m, n * 4 - 4, _MM_HINT_T0);
#pragma GCC unroll 14
    for (r = 0; r < MR_S; r++) {
        _mm512_store_ps(t + r * NR_S, c[r][0]);
        _mm512_store_ps(t + r * NR_S + 16, c[r][1]);
    }
    store_tile_f32(t, (float *)C, rsc, csc, m, n, (const float *)bias,
                   (const ag_epi_f32 *)epi);
}

static void ukr_f64(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    const double *a = (const double *)Ap, *b = (const double *)Bp;
    AG_ALIGN(64) double t[MR_D * NR_D];
    __m512d c[MR_D][2];
    int64_t p;
    int r;
#pragma GCC unroll 14
    for (r = 0; r < MR_D; r++) {
        c[r][0] = _mm512_setzero_pd();
        c[r][1] = _mm512_setzero_pd();
    }
    prefetch_c(C, rsc * 8, csc, m, n * 8 - 8, _MM_HINT_T1);
    for (p = 0; p < k; p++) {
        __m512d b0 = _mm512_load_pd(b), b1 = _mm512_load_pd(b + 8);
        if (p == k - AG_PF_C)
            prefetch_c(C, rsc * 8, csc, m, n * 8 - 8, _MM_HINT_T0);
#pragma GCC unroll 14
        for (r = 0; r < MR_D; r++) {
            __m512d av = _mm512_set1_pd(a[r]);
            c[r][0] = _mm512_fmadd_pd(av, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_pd(av, b1, c[r][1]);
        }
        a += MR_D;
        b += NR_D;
    }
    if (k < AG_PF_C)
        prefetch_c(C, rsc * 8, csc, m, n * 8 - 8, _MM_HINT_T0);
#pragma GCC unroll 14
    for (r = 0; r < MR_D; r++) {
        _mm512_store_pd(t + r * NR_D, c[r][0]);
        _mm512_store_pd(t + r * NR_D + 8, c[r][1]);
    }
    store_tile_f64(t, (double *)C, rsc, csc, m, n, (const double *)bias,
                   (const ag_epi_f64 *)epi);
}

/* ------------------------------------------------------------------ */
/* small path: A and B read in place (B rows contiguous)                */

/* ROWS x (16*NV) tile of A[rows, :] @ B[:, cols] into t (ld NR_S) */
AG_INLINE void small_tile_f32(const int ROWS, const int NV, int64_t k,
                              const float *A, int64_t rsa, int64_t csa,
                              const float *B, int64_t rsb, __mmask16 k0,
                              __mmask16 k1, float *t)
{
    __m512 c[MR_S][2];
    int64_t p;
    int r;
#pragma GCC unroll 14
    for (r = 0; r < ROWS; r++) {
        c[r][0] = _mm512_setzero_ps();
        c[r][1] = _mm512_setzero_ps();
    }
    for (p = 0; p < k; p++) {
        const float *ap = A + p * csa, *bp = B + p * rsb;
        __m512 b0 = _mm512_maskz_loadu_ps(k0, bp);
        __m512 b1 = NV > 1 ? _mm512_maskz_loadu_ps(k1, bp + 16) : b0;
#pragma GCC unroll 14
        for (r = 0; r < ROWS; r++) {
            __m512 av = _mm512_set1_ps(ap[r * rsa]);
            c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
            if (NV > 1)
                c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
        }
    }
#pragma GCC unroll 14
    for (r = 0; r < ROWS; r++) {
        _mm512_store_ps(t + r * NR_S, c[r][0]);
        _mm512_store_ps(t + r * NR_S + 16, c[r][1]);
    }
}

AG_INLINE void small_tile_f64(const int ROWS, const int NV, int64_t k,
                              const double *A, int64_t rsa, int64_t csa,
                              const double *B, int64_t rsb, __mmask8 k0,
                              __mmask8 k1, double *t)
{
    __m512d c[MR_D][2];
    int64_t p;
    int r;
#pragma GCC unroll 14
    for (r = 0; r < ROWS; r++) {
        c[r][0] = _mm512_setzero_pd();
        c[r][1] = _mm512_setzero_pd();
    }
    for (p = 0; p < k; p++) {
        const double *ap = A + p * csa, *bp = B + p * rsb;
        __m512d b0 = _mm512_maskz_loadu_pd(k0, bp);
        __m512d b1 = NV > 1 ? _mm512_maskz_loadu_pd(k1, bp + 8) : b0;
#pragma GCC unroll 14
        for (r = 0; r < ROWS; r++) {
            __m512d av = _mm512_set1_pd(ap[r * rsa]);
            c[r][0] = _mm512_fmadd_pd(av, b0, c[r][0]);
            if (NV > 1)
                c[r][1] = _mm512_fmadd_pd(av, b1, c[r][1]);
        }
    }
#pragma GCC unroll 14
    for (r = 0; r < ROWS; r++) {
        _mm512_store_pd(t + r * NR_D, c[r][0]);
        _mm512_store_pd(t + r * NR_D + 8, c[r][1]);
    }
}

typedef void (*small_tile_f32_fn)(int64_t, const float *, int64_t, int64_t,
                                  const float *, int64_t, __mmask16, __mmask16,
                                  float *);
typedef void (*small_tile_f64_fn)(int64_t, const double *, int64_t, int64_t,
                                  const double *, int64_t, __mmask8, __mmask8,
                                  double *);

/* one instantiation per (rows, vectors) so every loop is fully unrolled */
#define AG_SMALL_INST(R, V)                                                   \
    static void st32_##R##_##V(int64_t k, const float *A, int64_t rsa,        \
                               int64_t csa, const float *B, int64_t rsb,      \
                               __mmask16 k0, __mmask16 k1, float *t)          \
    { small_tile_f32(R, V, k, A, rsa, csa, B, rsb, k0, k1, t); }              \
    static void st64_##R##_##V(int64_t k, const double *A, int64_t rsa,       \
                               int64_t csa, const double *B, int64_t rsb,     \
                               __mmask8 k0, __mmask8 k1, double *t)           \
    { small_tile_f64(R, V, k, A, rsa, csa, B, rsb, k0, k1, t); }
#define AG_SMALL_INST2(R) AG_SMALL_INST(R, 1) AG_SMALL_INST(R, 2)
AG_SMALL_INST2(1) AG_SMALL_INST2(2) AG_SMALL_INST2(3) AG_SMALL_INST2(4)
AG_SMALL_INST2(5) AG_SMALL_INST2(6) AG_SMALL_INST2(7) AG_SMALL_INST2(8)
AG_SMALL_INST2(9) AG_SMALL_INST2(10) AG_SMALL_INST2(11) AG_SMALL_INST2(12)
AG_SMALL_INST2(13) AG_SMALL_INST2(14)

#define AG_SMALL_ROW(P, R) {P##_##R##_1, P##_##R##_2}
static const small_tile_f32_fn st32[MR_S][2] = {
    AG_SMALL_ROW(st32, 1), AG_SMALL_ROW(st32, 2), AG_SMALL_ROW(st32, 3),
    AG_SMALL_ROW(st32, 4), AG_SMALL_ROW(st32, 5), AG_SMALL_ROW(st32, 6),
    AG_SMALL_ROW(st32, 7), AG_SMALL_ROW(st32, 8), AG_SMALL_ROW(st32, 9),
    AG_SMALL_ROW(st32, 10), AG_SMALL_ROW(st32, 11), AG_SMALL_ROW(st32, 12),
    AG_SMALL_ROW(st32, 13), AG_SMALL_ROW(st32, 14)};
static const small_tile_f64_fn st64[MR_D][2] = {
    AG_SMALL_ROW(st64, 1), AG_SMALL_ROW(st64, 2), AG_SMALL_ROW(st64, 3),
    AG_SMALL_ROW(st64, 4), AG_SMALL_ROW(st64, 5), AG_SMALL_ROW(st64, 6),
    AG_SMALL_ROW(st64, 7), AG_SMALL_ROW(st64, 8), AG_SMALL_ROW(st64, 9),
    AG_SMALL_ROW(st64, 10), AG_SMALL_ROW(st64, 11), AG_SMALL_ROW(st64, 12),
    AG_SMALL_ROW(st64, 13), AG_SMALL_ROW(st64, 14)};

/* blocked-path tiles with fewer than MR rows (the last strip of M, e.g. 4
   rows of M = 256) or at most half of NR columns: the packed panels read as
   A (rsa 1, csa MR) and B (rsb NR) by the small kernel of that size, so the
   tile costs its own rows instead of a full MR-row tile */
static void ukr_f32_edge(int64_t k, const void *Ap, const void *Bp, void *C,
                         int64_t rsc, int64_t csc, int m, int n,
                         const void *bias, const void *epi)
{
    AG_ALIGN(64) float t[MR_S * NR_S];
    if (m == MR_S && n > NR_S / 2) {
        ukr_f32(k, Ap, Bp, C, rsc, csc, m, n, bias, epi);
        return;
    }
    st32[m - 1][n > NR_S / 2]((int64_t)k, (const float *)Ap, 1, MR_S,
                              (const float *)Bp, NR_S, 0xFFFF, 0xFFFF, t);
    store_tile_f32(t, (float *)C, rsc, csc, m, n, (const float *)bias,
                   (const ag_epi_f32 *)epi);
}

static void ukr_f64_edge(int64_t k, const void *Ap, const void *Bp, void *C,
                         int64_t rsc, int64_t csc, int m, int n,
                         const void *bias, const void *epi)
{
    AG_ALIGN(64) double t[MR_D * NR_D];
    if (m == MR_D && n > NR_D / 2) {
        ukr_f64(k, Ap, Bp, C, rsc, csc, m, n, bias, epi);
        return;
    }
    st64[m - 1][n > NR_D / 2]((int64_t)k, (const double *)Ap, 1, MR_D,
                              (const double *)Bp, NR_D, 0xFF, 0xFF, t);
    store_tile_f64(t, (double *)C, rsc, csc, m, n, (const double *)bias,
                   (const ag_epi_f64 *)epi);
}

static void small_f32(int64_t m, int64_t n, int64_t k, const void *A_,
                      int64_t rsa, int64_t csa, const void *B_, int64_t rsb,
                      int64_t bps, void *C_, int64_t rsc, int64_t csc,
                      const void *bias_, const void *epi)
{
    const float *A = (const float *)A_, *B = (const float *)B_;
    const float *bias = (const float *)bias_;
    float *C = (float *)C_;
    AG_ALIGN(64) float t[MR_S * NR_S];
    int64_t i0, j0;
    /* rows outer: the A strip stays in L1 while B (L2) is swept */
    for (i0 = 0; i0 < m; i0 += MR_S) {
        int mm = (int)(m - i0 < MR_S ? m - i0 : MR_S);
        for (j0 = 0; j0 < n; j0 += NR_S) {
            int nn = (int)(n - j0 < NR_S ? n - j0 : NR_S);
            __mmask16 k0 = mask16(nn), k1 = mask16(nn - 16);
            st32[mm - 1][nn > 16](k, A + i0 * rsa, rsa, csa, B + (j0 / NR_S) * bps, rsb, k0, k1, t);
            store_tile_f32(t, C + i0 * rsc + j0 * csc, rsc, csc, mm, nn,
                           bias ? bias + j0 : NULL, (const ag_epi_f32 *)epi);
        }
    }
}

static void small_f64(int64_t m, int64_t n, int64_t k, const void *A_,
                      int64_t rsa, int64_t csa, const void *B_, int64_t rsb,
                      int64_t bps, void *C_, int64_t rsc, int64_t csc,
                      const void *bias_, const void *epi)
{
    const double *A = (const double *)A_, *B = (const double *)B_;
    const double *bias = (const double *)bias_;
    double *C = (double *)C_;
    AG_ALIGN(64) double t[MR_D * NR_D];
    int64_t i0, j0;
    /* rows outer: the A strip stays in L1 while B (L2) is swept */
    for (i0 = 0; i0 < m; i0 += MR_D) {
        int mm = (int)(m - i0 < MR_D ? m - i0 : MR_D);
        for (j0 = 0; j0 < n; j0 += NR_D) {
            int nn = (int)(n - j0 < NR_D ? n - j0 : NR_D);
            __mmask8 k0 = mask8(nn), k1 = mask8(nn - 8);
            st64[mm - 1][nn > 8](k, A + i0 * rsa, rsa, csa, B + (j0 / NR_D) * bps, rsb, k0, k1, t);
            store_tile_f64(t, C + i0 * rsc + j0 * csc, rsc, csc, mm, nn,
                           bias ? bias + j0 : NULL, (const ag_epi_f64 *)epi);
        }
    }
}

/* ------------------------------------------------------------------ */
/* packing                                                              */

/* in-register transpose of a 16 x 16 float block (4 shuffle stages) */
AG_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    int i;
    for (i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4g + c]: column c (+4, +8, +12 in lanes 1..3) of rows 4g..4g+3 */
    for (i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (i = 0; i < 4; i++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        __m512 v1 = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xDD);
        r[i] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        r[i + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

/* in-register transpose of an 8 x 8 double block */
AG_INLINE void transpose8(__m512d r[8])
{
    __m512d t[8];
    int i;
    for (i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    /* t[2g]: columns 0,2,4,6 of rows 2g,2g+1; t[2g+1]: columns 1,3,5,7 */
    for (i = 0; i < 2; i++) {
        __m512d v0 = _mm512_shuffle_f64x2(t[i], t[2 + i], 0x88);
        __m512d v1 = _mm512_shuffle_f64x2(t[i], t[2 + i], 0xDD);
        __m512d v2 = _mm512_shuffle_f64x2(t[4 + i], t[6 + i], 0x88);
        __m512d v3 = _mm512_shuffle_f64x2(t[4 + i], t[6 + i], 0xDD);
        r[i] = _mm512_shuffle_f64x2(v0, v2, 0x88);
        r[i + 4] = _mm512_shuffle_f64x2(v0, v2, 0xDD);
        r[i + 2] = _mm512_shuffle_f64x2(v1, v3, 0x88);
        r[i + 6] = _mm512_shuffle_f64x2(v1, v3, 0xDD);
    }
}

/* rows of src (nr rows, stride ld, k contiguous elements each) become
   k-major panels: dst[p*ldd + r] for r < 16, 16 rows at a time.  Meanwhile the
   same columns of the npf rows at pf (the next panel's rows) are prefetched into
   L2: a transposing pack reads 16 short row runs at once, and the hardware
   prefetchers lose the first lines of each run (measured: 512x2048x2048 and
   512x1024x2048 products 0.4-1.9% faster, B = W^T of a dense layer) */
static int next_rows(int64_t left, int half, int w)
{
    left -= (int64_t)half * w;
    return left >= w ? w : left > 0 ? (int)left : 0;
}

static void pack_t16(int nr, int64_t k, const float *src, int64_t ld,
                     float *dst, int64_t ldd, __mmask16 kst, const float *pf, int npf)
{
    int64_t p0;
    int r, q;
    for (p0 = 0; p0 < k; p0 += 16) {
        int kk = (int)(k - p0 < 16 ? k - p0 : 16);
        __mmask16 kl = mask16(kk);
        __m512 v[16];
        for (r = 0; r < npf; r++)
            _mm_prefetch((const char *)(pf + r * ld + p0), _MM_HINT_T1);
        for (r = 0; r < 16; r++)
            v[r] = r < nr ? _mm512_maskz_loadu_ps(kl, src + r * ld + p0)
                          : _mm512_setzero_ps();
        transpose16(v);
        for (q = 0; q < kk; q++)
            _mm512_mask_storeu_ps(dst + (p0 + q) * ldd, kst, v[q]);
    }
}

static void pack_t8(int nr, int64_t k, const double *src, int64_t ld,
                    double *dst, int64_t ldd, __mmask8 kst, const double *pf, int npf)
{
    int64_t p0;
    int r, q;
    for (p0 = 0; p0 < k; p0 += 8) {
        int kk = (int)(k - p0 < 8 ? k - p0 : 8);
        __mmask8 kl = mask8(kk);
        __m512d v[8];
        for (r = 0; r < npf; r++)
            _mm_prefetch((const char *)(pf + r * ld + p0), _MM_HINT_T1);
        for (r = 0; r < 8; r++)
            v[r] = r < nr ? _mm512_maskz_loadu_pd(kl, src + r * ld + p0)
                          : _mm512_setzero_pd();
        transpose8(v);
        for (q = 0; q < kk; q++)
            _mm512_mask_storeu_pd(dst + (p0 + q) * ldd, kst, v[q]);
    }
}

static void packA_f32(int64_t m, int64_t k, const void *A_, int64_t rsa,
                      int64_t csa, void *Ap_)
{
    const float *A = (const float *)A_;
    float *Ap = (float *)Ap_;
    int64_t i0, p;
    for (i0 = 0; i0 < m; i0 += MR_S) {
        int mm = (int)(m - i0 < MR_S ? m - i0 : MR_S);
        const float *a = A + i0 * rsa;
        if (rsa == 1) {
            /* column-major A: each k holds MR contiguous rows */
            __mmask16 km = mask16(mm), ks = mask16(MR_S);
            for (p = 0; p < k; p++)
                _mm512_mask_storeu_ps(Ap + p * MR_S, ks,
                                      _mm512_maskz_loadu_ps(km, a + p * csa));
        } else if (csa == 1) {
            /* row-major A: 16 x 16 transposes (rows >= mm read as zero) */
            pack_t16(mm, k, a, rsa, Ap, MR_S, mask16(MR_S), a, 0);
        } else {
            ag_packA_ref_f32(MR_S, mm, k, a, rsa, csa, Ap);
        }
        Ap += MR_S * k;
    }
}

/* B stored row-major (rows of K, e.g. x @ W with W (in, out)): each row
   of a group of 8 micro-panels is one 1 KiB run, and consecutive rows are a
   whole row of B apart, so every run starts on a fresh page where the
   hardware prefetchers must retrain.  The run PACKB_AHEAD rows ahead is
   prefetched into L1 while the current one is copied (measured, 2 threads,
   in-process A/B: 512x2048x2048 and 512x1024x2048 products 3.4-3.8% faster,
   which brings them level with the transposing pack of B = W^T; products
   whose B fits in L2 unchanged) */
#define PACKB_AHEAD 6
AG_INLINE void prefetch_run(const void *p, int64_t bytes)
{
    const char *c = (const char *)p;
    int64_t o;
    for (o = 0; o < bytes; o += 64)
        _mm_prefetch(c + o, _MM_HINT_T0);
}

static void packB_f32(int64_t k, int64_t n, const void *B_, int64_t rsb,
                      int64_t csb, void *Bp_)
{
    const float *B = (const float *)B_;
    float *Bp = (float *)Bp_;
    if (csb == 1) {
        /* groups of 8 micro-panels, row by row: each row of B is read as
           one contiguous 1 KiB run */
        int64_t g0, p;
        for (g0 = 0; g0 < n; g0 += 8 * NR_S) {
            int64_t gn = n - g0 < 8 * NR_S ? n - g0 : 8 * NR_S;
            int np = (int)((gn + NR_S - 1) / NR_S), q;
            for (p = 0; p < k; p++) {
                const float *b = B + p * rsb + g0;
                float *d = Bp + p * NR_S;
                if (p + PACKB_AHEAD < k)
                    prefetch_run(b + PACKB_AHEAD * rsb, gn * (int64_t)sizeof(float));
                for (q = 0; q < np; q++) {
                    int nn = (int)(gn - q * NR_S);
                    _mm512_store_ps(d + q * NR_S * k,
                                    _mm512_maskz_loadu_ps(mask16(nn), b + q * NR_S));
                    _mm512_store_ps(d + q * NR_S * k + 16,
                                    _mm512_maskz_loadu_ps(mask16(nn - 16), b + q * NR_S + 16));
                }
            }
            Bp += NR_S * k * np;
        }
        return;
    }
    if (rsb == 1) {
        /* B^T stored row-major: columns of B are contiguous */
        int64_t j0;
        for (j0 = 0; j0 < n; j0 += NR_S) {
            int nn = (int)(n - j0 < NR_S ? n - j0 : NR_S);
            int64_t left = n - j0 - NR_S;
            const float *b = B + j0 * csb, *next = left > 0 ? b + NR_S * csb : b;
            int pf1 = next_rows(left, 1, 16);   /* pointers stay inside B */
            pack_t16(nn < 16 ? nn : 16, k, b, csb, Bp, NR_S, 0xFFFF,
                     next, next_rows(left, 0, 16));
            pack_t16(nn > 16 ? nn - 16 : 0, k, nn > 16 ? b + 16 * csb : b, csb, Bp + 16,
                     NR_S, 0xFFFF, pf1 ? next + 16 * csb : next, pf1);
            Bp += NR_S * k;
        }
        return;
    }
    ag_packB_ref_f32(NR_S, k, n, B, rsb, csb, Bp);
}

static void packA_f64(int64_t m, int64_t k, const void *A_, int64_t rsa,
                      int64_t csa, void *Ap_)
{
    const double *A = (const double *)A_;
    double *Ap = (double *)Ap_;
    int64_t i0, p;
    for (i0 = 0; i0 < m; i0 += MR_D) {
        int mm = (int)(m - i0 < MR_D ? m - i0 : MR_D);
        const double *a = A + i0 * rsa;
        if (rsa == 1) {
            __mmask8 k0 = mask8(mm), k1 = mask8(mm - 8), ks = mask8(MR_D - 8);
            for (p = 0; p < k; p++) {
                _mm512_storeu_pd(Ap + p * MR_D, _mm512_maskz_loadu_pd(k0, a + p * csa));
                _mm512_mask_storeu_pd(Ap + p * MR_D + 8, ks,
                                      _mm512_maskz_loadu_pd(k1, a + p * csa + 8));
            }
        } else if (csa == 1) {
            /* rows 0-7 and 8-13 through 8 x 8 transposes */
            pack_t8(mm < 8 ? mm : 8, k, a, rsa, Ap, MR_D, 0xFF, a, 0);
            pack_t8(mm > 8 ? mm - 8 : 0, k, mm > 8 ? a + 8 * rsa : a, rsa, Ap + 8, MR_D,
                    mask8(MR_D - 8), a, 0);
        } else {
            ag_packA_ref_f64(MR_D, mm, k, a, rsa, csa, Ap);
        }
        Ap += MR_D * k;
    }
}

static void packB_f64(int64_t k, int64_t n, const void *B_, int64_t rsb,
                      int64_t csb, void *Bp_)
{
    const double *B = (const double *)B_;
    double *Bp = (double *)Bp_;
    if (csb == 1) {
        int64_t g0, p;
        for (g0 = 0; g0 < n; g0 += 8 * NR_D) {
            int64_t gn = n - g0 < 8 * NR_D ? n - g0 : 8 * NR_D;
            int np = (int)((gn + NR_D - 1) / NR_D), q;
            for (p = 0; p < k; p++) {
                const double *b = B + p * rsb + g0;
                double *d = Bp + p * NR_D;
                if (p + PACKB_AHEAD < k)
                    prefetch_run(b + PACKB_AHEAD * rsb, gn * (int64_t)sizeof(double));
                for (q = 0; q < np; q++) {
                    int nn = (int)(gn - q * NR_D);
                    _mm512_store_pd(d + q * NR_D * k,
                                    _mm512_maskz_loadu_pd(mask8(nn), b + q * NR_D));
                    _mm512_store_pd(d + q * NR_D * k + 8,
                                    _mm512_maskz_loadu_pd(mask8(nn - 8), b + q * NR_D + 8));
                }
            }
            Bp += NR_D * k * np;
        }
        return;
    }
    if (rsb == 1) {
        int64_t j0;
        for (j0 = 0; j0 < n; j0 += NR_D) {
            int nn = (int)(n - j0 < NR_D ? n - j0 : NR_D);
            int64_t left = n - j0 - NR_D;
            const double *b = B + j0 * csb, *next = left > 0 ? b + NR_D * csb : b;
            int pf1 = next_rows(left, 1, 8);    /* pointers stay inside B */
            pack_t8(nn < 8 ? nn : 8, k, b, csb, Bp, NR_D, 0xFF, next, next_rows(left, 0, 8));
            pack_t8(nn > 8 ? nn - 8 : 0, k, nn > 8 ? b + 8 * csb : b, csb, Bp + 8, NR_D, 0xFF,
                    pf1 ? next + 8 * csb : next, pf1);
            Bp += NR_D * k;
        }
        return;
    }
    ag_packB_ref_f64(NR_D, k, n, B, rsb, csb, Bp);
}

void ag_fill_table_avx512(ag_kernel_table *t)
{
    /* {MR, NR, MC, KC, NC}: see the top of gemm.c for the reasoning */
    ag_gemm_kernels s = {MR_S, NR_S, 168, 768, 2048,
                         packA_f32, packB_f32, ukr_f32_edge, small_f32};
    ag_gemm_kernels d = {MR_D, NR_D, 126, 512, 2048,
                         packA_f64, packB_f64, ukr_f64_edge, small_f64};
    t->f32 = s;
    t->f64 = d;
    t->elu_f32 = elu_f32;
    t->elu_f64 = elu_f64;
}

#endif /* AG_X86_64 */
