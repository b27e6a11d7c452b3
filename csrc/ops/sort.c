/* sort.c -- sorting along the last axis, in numpy's stable order (kernels/sort.h).
 *
 * ag_argsort returns the order and records nothing: a permutation has no derivative.  ag_sort
 * records the sorted values as a gather (the take primitive) at the sorted positions, so the
 * gradient of each output element goes back to the input element that landed there, in every
 * mode, with no rule of its own.
 */
#include "../ag_internal.h"
#include "../kernels/sort.h"

/* rows x n, the shape the kernel sees, or -1 (error set) for a tensor it cannot sort */
static int sort_rows(const ag_tensor *x, const char *name, int64_t *rows, int64_t *n)
{
    if (x->ndim == 0) {
        ag_set_error(AG_EVALUE, "%s: a 0-d tensor has no axis to sort along", name);
        return -1;
    }
    if (x->dtype != AG_F32 && x->dtype != AG_F64) {
        ag_set_error(AG_ETYPE, "%s: only float32 and float64 tensors can be sorted, got %s", name,
                     ag_dtype_name(x->dtype));
        return -1;
    }
    *n = x->shape[x->ndim - 1];
    if (*n > (int64_t)UINT32_MAX) {
        ag_set_error(AG_EVALUE, "%s: the sorted axis has %lld elements, more than the %lld "
                     "supported", name, (long long)*n, (long long)UINT32_MAX);
        return -1;
    }
    *rows = *n ? x->size / *n : 0;
    return 0;
}

/* idx <- the stable order of each row of x (within the row, or flat indices when flat != 0) */
static int argsort_into(ag_tensor *x, const char *name, int64_t *idx, int flat)
{
    int64_t rows, n;
    ag_tensor *xc;
    int rc;
    if (sort_rows(x, name, &rows, &n)) return -1;
    if (ag_tensor_is_contiguous(x)) {
        ag_tensor_incref(x);
        xc = x;
    } else {
        xc = ag_tensor_contiguous_copy(x);
        if (!xc) return -1;
    }
    if (x->dtype == AG_F32)
        rc = ag_argsort_rows_f32((const float *)ag_ptr(xc), rows, n, idx, flat, ag_num_threads());
    else
        rc = ag_argsort_rows_f64((const double *)ag_ptr(xc), rows, n, idx, flat, ag_num_threads());
    ag_tensor_decref(xc);
    if (rc) {
        ag_set_error(AG_ENOMEM, "%s: out of memory for the scratch of a sort of %lld elements",
                     name, (long long)x->size);
        return -1;
    }
    return 0;
}

int ag_argsort(ag_tensor *x, int64_t *order)
{
    return argsort_into(x, "argsort", order, 0);
}

ag_tensor *ag_sort(ag_tensor *x)
{
    int64_t rows, n;
    ag_ibuf *buf;
    if (sort_rows(x, "sort", &rows, &n)) return NULL;     /* before allocating */
    buf = ag_ibuf_new(x->size);
    if (!buf) return NULL;
    if (argsort_into(x, "sort", buf->data, 1)) {
        ag_ibuf_decref(buf);
        return NULL;
    }
    return ag_take_ibuf(x, buf, x->ndim, x->shape);
}
