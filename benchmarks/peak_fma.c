/* peak_fma.c - the machine's multiply-add peak, measured: each thread runs
 * 12 independent chains of vector FMAs on registers (no memory traffic), so
 * the rate is what the FMA units deliver.  Built and run by
 * _common.fma_peak() with the flags of the ISA autograd_c dispatches to.
 *
 *   peak_fma f32|f64 THREADS      prints GFLOPS (best of 7)
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

int main(int argc, char **argv)
{
    int f64 = argc > 1 && !strcmp(argv[1], "f64");
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
