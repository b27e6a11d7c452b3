/* bench_gemm.c - GFLOPS of ag_gemm_f32/f64 (row-major C = A @ B), median of
 * repeats after warm-up, 1 and 2 threads.
 *   ./bench_gemm [isa] [f32|f64]      isa: generic|avx2|avx512 (default best)
 *   ./bench_gemm shape M K N [f32|f64] [ta tb]   one shape
 */
#define _POSIX_C_SOURCE 199309L
#include "gemm.h"
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* BENCH_CPUTIME=1: process CPU time instead of wall time (for 1-thread
   timings on a machine shared with other jobs) */
static double now(void)
{
    static int cpu = -1;
    struct timespec ts;
    if (cpu < 0)
        cpu = getenv("BENCH_CPUTIME") && atoi(getenv("BENCH_CPUTIME")) == 1;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* GFLOPS for C[MxN] = A[MxK] @ B[KxN]; ta/tb store the operand transposed */
static double bench(int64_t M, int64_t K, int64_t N, int dt, int ta, int tb)
{
    size_t es = dt ? 8 : 4;
    /* BENCH_CPAD: extra elements per row of C (to study stride aliasing) */
    int64_t cpad = getenv("BENCH_CPAD") ? atoll(getenv("BENCH_CPAD")) : 0;
    void *A = malloc((size_t)(M * K) * es), *B = malloc((size_t)(K * N) * es);
    void *C = malloc((size_t)(M * (N + cpad)) * es);
    int64_t i, rsa = ta ? 1 : K, csa = ta ? M : 1, rsb = tb ? 1 : N, csb = tb ? K : 1;
    double flops = 2.0 * (double)M * (double)N * (double)K, t[15];
    int reps, r, q;
    for (i = 0; i < M * K; i++) {
        if (dt) ((double *)A)[i] = (double)(i % 17) * 0.1;
        else ((float *)A)[i] = (float)(i % 17) * 0.1f;
    }
    for (i = 0; i < K * N; i++) {
        if (dt) ((double *)B)[i] = (double)(i % 13) * 0.1;
        else ((float *)B)[i] = (float)(i % 13) * 0.1f;
    }
    reps = (int)(2e8 / flops);
    if (reps < 1) reps = 1;
    if (reps > 5000) reps = 5000;
    for (r = -3; r < 15; r++) {
        double t0 = now();
        for (q = 0; q < reps; q++) {
            if (dt)
                ag_gemm_f64(M, N, K, 1.0, (double *)A, rsa, csa, (double *)B, rsb, csb, 0.0,
                            (double *)C, N + cpad, 1, NULL, 0, 0.0);
            else
                ag_gemm_f32(M, N, K, 1.0f, (float *)A, rsa, csa, (float *)B, rsb, csb, 0.0f,
                            (float *)C, N + cpad, 1, NULL, 0, 0.0f);
        }
        if (r >= 0)
            t[r] = (now() - t0) / reps;
    }
    qsort(t, 15, sizeof(double), cmpd);
    free(A); free(B); free(C);
    return flops / t[7] * 1e-9;
}

int main(int argc, char **argv)
{
    static const int64_t shapes[][3] = {
        {64, 64, 64}, {128, 128, 128}, {256, 256, 256}, {512, 512, 512},
        {1024, 1024, 1024}, {2048, 2048, 2048}, {64, 784, 128}, {256, 784, 512},
        {256, 512, 256}, {512, 1024, 2048}, {512, 2048, 2048}};
    int s, dt, dt0 = 0, dt1 = 1;
    ag_kernels_init();
    if (argc > 1 && !strcmp(argv[1], "shape") && argc >= 5) {
        int64_t M = atoll(argv[2]), K = atoll(argv[3]), N = atoll(argv[4]);
        int d = argc > 5 && !strcmp(argv[5], "f64");
        int ta = argc > 6 ? atoi(argv[6]) : 0, tb = argc > 7 ? atoi(argv[7]) : 0;
        int nt;
        for (nt = 1; nt <= 2; nt++) {
            ag_set_num_threads(nt);
            printf("%s %s M=%lld K=%lld N=%lld ta=%d tb=%d threads=%d: %.1f GFLOPS\n",
                   ag_isa_name(ag_isa_active()), d ? "f64" : "f32", (long long)M,
                   (long long)K, (long long)N, ta, tb, nt, bench(M, K, N, d, ta, tb));
        }
        return 0;
    }
    if (argc > 1) {
        if (!strcmp(argv[1], "generic")) ag_set_isa(AG_ISA_GENERIC);
        else if (!strcmp(argv[1], "avx2")) ag_set_isa(AG_ISA_AVX2);
        else if (!strcmp(argv[1], "avx512")) ag_set_isa(AG_ISA_AVX512);
    }
    if (argc > 2) {
        if (!strcmp(argv[2], "f32")) dt1 = 0;
        if (!strcmp(argv[2], "f64")) dt0 = 1;
    }
    printf("isa %s\n%-6s %-18s %10s %10s\n", ag_isa_name(ag_isa_active()), "dtype",
           "M,K,N", "1 thread", "2 threads");
    for (dt = dt0; dt <= dt1; dt++)
        for (s = 0; s < (int)(sizeof(shapes) / sizeof(shapes[0])); s++) {
            double g1, g2;
            char name[64];
            ag_set_num_threads(1);
            g1 = bench(shapes[s][0], shapes[s][1], shapes[s][2], dt, 0, 0);
            ag_set_num_threads(2);
            g2 = bench(shapes[s][0], shapes[s][1], shapes[s][2], dt, 0, 0);
            sprintf(name, "%lld,%lld,%lld", (long long)shapes[s][0],
                    (long long)shapes[s][1], (long long)shapes[s][2]);
            printf("%-6s %-18s %10.1f %10.1f\n", dt ? "f64" : "f32", name, g1, g2);
            fflush(stdout);
        }
    return 0;
}
