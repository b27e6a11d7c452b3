/* gemm.c - BLIS-style GEMM driver shared by every ISA and both dtypes.
 *
 * C = act(alpha * A @ B + beta * C + bias), general element strides.
 *
 * Blocked path (the BLIS loop nest; all loops in this file, the two inner
 * ones in the per-ISA micro-kernel):
 *
 *   for jc in [0,N) step NC          B panel  KC x NC  -> packed Bp (L3)
 *     for pc in [0,K) step KC        (rank-KC update; never split across
 *                                     threads, so results do not depend on
 *                                     the thread count)
 *       pack B[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels   (threads
 *                                     split the micro-panels)
 *       for ic in [0,M) step MC      A block  MC x KC  -> packed Ap (L2)
 *         pack A[ic:ic+mc, pc:pc+kc] into MR-tall micro-panels (threads split)
 *         for jr in [0,nc) step NR   B micro-panel KC x NR stays in L1
 *           for ir in [0,mc) step MR
 *             micro-kernel: MR x NR tile of C += Ap_ir * Bp_jr (registers),
 *             epilogue applied on the tile before it is stored.
 *   The (jr, ir) tiles of one (jc, pc, ic) block are numbered jr-major and
 *   split into contiguous ranges, one per thread.
 *
 * Block sizes live in each ISA's table (gemm_avx512.c etc.).  For AVX-512
 * f32: MR=14, NR=32 (28 zmm accumulators), KC=256 (B micro-panel
 * 256*32*4 = 32 KiB of the 48 KiB L1d), MC=504 (A block 504 KiB of the
 * 1 MiB L2), NC=4096 (B panel 4 MiB of the 32 MiB L3).  KC and MC are
 * evened out so the last block is not a sliver.
 *
 * The epilogue of the product is split across the pc loop: the first
 * rank-KC update applies beta and the bias, later ones accumulate
 * (beta = 1), and only the last applies the activation.
 *
 * Small path: when the product is small the packing costs more than it
 * saves, so the per-ISA "small" kernel reads A and B in place (B must have
 * unit column stride; otherwise it is first copied into a row-major buffer).
 */
#include "gemm.h"
#include "cpu.h"
#include "gemm_internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(_MSC_VER)
#define AG_TLS __declspec(thread)
#else
#define AG_TLS __thread
#endif

/* products with fewer multiply-adds than this run on one thread */
#define AG_PAR_MIN_MNK (96.0 * 96.0 * 96.0)
/* products with fewer multiply-adds than this take the small path */
#define AG_SMALL_MNK (80.0 * 80.0 * 80.0)

static int g_nthreads = 0;

void ag_set_num_threads(int n) { g_nthreads = n < 1 ? 1 : n; }

int ag_get_num_threads(void)
{
    if (g_nthreads < 1) {
#ifdef _OPENMP
        g_nthreads = omp_get_max_threads();
#else
        g_nthreads = 1;
#endif
        if (g_nthreads < 1)
            g_nthreads = 1;
    }
    return g_nthreads;
}

static int threads_for(double mnk)
{
    int nt = ag_get_num_threads();
#ifdef _OPENMP
    if (omp_in_parallel())
        return 1;
#endif
    if (nt > 1 && mnk < AG_PAR_MIN_MNK)
        return 1;
    return nt;
}

/* Per-calling-thread scratch (64-byte aligned), grown on demand and kept for
   the next call: avoids an mmap + page faults on every product. */
static AG_TLS char *tls_raw = NULL;
static AG_TLS size_t tls_cap = 0;

static void *scratch(size_t bytes)
{
    if (bytes > tls_cap) {
        free(tls_raw);
        tls_raw = (char *)malloc(bytes + 64);
        tls_cap = tls_raw ? bytes : 0;
        if (!tls_raw)
            return NULL;
    }
    return (void *)(((uintptr_t)tls_raw + 63) & ~(uintptr_t)63);
}

