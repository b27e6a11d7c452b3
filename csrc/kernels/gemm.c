/* gemm.c - BLIS-style GEMM driver shared by every ISA and both dtypes.
 *
 * C = act(alpha * A @ B + beta * C + bias), general element strides.
 *
 * Blocked path, the BLIS loop nest (the two innermost loops call the
 * per-ISA micro-kernel, everything else is in this file):
 *
 *   for jc in [0,N) step NC            B panel   KC x NC  (L3)
 *     for pc in [0,K) step KC          rank-KC update
 *       pack B[pc:pc+kc, jc:jc+nc] -> Bp, NR-wide micro-panels
 *       for ic in [0,M) step MC        A block   MC x KC  (L2)
 *         pack A[ic:ic+mc, pc:pc+kc] -> Ap, MR-tall micro-panels
 *         for jr in [0,nc) step NR     B micro-panel KC x NR (L1)
 *           for ir in [0,mc) step MR
 *             micro-kernel: MR x NR tile of A.B in registers, then the
 *             epilogue on the tile, stored into C
 *
 * Threads: C is cut into a grid of tile-aligned blocks, one per thread, and
 * every thread runs the whole nest above on its block with private packing
 * buffers: no barriers (a descheduled thread cannot stall the others), and
 * K is never split, so 1 and N threads give bitwise identical results.
 *
 * Block sizes live in each ISA's table (gemm_avx512.c etc.), measured on
 * this Zen 5 (48 KiB L1d, 1 MiB L2, 32 MiB L3).  AVX-512 f32: MR=14, NR=32
 * (28 zmm accumulators); KC=768: fewer passes over C pay more than keeping
 * the 96 KiB B micro-panel in L1 (L2 feeds it fast enough); MC=168 keeps
 * the 504 KiB A block in L2; NC=2048 (6 MiB B panel in L3).  f64: MR=14,
 * NR=16, KC=512, MC=126, NC=2048.  KC and MC are evened out so that the
 * last block is not a sliver (KC then rounded up to whole cache lines).
 *
 * The epilogue of the product is split across the pc loop: the first
 * rank-KC update applies beta and the bias, later ones accumulate
 * (beta = 1), and only the last applies the activation.
 *
 * Small path: when the product is small the packing costs more than it
 * saves, so the per-ISA "small" kernel reads A and B in place (B must have
 * unit column stride; otherwise it is first copied into NR-column blocks, by
 * each thread for its own columns when the threads split the columns).
 * Matrix-vector products (N == 1) take dot-form or axpy-form loops instead.
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
#define AG_PAR_MIN_MNK (64.0 * 64.0 * 64.0)
/* products with fewer multiply-adds than this always take the small
   (unpacked) path; see use_small() for the others */
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
   the next call: avoids an mmap + page faults on every product.  The buffer
   is also registered under a thread-exit key, whose destructor frees it when
   the thread ends (a program that runs products in short-lived threads would
   otherwise lose one buffer per thread).  scratch_bytes counts the bytes held
   by all threads, for the tests. */
static AG_TLS char *tls_raw = NULL;
static AG_TLS size_t tls_cap = 0;
static int64_t scratch_bytes = 0;

#if defined(_MSC_VER)
#define SCRATCH_ADD(v) _InterlockedExchangeAdd64((volatile __int64 *)&scratch_bytes, (v))
#else
#define SCRATCH_ADD(v) __atomic_add_fetch(&scratch_bytes, (v), __ATOMIC_RELAXED)
#endif

int64_t ag_gemm_scratch_bytes(void)
{
    return SCRATCH_ADD(0);
}

/* thread-exit destructor (runs in the exiting thread) */
static void scratch_release(void *p)
{
    if (p && p == (void *)tls_raw) {
        SCRATCH_ADD(-(int64_t)tls_cap);
        tls_raw = NULL;
        tls_cap = 0;
    }
    free(p);
}

