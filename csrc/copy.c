/* copy.c -- the strided copy dst (its shape) <- src (broadcast to it), with dtype conversion:
 * contiguous(), astype, broadcast copies, concatenate, setitem/fill and the slice scatter.
 *
 * The copy is exact and every destination element is written once, so the loop order is free:
 * a plan drops size-1 dims, turns negative destination strides positive (both operands walk
 * that dim backwards), sorts the dims by destination stride (writes go forward through memory)
 * and merges dims that are contiguous for both operands.  The two innermost dims then run in
 * one 2-D kernel call (no call per short row); a broadcast dim (source stride 0) over a
 * contiguous destination block is done by copying the block once and replicating its bytes.
 * A destination that overlaps itself (stride 0 over a dim > 1) keeps the plain row order, so
 * the last write wins as before.  Single-threaded: the copies are memory-bound.
 */
#include "ag_internal.h"

typedef struct {
    int nd, rep;               /* rep: dim replicated from its first block, or -1 */
    int sd, dd;                /* source / destination dtypes */
    int64_t sh[AG_MAXDIM];
    int64_t ds[AG_MAXDIM], ss[AG_MAXDIM];   /* byte strides */
} copy_plan;

/* geometry of one 2-D block: n0 rows of n1 elements */
typedef struct {
    int64_t n0, n1, ds0, ds1, ss0, ss1;
} block2d;

/* same dtype: elements moved as integers of their width (bit-exact, NaN payloads included) */
#define COPY2D_SAME(NAME, T, TB)                                                                 \
static void NAME(const block2d *b, char *d, const char *s)                                     \
{                                                                                              \
    const int64_t es = (int64_t)sizeof(T);                                                     \
    int64_t i, j;                                                                              \
    if (b->ds1 == es && b->ss1 == es) {                    /* contiguous rows */               \
        switch (b->n1) {                                                                       \
        case 2: for (j = 0; j < b->n0; j++) memcpy(d + j * b->ds0, s + j * b->ss0, 2 * es); return;\
        case 3: for (j = 0; j < b->n0; j++) memcpy(d + j * b->ds0, s + j * b->ss0, 3 * es); return;\
        case 4: for (j = 0; j < b->n0; j++) memcpy(d + j * b->ds0, s + j * b->ss0, 4 * es); return;\
        default:                                                                               \
            for (j = 0; j < b->n0; j++)                                                        \
                memcpy(d + j * b->ds0, s + j * b->ss0, (size_t)(b->n1 * es));                  \
            return;                                                                            \
        }                                                                                      \
    }                                                                                          \
    if (b->ds1 == es && b->ss1 == 0) {                     /* rows of one repeated value */    \
        for (j = 0; j < b->n0; j++) {                                                          \
            T v = *(const T *)(s + j * b->ss0), *o = (T *)(d + j * b->ds0);                    \
            for (i = 0; i < b->n1; i++) o[i] = v;                                              \
        }                                                                                      \
        return;                                                                                \
    }                                                                                          \
    if (b->ds1 == es && b->ss1 == -es) {                   /* reversed rows (flip) */          \
        for (j = 0; j < b->n0; j++) {                                                          \
            const T *a = (const T *)(s + j * b->ss0);                                          \
            T *o = (T *)(d + j * b->ds0);                                                      \
            for (i = 0; i < b->n1; i++) o[i] = a[-i];                                          \
        }                                                                                      \
        return;                                                                                \
    }                                                                                          \
    if (TB && b->ds1 == es && b->ss0 == es && b->n0 >= 2 * TB && b->n1 >= 2 * TB) {           \
        int64_t j0, i0;                    /* a transpose: TB x TB tiles, read along rows */   \
        for (j0 = 0; j0 < b->n0; j0 += TB)                                                     \
            for (i0 = 0; i0 < b->n1; i0 += TB) {                                               \
                int64_t j1 = j0 + TB < b->n0 ? j0 + TB : b->n0;                                \
                int64_t i1 = i0 + TB < b->n1 ? i0 + TB : b->n1;                                \
                for (i = i0; i < i1; i++) {                                                    \
                    const T *a = (const T *)(s + i * b->ss1);                                  \
                    for (j = j0; j < j1; j++) *(T *)(d + j * b->ds0 + i * es) = a[j];          \
                }                                                                              \
            }                                                                                  \
        return;                                                                                \
    }                                                                                          \
    for (j = 0; j < b->n0; j++) {                                                              \
        char *o = d + j * b->ds0;                                                              \
        const char *a = s + j * b->ss0;                                                        \
        for (i = 0; i < b->n1; i++) *(T *)(o + i * b->ds1) = *(const T *)(a + i * b->ss1);     \
    }                                                                                          \
}

