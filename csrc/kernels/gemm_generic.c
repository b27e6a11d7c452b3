/* gemm_generic.c - portable kernels (default compiler flags; GCC/Clang vector
 * extensions, plain scalar C under MSVC), reference packers, scalar
 * activations and the scalar tile epilogue shared by all ISAs. */
#include "gemm_internal.h"
#include "gemm.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
#define AG_HAVE_VEC 1
typedef float v4f __attribute__((vector_size(16)));
typedef double v2d __attribute__((vector_size(16)));
#endif

/* register tile of the generic kernels: two 16-byte vectors per row */
#define MR_S 6
#define NR_S 8
#define MR_D 6
#define NR_D 4

/* ------------------------------------------------------------------ */
/* activations                                                          */

float ag_act_scalar_f32(float x, int act, float p)
{
    double d = x;
    switch (act) {
    case AG_ACT_RELU: return (x > 0.0f || x != x) ? x : 0.0f;
    case AG_ACT_LEAKY_RELU: return x > 0.0f ? x : x * p;
    case AG_ACT_TANH: return (float)tanh(d);
    case AG_ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-d)));
    case AG_ACT_GELU: return (float)ag_gelu_scalar(d);
    case AG_ACT_ELU: return x > 0.0f ? x : (float)((double)p * expm1(d));
    default: return x;
    }
}

double ag_act_scalar_f64(double x, int act, double p)
{
    switch (act) {
    case AG_ACT_RELU: return (x > 0.0 || x != x) ? x : 0.0;
    case AG_ACT_LEAKY_RELU: return x > 0.0 ? x : x * p;
    case AG_ACT_TANH: return tanh(x);
    case AG_ACT_SIGMOID:
        if (x >= 0.0)
            return 1.0 / (1.0 + exp(-x));
        else {
            double e = exp(x);
            return e / (1.0 + e);
        }
    case AG_ACT_GELU: return ag_gelu_scalar(x);
    case AG_ACT_ELU: return x > 0.0 ? x : p * expm1(x);
    default: return x;
    }
}

/* ------------------------------------------------------------------ */
/* scalar tile epilogue                                                 */

void ag_store_tile_f32(const float *t, int ldt, float *C, int64_t rsc,
                       int64_t csc, int m, int n, const float *bias,
                       const ag_epi_f32 *e)
{
    int i, j;
    for (i = 0; i < m; i++) {
        float *c = C + i * rsc;
        for (j = 0; j < n; j++) {
            float v = e->alpha * t[i * ldt + j];
            if (e->beta != 0.0f)
                v += e->beta * c[j * csc];
            if (bias)
                v += bias[j];
            if (e->act != AG_ACT_NONE)
                v = ag_act_scalar_f32(v, e->act, e->act_param);
            c[j * csc] = v;
        }
    }
}

void ag_store_tile_f64(const double *t, int ldt, double *C, int64_t rsc,
                       int64_t csc, int m, int n, const double *bias,
                       const ag_epi_f64 *e)
{
    int i, j;
    for (i = 0; i < m; i++) {
        double *c = C + i * rsc;
        for (j = 0; j < n; j++) {
            double v = e->alpha * t[i * ldt + j];
            if (e->beta != 0.0)
                v += e->beta * c[j * csc];
            if (bias)
                v += bias[j];
            if (e->act != AG_ACT_NONE)
                v = ag_act_scalar_f64(v, e->act, e->act_param);
            c[j * csc] = v;
        }
    }
}

/* ------------------------------------------------------------------ */
/* reference packers                                                    */

void ag_packA_ref_f32(int mr, int64_t m, int64_t k, const float *A,
                      int64_t rsa, int64_t csa, float *Ap)
{
    int64_t i0, p;
    int r;
    for (i0 = 0; i0 < m; i0 += mr) {
        int mm = (int)(m - i0 < mr ? m - i0 : mr);
        const float *a = A + i0 * rsa;
        if (csa == 1 && mm == mr) {
            /* row-major: walk each row contiguously */
            for (r = 0; r < mr; r++)
                for (p = 0; p < k; p++)
                    Ap[p * mr + r] = a[r * rsa + p];
        } else {
            for (p = 0; p < k; p++) {
                for (r = 0; r < mm; r++)
                    Ap[p * mr + r] = a[r * rsa + p * csa];
                for (; r < mr; r++)
                    Ap[p * mr + r] = 0.0f;
            }
        }
        Ap += mr * k;
    }
}