#if defined(_WIN32)
#include <windows.h>
static DWORD scratch_key = FLS_OUT_OF_INDEXES;
static INIT_ONCE scratch_once = INIT_ONCE_STATIC_INIT;
static VOID WINAPI scratch_release_fls(PVOID p) { scratch_release(p); }
static BOOL CALLBACK scratch_key_init(PINIT_ONCE once, PVOID arg, PVOID *ctx)
{
    (void)once; (void)arg; (void)ctx;
    scratch_key = FlsAlloc(scratch_release_fls);
    return TRUE;
}
static void scratch_register(void *p)
{
    InitOnceExecuteOnce(&scratch_once, scratch_key_init, NULL, NULL);
    if (scratch_key != FLS_OUT_OF_INDEXES)
        FlsSetValue(scratch_key, p);
}
#else
#include <pthread.h>
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok = 0;
static void scratch_key_init(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_release) == 0;
}
static void scratch_register(void *p)
{
    pthread_once(&scratch_once, scratch_key_init);
    if (scratch_key_ok)
        pthread_setspecific(scratch_key, p);
}
#endif

static void *scratch(size_t bytes)
{
    if (bytes > tls_cap) {
        SCRATCH_ADD(-(int64_t)tls_cap);
        free(tls_raw);
        tls_raw = (char *)malloc(bytes + 64);
        tls_cap = tls_raw ? bytes : 0;
        SCRATCH_ADD((int64_t)tls_cap);
        scratch_register(tls_raw);
        if (!tls_raw)
            return NULL;
    }
    return (void *)(((uintptr_t)tls_raw + 63) & ~(uintptr_t)63);
}

typedef struct {
    const ag_gemm_kernels *kt;
    int64_t es;         /* element size in bytes */
    int64_t M, N, K;
    const char *A; int64_t rsa, csa;
    const char *B; int64_t rsb, csb;
    char *C; int64_t rsc, csc;
    const char *bias;
    /* epilogues: [0] single K block, [1] first, [2] middle, [3] last */
    const void *epi[4];
    int64_t kc;         /* K block, the same for every thread */
    int tm, tn;         /* thread grid: tm row groups x tn column groups */
    char *buf;          /* per-thread packing buffers, bufsz bytes each */
    size_t bufsz;
} job;

/* The BLIS loop nest (see the top of this file) for the sub-block
   C[i0:i0+M, j0:j0+N], run by one thread with its own buffers Ap, Bp.
   Each element of C sees the same K blocks and the same micro-kernel
   whatever the sub-block, so the result does not depend on the split. */
static void blocked_block(const job *jb, int64_t i0, int64_t M, int64_t j0,
                          int64_t N, char *Ap, char *Bp)
{
    const ag_gemm_kernels *kt = jb->kt;
    const int64_t es = jb->es;
    const int64_t MR = kt->mr, NR = kt->nr, NC = kt->nc, K = jb->K;
    const int64_t nib = (M + kt->mc - 1) / kt->mc;
    /* even out the M blocks (a multiple of MR) */
    const int64_t MC = ((M + nib - 1) / nib + MR - 1) / MR * MR;
    int64_t jc, pc, ic, jr, ir;
    for (jc = 0; jc < N; jc += NC) {
        int64_t nc = N - jc < NC ? N - jc : NC;
        for (pc = 0; pc < K; pc += jb->kc) {
            int64_t kc = K - pc < jb->kc ? K - pc : jb->kc;
            int first = pc == 0, last = pc + kc >= K;
            const void *epi = jb->epi[first && last ? 0 : first ? 1 : last ? 3 : 2];
            kt->packB(kc, nc, jb->B + (pc * jb->rsb + (j0 + jc) * jb->csb) * es,
                      jb->rsb, jb->csb, Bp);
            for (ic = 0; ic < M; ic += MC) {
                int64_t mc = M - ic < MC ? M - ic : MC;
                kt->packA(mc, kc, jb->A + ((i0 + ic) * jb->rsa + pc * jb->csa) * es,
                          jb->rsa, jb->csa, Ap);
                for (jr = 0; jr < nc; jr += NR) {
                    int n = (int)(nc - jr < NR ? nc - jr : NR);
                    const char *bias = first && jb->bias ? jb->bias + (j0 + jc + jr) * es : NULL;
                    char *c = jb->C + ((i0 + ic) * jb->rsc + (j0 + jc + jr) * jb->csc) * es;
                    for (ir = 0; ir < mc; ir += MR) {
                        int m = (int)(mc - ir < MR ? mc - ir : MR);
                        kt->ukr(kc, Ap + ir * kc * es, Bp + jr * kc * es,
                                c + ir * jb->rsc * es, jb->rsc, jb->csc, m, n,
                                bias, epi);
                    }
                }
            }
        }
    }
}