/* transposes in 8 x 8 tiles: 4-byte ones 1.5x at 2000 x 2000, 4-7x at power-of-two sizes, whose
   column walk thrashes the cache sets; 8-byte ones (one thread, medians of 11): 1024 x 1024
   2816 -> 445 us, 2048 x 2048 20.2 -> 7.0 ms, 1500 x 1500 3.7-5.4 -> 1.4 ms, 1000 x 1000
   595 -> 486 us, 2000 x 2000 and 3000 x 3000 the same within the noise (an earlier
   measurement had them slower tiled at 2000 x 2000) */
COPY2D_SAME(copy2d_b32, uint32_t, 8)
COPY2D_SAME(copy2d_b64, uint64_t, 8)

/* dtype conversion (float -> double exact, double -> float rounded as a C cast) */
#define COPY2D_CONV(NAME, TD, TS)                                                              \
static void NAME(const block2d *b, char *d, const char *s)                                     \
{                                                                                              \
    int64_t i, j;                                                                              \
    for (j = 0; j < b->n0; j++) {                                                              \
        char *o = d + j * b->ds0;                                                              \
        const char *a = s + j * b->ss0;                                                        \
        if (b->ds1 == (int64_t)sizeof(TD) && b->ss1 == (int64_t)sizeof(TS))                    \
            for (i = 0; i < b->n1; i++) ((TD *)o)[i] = (TD)((const TS *)a)[i];                 \
        else                                                                                   \
            for (i = 0; i < b->n1; i++) *(TD *)(o + i * b->ds1) = (TD) * (const TS *)(a + i * b->ss1);\
    }                                                                                          \
}

COPY2D_CONV(copy2d_f64_f32, double, float)
COPY2D_CONV(copy2d_f32_f64, float, double)

static void copy2d(const copy_plan *p, const block2d *b, char *d, const char *s)
{
    if (p->sd == p->dd) (p->dd == AG_F32 ? copy2d_b32 : copy2d_b64)(b, d, s);
    else if (p->dd == AG_F64) copy2d_f64_f32(b, d, s);
    else copy2d_f32_f64(b, d, s);
}

/* d[0, count * nb) <- count copies of d[0, nb): doubling up to a cache-sized chunk, then the
   chunk again and again (its source stays in cache) */
static void replicate(char *d, size_t nb, int64_t count)
{
    size_t total = nb * (size_t)count, have = nb;
    while (have < total && have < 16384) {
        size_t c = have < total - have ? have : total - have;
        memcpy(d + have, d, c);
        have += c;
    }
    {
        size_t chunk = have;
        while (have < total) {
            size_t c = chunk < total - have ? chunk : total - have;
            memcpy(d + have, d, c);
            have += c;
        }
    }
}