void ag_packB_ref_f32(int nr, int64_t k, int64_t n, const float *B,
                      int64_t rsb, int64_t csb, float *Bp)
{
    int64_t j0, p;
    int j;
    for (j0 = 0; j0 < n; j0 += nr) {
        int nn = (int)(n - j0 < nr ? n - j0 : nr);
        const float *b = B + j0 * csb;
        if (rsb == 1 && nn == nr) {
            for (j = 0; j < nr; j++)
                for (p = 0; p < k; p++)
                    Bp[p * nr + j] = b[j * csb + p];
        } else {
            for (p = 0; p < k; p++) {
                for (j = 0; j < nn; j++)
                    Bp[p * nr + j] = b[p * rsb + j * csb];
                for (; j < nr; j++)
                    Bp[p * nr + j] = 0.0f;
            }
        }
        Bp += nr * k;
    }
}

void ag_packA_ref_f64(int mr, int64_t m, int64_t k, const double *A,
                      int64_t rsa, int64_t csa, double *Ap)
{
    int64_t i0, p;
    int r;
    for (i0 = 0; i0 < m; i0 += mr) {
        int mm = (int)(m - i0 < mr ? m - i0 : mr);
        const double *a = A + i0 * rsa;
        if (csa == 1 && mm == mr) {
            for (r = 0; r < mr; r++)
                for (p = 0; p < k; p++)
                    Ap[p * mr + r] = a[r * rsa + p];
        } else {
            for (p = 0; p < k; p++) {
                for (r = 0; r < mm; r++)
                    Ap[p * mr + r] = a[r * rsa + p * csa];
                for (; r < mr; r++)
                    Ap[p * mr + r] = 0.0;
            }
        }
        Ap += mr * k;
    }
}

void ag_packB_ref_f64(int nr, int64_t k, int64_t n, const double *B,
                      int64_t rsb, int64_t csb, double *Bp)
{
    int64_t j0, p;
    int j;
    for (j0 = 0; j0 < n; j0 += nr) {
        int nn = (int)(n - j0 < nr ? n - j0 : nr);
        const double *b = B + j0 * csb;
        if (rsb == 1 && nn == nr) {
            for (j = 0; j < nr; j++)
                for (p = 0; p < k; p++)
                    Bp[p * nr + j] = b[j * csb + p];
        } else {
            for (p = 0; p < k; p++) {
                for (j = 0; j < nn; j++)
                    Bp[p * nr + j] = b[p * rsb + j * csb];
                for (; j < nr; j++)
                    Bp[p * nr + j] = 0.0;
            }
        }
        Bp += nr * k;
    }
}

/* ------------------------------------------------------------------ */
/* generic micro-kernels                                                */

static void packA_f32(int64_t m, int64_t k, const void *A, int64_t rsa,
                      int64_t csa, void *Ap)
{
    ag_packA_ref_f32(MR_S, m, k, (const float *)A, rsa, csa, (float *)Ap);
}

static void packB_f32(int64_t k, int64_t n, const void *B, int64_t rsb,
                      int64_t csb, void *Bp)
{
    ag_packB_ref_f32(NR_S, k, n, (const float *)B, rsb, csb, (float *)Bp);
}

static void packA_f64(int64_t m, int64_t k, const void *A, int64_t rsa,
                      int64_t csa, void *Ap)
{
    ag_packA_ref_f64(MR_D, m, k, (const double *)A, rsa, csa, (double *)Ap);
}

static void packB_f64(int64_t k, int64_t n, const void *B, int64_t rsb,
                      int64_t csb, void *Bp)
{
    ag_packB_ref_f64(NR_D, k, n, (const double *)B, rsb, csb, (double *)Bp);
}

/* t[MR_S x NR_S] = sum_p a[p*sa_k + r*sa_r] * b[p*sb + j]; rows/cols beyond
   the caller's m/n may hold garbage (never stored). */
