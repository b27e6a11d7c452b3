/* reduce_rows.h -- sum / prod / max / min of x viewed as (K0, R, K1) with the middle R reduced,
 * x's element strides (s0, sR, 1): a leading or middle axis is reduced by walking its rows and
 * accumulating into a row-length block of accumulators (a contiguous inner loop the compiler
 * vectorises), a trailing one as contiguous runs (sR == 1) or stepped ones.  The same C is
 * compiled once per ISA (reduce_rows_generic.c, _avx2.c, _avx512.c: AG_REDUCE_ROWS_TABLE) and
 * picked by ag_reduce_rows_active(); every ISA does the same operations in the same order (adds
 * and multiplies only, nothing to contract into an FMA), so the bits do not depend on it.
 *
 * Each output element is accumulated from the identity over r = 0..R-1 in order with the steps
 * below: float32 sums and products in a float64 accumulator rounded once.  A contiguous run
 * summed into one output goes through 8 interleaved partial sums combined in a fixed order (the
 * compiler vectorises it; a single running sum is a chain of dependent adds).  Two rows (a tile
 * or repeat by 2 transposed) go in one pass without accumulators, float32 ones in float32: id + a
 * is exact, and one float64 add or multiply of two float32 values rounded to float32 is the
 * float32 operation's correctly rounded result (double rounding is innocuous when
 * 53 >= 2 * 24 + 2, Figueroa 1995), so the bits are the same and the conversions are saved. */
#ifndef AG_REDUCE_ROWS_H
#define AG_REDUCE_ROWS_H

#include <stdint.h>

/* the steps, in order: p[0] the accumulator, x the next value; max / min keep the first NaN
   and, among equal values (signed zeros), the first */
#define NOT_NAN(v) ((v) == (v))
#define STEP_sum(acc, x) acc += x
#define STEP_prod(acc, x) acc *= x
#define STEP_max(acc, x) if (NOT_NAN(acc) && (x > acc || !NOT_NAN(x))) acc = x
#define STEP_min(acc, x) if (NOT_NAN(acc) && (x < acc || !NOT_NAN(x))) acc = x
/* the same steps as a value (a select without short-circuits, which the compiler can vectorise
   where a conditional store it cannot) */
#define SEL_sum(a, v) ((a) + (v))
#define SEL_prod(a, v) ((a) * (v))
#define SEL_max(a, v) ((NOT_NAN(a) & (((v) > (a)) | !NOT_NAN(v))) ? (v) : (a))
#define SEL_min(a, v) ((NOT_NAN(a) & (((v) < (a)) | !NOT_NAN(v))) ? (v) : (a))
#define PARTIAL_sum 1
#define PARTIAL_prod 0
#define PARTIAL_max 0
#define PARTIAL_min 0
/* acc += the sum of x[i..n) taken 8 at a time in 8 partial sums of type AT, combined in a fixed
   order; i is left at the tail (fewer than 8) */
#define AG_RR_PARTIAL_SUMS(AT, acc, x, i, n)                                             \
    do {                                                                                 \
        AT part_[8] = {0};                                                               \
        int k_;                                                                          \
        for (; (i) + 8 <= (n); (i) += 8)                                                 \
            for (k_ = 0; k_ < 8; k_++) part_[k_] += (AT)(x)[(i) + k_];                   \
        acc += ((part_[0] + part_[1]) + (part_[2] + part_[3])) +                         \
               ((part_[4] + part_[5]) + (part_[6] + part_[7]));                          \
    } while (0)

/* x (K0, R, K1) with element strides (s0, sR, 1) -> o (K0, K1) contiguous; id: the identity;
   ordered: runs are summed in order, without the partial sums */
typedef void (*ag_rows_f32_fn)(const float *x, float *o, int64_t K0, int64_t s0, int64_t R,
                               int64_t sR, int64_t K1, double id, int ordered);
