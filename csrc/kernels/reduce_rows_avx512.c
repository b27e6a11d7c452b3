/* reduce_rows_avx512.c -- the reduce_rows.h kernels compiled for AVX512 (setup.py's flags for
 * *_avx512.c); only reached through ag_reduce_rows_active() after cpu.c has checked the CPU. */
#include "reduce_rows.h"

#if defined(__x86_64__) || defined(_M_X64)
AG_REDUCE_ROWS_TABLE(avx512)
#endif