static void tile_f32(int64_t k, const float *a, int64_t sa_r, int64_t sa_k,
                     const float *b, int64_t sb, float *t)
{
    int64_t p;
    int r;
#ifdef AG_HAVE_VEC
    v4f c[MR_S][2];
    memset(c, 0, sizeof(c));
    for (p = 0; p < k; p++) {
        v4f b0, b1;
        memcpy(&b0, b + p * sb, sizeof(b0));
        memcpy(&b1, b + p * sb + 4, sizeof(b1));
        for (r = 0; r < MR_S; r++) {
            float x = a[p * sa_k + r * sa_r];
            c[r][0] += x * b0;
            c[r][1] += x * b1;
        }
    }
    memcpy(t, c, sizeof(c));
#else
    int j;
    for (r = 0; r < MR_S * NR_S; r++)
        t[r] = 0.0f;
    for (p = 0; p < k; p++)
        for (r = 0; r < MR_S; r++) {
            float x = a[p * sa_k + r * sa_r];
            for (j = 0; j < NR_S; j++)
                t[r * NR_S + j] += x * b[p * sb + j];
        }
#endif
}

static void tile_f64(int64_t k, const double *a, int64_t sa_r, int64_t sa_k,
                     const double *b, int64_t sb, double *t)
{
    int64_t p;
    int r;
#ifdef AG_HAVE_VEC
    v2d c[MR_D][2];
    memset(c, 0, sizeof(c));
    for (p = 0; p < k; p++) {
        v2d b0, b1;
        memcpy(&b0, b + p * sb, sizeof(b0));
        memcpy(&b1, b + p * sb + 2, sizeof(b1));
        for (r = 0; r < MR_D; r++) {
            double x = a[p * sa_k + r * sa_r];
            c[r][0] += x * b0;
            c[r][1] += x * b1;
        }
    }
    memcpy(t, c, sizeof(c));
#else
    int j;
    for (r = 0; r < MR_D * NR_D; r++)
        t[r] = 0.0;
    for (p = 0; p < k; p++)
        for (r = 0; r < MR_D; r++) {
            double x = a[p * sa_k + r * sa_r];
            for (j = 0; j < NR_D; j++)
                t[r * NR_D + j] += x * b[p * sb + j];
        }
#endif
}

static void ukr_f32(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    AG_ALIGN(64) float t[MR_S * NR_S];
    tile_f32(k, (const float *)Ap, 1, MR_S, (const float *)Bp, NR_S, t);
    ag_store_tile_f32(t, NR_S, (float *)C, rsc, csc, m, n,
                      (const float *)bias, (const ag_epi_f32 *)epi);
}

static void ukr_f64(int64_t k, const void *Ap, const void *Bp, void *C,
                    int64_t rsc, int64_t csc, int m, int n, const void *bias,
                    const void *epi)
{
    AG_ALIGN(64) double t[MR_D * NR_D];
    tile_f64(k, (const double *)Ap, 1, MR_D, (const double *)Bp, NR_D, t);
    ag_store_tile_f64(t, NR_D, (double *)C, rsc, csc, m, n,
                      (const double *)bias, (const ag_epi_f64 *)epi);
}

/* small path: full tiles read A and B in place; edge tiles go through
   zero-padded copies so that the tile routine never reads out of bounds. */
