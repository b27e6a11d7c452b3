/* test_gemm.c - correctness tests for ag_gemm_* against a naive
 * extended-precision reference.  Exit status 0 on success.
 *   ./test_gemm         run all tests on every ISA this CPU supports
 *   ./test_gemm --isa   print the ISA chosen by ag_kernels_init (+ warning)
 */
#include "gemm.h"
#include "cpu.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_fail = 0;
static long g_checks = 0;
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(g_rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* values exactly representable in float, so both dtypes see the same data */
static double frand(void) { return (double)(float)urand(); }

static double act_ref(double x, int act, double p)
{
    switch (act) {
    case AG_ACT_RELU: return x > 0 ? x : 0.0;
    case AG_ACT_LEAKY_RELU: return x > 0 ? x : p * x;
    case AG_ACT_TANH: return tanh(x);
    case AG_ACT_SIGMOID: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case AG_ACT_GELU: return 0.5 * x * erfc(-x / sqrt(2.0));
    case AG_ACT_ELU: return x > 0 ? x : p * expm1(x);
    default: return x;
    }
}

static const char *act_name[] = {"none", "relu", "leaky", "tanh", "sigmoid", "gelu", "elu"};

/* one problem in one storage layout; data kept as double */
typedef struct {
    int64_t M, N, K;
    int ta, tb, cmode;          /* transposes, C layout 0 dense 1 every other col 2 col-major */
    double alpha, beta;
    int use_bias, act;
    double prm;
    int64_t rsa, csa, rsb, csb, rsc, csc;
    size_t na, nb, nc;
    double *A, *B, *C0, *bias;  /* C0: initial C buffer (with sentinels) */
    double *ref, *mag;          /* M*N reference and error scale */
} prob;

static void layout(prob *p)
{
    int64_t M = p->M, N = p->N, K = p->K;
    if (!p->ta) { p->rsa = K + 3; p->csa = 1; p->na = (size_t)(M * (K + 3)); }
    else { p->rsa = 1; p->csa = M + 2; p->na = (size_t)(K * (M + 2)); }
    if (!p->tb) { p->rsb = N + 1; p->csb = 1; p->nb = (size_t)(K * (N + 1)); }
    else { p->rsb = 1; p->csb = K + 5; p->nb = (size_t)(N * (K + 5)); }
    if (p->cmode == 0) { p->rsc = N + 2; p->csc = 1; }
    else if (p->cmode == 1) { p->rsc = 2 * N + 1; p->csc = 2; }
    else { p->rsc = 1; p->csc = M + 1; }
    p->nc = (size_t)((M - 1) * p->rsc + (N - 1) * p->csc + 1 + 7);
    if (p->na == 0) p->na = 1;
    if (p->nb == 0) p->nb = 1;
}

static void make(prob *p)
{
    size_t i;
    int64_t r, c, q;
    layout(p);
    p->A = malloc(p->na * sizeof(double));
    p->B = malloc(p->nb * sizeof(double));
    p->C0 = malloc(p->nc * sizeof(double));
    p->bias = malloc((size_t)(p->N + 1) * sizeof(double));
    p->ref = malloc((size_t)(p->M * p->N) * sizeof(double));
    p->mag = malloc((size_t)(p->M * p->N) * sizeof(double));
    for (i = 0; i < p->na; i++) p->A[i] = frand();
    for (i = 0; i < p->nb; i++) p->B[i] = frand();
    for (i = 0; i < p->nc; i++) p->C0[i] = 1000.0 + (double)i; /* sentinels */
    for (r = 0; r < p->N; r++) p->bias[r] = frand();
    for (r = 0; r < p->M; r++)
        for (c = 0; c < p->N; c++) {
            long double s = 0, a = 0, v, m;
            double c0 = frand();
            p->C0[r * p->rsc + c * p->csc] = c0;
            for (q = 0; q < p->K; q++) {
                long double x = p->A[r * p->rsa + q * p->csa];
                long double y = p->B[q * p->rsb + c * p->csb];
                s += x * y;
                a += fabsl(x * y);
            }
            v = p->alpha * s;
            m = fabs(p->alpha) * a;
            if (p->beta != 0.0) { v += p->beta * c0; m += fabs(p->beta * c0); }
            if (p->use_bias) { v += p->bias[c]; m += fabs(p->bias[c]); }
            p->ref[r * p->N + c] = act_ref((double)v, p->act, p->prm);
            p->mag[r * p->N + c] = (double)m;
        }
}

static void unmake(prob *p)
{
    free(p->A); free(p->B); free(p->C0); free(p->bias); free(p->ref); free(p->mag);
}

/* compare C (as double) against the reference; dt 0 = f32, 1 = f64 */
static int check(const prob *p, const double *C, int dt, const char *what)
{
    double eps = dt ? DBL_EPSILON : FLT_EPSILON;
    double tiny = dt ? 1e-300 : 1e-35;
    double lip = fabs(p->prm) > 1.0 ? fabs(p->prm) * 1.2 : 1.2;
    int64_t r, c;
    size_t i;
    char *inside = calloc(p->nc, 1);
    int bad = 0;
    for (r = 0; r < p->M && bad < 3; r++)
        for (c = 0; c < p->N && bad < 3; c++) {
            size_t o = (size_t)(r * p->rsc + c * p->csc);
            double got = C[o], want = p->ref[r * p->N + c];
            double tol = eps * (double)(p->K + 10) * p->mag[r * p->N + c] * lip +
                         16.0 * eps * fabs(want) + tiny;
            inside[o] = 1;
            g_checks++;
            if (!(fabs(got - want) <= tol)) {
                fprintf(stderr, "FAIL %s %s M=%lld N=%lld K=%lld ta=%d tb=%d cm=%d "
                        "alpha=%g beta=%g bias=%d act=%s at (%lld,%lld): got %.9g want %.9g tol %.3g\n",
                        what, dt ? "f64" : "f32", (long long)p->M, (long long)p->N,
                        (long long)p->K, p->ta, p->tb, p->cmode, p->alpha, p->beta,
                        p->use_bias, act_name[p->act], (long long)r, (long long)c,
                        got, want, tol);
                bad++;
            }
        }
    for (i = 0; i < p->nc && !bad; i++)
        if (!inside[i] && C[i] != p->C0[i]) {
            fprintf(stderr, "FAIL %s: element %zu outside C was modified\n", what, i);
            bad++;
        }
    free(inside);
    if (bad) g_fail++;
    return bad;
}

/* run prob p with dtype dt, C output into Cout (double copy) */
static void run(const prob *p, int dt, double *Cout)
{
    size_t i;
    if (dt == 0) {
        float *A = malloc(p->na * 4), *B = malloc(p->nb * 4), *C = malloc(p->nc * 4);
        float *bias = malloc((size_t)(p->N + 1) * 4);
        for (i = 0; i < p->na; i++) A[i] = (float)p->A[i];
        for (i = 0; i < p->nb; i++) B[i] = (float)p->B[i];
        for (i = 0; i < p->nc; i++) C[i] = (float)p->C0[i];
        for (i = 0; i < (size_t)p->N; i++) bias[i] = (float)p->bias[i];
        if (p->beta == 0.0) /* C must be write-only: poison it */
            for (i = 0; i < (size_t)(p->M * p->N); i++)
                C[(i / p->N) * p->rsc + (i % p->N) * p->csc] = NAN;
        ag_gemm_f32(p->M, p->N, p->K, (float)p->alpha, A, p->rsa, p->csa, B,
                    p->rsb, p->csb, (float)p->beta, C, p->rsc, p->csc,
                    p->use_bias ? bias : NULL, p->act, (float)p->prm);
        for (i = 0; i < p->nc; i++) Cout[i] = C[i];
        free(A); free(B); free(C); free(bias);
    } else {
        double *C = malloc(p->nc * 8);
        memcpy(C, p->C0, p->nc * 8);
        if (p->beta == 0.0)
            for (i = 0; i < (size_t)(p->M * p->N); i++)
                C[(i / p->N) * p->rsc + (i % p->N) * p->csc] = NAN;
        ag_gemm_f64(p->M, p->N, p->K, p->alpha, p->A, p->rsa, p->csa, p->B,
                    p->rsb, p->csb, p->beta, C, p->rsc, p->csc,
                    p->use_bias ? p->bias : NULL, p->act, p->prm);
        memcpy(Cout, C, p->nc * 8);
        free(C);
    }
}

static int n_isa = 0;
static int isas[3];

/* test one configuration on every ISA and both dtypes */
static void test_prob(prob *p)
{
    int k, dt;
    double *C;
    char what[64];
    make(p);
    C = malloc(p->nc * sizeof(double));
    for (k = 0; k < n_isa; k++) {
        ag_set_isa(isas[k]);
        for (dt = 0; dt < 2; dt++) {
            run(p, dt, C);
            sprintf(what, "isa=%s", ag_isa_name(isas[k]));
            check(p, C, dt, what);
        }
    }
    free(C);
    unmake(p);
}

static void sweep_small(void)
{
    static const int64_t sz[] = {1, 7, 13, 33, 65};
    static const double betas[] = {0.0, 1.0, 0.5};
    int a, b, c, cfg = 0;
    for (a = 0; a < 5; a++)
        for (b = 0; b < 5; b++)
            for (c = 0; c < 5; c++) {
                int t, bi, act;
                for (t = 0; t < 4; t++)
                    for (bi = 0; bi < 3; bi++)
                        for (act = 0; act < 7; act++) {
                            prob p;
                            memset(&p, 0, sizeof(p));
                            p.M = sz[a]; p.N = sz[b]; p.K = sz[c];
                            p.ta = t & 1; p.tb = t >> 1;
                            p.beta = betas[bi];
                            p.alpha = (cfg % 3 == 0) ? 1.0 : (cfg % 3 == 1 ? -0.75 : 2.0);
                            p.act = act;
                            p.prm = act == AG_ACT_LEAKY_RELU ? 0.1 : 0.7;
                            p.use_bias = (cfg >> 1) & 1;
                            p.cmode = cfg % 3;
                            cfg++;
                            /* thin the full product: keep every 5th config
                               but all of them for a few shapes */
                            if ((a + b + c) % 4 != 0 && cfg % 5 != 0)
                                continue;
                            test_prob(&p);
                        }
            }
}

static void test_big(void)
{
    static const int64_t shapes[][3] = {
        {1023, 1023, 1023}, {1, 1023, 7}, {1023, 1, 33}, {7, 13, 1023},
        {65, 1023, 65}, {1023, 65, 13}, {33, 33, 1023}, {1023, 7, 1},
        {300, 200, 777}, {65, 4200, 65}, {515, 37, 300}, {16, 16, 5000},
        {200, 700, 1500}, {40, 2100, 600}};
    int s, cfg = 0;
    for (s = 0; s < (int)(sizeof(shapes) / sizeof(shapes[0])); s++) {
        int nrep = shapes[s][0] * shapes[s][1] * shapes[s][2] > 100000000 ? 2 : 6;
        int r;
        for (r = 0; r < nrep; r++, cfg++) {
            prob p;
            memset(&p, 0, sizeof(p));
            p.M = shapes[s][0]; p.N = shapes[s][1]; p.K = shapes[s][2];
            p.ta = cfg & 1; p.tb = (cfg >> 1) & 1;
            p.beta = cfg % 3 == 0 ? 0.0 : (cfg % 3 == 1 ? 1.0 : 0.5);
            p.alpha = cfg % 2 ? 1.0 : 0.5;
            p.act = cfg % 7;
            p.prm = p.act == AG_ACT_LEAKY_RELU ? 0.1 : 1.3;
            p.use_bias = cfg % 2;
            p.cmode = cfg % 3;
            test_prob(&p);
        }
    }
}

/* K == 0 and alpha == 0 leave C = act(beta*C + bias) */
static void test_degenerate(void)
{
    prob p;
    memset(&p, 0, sizeof(p));
    p.M = 9; p.N = 21; p.K = 0; p.alpha = 1.0; p.beta = 0.5; p.use_bias = 1;
    p.act = AG_ACT_TANH;
    test_prob(&p);
    p.beta = 0.0; p.act = AG_ACT_RELU;
    test_prob(&p);
    {
        /* alpha == 0 with NaN in A must not produce NaN */
        float A[4] = {NAN, NAN, NAN, NAN}, B[4] = {1, 2, 3, 4}, C[4] = {1, 1, 1, 1};
        ag_gemm_f32(2, 2, 2, 0.0f, A, 2, 1, B, 2, 1, 2.0f, C, 2, 1, NULL, 0, 0.0f);
        if (C[0] != 2.0f || C[3] != 2.0f) {
            fprintf(stderr, "FAIL alpha=0\n");
            g_fail++;
        }
    }
}

/* activations over a wide range of inputs (K = 1: C = act(x)) */
static void test_act_range(void)
{
    const int64_t M = 50, N = 80;
    int k, act, dt;
    float *Af = malloc(M * 4), *Cf = malloc(M * N * 4), Bf[80];
    double *Ad = malloc(M * 8), *Cd = malloc(M * N * 8), Bd[80];
    int64_t i, j;
    for (j = 0; j < N; j++) {
        Bd[j] = (double)(float)(j < 40 ? (j - 20) * 0.05 : (j - 60) * 1.7);
        Bf[j] = (float)Bd[j];
    }
    for (i = 0; i < M; i++) {
        Ad[i] = (double)(float)(0.02 + 0.21 * (double)i);
        Af[i] = (float)Ad[i];
    }
    for (k = 0; k < n_isa; k++) {
        ag_set_isa(isas[k]);
        for (act = 1; act < 7; act++)
            for (dt = 0; dt < 2; dt++) {
                if (dt == 0)
                    ag_gemm_f32(M, N, 1, 1.0f, Af, 1, 1, Bf, N, 1, 0.0f, Cf, N, 1, NULL, act, 0.3f);
                else
                    ag_gemm_f64(M, N, 1, 1.0, Ad, 1, 1, Bd, N, 1, 0.0, Cd, N, 1, NULL, act, 0.3);
                for (i = 0; i < M; i++)
                    for (j = 0; j < N; j++) {
                        double x = dt ? Ad[i] * Bd[j] : (double)(Af[i] * Bf[j]);
                        double want = act_ref(x, act, 0.3);
                        double got = dt ? Cd[i * N + j] : (double)Cf[i * N + j];
                        double eps = dt ? DBL_EPSILON : FLT_EPSILON;
                        /* 8 ulp relative, plus the input's own rounding */
                        double tol = 8.0 * eps * fabs(want) + 4.0 * eps * fabs(x) + (dt ? 1e-300 : 1e-37);
                        g_checks++;
                        if (!(fabs(got - want) <= tol)) {
                            fprintf(stderr, "FAIL act %s %s isa=%s x=%.9g got %.12g want %.12g\n",
                                    act_name[act], dt ? "f64" : "f32",
                                    ag_isa_name(isas[k]), x, got, want);
                            g_fail++;
                            i = M; break;
                        }
                    }
            }
    }
    free(Af); free(Cf); free(Ad); free(Cd);
}

/* 1 thread vs 2 threads must agree bit for bit */
static void test_threads(void)
{
    static const int64_t shapes[][3] = {
        {1023, 1023, 1023}, {300, 200, 777}, {65, 4200, 65}, {515, 37, 300},
        {100, 100, 100}, {2000, 20, 64}, {20, 2000, 64}, {64, 128, 784},
        {200, 700, 1500}, {40, 2100, 600}};
    int s, k, dt;
    for (k = 0; k < n_isa; k++) {
        ag_set_isa(isas[k]);
        for (s = 0; s < (int)(sizeof(shapes) / sizeof(shapes[0])); s++)
            for (dt = 0; dt < 2; dt++) {
                prob p;
                double *C1, *C2;
                memset(&p, 0, sizeof(p));
                p.M = shapes[s][0]; p.N = shapes[s][1]; p.K = shapes[s][2];
                p.ta = s & 1; p.tb = (s >> 1) & 1; p.alpha = 1.0; p.beta = 0.5;
                p.use_bias = 1; p.act = AG_ACT_GELU; p.cmode = 0;
                layout(&p);
                make(&p);
                C1 = malloc(p.nc * 8); C2 = malloc(p.nc * 8);
                ag_set_num_threads(1);
                run(&p, dt, C1);
                ag_set_num_threads(2);
                run(&p, dt, C2);
                g_checks++;
                if (memcmp(C1, C2, p.nc * 8) != 0) {
                    fprintf(stderr, "FAIL threads isa=%s %s M=%lld N=%lld K=%lld differ\n",
                            ag_isa_name(isas[k]), dt ? "f64" : "f32", (long long)p.M,
                            (long long)p.N, (long long)p.K);
                    g_fail++;
                }
                free(C1); free(C2);
                unmake(&p);
            }
    }
}

/* batched with broadcast A or B (stride 0), against per-matrix reference */
static void test_batched(void)
{
    static const int64_t shapes[][3] = {{7, 13, 33}, {33, 65, 13}, {200, 150, 300}, {1, 5, 9}};
    int s, mode, k, dt, nt;
    for (k = 0; k < n_isa; k++) {
        ag_set_isa(isas[k]);
        for (s = 0; s < 4; s++)
            for (mode = 0; mode < 3; mode++)
                for (dt = 0; dt < 2; dt++)
                    for (nt = 1; nt <= 2; nt++) {
                        const int64_t batch = 5;
                        int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                        int64_t sA = mode == 1 ? 0 : M * K, sB = mode == 2 ? 0 : K * N, sC = M * N;
                        double *A = malloc((size_t)(batch * M * K) * 8), *B = malloc((size_t)(batch * K * N) * 8);
                        double *C = malloc((size_t)(batch * M * N) * 8), *bias = malloc((size_t)N * 8);
                        float *Af = malloc((size_t)(batch * M * K) * 4), *Bf = malloc((size_t)(batch * K * N) * 4);
                        float *Cf = malloc((size_t)(batch * M * N) * 4), *biasf = malloc((size_t)N * 4);
                        int64_t i, j, q, b;
                        ag_set_num_threads(nt);
                        for (i = 0; i < batch * M * K; i++) Af[i] = (float)(A[i] = frand());
                        for (i = 0; i < batch * K * N; i++) Bf[i] = (float)(B[i] = frand());
                        for (i = 0; i < batch * M * N; i++) Cf[i] = (float)(C[i] = frand());
                        for (i = 0; i < N; i++) biasf[i] = (float)(bias[i] = frand());
                        {
                            double *Cin = malloc((size_t)(batch * M * N) * 8);
                            memcpy(Cin, C, (size_t)(batch * M * N) * 8);
                            if (dt == 0)
                                ag_gemm_batched_f32(batch, sA, sB, sC, M, N, K, 1.0f, Af, K, 1, Bf, N, 1,
                                                    0.5f, Cf, N, 1, biasf, AG_ACT_SIGMOID, 0.0f);
                            else
                                ag_gemm_batched_f64(batch, sA, sB, sC, M, N, K, 1.0, A, K, 1, B, N, 1,
                                                    0.5, C, N, 1, bias, AG_ACT_SIGMOID, 0.0);
                            for (b = 0; b < batch; b++)
                                for (i = 0; i < M; i++)
                                    for (j = 0; j < N; j++) {
                                        long double sum = 0, mag = 0;
                                        double want, got, tol, eps = dt ? DBL_EPSILON : FLT_EPSILON;
                                        for (q = 0; q < K; q++) {
                                            long double x = A[b * sA + i * K + q] * (long double)B[b * sB + q * N + j];
                                            sum += x;
                                            mag += fabsl(x);
                                        }
                                        sum += 0.5 * Cin[b * sC + i * N + j] + bias[j];
                                        mag += fabs(0.5 * Cin[b * sC + i * N + j]) + fabs(bias[j]);
                                        want = act_ref((double)sum, AG_ACT_SIGMOID, 0);
                                        got = dt ? C[b * sC + i * N + j] : Cf[b * sC + i * N + j];
                                        tol = eps * (double)(K + 10) * (double)mag + 16 * eps;
                                        g_checks++;
                                        if (!(fabs(got - want) <= tol)) {
                                            fprintf(stderr, "FAIL batched isa=%s %s shape %d mode %d nt %d b=%lld (%lld,%lld) got %g want %g\n",
                                                    ag_isa_name(isas[k]), dt ? "f64" : "f32", s, mode, nt,
                                                    (long long)b, (long long)i, (long long)j, got, want);
                                            g_fail++;
                                            b = batch; i = M; break;
                                        }
                                    }
                            free(Cin);
                        }
                        free(A); free(B); free(C); free(bias); free(Af); free(Bf); free(Cf); free(biasf);
                    }
    }
    ag_set_num_threads(2);
}

int main(int argc, char **argv)
{
    int k;
    ag_kernels_init();
    if (argc > 1 && !strcmp(argv[1], "--isa")) {
        printf("%s%s\n", ag_isa_name(ag_isa_active()), ag_isa_warning() ? " warning" : "");
        return 0;
    }
    printf("best isa: %s, active: %s, threads: %d\n", ag_isa_name(ag_isa_best()),
           ag_isa_name(ag_isa_active()), ag_get_num_threads());
    for (k = 0; k <= ag_isa_best(); k++)
        isas[n_isa++] = k;
    if (ag_set_isa(ag_isa_best() + 1) != -1) {
        fprintf(stderr, "FAIL ag_set_isa above best accepted\n");
        g_fail++;
    }
    test_act_range();
    test_degenerate();
    sweep_small();
    test_big();
    test_batched();
    test_threads();
    printf("%ld checks, %d failures\n", g_checks, g_fail);
    return g_fail ? 1 : 0;
}