typedef void (*ag_rows_f64_fn)(const double *x, double *o, int64_t K0, int64_t s0, int64_t R,
                               int64_t sR, int64_t K1, double id, int ordered);
/* indexed by AG_ROWS_SUM.. */
enum { AG_ROWS_SUM = 0, AG_ROWS_PROD = 1, AG_ROWS_MAX = 2, AG_ROWS_MIN = 3 };
typedef struct { ag_rows_f32_fn f32[4]; ag_rows_f64_fn f64[4]; } ag_reduce_rows_table;

extern const ag_reduce_rows_table ag_reduce_rows_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const ag_reduce_rows_table ag_reduce_rows_avx2;
extern const ag_reduce_rows_table ag_reduce_rows_avx512;
#endif
/* the table of the ISA cpu.c has active */
const ag_reduce_rows_table *ag_reduce_rows_active(void);

/* ------------------------------------------------------------------ the kernels (templates)
 * RB accumulators at a time stay in L1 while each row of x streams past, two rows per pass (the
 * same steps in the same order, half the accumulator traffic).  max / min keep the larger
 * (smaller) value with a plain compare, which skips NaNs and is one vector instruction, and note
 * apart whether a NaN went by (an int32 mask for float32; for float64 the NaN itself); a block's
 * outputs that saw one become the first NaN of their run, as STEP_max / STEP_min give (found
 * again: rare). */
#define AG_RR_RB 1024
#define AG_RR_NANS_sum 0
#define AG_RR_NANS_prod 0
#define AG_RR_NANS_max 1
#define AG_RR_NANS_min 1
#define AG_RR_STEPV_sum(a, v) SEL_sum(a, v)
#define AG_RR_STEPV_prod(a, v) SEL_prod(a, v)
#define AG_RR_STEPV_max(a, v) ((v) > (a) ? (v) : (a))
#define AG_RR_STEPV_min(a, v) ((v) < (a) ? (v) : (a))
#define AG_RR_FT_f32 int32_t
#define AG_RR_FT_f64 double
#define AG_RR_NANFLAG_f32(f, v) f |= -(int32_t)((v) != (v))
#define AG_RR_NANFLAG_f64(f, v) f = (v) != (v) ? (v) : f
/* max / min of a contiguous run: nl (LANES; a count the compiler does not see, so that it
   vectorises the loop rather than unrolling it) interleaved extremes and NaN notes, then
   combined; where a NaN went by, or the extreme is a zero (whose sign the first of the tied
   zeros decides, which the lanes do not keep), the run is stepped again in order */