/* thread tid's share: row group tid / tn, column group tid % tn, each a
   contiguous range of MR-row / NR-column tiles */
static void blocked_part(const job *jb, int tid)
{
    const int64_t MR = jb->kt->mr, NR = jb->kt->nr;
    const int64_t ti = tid / jb->tn, tj = tid % jb->tn;
    const int64_t nti = (jb->M + MR - 1) / MR, ntj = (jb->N + NR - 1) / NR;
    int64_t i0 = nti * ti / jb->tm * MR, i1 = nti * (ti + 1) / jb->tm * MR;
    int64_t j0 = ntj * tj / jb->tn * NR, j1 = ntj * (tj + 1) / jb->tn * NR;
    char *Ap = jb->buf + (size_t)tid * jb->bufsz;
    if (i1 > jb->M) i1 = jb->M;
    if (j1 > jb->N) j1 = jb->N;
    if (i1 > i0 && j1 > j0)
        blocked_block(jb, i0, i1 - i0, j0, j1 - j0, Ap,
                      Ap + (size_t)((jb->kt->mc * jb->kc * jb->es + 63) / 64 * 64));
}

/* Threads never wait for each other: the C matrix is cut into a tm x tn
   grid of tile-aligned blocks and each thread runs the whole loop nest on
   its block with its own buffers.  The price is that A is packed tn times
   and B tm times in all.  The grid minimises the slowest thread's time,
   modelled per unit of K as rows*cols (multiply-adds) + 12*(rows + cols)
   (packing one element costs about as much as 12 multiply-adds). */
static int gemm_blocked(job *jb, int nt)
{
    const ag_gemm_kernels *kt = jb->kt;
    int64_t MR = kt->mr, NR = kt->nr;
    /* a K a little over KC (784 = 28x28 inputs against KC = 768) runs as one
       block: a second pass over C costs more than the slightly larger panels */
    int64_t nkb = (jb->K * 8 + kt->kc * 9 - 1) / (kt->kc * 9);
    int64_t nti = (jb->M + MR - 1) / MR, ntj = (jb->N + NR - 1) / NR;
    int64_t ncmax;
    double best = -1.0;
    int tm, tid;
    /* even out the K blocks, rounded up to whole 64-byte lines so that every
       block's rows of A and B start on a line (K = 2048: 688 + 688 + 672
       instead of 3 x 683; the packers' loads then never split a line) */
    jb->kc = (jb->K + nkb - 1) / nkb;
    if (nkb > 1)
        jb->kc = (jb->kc * jb->es + 63) / 64 * 64 / jb->es;
    if (nt > nti * ntj)
        nt = (int)(nti * ntj);
    jb->tm = nt; jb->tn = 1;
    for (tm = 1; tm <= nt; tm++) {
        int tn = nt / tm;
        double rows, cols, cost;
        if (tm * tn != nt || tm > nti || tn > ntj)
            continue;
        rows = (double)((nti + tm - 1) / tm * MR);
        cols = (double)((ntj + tn - 1) / tn * NR);
        cost = rows * cols + 12.0 * (rows + cols);
        if (best < 0.0 || cost < best) {
            best = cost;
            jb->tm = tm; jb->tn = tn;
        }
    }
    if (best < 0.0)     /* no exact grid fits: one column group */
        jb->tm = nt, jb->tn = 1;
    if (jb->tm > nti) {
        jb->tm = (int)nti;
        nt = jb->tm * jb->tn;
    }
    ncmax = (ntj + jb->tn - 1) / jb->tn * NR;
    if (ncmax > kt->nc)
        ncmax = kt->nc;
    jb->bufsz = (size_t)((kt->mc * jb->kc * jb->es + 63) / 64 * 64 +
                         ncmax * jb->kc * jb->es + 64);
    jb->bufsz = (jb->bufsz + 63) / 64 * 64;
    jb->buf = (char *)scratch(jb->bufsz * (size_t)nt);
    if (!jb->buf)
        return -1;
#ifdef _OPENMP
    if (nt > 1) {
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (tid = 0; tid < nt; tid++)
            blocked_part(jb, tid);
        return 0;
    }
#endif
    for (tid = 0; tid < nt; tid++)
        blocked_part(jb, tid);
    return 0;
}

