/* gemm_avx2.c - AVX2 + FMA kernels.  Compiled with -mavx2 -mfma and only
 * reached after cpu.c has checked the CPU and OS support.
 *
 * f32: 6 x 16 register tile (12 ymm accumulators), f64: 6 x 8.  Same
 * structure as gemm_avx512.c; the f32 epilogue is fully vectorised, f64
 * transcendental activations use libm per element.
 */
#include "gemm_internal.h"
#include "gemm.h"

#if defined(AG_X86_64)

#include <immintrin.h>
#include <string.h>
#include "vmath_avx2.h"

#define MR_S 6
#define NR_S 16
#define MR_D 6
#define NR_D 8

/* lane masks: the first n lanes set (n clamped to [0, lanes]) */
static const int32_t mtab32[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                   0, 0, 0, 0, 0, 0, 0, 0};
static const int64_t mtab64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};

AG_INLINE __m256i mask8x32(int n)
{
    n = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_loadu_si256((const __m256i *)(mtab32 + 8 - n));
}

AG_INLINE __m256i mask4x64(int n)
{
    n = n < 0 ? 0 : n > 4 ? 4 : n;
    return _mm256_loadu_si256((const __m256i *)(mtab64 + 4 - n));
}

/* ------------------------------------------------------------------ */
/* tile epilogue                                                        */

/* f32 vector math: v_exp, v_expm1, v_tanh, v_sigmoid, v_gelu come from vmath_avx2.h (shared
   with the elementwise ops) */

/* activation in place on the m x ld tile (ld a multiple of 8) */
static void act_f32(float *t, int m, int n, int ld, int act, float prm)
{
    const __m256 zero = _mm256_setzero_ps(), pv = _mm256_set1_ps(prm);
    int i;
    (void)n;
    for (i = 0; i < m * ld; i += 8) {
        __m256 x = _mm256_load_ps(t + i), y;
        __m256 le = _mm256_cmp_ps(x, zero, _CMP_LE_OQ);
        switch (act) {
        case AG_ACT_RELU: y = _mm256_blendv_ps(x, zero, le); break;
        case AG_ACT_LEAKY_RELU: y = _mm256_blendv_ps(x, _mm256_mul_ps(x, pv), le); break;
        case AG_ACT_TANH: y = v_tanh(x); break;
        case AG_ACT_SIGMOID: y = v_sigmoid(x); break;
        case AG_ACT_GELU: y = v_gelu(x); break;
        case AG_ACT_ELU: y = _mm256_blendv_ps(x, _mm256_mul_ps(pv, v_expm1(x)), le); break;
        default: y = x; break;
        }
        _mm256_store_ps(t + i, y);
    }
}

static void act_f64(double *t, int m, int n, int ld, int act, double prm)
{
    const __m256d pv = _mm256_set1_pd(prm);
    int i, j;
    if (act == AG_ACT_GELU) { /* libm's erfc */
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++)
                t[i * ld + j] = ag_act_scalar_f64(t[i * ld + j], act, prm);
        return;
    }
    for (i = 0; i < m; i++)
        for (j = 0; j < ld; j += 4)
            _mm256_store_pd(t + i * ld + j, vd_act(_mm256_load_pd(t + i * ld + j), act, pv));
}

static void store_tile_f32(float *t, float *C, int64_t rsc, int64_t csc,
                           int m, int n, const float *bias,
                           const ag_epi_f32 *e)
{
    const __m256 alpha = _mm256_set1_ps(e->alpha), beta = _mm256_set1_ps(e->beta);
    const __m256i k0 = mask8x32(n), k1 = mask8x32(n - 8);
    const int has_beta = e->beta != 0.0f, act = e->act;
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    int r, j;
    if (bias) {
        b0 = _mm256_maskload_ps(bias, k0);
        b1 = _mm256_maskload_ps(bias + 8, k1);
    }
    for (r = 0; r < m; r++) {
        float *c = C + r * rsc, *x = t + r * NR_S;
        __m256 x0 = _mm256_mul_ps(_mm256_load_ps(x), alpha);
        __m256 x1 = _mm256_mul_ps(_mm256_load_ps(x + 8), alpha);
        if (has_beta) {
            __m256 c0, c1;
            if (csc == 1) {
                c0 = _mm256_maskload_ps(c, k0);
                c1 = _mm256_maskload_ps(c + 8, k1);
            } else {
                AG_ALIGN(32) float g[NR_S];
                for (j = 0; j < n; j++) g[j] = c[j * csc];
                for (; j < NR_S; j++) g[j] = 0.0f;
                c0 = _mm256_load_ps(g);
                c1 = _mm256_load_ps(g + 8);
            }
            x0 = _mm256_fmadd_ps(c0, beta, x0);
            x1 = _mm256_fmadd_ps(c1, beta, x1);
        }
        x0 = _mm256_add_ps(x0, b0);
        x1 = _mm256_add_ps(x1, b1);
        if (act == AG_ACT_NONE && csc == 1) {
            _mm256_maskstore_ps(c, k0, x0);
            _mm256_maskstore_ps(c + 8, k1, x1);
        } else {
            _mm256_store_ps(x, x0);
            _mm256_store_ps(x + 8, x1);
        }
    }
    if (act == AG_ACT_NONE && csc == 1)
        return;
    if (act != AG_ACT_NONE)
        act_f32(t, m, n, NR_S, act, e->act_param);
    for (r = 0; r < m; r++) {
        float *c = C + r * rsc, *x = t + r * NR_S;
        if (csc == 1) {
            _mm256_maskstore_ps(c, k0, _mm256_load_ps(x));
            _mm256_maskstore_ps(c + 8, k1, _mm256_load_ps(x + 8));
        } else {
            for (j = 0; j < n; j++) c[j * csc] = x[j];
        }
    }
}