typedef struct {
    const ag_gemm_kernels *kt;
    size_t es;
    int64_t M, N, K;
    const char *A; int64_t rsa, csa;
    const char *B; int64_t rsb, csb;
    char *C; int64_t rsc, csc;
    const char *bias;
    /* epilogues: [0] single K block, [1] first, [2] middle, [3] last */
    const void *epi[4];
    char *Ap, *Bp;
    int64_t mc, kc;
} job;

static void barrier(int nt)
{
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp barrier
    }
#else
    (void)nt;
#endif
}

/* body of the blocked path, run by each of the nt threads */
static void blocked_body(const job *jb, int tid, int nt)
{
    const ag_gemm_kernels *kt = jb->kt;
    const size_t es = jb->es;
    const int64_t MR = kt->mr, NR = kt->nr, NC = kt->nc;
    const int64_t M = jb->M, N = jb->N, K = jb->K;
    int64_t jc, pc, ic;
    for (jc = 0; jc < N; jc += NC) {
        int64_t nc = N - jc < NC ? N - jc : NC;
        int64_t njr = (nc + NR - 1) / NR;
        for (pc = 0; pc < K; pc += jb->kc) {
            int64_t kc = K - pc < jb->kc ? K - pc : jb->kc;
            int first = pc == 0, last = pc + kc >= K;
            const void *epi = jb->epi[first && last ? 0 : first ? 1 : last ? 3 : 2];
            int64_t p0 = njr * tid / nt, p1 = njr * (tid + 1) / nt;
            if (p1 > p0) {
                int64_t j0 = p0 * NR;
                int64_t nn = (p1 * NR < nc ? p1 * NR : nc) - j0;
                kt->packB(kc, nn, jb->B + (pc * jb->rsb + (jc + j0) * jb->csb) * es,
                          jb->rsb, jb->csb, jb->Bp + j0 * kc * es);
            }
            barrier(nt);
            for (ic = 0; ic < M; ic += jb->mc) {
                int64_t mc = M - ic < jb->mc ? M - ic : jb->mc;
                int64_t nir = (mc + MR - 1) / MR;
                int64_t t, t0, t1;
                int64_t a0 = nir * tid / nt, a1 = nir * (tid + 1) / nt;
                if (a1 > a0) {
                    int64_t i0 = a0 * MR;
                    int64_t mm = (a1 * MR < mc ? a1 * MR : mc) - i0;
                    kt->packA(mm, kc, jb->A + ((ic + i0) * jb->rsa + pc * jb->csa) * es,
                              jb->rsa, jb->csa, jb->Ap + i0 * kc * es);
                }
                barrier(nt);
                t0 = nir * njr * tid / nt;
                t1 = nir * njr * (tid + 1) / nt;
                for (t = t0; t < t1; t++) {
                    int64_t jr = t / nir, ir = t - jr * nir;
                    int64_t i = ir * MR, j = jr * NR;
                    int m = (int)(mc - i < MR ? mc - i : MR);
                    int n = (int)(nc - j < NR ? nc - j : NR);
                    const char *bias = first && jb->bias ? jb->bias + (jc + j) * es : NULL;
                    kt->ukr(kc, jb->Ap + i * kc * es, jb->Bp + j * kc * es,
                            jb->C + ((ic + i) * jb->rsc + (jc + j) * jb->csc) * es,
                            jb->rsc, jb->csc, m, n, bias, epi);
                }
                barrier(nt);
            }
        }
    }
}

static int gemm_blocked(job *jb, int nt)
{
    const ag_gemm_kernels *kt = jb->kt;
    int64_t MR = kt->mr, NR = kt->nr;
    int64_t nkb = (jb->K + kt->kc - 1) / kt->kc;
    int64_t nib = (jb->M + kt->mc - 1) / kt->mc;
    int64_t ncmax = jb->N < kt->nc ? jb->N : kt->nc;
    size_t apn, bpn;
    char *buf;
    /* even out the K and M blocks */
    jb->kc = (jb->K + nkb - 1) / nkb;
    jb->mc = ((jb->M + nib - 1) / nib + MR - 1) / MR * MR;
    apn = (size_t)(jb->mc * jb->kc);
    bpn = (size_t)(((ncmax + NR - 1) / NR) * NR * jb->kc);
    buf = (char *)scratch((apn + bpn) * jb->es + 64);
    if (!buf)
        return -1;
    jb->Ap = buf;
    jb->Bp = buf + ((apn * jb->es + 63) & ~(size_t)63);
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        {
            int n = omp_get_num_threads();
            blocked_body(jb, omp_get_thread_num(), n);
        }
        return 0;
    }