/* small path: split the dimension that gives the smaller largest share
   (MR-row strips of A or NR-column blocks of B) */
static int small_by_cols(const job *jb, int nt)
{
    const int64_t MR = jb->kt->mr, NR = jb->kt->nr;
    int64_t nbj = (jb->N + NR - 1) / NR, nbi = (jb->M + MR - 1) / MR;
    int64_t rmax = (nbi + nt - 1) / nt * MR, cmax = (nbj + nt - 1) / nt * NR;
    return (double)(rmax < jb->M ? rmax : jb->M) * (double)jb->N >
           (double)(cmax < jb->N ? cmax : jb->N) * (double)jb->M;
}

/* small path, part tid of nt: a contiguous range of MR-row strips or of
   NR-column blocks.  pack != 0 (column split only): B has no unit column
   stride and B points at the whole-B buffer; this part first packs its own
   NR-column blocks into it (k x NR row-major each), so the threads pack in
   parallel and never read each other's blocks */
static void small_part(const job *jb, const char *B, int64_t rsb, int64_t bps,
                       int tid, int nt, int by_cols, int pack)
{
    const ag_gemm_kernels *kt = jb->kt;
    const int64_t es = jb->es;
    const int64_t MR = kt->mr, NR = kt->nr;
    int64_t nbj = (jb->N + NR - 1) / NR, nbi = (jb->M + MR - 1) / MR;
    int64_t nb = by_cols ? nbj : nbi;
    int64_t b0 = nb * tid / nt, b1 = nb * (tid + 1) / nt;
    int64_t i0 = 0, m = jb->M, j0 = 0, n = jb->N;
    if (by_cols) {
        j0 = b0 * NR;
        n = (b1 * NR < jb->N ? b1 * NR : jb->N) - j0;
    } else {
        i0 = b0 * MR;
        m = (b1 * MR < jb->M ? b1 * MR : jb->M) - i0;
    }
    if (m <= 0 || n <= 0)
        return;
    if (pack)
        kt->packB(jb->K, n, jb->B + j0 * jb->csb * es, jb->rsb, jb->csb,
                  (char *)B + (j0 / NR) * bps * es);
    kt->small(m, n, jb->K, jb->A + i0 * jb->rsa * es, jb->rsa, jb->csa,
              B + (j0 / NR) * bps * es, rsb, bps,
              jb->C + (i0 * jb->rsc + j0 * jb->csc) * es, jb->rsc, jb->csc,
              jb->bias ? jb->bias + j0 * es : NULL, jb->epi[0]);
}

/* pack != 0: B is the buffer to pack jb->B into (see small_part) */
static void gemm_small(const job *jb, const char *B, int64_t rsb, int64_t bps,
                       int nt, int pack)
{
    const int64_t nb = (jb->M + jb->kt->mr - 1) / jb->kt->mr +
                       (jb->N + jb->kt->nr - 1) / jb->kt->nr;
    int by_cols;
    if (nt > nb)
        nt = (int)nb;
    by_cols = small_by_cols(jb, nt);
    if (pack && !by_cols) {
        /* every row strip reads all of B: pack it first */
        jb->kt->packB(jb->K, jb->N, jb->B, jb->rsb, jb->csb, (char *)B);
        pack = 0;
    }
#ifdef _OPENMP
    if (nt > 1) {
        int tid;
#pragma omp parallel for num_threads(nt) schedule(static, 1)
        for (tid = 0; tid < nt; tid++)
            small_part(jb, B, rsb, bps, tid, nt, by_cols, pack);
        return;
    }
#endif
    small_part(jb, B, rsb, bps, 0, 1, by_cols, pack);
}

/* Packing costs about 12 (1/M + 1/N) relative to the multiply-adds (one
   packed element ~ 12 multiply-adds); the unpacked path instead re-reads B
   once per MR-row strip of A, which is free while B stays in L2 and costs
   ~35% (B <= 2 MiB) to ~60% (B <= 8 MiB) once it spills to L3.  Measured on
   Zen 5 (1 MiB L2, 32 MiB L3). */