static void store_tile_f64(double *t, double *C, int64_t rsc, int64_t csc,
                           int m, int n, const double *bias,
                           const ag_epi_f64 *e)
{
    const __m256d alpha = _mm256_set1_pd(e->alpha), beta = _mm256_set1_pd(e->beta);
    const __m256i k0 = mask4x64(n), k1 = mask4x64(n - 4);
    const int has_beta = e->beta != 0.0, act = e->act;
    __m256d b0 = _mm256_setzero_pd(), b1 = _mm256_setzero_pd();
    int r, j;
    if (bias) {
        b0 = _mm256_maskload_pd(bias, k0);
        b1 = _mm256_maskload_pd(bias + 4, k1);
    }
    for (r = 0; r < m; r++) {
        double *c = C + r * rsc, *x = t + r * NR_D;
        __m256d x0 = _mm256_mul_pd(_mm256_load_pd(x), alpha);
        __m256d x1 = _mm256_mul_pd(_mm256_load_pd(x + 4), alpha);
        if (has_beta) {
            __m256d c0, c1;
            if (csc == 1) {
                c0 = _mm256_maskload_pd(c, k0);
                c1 = _mm256_maskload_pd(c + 4, k1);
            } else {
                AG_ALIGN(32) double g[NR_D];
                for (j = 0; j < n; j++) g[j] = c[j * csc];
                for (; j < NR_D; j++) g[j] = 0.0;
                c0 = _mm256_load_pd(g);
                c1 = _mm256_load_pd(g + 4);
            }
            x0 = _mm256_fmadd_pd(c0, beta, x0);
            x1 = _mm256_fmadd_pd(c1, beta, x1);
        }
        x0 = _mm256_add_pd(x0, b0);
        x1 = _mm256_add_pd(x1, b1);
        if (act == AG_ACT_NONE && csc == 1) {
            _mm256_maskstore_pd(c, k0, x0);
            _mm256_maskstore_pd(c + 4, k1, x1);
        } else {
            _mm256_store_pd(x, x0);
            _mm256_store_pd(x + 4, x1);
        }
    }
    if (act == AG_ACT_NONE && csc == 1)
        return;
    if (act != AG_ACT_NONE)
        act_f64(t, m, n, NR_D, act, e->act_param);
    for (r = 0; r < m; r++) {
        double *c = C + r * rsc, *x = t + r * NR_D;
        if (csc == 1) {
            _mm256_maskstore_pd(c, k0, _mm256_load_pd(x));
            _mm256_maskstore_pd(c + 4, k1, _mm256_load_pd(x + 4));
        } else {
            for (j = 0; j < n; j++) c[j * csc] = x[j];
        }
    }
}

/* ------------------------------------------------------------------ */
/* micro-kernels                                                        */

/* ROWS x 16 f32 tile: a[r*sr + p*sk] times rows b + p*sb (masks k0/k1 for
   the two 8-lane halves); packed panels pass sr=1, sk=MR, sb=NR */
AG_INLINE void tile_f32(const int ROWS, int64_t k, const float *a, int64_t sr,
                        int64_t sk, const float *b, int64_t sb, __m256i k0,
                        __m256i k1, const int masked, float *t)
{
    __m256 c[MR_S][2];
    int64_t p;
    int r;
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        c[r][0] = _mm256_setzero_ps();
        c[r][1] = _mm256_setzero_ps();
    }
    for (p = 0; p < k; p++) {
        const float *bp = b + p * sb, *ap = a + p * sk;
        __m256 b0 = masked ? _mm256_maskload_ps(bp, k0) : _mm256_loadu_ps(bp);
        __m256 b1 = masked ? _mm256_maskload_ps(bp + 8, k1) : _mm256_loadu_ps(bp + 8);
#pragma GCC unroll 6
        for (r = 0; r < ROWS; r++) {
            __m256 av = _mm256_broadcast_ss(ap + r * sr);
            c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
        }
    }
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        _mm256_store_ps(t + r * NR_S, c[r][0]);
        _mm256_store_ps(t + r * NR_S + 8, c[r][1]);
    }
}

