/* sort.c -- stable argsort of contiguous float rows: an LSD radix sort (see sort.h).
 *
 * Each float becomes an unsigned key whose integer order is numpy's order: the sign bit is
 * flipped for positives and every bit for negatives, -0.0 first becomes +0.0, and every NaN
 * becomes the largest key.  The keys are then sorted by digits from the least significant up,
 * each pass a stable counting sort, so equal keys keep their input order; a pass whose digit is
 * the same for the whole row moves nothing and is skipped.  float32 keys travel with their index
 * in one 64-bit word (key << 32 | index); float64 keys and their 32-bit indices travel in two
 * arrays.  Digits are 8 bits wide (4 passes for float32, 8 for float64): 11-bit digits (3 and 6
 * passes) were no faster at 1e4 to 4e6 elements in a rough measurement on a shared machine.
 * Rows of at most SMALL_N elements are insertion-sorted instead.
 */
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "sort.h"

#define SMALL_N 24
#define PAR_N 32768      /* below this many elements in all, one thread */
#define DIGIT 8
#define RADIX (1 << DIGIT)
#define HIST_LEN (64 / DIGIT * RADIX)

/* order-preserving keys (-0.0 -> +0.0, NaN -> all ones): x before y in numpy's order iff
   key(x) < key(y) */
static inline uint32_t key_f32(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0xffffffffu;
    if ((u & 0x7fffffffu) == 0) u = 0;
    return u ^ ((0u - (u >> 31)) | 0x80000000u);
}

static inline uint64_t key_f64(double v)
{
    uint64_t u;
    const uint64_t abs_mask = 0x7fffffffffffffffull, inf = 0x7ff0000000000000ull;
    memcpy(&u, &v, sizeof u);
    if ((u & abs_mask) > inf) return ~0ull;
    if ((u & abs_mask) == 0) u = 0;
    return u ^ ((0ull - (u >> 63)) | 0x8000000000000000ull);
}

/* counts -> starting offsets (exclusive prefix sum) */
static void offsets_from_counts(uint32_t *h)
{
    uint32_t sum = 0, c;
    int d;
    for (d = 0; d < RADIX; d++) {
        c = h[d];
        h[d] = sum;
        sum += c;
    }
}

/* ------------------------------------------------------------------ short rows: insertion */
static void insertion_f32(const float *x, int64_t n, uint64_t *a, int64_t *out, int64_t base)
{
    int64_t i, j;
    /* key << 32 | index: the index in the low word breaks ties, so plain comparisons are stable */
    for (j = 0; j < n; j++) {
        uint64_t e = (uint64_t)key_f32(x[j]) << 32 | (uint64_t)j;
        for (i = j; i > 0 && a[i - 1] > e; i--) a[i] = a[i - 1];
        a[i] = e;
    }
    for (j = 0; j < n; j++) out[j] = base + (int64_t)(uint32_t)a[j];
}

static void insertion_f64(const double *x, int64_t n, uint64_t *ka, uint32_t *ia, int64_t *out,
                          int64_t base)
{
    int64_t i, j;
    for (j = 0; j < n; j++) {
        uint64_t k = key_f64(x[j]);
        for (i = j; i > 0 && ka[i - 1] > k; i--) {     /* strictly greater: ties stay put */
            ka[i] = ka[i - 1];
            ia[i] = ia[i - 1];
        }
        ka[i] = k;
        ia[i] = (uint32_t)j;
    }
    for (j = 0; j < n; j++) out[j] = base + (int64_t)ia[j];
}

/* ------------------------------------------------------------------ long rows: radix passes */
/* hist[p][d]: how many words have digit d in pass p; the digits are bits lo + p * DIGIT ... */
static void count_digits(const uint64_t *w, int64_t n, int lo, int passes, uint32_t *hist)
{
    int64_t j;
    int p;
    memset(hist, 0, sizeof(uint32_t) * (size_t)(passes * RADIX));
    for (j = 0; j < n; j++) {
        uint64_t u = w[j] >> lo;
        for (p = 0; p < passes; p++) hist[p * RADIX + ((u >> (p * DIGIT)) & (RADIX - 1))]++;
    }
}

/* Sorts the words a[0..n) by bits lo and up, a stable counting sort per digit from the least
 * significant, with b as the other buffer; *pay (NULL: none) travels along, pb its other buffer.
 * Returns the buffer holding the result (a or b), and leaves *pay pointing at the payload's. */
static uint64_t *radix_passes(uint64_t *a, uint64_t *b, uint32_t **pay, uint32_t *pb, int64_t n,
                              int lo, int passes, uint32_t *hist)
{
    uint32_t *pa = pay ? *pay : NULL;
    int64_t j;
    int p;
    for (p = 0; p < passes; p++) {
        uint32_t *h = hist + p * RADIX;
        int shift = lo + p * DIGIT;
        uint64_t *t;
        if (h[(a[0] >> shift) & (RADIX - 1)] == (uint32_t)n) continue;   /* nothing moves */
        offsets_from_counts(h);
        if (pa) {
            for (j = 0; j < n; j++) {
                uint32_t dst = h[(a[j] >> shift) & (RADIX - 1)]++;
                b[dst] = a[j];
                pb[dst] = pa[j];
            }
            { uint32_t *pt = pa; pa = pb; pb = pt; }
        } else {
            for (j = 0; j < n; j++) b[h[(a[j] >> shift) & (RADIX - 1)]++] = a[j];
        }
        t = a; a = b; b = t;
    }
    if (pay) *pay = pa;
    return a;
}