#endif
    blocked_body(jb, 0, 1);
    return 0;
}

/* small path, part tid of nt: a contiguous range of column (or row)
   blocks of the small kernel's tile grid */
static void small_part(const job *jb, const char *B, int64_t rsb, int tid,
                       int nt)
{
    const ag_gemm_kernels *kt = jb->kt;
    const size_t es = jb->es;
    int64_t SM = kt->sm, SN = kt->sn;
    int64_t nbj = (jb->N + SN - 1) / SN, nbi = (jb->M + SM - 1) / SM;
    int by_cols = nbj >= nbi;
    int64_t nb = by_cols ? nbj : nbi;
    int64_t b0 = nb * tid / nt, b1 = nb * (tid + 1) / nt;
    int64_t i0 = 0, m = jb->M, j0 = 0, n = jb->N;
    if (by_cols) {
        j0 = b0 * SN;
        n = (b1 * SN < jb->N ? b1 * SN : jb->N) - j0;
    } else {
        i0 = b0 * SM;
        m = (b1 * SM < jb->M ? b1 * SM : jb->M) - i0;
    }
    if (m > 0 && n > 0)
        kt->small(m, n, jb->K, jb->A + i0 * jb->rsa * es, jb->rsa, jb->csa,
                  B + j0 * es, rsb, jb->C + (i0 * jb->rsc + j0 * jb->csc) * es,
                  jb->rsc, jb->csc, jb->bias ? jb->bias + j0 * es : NULL,
                  jb->epi[0]);
}

static void gemm_small(const job *jb, const char *B, int64_t rsb, int nt)
{
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        small_part(jb, B, rsb, omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    small_part(jb, B, rsb, 0, 1);
}

/* the product once M, N, K > 0 and alpha != 0; nt = threads allowed */
static void gemm_run(job *jb, int nt)
{
    double mnk = (double)jb->M * (double)jb->N * (double)jb->K;
    if (mnk <= AG_SMALL_MNK) {
        const char *B = jb->B;
        int64_t rsb = jb->rsb;
        if (jb->csb != 1 && jb->N > 1) {
            /* the small kernels want rows of B contiguous: copy B */
            size_t es = jb->es;
            int64_t p, j;
            char *bc = (char *)scratch((size_t)(jb->K * jb->N) * es);
            if (!bc)
                goto blocked;
            for (p = 0; p < jb->K; p++)
                for (j = 0; j < jb->N; j++)
                    memcpy(bc + (p * jb->N + j) * es,
                           jb->B + (p * jb->rsb + j * jb->csb) * es, es);
            B = bc;
            rsb = jb->N;
        }
        gemm_small(jb, B, rsb, nt);
        return;
    }
blocked:
    if (gemm_blocked(jb, nt) != 0) {
        /* out of memory: fall back to the unpacked kernels, one thread,
           a column of B at a time (csb is irrelevant when n == 1) */
        job one = *jb;
        int64_t j;
        one.N = 1;
        for (j = 0; j < jb->N; j++) {
            one.B = jb->B + j * jb->csb * jb->es;
            one.C = jb->C + j * jb->csc * jb->es;
            one.bias = jb->bias ? jb->bias + j * jb->es : NULL;
            gemm_small(&one, one.B, jb->rsb, 1);
        }
    }
}

/* K == 0 or alpha == 0: C = act(beta*C + bias) */
static void scale_f32(int64_t M, int64_t N, float beta, float *C, int64_t rsc,
                      int64_t csc, const float *bias, int act, float p)
{
    int64_t i, j;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            float *c = C + i * rsc + j * csc;
            float v = beta != 0.0f ? beta * *c : 0.0f;
            if (bias)
                v += bias[j];
            *c = ag_act_scalar_f32(v, act, p);
        }
}