AG_INLINE void tile_f64(const int ROWS, int64_t k, const double *a, int64_t sr,
                        int64_t sk, const double *b, int64_t sb, __m256i k0,
                        __m256i k1, const int masked, double *t)
{
    __m256d c[MR_D][2];
    int64_t p;
    int r;
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        c[r][0] = _mm256_setzero_pd();
        c[r][1] = _mm256_setzero_pd();
    }
    for (p = 0; p < k; p++) {
        const double *bp = b + p * sb, *ap = a + p * sk;
        __m256d b0 = masked ? _mm256_maskload_pd(bp, k0) : _mm256_loadu_pd(bp);
        __m256d b1 = masked ? _mm256_maskload_pd(bp + 4, k1) : _mm256_loadu_pd(bp + 4);
#pragma GCC unroll 6
        for (r = 0; r < ROWS; r++) {
            __m256d av = _mm256_broadcast_sd(ap + r * sr);
            c[r][0] = _mm256_fmadd_pd(av, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_pd(av, b1, c[r][1]);
        }
    }
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        _mm256_store_pd(t + r * NR_D, c[r][0]);
        _mm256_store_pd(t + r * NR_D + 4, c[r][1]);
    }
}

static void ukr_f32(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    AG_ALIGN(32) float t[MR_S * NR_S];
    const __m256i z = _mm256_setzero_si256();
    tile_f32(MR_S, k, (const float *)Ap, 1, MR_S, (const float *)Bp, NR_S, z, z, 0, t);
    store_tile_f32(t, (float *)C, rsc, csc, m, n, (const float *)bias,
                   (const ag_epi_f32 *)epi);
}

static void ukr_f64(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    AG_ALIGN(32) double t[MR_D * NR_D];
    const __m256i z = _mm256_setzero_si256();
    tile_f64(MR_D, k, (const double *)Ap, 1, MR_D, (const double *)Bp, NR_D, z, z, 0, t);
    store_tile_f64(t, (double *)C, rsc, csc, m, n, (const double *)bias,
                   (const ag_epi_f64 *)epi);
}

/* ------------------------------------------------------------------ */
/* small path: A and B in place, one instantiation per row count         */

#define AG_SMALL_INST(R)                                                      \
    static void st32_##R(int64_t k, const float *a, int64_t sr, int64_t sk,   \
                         const float *b, int64_t sb, __m256i k0, __m256i k1,  \
                         float *t)                                            \
    { tile_f32(R, k, a, sr, sk, b, sb, k0, k1, 1, t); }                       \
    static void st64_##R(int64_t k, const double *a, int64_t sr, int64_t sk,  \
                         const double *b, int64_t sb, __m256i k0, __m256i k1, \
                         double *t)                                           \
    { tile_f64(R, k, a, sr, sk, b, sb, k0, k1, 1, t); }
AG_SMALL_INST(1) AG_SMALL_INST(2) AG_SMALL_INST(3)
AG_SMALL_INST(4) AG_SMALL_INST(5) AG_SMALL_INST(6)

typedef void (*st32_fn)(int64_t, const float *, int64_t, int64_t,
                        const float *, int64_t, __m256i, __m256i, float *);
typedef void (*st64_fn)(int64_t, const double *, int64_t, int64_t,
                        const double *, int64_t, __m256i, __m256i, double *);
static const st32_fn st32[MR_S] = {st32_1, st32_2, st32_3, st32_4, st32_5, st32_6};
static const st64_fn st64[MR_D] = {st64_1, st64_2, st64_3, st64_4, st64_5, st64_6};