/* float32: one word per element, key << 32 | index (the index rides in the low half) */
static void radix_f32(const float *x, int64_t n, uint64_t *a, uint64_t *b, uint32_t *hist,
                      int64_t *out, int64_t base)
{
    int64_t j;
    for (j = 0; j < n; j++) a[j] = (uint64_t)key_f32(x[j]) << 32 | (uint64_t)j;
    count_digits(a, n, 32, 32 / DIGIT, hist);
    a = radix_passes(a, b, NULL, NULL, n, 32, 32 / DIGIT, hist);
    for (j = 0; j < n; j++) out[j] = base + (int64_t)(uint32_t)a[j];
}

/* float64: the keys, with the indices as a payload */
static void radix_f64(const double *x, int64_t n, uint64_t *ka, uint64_t *kb, uint32_t *ia,
                      uint32_t *ib, uint32_t *hist, int64_t *out, int64_t base)
{
    int64_t j;
    for (j = 0; j < n; j++) {
        ka[j] = key_f64(x[j]);
        ia[j] = (uint32_t)j;
    }
    count_digits(ka, n, 0, 64 / DIGIT, hist);
    radix_passes(ka, kb, &ia, ib, n, 0, 64 / DIGIT, hist);
    for (j = 0; j < n; j++) out[j] = base + (int64_t)ia[j];
}

/* ------------------------------------------------------------------ rows, one thread or many */
/* one thread's scratch: two key(+index) arrays of n and the digit counters */
typedef struct {
    uint64_t *k[2];
    uint32_t *i[2];
    uint32_t *hist;
} scratch;

static void scratch_free(scratch *s)
{
    free(s->k[0]); free(s->k[1]); free(s->i[0]); free(s->i[1]); free(s->hist);
    memset(s, 0, sizeof *s);
}

/* 0, or -1 with nothing held */
static int scratch_alloc(scratch *s, int64_t n, int with_index)
{
    size_t m = (size_t)(n > 0 ? n : 1);
    memset(s, 0, sizeof *s);
    s->k[0] = (uint64_t *)malloc(m * sizeof(uint64_t));
    s->k[1] = (uint64_t *)malloc(m * sizeof(uint64_t));
    s->hist = (uint32_t *)malloc(HIST_LEN * sizeof(uint32_t));
    if (with_index) {
        s->i[0] = (uint32_t *)malloc(m * sizeof(uint32_t));
        s->i[1] = (uint32_t *)malloc(m * sizeof(uint32_t));
    }
    if (!s->k[0] || !s->k[1] || !s->hist || (with_index && (!s->i[0] || !s->i[1]))) {
        scratch_free(s);
        return -1;
    }
    return 0;
}

static void sort_row(const void *x, int f64, int64_t r, int64_t n, int64_t *idx, int flat,
                     scratch *s)
{
    int64_t base = flat ? r * n : 0;
    /* the row pointer of x's own type only: a float row's offset taken as doubles could point
       past the end of the array (undefined even unread) */
    if (f64) {
        const double *xd = (const double *)x + r * n;
        if (n <= SMALL_N)
            insertion_f64(xd, n, s->k[0], s->i[0], idx + r * n, base);
        else
            radix_f64(xd, n, s->k[0], s->k[1], s->i[0], s->i[1], s->hist, idx + r * n, base);
    } else {
        const float *xf = (const float *)x + r * n;
        if (n <= SMALL_N)
            insertion_f32(xf, n, s->k[0], idx + r * n, base);
        else
            radix_f32(xf, n, s->k[0], s->k[1], s->hist, idx + r * n, base);
    }
}

static int argsort_rows(const void *x, int f64, int64_t rows, int64_t n, int64_t *idx, int flat,
                        int nthreads)
{
    scratch one;
    int64_t r;
    if (rows <= 0 || n <= 0) return 0;
#ifdef _OPENMP
    if (nthreads > rows) nthreads = (int)rows;
    if (nthreads > 1 && rows * n >= PAR_N) {
        /* each thread sorts a contiguous block of rows with its own scratch, all allocated here
           so that a failure is known before any work starts */
        scratch *per = (scratch *)calloc((size_t)nthreads, sizeof(scratch));
        int t, ok = per != NULL;
        for (t = 0; ok && t < nthreads; t++) ok = scratch_alloc(&per[t], n, f64) == 0;
        if (ok) {
#pragma omp parallel num_threads(nthreads)
            {
                int tid = omp_get_thread_num(), nt = omp_get_num_threads();
                int64_t q, q1 = rows * (tid + 1) / nt;
                for (q = rows * tid / nt; q < q1; q++) sort_row(x, f64, q, n, idx, flat, &per[tid]);
            }
        }
        for (t = 0; per && t < nthreads; t++) scratch_free(&per[t]);
        free(per);
        return ok ? 0 : -1;
    }
#else
    (void)nthreads;
#endif
    if (scratch_alloc(&one, n, f64)) return -1;
    for (r = 0; r < rows; r++) sort_row(x, f64, r, n, idx, flat, &one);
    scratch_free(&one);
    return 0;
}

int ag_argsort_rows_f32(const float *x, int64_t rows, int64_t n, int64_t *idx, int flat,
                        int nthreads)
{
    return argsort_rows(x, 0, rows, n, idx, flat, nthreads);
}

int ag_argsort_rows_f64(const double *x, int64_t rows, int64_t n, int64_t *idx, int flat,
                        int nthreads)
{
    return argsort_rows(x, 1, rows, n, idx, flat, nthreads);
}
