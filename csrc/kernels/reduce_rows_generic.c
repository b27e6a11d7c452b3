/* reduce_rows_generic.c -- the reduce_rows.h kernels with the baseline flags, and the choice of
 * table by the ISA cpu.c has active. */
#include "cpu.h"
#include "reduce_rows.h"

AG_REDUCE_ROWS_TABLE(generic)

const ag_reduce_rows_table *ag_reduce_rows_active(void)
{
#if defined(__x86_64__) || defined(_M_X64)
    switch (ag_isa_active()) {
    case AG_ISA_AVX512: return &ag_reduce_rows_avx512;
    case AG_ISA_AVX2: return &ag_reduce_rows_avx2;
    default: break;
    }
#endif
    return &ag_reduce_rows_generic;
}