static void small_f32(int64_t m, int64_t n, int64_t k, const void *A_,
                      int64_t rsa, int64_t csa, const void *B_, int64_t rsb,
                      int64_t bps, void *C_, int64_t rsc, int64_t csc,
                      const void *bias_, const void *epi)
{
    const float *A = (const float *)A_, *B = (const float *)B_;
    const float *bias = (const float *)bias_;
    float *C = (float *)C_;
    AG_ALIGN(32) float t[MR_S * NR_S];
    int64_t i0, j0;
    /* rows outer: the A strip stays in L1 while B (L2) is swept */
    for (i0 = 0; i0 < m; i0 += MR_S) {
        int mm = (int)(m - i0 < MR_S ? m - i0 : MR_S);
        for (j0 = 0; j0 < n; j0 += NR_S) {
            int nn = (int)(n - j0 < NR_S ? n - j0 : NR_S);
            __m256i k0 = mask8x32(nn), k1 = mask8x32(nn - 8);
            st32[mm - 1](k, A + i0 * rsa, rsa, csa, B + (j0 / NR_S) * bps, rsb, k0, k1, t);
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
    AG_ALIGN(32) double t[MR_D * NR_D];
    int64_t i0, j0;
    /* rows outer: the A strip stays in L1 while B (L2) is swept */
    for (i0 = 0; i0 < m; i0 += MR_D) {
        int mm = (int)(m - i0 < MR_D ? m - i0 : MR_D);
        for (j0 = 0; j0 < n; j0 += NR_D) {
            int nn = (int)(n - j0 < NR_D ? n - j0 : NR_D);
            __m256i k0 = mask4x64(nn), k1 = mask4x64(nn - 4);
            st64[mm - 1](k, A + i0 * rsa, rsa, csa, B + (j0 / NR_D) * bps, rsb, k0, k1, t);
            store_tile_f64(t, C + i0 * rsc + j0 * csc, rsc, csc, mm, nn,
                           bias ? bias + j0 : NULL, (const ag_epi_f64 *)epi);
        }
    }
}

/* ------------------------------------------------------------------ */
/* packing: vector copies for unit-stride rows of B, reference otherwise */

static void packA_f32(int64_t m, int64_t k, const void *A, int64_t rsa,
                      int64_t csa, void *Ap)
{
    ag_packA_ref_f32(MR_S, m, k, (const float *)A, rsa, csa, (float *)Ap);
}

static void packA_f64(int64_t m, int64_t k, const void *A, int64_t rsa,
                      int64_t csa, void *Ap)
{
    ag_packA_ref_f64(MR_D, m, k, (const double *)A, rsa, csa, (double *)Ap);
}

static void packB_f32(int64_t k, int64_t n, const void *B_, int64_t rsb,
                      int64_t csb, void *Bp_)
{
    const float *B = (const float *)B_;
    float *Bp = (float *)Bp_;
    int64_t j0, p;
    if (csb != 1) {
        ag_packB_ref_f32(NR_S, k, n, B, rsb, csb, Bp);
        return;
    }
    for (j0 = 0; j0 < n; j0 += NR_S) {
        int nn = (int)(n - j0 < NR_S ? n - j0 : NR_S);
        __m256i k0 = mask8x32(nn), k1 = mask8x32(nn - 8);
        for (p = 0; p < k; p++) {
            const float *b = B + p * rsb + j0;
            _mm256_store_ps(Bp + p * NR_S, _mm256_maskload_ps(b, k0));
            _mm256_store_ps(Bp + p * NR_S + 8, _mm256_maskload_ps(b + 8, k1));
        }
        Bp += NR_S * k;
    }
}

static void packB_f64(int64_t k, int64_t n, const void *B_, int64_t rsb,
                      int64_t csb, void *Bp_)
{
    const double *B = (const double *)B_;
    double *Bp = (double *)Bp_;
    int64_t j0, p;
    if (csb != 1) {
        ag_packB_ref_f64(NR_D, k, n, B, rsb, csb, Bp);
        return;
    }
    for (j0 = 0; j0 < n; j0 += NR_D) {
        int nn = (int)(n - j0 < NR_D ? n - j0 : NR_D);
        __m256i k0 = mask4x64(nn), k1 = mask4x64(nn - 4);
        for (p = 0; p < k; p++) {
            const double *b = B + p * rsb + j0;
            _mm256_store_pd(Bp + p * NR_D, _mm256_maskload_pd(b, k0));
            _mm256_store_pd(Bp + p * NR_D + 4, _mm256_maskload_pd(b + 4, k1));
        }
        Bp += NR_D * k;
    }
}

void ag_fill_table_avx2(ag_kernel_table *t)
{
    /* KC: B micro-panel 256*16*4 = 16 KiB in L1; MC: A block 180*256*4 =
       180 KiB in L2 (leaves room on CPUs with 256-512 KiB L2) */
    ag_gemm_kernels s = {MR_S, NR_S, 180, 256, 4096,
                         packA_f32, packB_f32, ukr_f32, small_f32};
    ag_gemm_kernels d = {MR_D, NR_D, 120, 256, 4096,
                         packA_f64, packB_f64, ukr_f64, small_f64};
    t->f32 = s;
    t->f64 = d;
}

#endif /* AG_X86_64 */
