/* placeholder, replaced below */
#include "gemm_internal.h"
#if defined(AG_X86_64)
void ag_fill_table_avx2(ag_kernel_table *t) { ag_fill_table_generic(t); }
#endif