#define AG_RR_LANES 32
#define AG_RR_GEN_LANES(name, T, sfx)                                                    \
    static T lanes_##name##_##sfx(const T *x, int64_t R, T id, int64_t nl)               \
    {                                                                                    \
        T m[AG_RR_LANES], a = id;                                                        \
        AG_RR_FT_##sfx f[AG_RR_LANES];                                                   \
        int64_t r, l;                                                                    \
        int nan = 0;                                                                     \
        for (l = 0; l < nl; l++) { m[l] = id; f[l] = 0; }                                \
        for (r = 0; r + nl <= R; r += nl) {                                              \
            const T *restrict xr = x + r;                                                \
            for (l = 0; l < nl; l++) {                                                   \
                T v = xr[l];                                                             \
                m[l] = AG_RR_STEPV_##name(m[l], v);                                      \
                AG_RR_NANFLAG_##sfx(f[l], v);                                            \
            }                                                                            \
        }                                                                                \
        for (l = 0; l < nl; l++) { a = AG_RR_STEPV_##name(a, m[l]); nan |= f[l] != 0; }  \
        for (; r < R; r++) { T v = x[r]; a = AG_RR_STEPV_##name(a, v); nan |= v != v; }  \
        if (nan || a == 0) {                                                             \
            a = id;                                                                      \
            for (r = 0; r < R; r++) { T v = x[r]; STEP_##name(a, v); }                   \
        }                                                                                \
        return a;                                                                        \
    }
/* (never called: sums and products take the other branches) */
#define lanes_sum_f32(x, R, id, nl) (id)
#define lanes_sum_f64(x, R, id, nl) (id)
#define lanes_prod_f32(x, R, id, nl) (id)
#define lanes_prod_f64(x, R, id, nl) (id)

/* one output from a run of R with stride sR */
#define AG_RR_GEN_RUN(name, T, AT, sfx)                                                  \
    static T run_##name##_##sfx(const T *x, int64_t R, int64_t sR, AT id, int ordered)   \
    {                                                                                    \
        AT a = id;                                                                       \
        int64_t r = 0;                                                                   \
        if (R == 2) {                      /* a pair, in T (see above) */                \
            T v0 = x[0], v1 = x[sR], b = SEL_##name((T)id, v0);                          \
            return SEL_##name(b, v1);                                                    \
        }                                                                                \
        if (sR == 1 && AG_RR_NANS_##name && R >= 4 * AG_RR_LANES)                        \
            return (T)lanes_##name##_##sfx(x, R, (T)id, AG_RR_LANES);                    \
        if (sR == 1 && PARTIAL_##name && !ordered && R >= 16)                            \
            AG_RR_PARTIAL_SUMS(AT, a, x, r, R);                                          \
        for (; r < R; r++) {                                                             \
            AT v = x[r * sR];                                                            \
            STEP_##name(a, v);                                                           \
        }                                                                                \
        return (T)a;                                                                     \
    }

/* four contiguous runs summed at once, each exactly as run_sum (the same partial sums, combined
   and stepped in the same order): four independent chains of adds instead of one */
#define AG_RR_GEN_SUMS4(T, sfx)                                                          \
    static void sums4_##sfx(const T *x, int64_t s0, int64_t R, double id, T *o)          \
    {                                                                                    \
        double part[4][8] = {{0}}, a;                                                    \
        int64_t r, q, k;                                                                 \
        for (r = 0; r + 8 <= R; r += 8)                                                  \
            for (q = 0; q < 4; q++)                                                      \
                for (k = 0; k < 8; k++) part[q][k] += (double)x[q * s0 + r + k];         \
        for (q = 0; q < 4; q++) {                                                        \
            const double *p_ = part[q];                                                  \
            int64_t t;                                                                   \
            a = id;                                                                      \
            a += ((p_[0] + p_[1]) + (p_[2] + p_[3])) + ((p_[4] + p_[5]) + (p_[6] + p_[7])); \
            for (t = r; t < R; t++) a += (double)x[q * s0 + t];                          \
            o[q] = (T)a;                                                                 \
        }                                                                                \
    }

#define AG_RR_GEN_BLK(name, T, AT, sfx)                                                  \
    AG_RR_GEN_RUN(name, T, AT, sfx)                                                      \
    static void rows_##name##_##sfx(const T *x, T *o, int64_t K0, int64_t s0, int64_t R, \
                                    int64_t sR, int64_t K1, double idd, int ordered)     \
    {                                                                                    \
        AT acc[AG_RR_RB], id = (AT)idd;                                                  \
        AG_RR_FT_##sfx nan[AG_RR_RB];                                                    \
        int64_t k, j0, j, r;                                                             \
        k = 0;                                                                           \
        if (K1 == 1) {                                                                   \
            if (sR == 1 && PARTIAL_##name && !ordered && R >= 16)                        \
                for (; k + 4 <= K0; k += 4) sums4_##sfx(x + k * s0, s0, R, id, o + k);   \
            for (; k < K0; k++)                                                          \
                o[k] = run_##name##_##sfx(x + k * s0, R, sR, id, ordered);               \
            return;                                                                      \
        }                                                                                \
        for (k = 0; k < K0; k++, x += s0, o += K1) {                                     \
            if (R == 2) {                  /* two rows: one pass, in T (see above) */   \
                const T *restrict x0 = x, *restrict x1 = x + sR;                         \
                T *restrict oo = o;                                                      \
                for (j = 0; j < K1; j++) {                                               \
                    T v0 = x0[j], v1 = x1[j], a = SEL_##name((T)id, v0);                 \
                    oo[j] = SEL_##name(a, v1);                                           \
                }                                                                        \
                continue;                                                                \
            }                                                                            \
            for (j0 = 0; j0 < K1; j0 += AG_RR_RB) {                                      \
                int64_t nb = K1 - j0 < AG_RR_RB ? K1 - j0 : AG_RR_RB;                    \
                for (j = 0; j < nb; j++) { acc[j] = id; nan[j] = 0; }                    \
                for (r = 0; r + 2 <= R; r += 2) {                                        \
                    const T *restrict x0 = x + r * sR + j0, *restrict x1 = x0 + sR;      \
                    for (j = 0; j < nb; j++) {                                           \
                        AT v0 = x0[j], v1 = x1[j], a = AG_RR_STEPV_##name(acc[j], v0);   \
                        acc[j] = AG_RR_STEPV_##name(a, v1);                              \
                        if (AG_RR_NANS_##name) {                                         \
                            AG_RR_NANFLAG_##sfx(nan[j], v0);                             \
                            AG_RR_NANFLAG_##sfx(nan[j], v1);                             \
                        }                                                                \
                    }                                                                    \
                }                                                                        \
                for (; r < R; r++) {                                                     \
                    const T *restrict xr = x + r * sR + j0;                              \
                    for (j = 0; j < nb; j++) {                                           \
                        AT v = xr[j];                                                    \
                        acc[j] = AG_RR_STEPV_##name(acc[j], v);                          \
                        if (AG_RR_NANS_##name) AG_RR_NANFLAG_##sfx(nan[j], v);           \
                    }                                                                    \
                }                                                                        \
                for (j = 0; j < nb; j++) o[j0 + j] = (T)acc[j];                          \
                for (j = 0; AG_RR_NANS_##name && j < nb; j++)                            \
                    if (nan[j] != 0)                                                     \
                        for (r = 0; r < R; r++) {                                        \
                            T v = x[r * sR + j0 + j];                                    \
                            if (v != v) { o[j0 + j] = v; break; }                        \
                        }                                                                \
            }                                                                            \
        }                                                                                \
    }

/* the kernels and their table, compiled with the including file's flags */
#define AG_REDUCE_ROWS_TABLE(isa)                                                        \
    AG_RR_GEN_LANES(max, float, f32)                                                     \
    AG_RR_GEN_LANES(max, double, f64)                                                    \
    AG_RR_GEN_LANES(min, float, f32)                                                     \
    AG_RR_GEN_LANES(min, double, f64)                                                    \
    AG_RR_GEN_SUMS4(float, f32)                                                          \
    AG_RR_GEN_SUMS4(double, f64)                                                         \
    AG_RR_GEN_BLK(sum, float, double, f32)                                               \
    AG_RR_GEN_BLK(sum, double, double, f64)                                              \
    AG_RR_GEN_BLK(prod, float, double, f32)                                              \
    AG_RR_GEN_BLK(prod, double, double, f64)                                             \
    AG_RR_GEN_BLK(max, float, float, f32)                                                \
    AG_RR_GEN_BLK(max, double, double, f64)                                              \
    AG_RR_GEN_BLK(min, float, float, f32)                                                \
    AG_RR_GEN_BLK(min, double, double, f64)                                              \
    const ag_reduce_rows_table ag_reduce_rows_##isa = {                                  \
        {rows_sum_f32, rows_prod_f32, rows_max_f32, rows_min_f32},                       \
        {rows_sum_f64, rows_prod_f64, rows_max_f64, rows_min_f64}};

#endif /* AG_REDUCE_ROWS_H */
