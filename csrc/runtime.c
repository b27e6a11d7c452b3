/* runtime.c -- one-time initialisation, threads and the ISA in use. */
#include "ag_internal.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"

void ag_init(void) { ag_kernels_init(); }
int ag_num_threads(void) { return ag_get_num_threads(); }
void ag_threads_set(int n) { ag_set_num_threads(n); }
const char *ag_isa_current_name(void) { return ag_isa_name(ag_isa_active()); }
const char *ag_isa_best_name(void) { return ag_isa_name(ag_isa_best()); }