/* copy dims lo..nd-1 of the plan at (d, s) */
static void copy_dims(const copy_plan *p, int lo, char *d, const char *s)
{
    int64_t idx[AG_MAXDIM];
    int stop, k;
    if (lo == p->rep) {
        copy_dims(p, lo + 1, d, s);
        replicate(d, (size_t)p->ds[lo], p->sh[lo]);
        return;
    }
    if (p->nd - lo <= 2) {
        block2d b = {1, 1, 0, 0, 0, 0};
        if (p->nd - lo == 2) {
            b.n0 = p->sh[lo]; b.ds0 = p->ds[lo]; b.ss0 = p->ss[lo];
            b.n1 = p->sh[lo + 1]; b.ds1 = p->ds[lo + 1]; b.ss1 = p->ss[lo + 1];
        } else if (p->nd - lo == 1) {
            b.n1 = p->sh[lo]; b.ds1 = p->ds[lo]; b.ss1 = p->ss[lo];
        }
        copy2d(p, &b, d, s);
        return;
    }
    /* odometer over dims lo..stop-1, each step copying dims stop.. */
    stop = p->rep > lo ? p->rep : p->nd - 2;
    for (k = lo; k < stop; k++) idx[k] = 0;
    for (;;) {
        copy_dims(p, stop, d, s);
        for (k = stop - 1; k >= lo; k--) {
            d += p->ds[k];
            s += p->ss[k];
            if (++idx[k] < p->sh[k]) break;
            d -= p->ds[k] * p->sh[k];
            s -= p->ss[k] * p->sh[k];
            idx[k] = 0;
        }
        if (k < lo) return;
    }
}

int ag_copy_raw(ag_tensor *dst, ag_tensor *src)
{
    copy_plan p;
    int64_t bs[AG_MAXDIM], de = (int64_t)ag_dtype_size(dst->dtype), block;
    char *d = ag_ptr(dst);
    const char *s = ag_ptr(src);
    int i, k, overlap = 0;
    ag_broadcast_strides(src, dst->ndim, dst->shape, bs);
    p.nd = 0;
    p.sd = src->dtype;
    p.dd = dst->dtype;
    for (i = 0; i < dst->ndim; i++) {
        if (dst->shape[i] == 0) return 0;
        overlap |= dst->shape[i] > 1 && dst->strides[i] == 0;
    }
    for (i = 0; i < dst->ndim; i++) {
        int64_t n = dst->shape[i], ds = dst->strides[i] * de, ss = bs[i];
        if (n == 1) continue;
        if (ds < 0 && !overlap) {  /* walk this dim backwards in both operands */
            d += (n - 1) * ds;
            s += (n - 1) * ss;
            ds = -ds;
            ss = -ss;
        }
        p.sh[p.nd] = n;
        p.ds[p.nd] = ds;
        p.ss[p.nd] = ss;
        p.nd++;
    }
    /* largest destination stride outermost (a stable insertion sort; none if dst overlaps) */
    for (i = 1; i < p.nd && !overlap; i++)
        for (k = i; k > 0 && p.ds[k - 1] < p.ds[k]; k--) {
            int64_t t;
            t = p.sh[k]; p.sh[k] = p.sh[k - 1]; p.sh[k - 1] = t;
            t = p.ds[k]; p.ds[k] = p.ds[k - 1]; p.ds[k - 1] = t;
            t = p.ss[k]; p.ss[k] = p.ss[k - 1]; p.ss[k - 1] = t;
        }
    /* merge an outer dim into the next inner one when both operands step evenly across them */
    for (i = p.nd - 2; i >= 0; i--)
        if (p.ds[i] == p.ds[i + 1] * p.sh[i + 1] && p.ss[i] == p.ss[i + 1] * p.sh[i + 1]) {
            p.sh[i] *= p.sh[i + 1];
            p.ds[i] = p.ds[i + 1];
            p.ss[i] = p.ss[i + 1];
            for (k = i + 1; k < p.nd - 1; k++) {
                p.sh[k] = p.sh[k + 1]; p.ds[k] = p.ds[k + 1]; p.ss[k] = p.ss[k + 1];
            }
            p.nd--;
        }
    /* the outermost broadcast dim over which the destination is one contiguous block, if its
       inner block is not already a single long row */
    p.rep = -1;
    block = de;
    for (i = p.nd - 1; i >= 0 && p.ds[i] == block; i--) {
        if (p.ss[i] == 0 && i < p.nd - 1) p.rep = i;
        block *= p.sh[i];
    }
    copy_dims(&p, 0, d, s);
    return 0;
}