static void scale_f64(int64_t M, int64_t N, double beta, double *C,
                      int64_t rsc, int64_t csc, const double *bias, int act,
                      double p)
{
    int64_t i, j;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double *c = C + i * rsc + j * csc;
            double v = beta != 0.0 ? beta * *c : 0.0;
            if (bias)
                v += bias[j];
            *c = ag_act_scalar_f64(v, act, p);
        }
}

static void init_job(job *jb, const ag_gemm_kernels *kt, size_t es,
                     int64_t M, int64_t N, int64_t K,
                     const void *A, int64_t rsa, int64_t csa,
                     const void *B, int64_t rsb, int64_t csb,
                     void *C, int64_t rsc, int64_t csc, const void *bias,
                     const void *e0, const void *e1, const void *e2,
                     const void *e3)
{
    memset(jb, 0, sizeof(*jb));
    jb->kt = kt; jb->es = es;
    jb->M = M; jb->N = N; jb->K = K;
    jb->A = (const char *)A; jb->rsa = rsa; jb->csa = csa;
    jb->B = (const char *)B; jb->rsb = rsb; jb->csb = csb;
    jb->C = (char *)C; jb->rsc = rsc; jb->csc = csc;
    jb->bias = (const char *)bias;
    jb->epi[0] = e0; jb->epi[1] = e1; jb->epi[2] = e2; jb->epi[3] = e3;
}

/* one f32 product with at most nt threads */
static void gemm_f32_nt(int64_t M, int64_t N, int64_t K, float alpha,
                        const float *A, int64_t rsa, int64_t csa,
                        const float *B, int64_t rsb, int64_t csb,
                        float beta, float *C, int64_t rsc, int64_t csc,
                        const float *bias, int act, float p, int nt)
{
    ag_epi_f32 e[4];
    job jb;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_f32(M, N, beta, C, rsc, csc, bias, act, p);
        return;
    }
    e[0].alpha = alpha; e[0].beta = beta; e[0].act_param = p; e[0].act = act;
    e[1] = e[0]; e[1].act = AG_ACT_NONE;
    e[2] = e[1]; e[2].beta = 1.0f;
    e[3] = e[0]; e[3].beta = 1.0f;
    init_job(&jb, &ag_ktab.f32, sizeof(float), M, N, K, A, rsa, csa, B, rsb,
             csb, C, rsc, csc, bias, &e[0], &e[1], &e[2], &e[3]);
    gemm_run(&jb, nt);
}

static void gemm_f64_nt(int64_t M, int64_t N, int64_t K, double alpha,
                        const double *A, int64_t rsa, int64_t csa,
                        const double *B, int64_t rsb, int64_t csb,
                        double beta, double *C, int64_t rsc, int64_t csc,
                        const double *bias, int act, double p, int nt)
{
    ag_epi_f64 e[4];
    job jb;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0) {
        scale_f64(M, N, beta, C, rsc, csc, bias, act, p);
        return;
    }
    e[0].alpha = alpha; e[0].beta = beta; e[0].act_param = p; e[0].act = act;
    e[1] = e[0]; e[1].act = AG_ACT_NONE;
    e[2] = e[1]; e[2].beta = 1.0;
    e[3] = e[0]; e[3].beta = 1.0;
    init_job(&jb, &ag_ktab.f64, sizeof(double), M, N, K, A, rsa, csa, B, rsb,
             csb, C, rsc, csc, bias, &e[0], &e[1], &e[2], &e[3]);
    gemm_run(&jb, nt);
}

void ag_gemm_f32(int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t rsa, int64_t csa,
                 const float *B, int64_t rsb, int64_t csb,
                 float beta, float *C, int64_t rsc, int64_t csc,
                 const float *bias, int act, float act_param)
{
    if (!ag_kernels_ready)
        ag_kernels_init();
    gemm_f32_nt(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc,
                bias, act, act_param,
                threads_for((double)M * (double)N * (double)K));
}

