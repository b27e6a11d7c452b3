/* gemm_avx2.c - AVX2 + FMA kernels.  Compiled with -mavx2 -mfma and only
 * reached after cpu.c has checked the CPU and OS support.
 *
 * f32: 6 x 16 register tile (12 ymm accumulators), f64: 6 x 8.  Same
 * structure as gemm_avx512.c: packing by vector copies and in-register
 * transposes, the C tile prefetched, and a vectorised epilogue.
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
    (void)n;
    for (i = 0; i < m; i++)
        for (j = 0; j < ld; j += 4)
            _mm256_store_pd(t + i * ld + j, vd_act(_mm256_load_pd(t + i * ld + j), act, pv));
}

/* y = elu(z) on n contiguous elements: act_f32's / act_f64's ELU arithmetic */
AG_INLINE __m256 elu_vec_f32(__m256 x, float alpha)
{
    __m256 le = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ);
    return _mm256_blendv_ps(x, _mm256_mul_ps(_mm256_set1_ps(alpha), v_expm1(x)), le);
}
AG_INLINE __m256d elu_vec_f64(__m256d x, double alpha)
{
    return vd_act(x, AG_ACT_ELU, _mm256_set1_pd(alpha));
}
AG_ELU_LOOP(elu_f32, float, 8, __m256i, mask8x32, _mm256_maskload_ps, _mm256_maskstore_ps, elu_vec_f32)
AG_ELU_LOOP(elu_f64, double, 4, __m256i, mask4x64, _mm256_maskload_pd, _mm256_maskstore_pd, elu_vec_f64)

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

/* the C tile a packed micro-kernel call will update, for prefetch_c (the small
   path passes NULL: its C tile is read right after its few k steps) */
typedef struct {
    const char *c;
    int64_t rsb, csc;
    int m;
    int64_t last;
} pf_c;

/* ROWS x 16 f32 tile: a[r*sr + p*sk] times rows b + p*sb (masks k0/k1 for
   the two 8-lane halves); packed panels pass sr=1, sk=MR, sb=NR */
AG_INLINE void tile_f32(const int ROWS, int64_t k, const float *a, int64_t sr,
                        int64_t sk, const float *b, int64_t sb, __m256i k0,
                        __m256i k1, const int masked, float *t, const pf_c *pf)
{
    __m256 c[MR_S][2];
    int64_t p;
    int r;
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        c[r][0] = _mm256_setzero_ps();
        c[r][1] = _mm256_setzero_ps();
    }
    if (pf)
        prefetch_c(pf->c, pf->rsb, pf->csc, pf->m, pf->last, _MM_HINT_T1);
    for (p = 0; p < k; p++) {
        const float *bp = b + p * sb, *ap = a + p * sk;
        __m256 b0 = masked ? _mm256_maskload_ps(bp, k0) : _mm256_loadu_ps(bp);
        __m256 b1 = masked ? _mm256_maskload_ps(bp + 8, k1) : _mm256_loadu_ps(bp + 8);
        if (pf && p == k - AG_PF_C)
            prefetch_c(pf->c, pf->rsb, pf->csc, pf->m, pf->last, _MM_HINT_T0);
#pragma GCC unroll 6
        for (r = 0; r < ROWS; r++) {
            __m256 av = _mm256_broadcast_ss(ap + r * sr);
            c[r][0] = _mm256_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(av, b1, c[r][1]);
        }
    }
    if (pf && k < AG_PF_C)
        prefetch_c(pf->c, pf->rsb, pf->csc, pf->m, pf->last, _MM_HINT_T0);
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        _mm256_store_ps(t + r * NR_S, c[r][0]);
        _mm256_store_ps(t + r * NR_S + 8, c[r][1]);
    }
}

