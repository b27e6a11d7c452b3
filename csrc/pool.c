/* pool.c -- free lists of fixed-size blocks for the objects every op allocates (tensor structs,
 * tape nodes, small storages), and a bounded cache of large storage blocks (see below).
 * glibc's per-thread cache holds only 7 blocks per size, so a backward pass freeing a thousand
 * nodes in a row falls through to its slow path; a bounded free list keeps those blocks for the
 * next forward pass.  One global list per size class under a spin lock (uncontended in the
 * common one-thread case), so blocks never strand in exited threads.  Address-sanitizer builds
 * bypass the pools so every block is checked. */
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
static void spin_lock(volatile int *l) { while (_InterlockedExchange((volatile long *)l, 1)) {} }
static void spin_unlock(volatile int *l) { _InterlockedExchange((volatile long *)l, 0); }
#else
static void spin_lock(volatile int *l) { while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {} }
static void spin_unlock(volatile int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }
#endif
static void lock(ag_pool *p) { spin_lock(&p->lock); }
static void unlock(ag_pool *p) { spin_unlock(&p->lock); }

/* leaf .grad locks: threads whose separate graphs share a leaf accumulate into its .grad under
 * one of these (picked by the leaf's address), so no update is lost and no buffer leaks.  Taken
 * before any pool lock, never while one is held. */
#define LEAF_LOCKS 64
static volatile int leaf_locks[LEAF_LOCKS];
static volatile int *leaf_lock_for(const void *leaf)
{
    uintptr_t a = (uintptr_t)leaf;
    return &leaf_locks[(a >> 6 ^ a >> 12) & (LEAF_LOCKS - 1)];
}
void ag_leaf_lock(const void *leaf) { spin_lock(leaf_lock_for(leaf)); }
void ag_leaf_unlock(const void *leaf) { spin_unlock(leaf_lock_for(leaf)); }

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

/* ------------------------------------------------------------ large blocks
 * Storages of AG_BIG_MIN bytes and more come from malloc's mmap path or the top of its heap,
 * and glibc hands them back to the kernel on free until its adaptive thresholds have grown: a
 * training step or a reverse-mode Jacobian that frees and reallocates the same few 0.5-8 MiB
 * temporaries then faults every page in again on each call (measured in a fresh process: 460
 * minor faults per step of a 256x512 MSE loss, 620-760 us instead of 80; 3,400 faults per
 * reverse-mode (1000, 10) Jacobian, 7.1 ms instead of 0.16-0.27).
 * Freed large storage blocks therefore wait here, up to a byte limit (ag_cache_set_limit), for
 * the next storage of about the same size: a block is reused for a request of at least 4/5 of
 * its capacity.  The oldest blocks go first when the limit or the slot count is reached;
 * ag_cache_empty() returns them all to malloc.  Blocks above a quarter of the limit are never
 * kept, so one huge temporary cannot push out the working set. */
#define BIG_SLOTS 64

typedef struct { void *block; size_t cap; } big_entry;

static struct {
    big_entry e[BIG_SLOTS];     /* oldest first */
    int n;
    size_t bytes, limit;
    volatile int lock;
} big = {{{0, 0}}, 0, 0,
#ifndef AG_POOL_DISABLED
           AG_CACHE_DEFAULT_LIMIT,
#else
           0,   /* sanitizer builds keep nothing, so every freed block is checked */
#endif
           0};

/* drop the oldest entries until the cache holds at most max_bytes in at most max_n blocks;
   the dropped blocks are stored in out (freed by the caller, outside the lock) */
static int big_shrink(size_t max_bytes, int max_n, void **out)
{
    int k = 0, i;
    while (big.n > 0 && (big.bytes > max_bytes || big.n > max_n)) {
        out[k] = big.e[k].block;
        big.bytes -= big.e[k].cap;
        big.n--;
        k++;
    }
    for (i = 0; i < big.n; i++) big.e[i] = big.e[i + k];
    return k;
}

void *ag_cache_get(size_t cap, size_t *got)
{
#ifndef AG_POOL_DISABLED
    int i, best = -1;
    void *b = NULL;
    if (cap < AG_BIG_MIN) return NULL;
    spin_lock(&big.lock);
    for (i = 0; i < big.n; i++)     /* the smallest block that fits; ties: the newest */
        if (big.e[i].cap >= cap && big.e[i].cap - cap <= big.e[i].cap / 5 &&
            (best < 0 || big.e[i].cap <= big.e[best].cap))
            best = i;
    if (best >= 0) {
        b = big.e[best].block;
        *got = big.e[best].cap;
        big.bytes -= big.e[best].cap;
        for (i = best; i + 1 < big.n; i++) big.e[i] = big.e[i + 1];
        big.n--;
    }
    spin_unlock(&big.lock);
    return b;
#else
    (void)cap; (void)got;
    return NULL;
#endif
}

int ag_cache_put(void *block, size_t cap)
{
#ifndef AG_POOL_DISABLED
    void *drop[BIG_SLOTS];
    int k, i;
    if (cap < AG_BIG_MIN) return 0;
    spin_lock(&big.lock);
    if (cap > big.limit / 4) {
        spin_unlock(&big.lock);
        return 0;
    }
    k = big_shrink(big.limit - cap, BIG_SLOTS - 1, drop);
    big.e[big.n].block = block;
    big.e[big.n].cap = cap;
    big.n++;
    big.bytes += cap;
    spin_unlock(&big.lock);
    for (i = 0; i < k; i++) free(drop[i]);
    return 1;
#else
    (void)block; (void)cap;
    return 0;
#endif
}

static void cache_trim(size_t max_bytes)
{
    void *drop[BIG_SLOTS];
    int k, i;
    spin_lock(&big.lock);
    k = big_shrink(max_bytes, BIG_SLOTS, drop);
    spin_unlock(&big.lock);
    for (i = 0; i < k; i++) free(drop[i]);
}

void ag_cache_empty(void) { cache_trim(0); }

void ag_cache_set_limit(size_t nbytes)
{
#ifdef AG_POOL_DISABLED
    nbytes = 0;
#endif
    spin_lock(&big.lock);
    big.limit = nbytes;
    spin_unlock(&big.lock);
    cache_trim(nbytes);
}

static size_t locked_read(const size_t *field)
{
    size_t v;
    spin_lock(&big.lock);
    v = *field;
    spin_unlock(&big.lock);
    return v;
}

size_t ag_cache_limit(void) { return locked_read(&big.limit); }
size_t ag_cache_bytes(void) { return locked_read(&big.bytes); }

/* fork(): a child has only the forking thread, so a lock held by another thread at that moment
   would never be released there.  The prepare handler takes every lock (waiting for holders to
   finish), and both sides release them after the fork. */
void ag_pool_atfork_prepare(void)
{
    int i;
    for (i = 0; i < LEAF_LOCKS; i++) spin_lock(&leaf_locks[i]);
    for (i = 0; i < AG_POOL_COUNT; i++) lock(&pools[i]);
    spin_lock(&big.lock);
}

void ag_pool_atfork_release(void)
{
    int i;
    spin_unlock(&big.lock);
    for (i = AG_POOL_COUNT - 1; i >= 0; i--) unlock(&pools[i]);
    for (i = LEAF_LOCKS - 1; i >= 0; i--) spin_unlock(&leaf_locks[i]);
}
