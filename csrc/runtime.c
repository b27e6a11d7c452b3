/* runtime.c -- one-time initialisation, threads and the ISA in use. */
#include "ag_internal.h"
#include "kernels/cpu.h"
#include "kernels/gemm.h"
#if !defined(_WIN32)
#include <pthread.h>
#endif

/* libgomp (GCC's OpenMP) cannot be used in a child of fork() once the parent has run a parallel
 * region: its thread pool is not re-created and the child's first parallel region hangs.  A
 * child created by fork() therefore runs the kernels on one thread (no OpenMP region at all). */
static int forked_child;
#if !defined(_WIN32)
static void on_fork_child(void)
{
    ag_pool_atfork_release();
    forked_child = 1;
    ag_set_num_threads(1);
}
#endif

void ag_init(void)
{
    static int done;
    ag_kernels_init();
    if (done) return;
    done = 1;
#if !defined(_WIN32)
    pthread_atfork(ag_pool_atfork_prepare, ag_pool_atfork_release, on_fork_child);
#endif
}
int ag_num_threads(void) { return ag_get_num_threads(); }
void ag_threads_set(int n) { ag_set_num_threads(forked_child ? 1 : n); }
const char *ag_isa_current_name(void) { return ag_isa_name(ag_isa_active()); }
const char *ag_isa_best_name(void) { return ag_isa_name(ag_isa_best()); }