AG_INLINE void tile_f64(const int ROWS, int64_t k, const double *a, int64_t sr,
                        int64_t sk, const double *b, int64_t sb, __m256i k0,
                        __m256i k1, const int masked, double *t, const pf_c *pf)
{
    __m256d c[MR_D][2];
    int64_t p;
    int r;
#pragma GCC unroll 6
    for (r = 0; r < ROWS; r++) {
        c[r][0] = _mm256_setzero_pd();
        c[r][1] = _mm256_setzero_pd();
    }
    if (pf)
        prefetch_c(pf->c, pf->rsb, pf->csc, pf->m, pf->last, _MM_HINT_T1);
    for (p = 0; p < k; p++) {
        const double *bp = b + p * sb, *ap = a + p * sk;
        __m256d b0 = masked ? _mm256_maskload_pd(bp, k0) : _mm256_loadu_pd(bp);
        __m256d b1 = masked ? _mm256_maskload_pd(bp + 4, k1) : _mm256_loadu_pd(bp + 4);
        if (pf && p == k - AG_PF_C)
            prefetch_c(pf->c, pf->rsb, pf->csc, pf->m, pf->last, _MM_HINT_T0);
#pragma GCC unroll 6
        for (r = 0; r < ROWS; r++) {
            __m256d av = _mm256_broadcast_sd(ap + r * sr);
            c[r][0] = _mm256_fmadd_pd(av, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_pd(av, b1, c[r][1]);
        }
    }
    if (pf && k < AG_PF_C)
        prefetch_c(pf->c, pf->rsb, pf->csc, pf->m, pf->last, _MM_HINT_T0);
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
    const pf_c pf = {(const char *)C, rsc * 4, csc, m, n * 4 - 4};
    tile_f32(MR_S, k, (const float *)Ap, 1, MR_S, (const float *)Bp, NR_S, z, z, 0, t, &pf);
    store_tile_f32(t, (float *)C, rsc, csc, m, n, (const float *)bias,
                   (const ag_epi_f32 *)epi);
}

static void ukr_f64(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    AG_ALIGN(32) double t[MR_D * NR_D];
    const __m256i z = _mm256_setzero_si256();
    const pf_c pf = {(const char *)C, rsc * 8, csc, m, n * 8 - 8};
    tile_f64(MR_D, k, (const double *)Ap, 1, MR_D, (const double *)Bp, NR_D, z, z, 0, t, &pf);
    store_tile_f64(t, (double *)C, rsc, csc, m, n, (const double *)bias,
                   (const ag_epi_f64 *)epi);
}

/* ------------------------------------------------------------------ */
/* small path: A and B in place, one instantiation per row count         */

#define AG_SMALL_INST(R)                                                      \
    static void st32_##R(int64_t k, const float *a, int64_t sr, int64_t sk,   \
                         const float *b, int64_t sb, __m256i k0, __m256i k1,  \
                         float *t)                                            \
    { tile_f32(R, k, a, sr, sk, b, sb, k0, k1, 1, t, NULL); }                       \
    static void st64_##R(int64_t k, const double *a, int64_t sr, int64_t sk,  \
                         const double *b, int64_t sb, __m256i k0, __m256i k1, \
                         double *t)                                           \
    { tile_f64(R, k, a, sr, sk, b, sb, k0, k1, 1, t, NULL); }
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
/* packing: vector copies of unit-stride rows, 8 x 8 (f32) or 4 x 4 (f64) */
/* in-register transposes of unit-stride columns, reference otherwise    */

/* in-register transpose of an 8 x 8 float block */
AG_INLINE void transpose8_ps(__m256 r[8])
{
    __m256 t[8], u[8];
    int i;
    for (i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4h + c]: column c (c + 4 in the upper lane) of rows 4h..4h+3 */
    for (i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
    }
}

/* in-register transpose of a 4 x 4 double block */
AG_INLINE void transpose4_pd(__m256d r[4])
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* rows of src (nr <= W rows, stride ld, k contiguous elements each) become
   k-major panels: dst[p*ldd + r] for r < nst (rows >= nr are written as 0),
   W x W blocks transposed in registers: pack_t8_ps (8 floats per ymm) and
   pack_t4_pd (4 doubles) */
#define AG_PACK_T(NAME, T, V, W, MASK, LOAD, STORE, ZERO, TRANSPOSE)                 \
    static void NAME(int nr, int64_t k, const T *src, int64_t ld, T *dst,            \
                     int64_t ldd, int nst)                                           \
    {                                                                                \
        const __m256i st = MASK(nst);                                                \
        int64_t p0;                                                                  \
        int r, q;                                                                    \
        for (p0 = 0; p0 < k; p0 += W) {                                              \
            int kk = (int)(k - p0 < W ? k - p0 : W);                                 \
            __m256i kl = MASK(kk);                                                   \
            V v[W];                                                                  \
            for (r = 0; r < W; r++)                                                  \
                v[r] = r < nr ? LOAD(src + r * ld + p0, kl) : ZERO();                \
            TRANSPOSE(v);                                                            \
            for (q = 0; q < kk; q++)                                                 \
                STORE(dst + (p0 + q) * ldd, st, v[q]);                               \
        }                                                                            \
    }
AG_PACK_T(pack_t8_ps, float, __m256, 8, mask8x32, _mm256_maskload_ps, _mm256_maskstore_ps,
          _mm256_setzero_ps, transpose8_ps)
AG_PACK_T(pack_t4_pd, double, __m256d, 4, mask4x64, _mm256_maskload_pd, _mm256_maskstore_pd,
          _mm256_setzero_pd, transpose4_pd)