static int use_small(const job *jb)
{
    double mnk = (double)jb->M * (double)jb->N * (double)jb->K;
    double bbytes = (double)jb->K * (double)jb->N * (double)jb->es;
    double pack = 12.0 * (1.0 / (double)jb->M + 1.0 / (double)jb->N);
    if (mnk <= AG_SMALL_MNK || bbytes <= 768.0 * 1024.0)
        return 1;
    if (bbytes > 8.0 * 1024.0 * 1024.0)
        return 0;
    return pack > (bbytes <= 2.0 * 1024.0 * 1024.0 ? 0.35 : 0.6);
}

/* the product once M, N, K > 0 and alpha != 0; nt = threads allowed */
static void gemm_run(job *jb, int nt)
{
    if (use_small(jb)) {
        const int64_t NR = jb->kt->nr;
        if (jb->csb == 1 || jb->N == 1) {
            gemm_small(jb, jb->B, jb->rsb, NR, nt, 0);
            return;
        } else if ((double)jb->K * (double)jb->N * (double)jb->es <=
                   8.0 * 1024.0 * 1024.0) {
            /* B without unit column stride: pack it whole into NR-column
               blocks first (k x NR row-major each) */
            size_t bytes = (size_t)(jb->K * ((jb->N + NR - 1) / NR) * NR * jb->es);
            char *bp = (char *)scratch(bytes);
            if (bp) {
                gemm_small(jb, bp, NR, jb->K * NR, nt, 1);
                return;
            }
        }
    }
    if (gemm_blocked(jb, nt) != 0) {
        /* out of memory: unpacked kernels, one column of B at a time (the
           column stride of B does not matter when n == 1) */
        job one = *jb;
        int64_t j;
        one.N = 1;
        for (j = 0; j < jb->N; j++) {
            one.B = jb->B + j * jb->csb * jb->es;
            one.C = jb->C + j * jb->csc * jb->es;
            one.bias = jb->bias ? jb->bias + j * jb->es : NULL;
            gemm_small(&one, one.B, jb->rsb, jb->kt->nr, 1, 0);
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

/* Matrix-vector products (N == 1) with A rows or A columns contiguous:
   the tile kernels would fill one lane of each vector, so these loops
   vectorise along K (dot form, csa == 1) or along M (axpy form, rsa == 1)
   instead.  Every element of C is summed in the same order whatever the
   thread count.  AG_GEMV_ROWS rows per chunk: the axpy accumulators stay in
   L1. */
#define AG_GEMV_ROWS 256
#define AG_GEMV_DEF(T, sfx, ACT)                                               \
    static void gemv_chunk_##sfx(int64_t i0, int64_t m, int64_t K, T alpha,   \
                                 const T *A, int64_t rsa, int64_t csa,        \
                                 const T *B, int64_t rsb, T beta, T *C,       \
                                 int64_t rsc, const T *bias, int act, T prm)  \
    {                                                                          \
        T y[AG_GEMV_ROWS];                                                     \
        int64_t i, k;                                                          \
        if (csa == 1 && rsb == 1) {                                            \
            /* four rows at a time: four independent vector sums share the   \
               loads of B; the simd reduction fixes one summation order */    \
            for (i = 0; i + 4 <= m; i += 4) {                                  \
                const T *a0 = A + (i0 + i) * rsa, *a1 = a0 + rsa;              \
                const T *a2 = a1 + rsa, *a3 = a2 + rsa;                        \
                T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                              \
                _Pragma("omp simd reduction(+:s0,s1,s2,s3)")                   \
                for (k = 0; k < K; k++) {                                      \
                    s0 += a0[k] * B[k];                                        \
                    s1 += a1[k] * B[k];                                        \
                    s2 += a2[k] * B[k];                                        \
                    s3 += a3[k] * B[k];                                        \
                }                                                              \
                y[i] = s0; y[i + 1] = s1; y[i + 2] = s2; y[i + 3] = s3;        \
            }                                                                  \
            for (; i < m; i++) {                                               \
                const T *a = A + (i0 + i) * rsa;                               \
                T s = 0;                                                       \
                _Pragma("omp simd reduction(+:s)")                             \
                for (k = 0; k < K; k++)                                        \
                    s += a[k] * B[k];                                          \
                y[i] = s;                                                      \
            }                                                                  \
        } else if (csa == 1) {                                                 \
            for (i = 0; i < m; i++) {                                          \
                const T *a = A + (i0 + i) * rsa;                               \
                T s = 0;                                                       \
                for (k = 0; k < K; k++)                                        \
                    s += a[k] * B[k * rsb];                                    \
                y[i] = s;                                                      \
            }                                                                  \
        } else {                                                               \
            for (i = 0; i < m; i++)                                            \
                y[i] = 0;                                                      \
            for (k = 0; k < K; k++) {                                          \
                const T *a = A + i0 + k * csa, bk = B[k * rsb];               \
                for (i = 0; i < m; i++)                                        \
                    y[i] += a[i] * bk;                                         \
            }                                                                  \
        }                                                                      \
        for (i = 0; i < m; i++) {                                              \
            T *c = C + (i0 + i) * rsc;                                         \
            T v = alpha * y[i];                                                \
            if (beta != 0)                                                     \
                v += beta * *c;                                                \
            if (bias)                                                          \
                v += bias[0];                                                  \
            *c = ACT(v, act, prm);                                             \
        }                                                                      \
    }                                                                          \
    /* chunks tid, tid + nt, ... of AG_GEMV_ROWS rows */                     \
    static void gemv_part_##sfx(int tid, int nt, int64_t M, int64_t K,        \
                                T alpha, const T *A, int64_t rsa, int64_t csa,\
                                const T *B, int64_t rsb, T beta, T *C,        \
                                int64_t rsc, const T *bias, int act, T prm)   \
    {                                                                          \
        int64_t i0;                                                            \
        for (i0 = tid * AG_GEMV_ROWS; i0 < M; i0 += (int64_t)nt * AG_GEMV_ROWS) \
            gemv_chunk_##sfx(i0, M - i0 < AG_GEMV_ROWS ? M - i0 : AG_GEMV_ROWS, \
                             K, alpha, A, rsa, csa, B, rsb, beta, C, rsc,     \
                             bias, act, prm);                                  \
    }                                                                          \
    static void gemv_##sfx(int64_t M, int64_t K, T alpha, const T *A,         \
                           int64_t rsa, int64_t csa, const T *B, int64_t rsb, \
                           T beta, T *C, int64_t rsc, const T *bias, int act, \
                           T prm, int nt)                                      \
    {                                                                          \
        int64_t nch = (M + AG_GEMV_ROWS - 1) / AG_GEMV_ROWS;                   \
        int tid;                                                               \
        if (nt > nch)                                                          \
            nt = (int)nch;                                                     \
        if (nt > 1) {                                                          \
            _Pragma("omp parallel for num_threads(nt) schedule(static, 1)")    \
            for (tid = 0; tid < nt; tid++)                                     \
                gemv_part_##sfx(tid, nt, M, K, alpha, A, rsa, csa, B, rsb,    \
                                beta, C, rsc, bias, act, prm);                 \
            return;                                                            \
        }                                                                      \
        gemv_part_##sfx(0, 1, M, K, alpha, A, rsa, csa, B, rsb, beta, C, rsc, \
                        bias, act, prm);                                       \
    }
AG_GEMV_DEF(float, f32, ag_act_scalar_f32)
AG_GEMV_DEF(double, f64, ag_act_scalar_f64)

static void init_job(job *jb, const ag_gemm_kernels *kt, int64_t es,
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
    if (N == 1 && (csa == 1 || rsa == 1)) {
        gemv_f32(M, K, alpha, A, rsa, csa, B, rsb, beta, C, rsc, bias, act, p, nt);
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
    if (N == 1 && (csa == 1 || rsa == 1)) {
        gemv_f64(M, K, alpha, A, rsa, csa, B, rsb, beta, C, rsc, bias, act, p, nt);
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

void ag_elu_f32(const float *z, float *y, int64_t n, float alpha)
{
    if (!ag_kernels_ready)
        ag_kernels_init();
    ag_ktab.elu_f32(z, y, n, alpha);
}

void ag_elu_f64(const double *z, double *y, int64_t n, double alpha)
{
    if (!ag_kernels_ready)
        ag_kernels_init();
    ag_ktab.elu_f64(z, y, n, alpha);
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
