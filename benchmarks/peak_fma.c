/* peak_fma.c - the machine's multiply-add peak, measured: each thread runs
 * 12 independent chains of vector FMAs on registers (no memory traffic), so
 * the rate is what the FMA units deliver.  Built and run by
 * _common.fma_peak() with the flags of the ISA autograd_c dispatches to.
 *
 *   peak_fma f32|f64 THREADS      prints GFLOPS (best of 7)
 *   peak_fma tile THREADS         AVX-512 only: the float32 14 x 32 register
 *                                 tile of the GEMM micro-kernel, fed from
 *                                 packed panels as in the real loop nest
 *                                 (K block 688, 10 A panels per B panel, B
 *                                 panels streamed from a 5.6 MiB buffer), no
 *                                 packing and no epilogue: the most a packed
 *                                 GEMM with this tile can reach here
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAINS 12
#define ITERS 50000000L

#if defined(__AVX512F__)
typedef __m512 vf; typedef __m512d vd;
#define SET1_F _mm512_set1_ps
#define SET1_D _mm512_set1_pd
#define FMA_F _mm512_fmadd_ps
#define FMA_D _mm512_fmadd_pd
#define ADD_F _mm512_add_ps
#define ADD_D _mm512_add_pd
#define LANES_F 16
#else
typedef __m256 vf; typedef __m256d vd;
#define SET1_F _mm256_set1_ps
#define SET1_D _mm256_set1_pd
#define FMA_F _mm256_fmadd_ps
#define FMA_D _mm256_fmadd_pd
#define ADD_F _mm256_add_ps
#define ADD_D _mm256_add_pd
#define LANES_F 8
#endif

/* CHAINS independent chains a = a*m + c of vector FMAs; the first lane of
   their sum is returned so that the compiler keeps them */
#define DEFINE_CHAINS(name, T, V, SET1, FMA, ADD, LANES)                      \
    static T name(long iters)                                                 \
    {                                                                         \
        V a[CHAINS], m = SET1((T)0.9999999), c = SET1((T)1e-7), s;            \
        T out[LANES];                                                         \
        long t;                                                               \
        int i;                                                                \
        for (i = 0; i < CHAINS; i++)                                          \
            a[i] = SET1((T)i);                                                \
        for (t = 0; t < iters; t++)                                           \
            _Pragma("GCC unroll 12")                                          \
            for (i = 0; i < CHAINS; i++)                                      \
                a[i] = FMA(a[i], m, c);                                       \
        s = a[0];                                                             \
        for (i = 1; i < CHAINS; i++)                                          \
            s = ADD(s, a[i]);                                                 \
        memcpy(out, &s, sizeof(out));                                         \
        return out[0];                                                        \
    }
DEFINE_CHAINS(chains_f32, float, vf, SET1_F, FMA_F, ADD_F, LANES_F)
DEFINE_CHAINS(chains_f64, double, vd, SET1_D, FMA_D, ADD_D, LANES_F / 2)

#if defined(__AVX512F__)
#define TILE_MR 14
#define TILE_NR 32
#define TILE_K 688
#define TILE_A 10
#define TILE_B 64

/* one 14 x 32 tile over k: broadcast A, two vector loads of B, 28 FMAs per
   step (the shape of gemm_avx512.c's kernel, without its epilogue) */
static void tile(const float *a, const float *b, float *t)
{
    __m512 c[TILE_MR][2];
    long p;
    int r;
#pragma GCC unroll 14
    for (r = 0; r < TILE_MR; r++)
        c[r][0] = c[r][1] = _mm512_setzero_ps();
    for (p = 0; p < TILE_K; p++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
        for (r = 0; r < TILE_MR; r++) {
            __m512 av = _mm512_set1_ps(a[r]);
            c[r][0] = _mm512_fmadd_ps(av, b0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(av, b1, c[r][1]);
        }
        a += TILE_MR;
        b += TILE_NR;
    }
#pragma GCC unroll 14
    for (r = 0; r < TILE_MR; r++) {
        _mm512_store_ps(t + r * TILE_NR, c[r][0]);
        _mm512_store_ps(t + r * TILE_NR + 16, c[r][1]);
    }
}

/* per thread: every B panel against every A panel, `rounds` times, timed
   between two barriers after the buffers are filled; returns a value of the
   result so the work is kept */
static float tiles(int rounds, double *secs)
{
    size_t na = (size_t)TILE_MR * TILE_K * TILE_A, nb = (size_t)TILE_NR * TILE_K * TILE_B;
    float *a = (float *)_mm_malloc(na * sizeof(float), 64);
    float *b = (float *)_mm_malloc(nb * sizeof(float), 64);
    float *t = (float *)_mm_malloc(TILE_MR * TILE_NR * sizeof(float), 64);
    double t0 = 0.0;
    float out;
    size_t i;
    int r, j, q;
    for (i = 0; i < na; i++) a[i] = (float)(i % 7) * 1e-3f;
    for (i = 0; i < nb; i++) b[i] = (float)(i % 5) * 1e-3f;
    tile(a, b, t);
#pragma omp barrier
#pragma omp master
    t0 = omp_get_wtime();
    for (r = 0; r < rounds; r++)
        for (j = 0; j < TILE_B; j++)
            for (q = 0; q < TILE_A; q++)
                tile(a + (size_t)q * TILE_MR * TILE_K, b + (size_t)j * TILE_NR * TILE_K, t);
#pragma omp barrier
#pragma omp master
    *secs = omp_get_wtime() - t0;
    out = t[0];
    _mm_free(a); _mm_free(b); _mm_free(t);
    return out;
}
#endif

int main(int argc, char **argv)
{
    int f64 = argc > 1 && !strcmp(argv[1], "f64");
    if (argc > 1 && !strcmp(argv[1], "tile")) {
#if defined(__AVX512F__)
        int nt = argc > 2 ? atoi(argv[2]) : 1, rounds = 40;
        double best = 0.0, sink = 0.0;
        for (int rep = 0; rep < 7; rep++) {
            double secs = 1.0, gf;
#pragma omp parallel num_threads(nt) reduction(+ : sink)
            sink += tiles(rounds, &secs);
            gf = 2.0 * TILE_MR * TILE_NR * TILE_K * (double)TILE_A * TILE_B * rounds * nt /
                 secs / 1e9;
            if (gf > best)
                best = gf;
        }
        printf("%.1f\n", best);
        return sink == 12345.0;
#else
        fprintf(stderr, "tile: AVX-512 builds only\n");
        return 2;
#endif
    }
    int nt = argc > 2 ? atoi(argv[2]) : 1, rep;
    long iters = ITERS;
    double best = 0.0, sink = 0.0;
    int lanes = f64 ? LANES_F / 2 : LANES_F;
    for (rep = 0; rep < 7; rep++) {
        double t0 = omp_get_wtime(), dt, gf;
#pragma omp parallel num_threads(nt) reduction(+ : sink)
        sink += f64 ? chains_f64(iters) : (double)chains_f32(iters);
        dt = omp_get_wtime() - t0;
        gf = 2.0 * lanes * CHAINS * (double)iters * nt / dt / 1e9;
        if (gf > best)
            best = gf;
    }
    printf("%.1f\n", best);
    return sink == 12345.0; /* never true; keeps the sums live */
}