static void packA_f32(int64_t m, int64_t k, const void *A_, int64_t rsa,
                      int64_t csa, void *Ap_)
{
    const float *A = (const float *)A_;
    float *Ap = (float *)Ap_;
    const __m256i st = mask8x32(MR_S);
    int64_t i0, p;
    for (i0 = 0; i0 < m; i0 += MR_S) {
        int mm = (int)(m - i0 < MR_S ? m - i0 : MR_S);
        const float *a = A + i0 * rsa;
        if (rsa == 1) {
            /* column-major A: each k holds the MR rows contiguously */
            __m256i km = mask8x32(mm);
            for (p = 0; p < k; p++)
                _mm256_maskstore_ps(Ap + p * MR_S, st, _mm256_maskload_ps(a + p * csa, km));
        } else if (csa == 1) {
            pack_t8_ps(mm, k, a, rsa, Ap, MR_S, MR_S);
        } else {
            ag_packA_ref_f32(MR_S, mm, k, a, rsa, csa, Ap);
        }
        Ap += MR_S * k;
    }
}

static void packA_f64(int64_t m, int64_t k, const void *A_, int64_t rsa,
                      int64_t csa, void *Ap_)
{
    const double *A = (const double *)A_;
    double *Ap = (double *)Ap_;
    const __m256i st = mask4x64(MR_D - 4);
    int64_t i0, p;
    for (i0 = 0; i0 < m; i0 += MR_D) {
        int mm = (int)(m - i0 < MR_D ? m - i0 : MR_D);
        const double *a = A + i0 * rsa;
        if (rsa == 1) {
            __m256i k0 = mask4x64(mm), k1 = mask4x64(mm - 4);
            for (p = 0; p < k; p++) {
                _mm256_storeu_pd(Ap + p * MR_D, _mm256_maskload_pd(a + p * csa, k0));
                _mm256_maskstore_pd(Ap + p * MR_D + 4, st,
                                    _mm256_maskload_pd(a + p * csa + 4, k1));
            }
        } else if (csa == 1) {
            pack_t4_pd(mm < 4 ? mm : 4, k, a, rsa, Ap, MR_D, 4);
            pack_t4_pd(mm > 4 ? mm - 4 : 0, k, mm > 4 ? a + 4 * rsa : a, rsa, Ap + 4, MR_D,
                       MR_D - 4);
        } else {
            ag_packA_ref_f64(MR_D, mm, k, a, rsa, csa, Ap);
        }
        Ap += MR_D * k;
    }
}

static void packB_f32(int64_t k, int64_t n, const void *B_, int64_t rsb,
                      int64_t csb, void *Bp_)
{
    const float *B = (const float *)B_;
    float *Bp = (float *)Bp_;
    int64_t j0, p;
    if (csb != 1 && rsb != 1) {
        ag_packB_ref_f32(NR_S, k, n, B, rsb, csb, Bp);
        return;
    }
    for (j0 = 0; j0 < n; j0 += NR_S) {
        int nn = (int)(n - j0 < NR_S ? n - j0 : NR_S);
        if (csb == 1) {
            __m256i k0 = mask8x32(nn), k1 = mask8x32(nn - 8);
            for (p = 0; p < k; p++) {
                const float *b = B + p * rsb + j0;
                _mm256_store_ps(Bp + p * NR_S, _mm256_maskload_ps(b, k0));
                _mm256_store_ps(Bp + p * NR_S + 8, _mm256_maskload_ps(b + 8, k1));
            }
        } else {
            /* B^T stored row-major (a weight matrix): columns of B are contiguous */
            const float *b = B + j0 * csb;
            pack_t8_ps(nn < 8 ? nn : 8, k, b, csb, Bp, NR_S, 8);
            pack_t8_ps(nn > 8 ? nn - 8 : 0, k, nn > 8 ? b + 8 * csb : b, csb, Bp + 8, NR_S, 8);
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
    if (csb != 1 && rsb != 1) {
        ag_packB_ref_f64(NR_D, k, n, B, rsb, csb, Bp);
        return;
    }
    for (j0 = 0; j0 < n; j0 += NR_D) {
        int nn = (int)(n - j0 < NR_D ? n - j0 : NR_D);
        if (csb == 1) {
            __m256i k0 = mask4x64(nn), k1 = mask4x64(nn - 4);
            for (p = 0; p < k; p++) {
                const double *b = B + p * rsb + j0;
                _mm256_store_pd(Bp + p * NR_D, _mm256_maskload_pd(b, k0));
                _mm256_store_pd(Bp + p * NR_D + 4, _mm256_maskload_pd(b + 4, k1));
            }
        } else {
            const double *b = B + j0 * csb;
            pack_t4_pd(nn < 4 ? nn : 4, k, b, csb, Bp, NR_D, 4);
            pack_t4_pd(nn > 4 ? nn - 4 : 0, k, nn > 4 ? b + 4 * csb : b, csb, Bp + 4, NR_D, 4);
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
    t->elu_f32 = elu_f32;
    t->elu_f64 = elu_f64;
}

#endif /* AG_X86_64 */
