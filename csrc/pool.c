/* pool.c -- free lists of fixed-size blocks for the objects every op allocates (tensor structs,
 * tape nodes, small storages).  glibc's per-thread cache holds only 7 blocks per size, so a
 * backward pass freeing a thousand nodes in a row falls through to its slow path; a bounded
 * free list keeps those blocks for the next forward pass.  One global list per size class under
 * a spin lock (uncontended in the common one-thread case), so blocks never strand in exited
 * threads.  Address-sanitizer builds bypass the pools so every block is checked. */
#include "ag_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define AG_POOL_DISABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AG_POOL_DISABLED 1
#endif
#endif

#define POOL_MAX 4096

typedef struct pool_block { struct pool_block *next; } pool_block;

typedef struct {
    pool_block *head;
    int n;
    volatile int lock;
} ag_pool;

static ag_pool pools[AG_POOL_COUNT];
static const size_t pool_sizes[AG_POOL_COUNT] = {
    sizeof(ag_tensor),
    AG_POOL_NODE_BYTES,
    AG_POOL_STORAGE_BYTES,
};

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void lock(ag_pool *p) { while (_InterlockedExchange((volatile long *)&p->lock, 1)) {} }
static void unlock(ag_pool *p) { _InterlockedExchange((volatile long *)&p->lock, 0); }
#else
static void lock(ag_pool *p) { while (__atomic_exchange_n(&p->lock, 1, __ATOMIC_ACQUIRE)) {} }
static void unlock(ag_pool *p) { __atomic_store_n(&p->lock, 0, __ATOMIC_RELEASE); }
#endif

void *ag_pool_get(int cls)
{
#ifndef AG_POOL_DISABLED
    ag_pool *p = &pools[cls];
    pool_block *b;
    lock(p);
    b = p->head;
    if (b) {
        p->head = b->next;
        p->n--;
    }
    unlock(p);
    if (b) return b;
#endif
    return ag_malloc(pool_sizes[cls]);
}

void ag_pool_put(int cls, void *block)
{
#ifndef AG_POOL_DISABLED
    ag_pool *p = &pools[cls];
    lock(p);
    if (p->n < POOL_MAX) {
        pool_block *b = (pool_block *)block;
        b->next = p->head;
        p->head = b;
        p->n++;
        unlock(p);
        return;
    }
    unlock(p);
#endif
    free(block);
}
