/* sort.h -- stable argsort of contiguous float32 / float64 rows (an LSD radix sort on the IEEE
 * bits mapped to order-preserving unsigned keys, carrying the element's index).
 *
 * The order is numpy's stable argsort: ascending, -0.0 and +0.0 equal, every NaN (any sign or
 * payload) after +inf, equal elements (NaNs included) in input order.
 */
#ifndef AG_SORT_H
#define AG_SORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Row r is x[r*n .. r*n + n); its sorted order goes to idx[r*n .. r*n + n): the indices within
 * the row, plus r*n when flat != 0 (flat C-order indices into x).  n < 2^32.  Rows are shared
 * out among up to nthreads threads (each row sorted by one thread, so a single row uses one);
 * the result does not depend on nthreads.  Returns 0, or -1 when scratch memory could not be
 * allocated (nothing else fails). */
int ag_argsort_rows_f32(const float *x, int64_t rows, int64_t n, int64_t *idx, int flat,
                        int nthreads);
int ag_argsort_rows_f64(const double *x, int64_t rows, int64_t n, int64_t *idx, int flat,
                        int nthreads);

#ifdef __cplusplus
}
#endif
#endif