void ag_gemm_f64(int64_t M, int64_t N, int64_t K, double alpha,
                 const double *A, int64_t rsa, int64_t csa,
                 const double *B, int64_t rsb, int64_t csb,
                 double beta, double *C, int64_t rsc, int64_t csc,
                 const double *bias, int act, double act_param)
{
    if (!ag_kernels_ready)
        ag_kernels_init();
    gemm_f64_nt(M, N, K, alpha, A, rsa, csa, B, rsb, csb, beta, C, rsc, csc,
                bias, act, act_param,
                threads_for((double)M * (double)N * (double)K));
}

/* Batched: products too small to be threaded on their own are spread over
   the threads one whole product each (same kernels, so the result is the
   same as with one thread); larger ones run one after another, each
   threaded internally. */
void ag_gemm_batched_f32(int64_t batch, int64_t strideA, int64_t strideB,
                         int64_t strideC,
                         int64_t M, int64_t N, int64_t K, float alpha,
                         const float *A, int64_t rsa, int64_t csa,
                         const float *B, int64_t rsb, int64_t csb,
                         float beta, float *C, int64_t rsc, int64_t csc,
                         const float *bias, int act, float act_param)
{
    double mnk = (double)M * (double)N * (double)K;
    int nt = threads_for(mnk * (double)batch);
    int64_t b;
    if (!ag_kernels_ready)
        ag_kernels_init();
    if (batch <= 0 || M <= 0 || N <= 0)
        return;
#ifdef _OPENMP
    if (nt > 1 && batch > 1 && mnk < 4.0 * AG_PAR_MIN_MNK) {
#pragma omp parallel num_threads(nt)
        {
            int tid = omp_get_thread_num(), n = omp_get_num_threads();
            int64_t q, q1 = batch * (tid + 1) / n;
            for (q = batch * tid / n; q < q1; q++)
                gemm_f32_nt(M, N, K, alpha, A + q * strideA, rsa, csa,
                            B + q * strideB, rsb, csb, beta, C + q * strideC,
                            rsc, csc, bias, act, act_param, 1);
        }
        return;
    }
#endif
    nt = threads_for(mnk);
    for (b = 0; b < batch; b++)
        gemm_f32_nt(M, N, K, alpha, A + b * strideA, rsa, csa,
                    B + b * strideB, rsb, csb, beta, C + b * strideC, rsc, csc,
                    bias, act, act_param, nt);
}

void ag_gemm_batched_f64(int64_t batch, int64_t strideA, int64_t strideB,
                         int64_t strideC,
                         int64_t M, int64_t N, int64_t K, double alpha,
                         const double *A, int64_t rsa, int64_t csa,
                         const double *B, int64_t rsb, int64_t csb,
                         double beta, double *C, int64_t rsc, int64_t csc,
                         const double *bias, int act, double act_param)
{
    double mnk = (double)M * (double)N * (double)K;
    int nt = threads_for(mnk * (double)batch);
    int64_t b;
    if (!ag_kernels_ready)
        ag_kernels_init();
    if (batch <= 0 || M <= 0 || N <= 0)
        return;
#ifdef _OPENMP
    if (nt > 1 && batch > 1 && mnk < 4.0 * AG_PAR_MIN_MNK) {
#pragma omp parallel num_threads(nt)
        {
            int tid = omp_get_thread_num(), n = omp_get_num_threads();
            int64_t q, q1 = batch * (tid + 1) / n;
            for (q = batch * tid / n; q < q1; q++)
                gemm_f64_nt(M, N, K, alpha, A + q * strideA, rsa, csa,
                            B + q * strideB, rsb, csb, beta, C + q * strideC,
                            rsc, csc, bias, act, act_param, 1);
        }
        return;
    }
#endif
    nt = threads_for(mnk);
    for (b = 0; b < batch; b++)
        gemm_f64_nt(M, N, K, alpha, A + b * strideA, rsa, csa,
                    B + b * strideB, rsb, csb, beta, C + b * strideC, rsc, csc,
                    bias, act, act_param, nt);
}