static void small_f32(int64_t m, int64_t n, int64_t k, const void *A_,
                      int64_t rsa, int64_t csa, const void *B_, int64_t rsb,
                      int64_t bps, void *C_, int64_t rsc, int64_t csc,
                      const void *bias_, const void *epi)
{
    const float *A = (const float *)A_, *B = (const float *)B_;
    const float *bias = (const float *)bias_;
    float *C = (float *)C_;
    AG_ALIGN(64) float t[MR_S * NR_S];
    AG_ALIGN(64) float ap[MR_S * 64], bp[NR_S * 64];
    int64_t i0, j0, p0;
    for (i0 = 0; i0 < m; i0 += MR_S) {
        int mm = (int)(m - i0 < MR_S ? m - i0 : MR_S);
        for (j0 = 0; j0 < n; j0 += NR_S) {
            int nn = (int)(n - j0 < NR_S ? n - j0 : NR_S);
            AG_ALIGN(64) float acc[MR_S * NR_S];
            int q;
            if (mm == MR_S && nn == NR_S) {
                /* full tile: read A and B in place */
                tile_f32(k, A + i0 * rsa, rsa, csa, B + (j0 / NR_S) * bps, rsb, acc);
                ag_store_tile_f32(acc, NR_S, C + i0 * rsc + j0 * csc, rsc, csc,
                                 mm, nn, bias ? bias + j0 : NULL,
                                 (const ag_epi_f32 *)epi);
                continue;
            }
            /* edge tile: through small zero-padded copies, 64 k at a time */
            memset(acc, 0, sizeof(acc));
            /* chunks of 64 along k through small packed copies */
            for (p0 = 0; p0 < k; p0 += 64) {
                int64_t kk = k - p0 < 64 ? k - p0 : 64;
                ag_packA_ref_f32(MR_S, mm, kk, A + i0 * rsa + p0 * csa, rsa,
                                 csa, ap);
                ag_packB_ref_f32(NR_S, kk, nn, B + (j0 / NR_S) * bps + p0 * rsb, rsb, 1, bp);
                tile_f32(kk, ap, 1, MR_S, bp, NR_S, t);
                for (q = 0; q < MR_S * NR_S; q++)
                    acc[q] += t[q];
            }
            ag_store_tile_f32(acc, NR_S, C + i0 * rsc + j0 * csc, rsc, csc, mm,
                              nn, bias ? bias + j0 : NULL,
                              (const ag_epi_f32 *)epi);
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
    AG_ALIGN(64) double ap[MR_D * 64], bp[NR_D * 64];
    int64_t i0, j0, p0;
    for (i0 = 0; i0 < m; i0 += MR_D) {
        int mm = (int)(m - i0 < MR_D ? m - i0 : MR_D);
        for (j0 = 0; j0 < n; j0 += NR_D) {
            int nn = (int)(n - j0 < NR_D ? n - j0 : NR_D);
            AG_ALIGN(64) double acc[MR_D * NR_D];
            int q;
            if (mm == MR_D && nn == NR_D) {
                /* full tile: read A and B in place */
                tile_f64(k, A + i0 * rsa, rsa, csa, B + (j0 / NR_D) * bps, rsb, acc);
                ag_store_tile_f64(acc, NR_D, C + i0 * rsc + j0 * csc, rsc, csc,
                                 mm, nn, bias ? bias + j0 : NULL,
                                 (const ag_epi_f64 *)epi);
                continue;
            }
            /* edge tile: through small zero-padded copies, 64 k at a time */
            memset(acc, 0, sizeof(acc));
            for (p0 = 0; p0 < k; p0 += 64) {
                int64_t kk = k - p0 < 64 ? k - p0 : 64;
                ag_packA_ref_f64(MR_D, mm, kk, A + i0 * rsa + p0 * csa, rsa,
                                 csa, ap);
                ag_packB_ref_f64(NR_D, kk, nn, B + (j0 / NR_D) * bps + p0 * rsb, rsb, 1, bp);
                tile_f64(kk, ap, 1, MR_D, bp, NR_D, t);
                for (q = 0; q < MR_D * NR_D; q++)
                    acc[q] += t[q];
            }
            ag_store_tile_f64(acc, NR_D, C + i0 * rsc + j0 * csc, rsc, csc, mm,
                              nn, bias ? bias + j0 : NULL,
                              (const ag_epi_f64 *)epi);
        }
    }
}

/* y = elu(z) by the scalar epilogue's arithmetic */
static void elu_f32(const float *z, float *y, int64_t n, float alpha)
{
    int64_t i;
    for (i = 0; i < n; i++) y[i] = ag_act_scalar_f32(z[i], AG_ACT_ELU, alpha);
}

static void elu_f64(const double *z, double *y, int64_t n, double alpha)
{
    int64_t i;
    for (i = 0; i < n; i++) y[i] = ag_act_scalar_f64(z[i], AG_ACT_ELU, alpha);
}

void ag_fill_table_generic(ag_kernel_table *t)
{
    ag_gemm_kernels s = {MR_S, NR_S, 120, 256, 2048,
                         packA_f32, packB_f32, ukr_f32, small_f32};
    ag_gemm_kernels d = {MR_D, NR_D, 96, 256, 1024,
                         packA_f64, packB_f64, ukr_f64, small_f64};
    t->f32 = s;
    t->f64 = d;
    t->elu_f32 = elu_f32;
    t->elu_f64 = elu_f64;
}
