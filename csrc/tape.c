/* tape.c -- the op table, recording (ag_apply), and the backward sweep.
 *
 * Every primitive goes through ag_apply: it runs the op's forward kernel, records a node when
 * grad mode is on and an input requires grad, and pushes tangents through the op's JVP rule when
 * an input carries one.  Nodes get a global, increasing sequence number at creation, so sorting
 * the nodes reachable from a root by decreasing sequence number is a topological order: the
 * sweep is a loop, with no recursion, however long the chain.
 */
#include "ag_internal.h"
#include <stdio.h>

const ag_opdef ag_op_table[AG_NUM_OPS] = {
#define AG_OP(name, nin, flags) {#name, nin, flags, &ag_rules_##name},
#include "ops/ops.def"
#undef AG_OP
};

const char *ag_op_name(int op) { return (op >= 0 && op < AG_NUM_OPS) ? ag_op_table[op].name : "?"; }
int ag_op_nin(int op) { return ag_op_table[op].nin; }
int ag_op_flags(int op) { return ag_op_table[op].flags; }
const char *ag_node_name(const ag_node *n) { return n ? ag_op_table[n->op].name : "leaf"; }

/* ------------------------------------------------------------------ modes */
static AG_TLS int grad_on = 1;
static AG_TLS int fwd_on = 1;
int ag_grad_enabled(void) { return grad_on; }
int ag_set_grad_enabled(int on) { int prev = grad_on; grad_on = on ? 1 : 0; return prev; }
int ag_fwd_enabled(void) { return fwd_on; }
int ag_set_fwd_enabled(int on) { int prev = fwd_on; fwd_on = on ? 1 : 0; return prev; }

static AG_TLS int64_t fwd_session = 0;
static int64_t fwd_sessions_made = 0;
int ag_fwd_session_begin(void)
{
    if (fwd_session) return 0;
    fwd_session = AG_ATOMIC_INC(&fwd_sessions_made);
    return 1;
}
void ag_fwd_session_end(void) { fwd_session = 0; }
int64_t ag_fwd_session(void) { return fwd_session; }
ag_tensor *ag_tangent_of(const ag_tensor *t)
{
    return (t->tangent && t->tangent_session == fwd_session) ? t->tangent : NULL;
}

static ag_hook_fn hook_fn;
static void *hook_ctx;
void ag_set_hook_callback(ag_hook_fn fn, void *ctx) { hook_fn = fn; hook_ctx = ctx; }
static ag_hook_release_fn hook_release_fn;
void ag_set_hook_release(ag_hook_release_fn fn) { hook_release_fn = fn; }
void ag_hook_release(int64_t id) { if (hook_release_fn && id > 0) hook_release_fn(id); }

/* ------------------------------------------------------------------ params */
void ag_params_init(ag_params *p) { memset(p, 0, sizeof *p); }

void ag_params_copy(ag_params *dst, const ag_params *src)
{
    *dst = *src;
    if (dst->ibuf) AG_ATOMIC_INC(&dst->ibuf->refcount);
}

void ag_params_clear(ag_params *p)
{
    if (p->ibuf) ag_ibuf_decref(p->ibuf);
    p->ibuf = NULL;
}

ag_ibuf *ag_ibuf_new(int64_t n)
{
    ag_ibuf *b = (ag_ibuf *)ag_malloc(sizeof(ag_ibuf) + (size_t)n * sizeof(int64_t));
    if (!b) return NULL;
    b->refcount = 1;
    b->n = n;
    return b;
}

void ag_ibuf_decref(ag_ibuf *b)
{
    if (b && AG_ATOMIC_DEC(&b->refcount) == 0) free(b);
}

/* ------------------------------------------------------------------ nodes */
static int64_t node_seq, live_nodes, sweep_epoch;
int64_t ag_live_nodes(void) { return AG_ATOMIC_LOAD(&live_nodes); }

void ag_node_incref(ag_node *n) { AG_ATOMIC_INC(&n->refcount); }

static void node_release(ag_node *n)
{
    int i;
    for (i = 0; i < n->nin; i++) {
        ag_tensor_decref(n->in[i]);
        n->in[i] = NULL;
    }
    ag_tensor_decref(n->out);
    n->out = NULL;
    ag_params_clear(&n->p);
    n->released = 1;
}

void ag_node_decref(ag_node *n)
{
    /* iterative: freeing a node may free its inputs' nodes; a long chain must not recurse */
    ag_node *stack_small[64], **stack = stack_small;
    int64_t top = 0, cap = 64;
    if (!n) return;
    stack[top++] = n;
    while (top > 0) {
        ag_node *m = stack[--top];
        int i;
        if (AG_ATOMIC_DEC(&m->refcount) != 0) continue;
        for (i = 0; i < m->nin; i++) {
            ag_tensor *t = m->in[i];
            if (!t) continue;
            m->in[i] = NULL;
            /* drop t by hand so that its grad_fn joins the stack instead of recursing */
            if (AG_ATOMIC_DEC(&t->refcount) == 0) {
                ag_node *f = t->grad_fn;
                if (f && f->retain == t) f->retain = NULL;
                t->grad_fn = NULL;
                ag_tensor_incref(t);
                ag_tensor_decref(t); /* frees storage, grad, tangent; grad_fn already detached */
                if (f) {
                    if (top == cap) {
                        ag_node **ns = (ag_node **)malloc(sizeof(ag_node *) * (size_t)cap * 2);
                        if (!ns) { ag_node_decref(f); continue; } /* rare: fall back to recursion */
                        memcpy(ns, stack, sizeof(ag_node *) * (size_t)top);
                        if (stack != stack_small) free(stack);
                        stack = ns;
                        cap *= 2;
                    }
                    stack[top++] = f;
                }
            }
        }
        ag_tensor_decref(m->out);
        ag_tensor_decref(m->gradbuf);
        if (m->out_hook) ag_hook_release(m->out_hook_id);
        ag_params_clear(&m->p);
        if (m->nin <= AG_POOL_NODE_NIN) ag_pool_put(AG_POOL_NODE, m);
        else free(m);
        AG_ATOMIC_DEC(&live_nodes);
    }
    if (stack != stack_small) free(stack);
}

static ag_node *node_new(int op, ag_tensor **in, int nin, const ag_params *p, ag_tensor *out)
{
    size_t sz = sizeof(ag_node) + (size_t)nin * (sizeof(ag_tensor *) + sizeof(int64_t) + 1);
    ag_node *n = (ag_node *)(nin <= AG_POOL_NODE_NIN ? ag_pool_get(AG_POOL_NODE) : ag_malloc(sz));
    int i;
    unsigned saves = ag_op_table[op].r->saves;
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    AG_ATOMIC_INC(&live_nodes); /* before any failure: ag_node_decref counts it down */
    n->refcount = 1;
    n->seq = AG_ATOMIC_INC(&node_seq);
    n->op = op;
    n->nin = nin;
    n->in = (ag_tensor **)(n + 1);
    n->ver = (int64_t *)(n->in + nin);
    n->needs = (char *)(n->ver + nin);
    if (p) ag_params_copy(&n->p, p);
    for (i = 0; i < nin; i++) {
        n->in[i] = in[i];
        ag_tensor_incref(in[i]);
        n->ver[i] = in[i]->storage->version;
        n->needs[i] = (char)(in[i]->requires_grad != 0);
    }
    if (saves & AG_SAVES_OUT) {
        n->out = ag_tensor_alias(out);
        if (!n->out) { ag_node_decref(n); return NULL; }
        n->out_version = out->storage->version;
    }
    n->out_ndim = out->ndim;
    memcpy(n->out_shape, out->shape, sizeof(int64_t) * AG_MAXDIM);
    return n;
}

/* ------------------------------------------------------------------ apply */
static ag_tensor *compute_tangent(int op, ag_tensor **in, int nin, ag_tensor *out, const ag_params *p)
{
    ag_tensor *tin_small[4], **tin = tin_small, *t = NULL, *first = NULL;
    int i, lead = -1, any = 0, pg, pf;
    if (nin > 4) {
        tin = (ag_tensor **)ag_malloc(sizeof(ag_tensor *) * (size_t)nin);
        if (!tin) return NULL;
    }
    for (i = 0; i < nin; i++) {
        ag_tensor *ti = ag_tangent_of(in[i]);
        tin[i] = ti;
        if (!ti) continue;
        any = 1;
        if (!first) {
            first = ti;
            lead = ti->ndim - in[i]->ndim;
        } else if (lead != ti->ndim - in[i]->ndim || (lead && ti->shape[0] != first->shape[0])) {
            /* tangents carrying different batches of directions cannot meet in one op */
            ag_set_error(AG_EVALUE, "%s: the inputs' tangents have different batch sizes", ag_op_name(op));
            if (tin != tin_small) free(tin);
            ag_tensor_decref(out);
            return NULL;
        }
    }
    if (!any) { if (tin != tin_small) free(tin); return out; }
    pg = ag_set_grad_enabled(0);
    pf = ag_set_fwd_enabled(0);
    t = ag_op_table[op].r->jvp(op, in, nin, out, tin, p);
    if (t) {
        int ok = 1;
        int64_t want[AG_MAXDIM + 1];
        int wn = lead + out->ndim;
        if (wn > AG_MAXDIM) {
            ag_tensor_decref(t);
            t = NULL;
            ag_set_error(AG_EVALUE, "%s: a batched tangent would need more than %d dimensions",
                         ag_op_name(op), AG_MAXDIM);
            ok = 0;
        }
        if (ok) {
            int j;
            for (j = 0; j < lead; j++) {
                for (i = 0; i < nin; i++)
                    if (tin[i]) { want[j] = tin[i]->shape[j]; break; }
            }
            memcpy(want + lead, out->shape, sizeof(int64_t) * (size_t)out->ndim);
            if (t->ndim != wn || memcmp(t->shape, want, sizeof(int64_t) * (size_t)wn) != 0 ||
                t->dtype != out->dtype) {
                ag_tensor *e = t->dtype != out->dtype ? ag_tensor_cast(t, out->dtype) : t;
                ag_tensor *f = e ? ag_expand(e, wn, want) : NULL;
                if (e != t) ag_tensor_decref(e);
                ag_tensor_decref(t);
                t = f;
            }
        }
    } else if (ag_last_error_kind() == AG_OK) {
        /* zero tangent */
        ag_set_grad_enabled(pg);
        ag_set_fwd_enabled(pf);
        if (tin != tin_small) free(tin);
        return out;
    }
    ag_set_grad_enabled(pg);
    ag_set_fwd_enabled(pf);
    if (tin != tin_small) free(tin);
    if (!t) { ag_tensor_decref(out); return NULL; }
    out->tangent = t;
    out->tangent_session = fwd_session;
    return out;
}

ag_tensor *ag_apply(int op, ag_tensor **in, int nin, const ag_params *p)
{
    const ag_opdef *d = &ag_op_table[op];
    ag_tensor *out;
    int i, rg = 0, tg = 0;
    for (i = 0; i < nin; i++) {
        rg |= in[i]->requires_grad;
        tg |= ag_tangent_of(in[i]) != NULL;   /* a live tangent: this session's */
    }
    ag_clear_error();
    out = d->r->fwd(op, in, nin, p);
    if (!out) return NULL;
    if (d->flags & AG_FLAG_NONDIFF) return out;
    if (rg && grad_on) {
        ag_node *n = node_new(op, in, nin, p, out);
        if (!n) { ag_tensor_decref(out); return NULL; }
        out->grad_fn = n;
        out->requires_grad = 1;
    }
    if (tg && fwd_on) return compute_tangent(op, in, nin, out, p);
    return out;
}

/* ------------------------------------------------------------------ sweep helpers */
ag_tensor *ag_sum_to(ag_tensor *g, int ndim, const int64_t *shape)
{
    int axes[AG_MAXDIM], nax = 0, lead = g->ndim - ndim, i;
    ag_tensor *s, *r;
    if (g->ndim == ndim && memcmp(g->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0) {
        ag_tensor_incref(g);
        return g;
    }
    if (lead < 0) return ag_expand(g, ndim, shape); /* lower rank than the input: broadcast up */
    for (i = 0; i < g->ndim; i++)
        if (i < lead || (shape[i - lead] == 1 && g->shape[i] != 1)) axes[nax++] = i;
    if (nax) s = ag_reduce(AG_OP_sum, g, nax, axes, 1);
    else { ag_tensor_incref(g); s = g; }
    if (!s) return NULL;
    r = lead ? ag_reshape(s, ndim, s->shape + lead) : s;
    if (lead) ag_tensor_decref(s);
    if (r && memcmp(r->shape, shape, sizeof(int64_t) * (size_t)ndim) != 0) {
        /* a gradient with unit dims where the input has more: broadcast it */
        ag_tensor *e = ag_expand(r, ndim, shape);
        ag_tensor_decref(r);
        r = e;
    }
    return r;
}

static int sole_owner(ag_tensor *t)
{
    return t->refcount == 1 && t->storage->refcount == 1 && !t->grad_fn && !t->tangent &&
           ag_tensor_is_contiguous(t) && t->offset == 0 && t->storage->owner == NULL;
}

/* *slot += g  (slot takes a reference) */
static int accumulate(ag_tensor **slot, ag_tensor *g, int create)
{
    ag_tensor *s;
    if (!*slot) {
        ag_tensor_incref(g);
        *slot = g;
        return 0;
    }
    if (!create && sole_owner(*slot) && ag_same_shape(*slot, g) && !g->tangent) {
        return ag_inplace_binary(*slot, g, AG_OP_add);
    }
    s = ag_add(*slot, g);
    if (!s) return -1;
    ag_tensor_decref(*slot);
    *slot = s;
    return 0;
}

/* a private copy of gradient g for a .grad slot: recorded when g is differentiable */
static ag_tensor *grad_copy(ag_tensor *g, int dtype)
{
    return (g->requires_grad || g->tangent) ? ag_contiguous(g) : ag_tensor_cast(g, dtype);
}

/* leaf .grad: a fresh buffer the user may keep (never an alias of an internal gradient) */
static int accumulate_leaf_locked(ag_tensor *leaf, ag_tensor *g, int create)
{
    if (!leaf->grad && !create && (!sole_owner(g) || g->dtype != leaf->dtype)) {
        ag_tensor *c = ag_tensor_cast(g, leaf->dtype);
        if (!c) return -1;
        leaf->grad = c;
        return 0;
    }
    if (!leaf->grad && create && !g->grad_fn && !sole_owner(g)) {
        /* a plain tensor someone else holds (the caller's grad argument passed through an add
           or a reshape, or a leaf): .grad gets a copy -- recorded when g is differentiable --
           so that a later in-place accumulation cannot write into that tensor */
        ag_tensor *c = grad_copy(g, leaf->dtype);
        if (!c) return -1;
        leaf->grad = c;
        return 0;
    }
    if (leaf->grad && !create && !leaf->grad->grad_fn && !leaf->grad->tangent && !g->tangent &&
        ag_tensor_is_contiguous(leaf->grad)) {
        /* in-place accumulation into the user's .grad buffer, like PyTorch */
        int e = ag_inplace_binary(leaf->grad, g, AG_OP_add);
        return e;
    }
    return accumulate(&leaf->grad, g, create);
}

/* sweeps of separate graphs in several threads may share a leaf: one update at a time */
static int accumulate_leaf(ag_tensor *leaf, ag_tensor *g, int create)
{
    int e;
    ag_leaf_lock(leaf);
    e = accumulate_leaf_locked(leaf, g, create);
    ag_leaf_unlock(leaf);
    return e;
}

static ag_tensor *run_hook(int64_t id, ag_tensor *g)
{
    ag_tensor *r;
    if (!hook_fn) return g;
    r = hook_fn(id, g, hook_ctx);
    ag_tensor_decref(g); /* the callback returns a new reference (to g itself when unchanged) */
    return r;
}

static int cmp_seq_desc(const void *a, const void *b)
{
    const ag_node *x = *(ag_node *const *)a, *y = *(ag_node *const *)b;
    return x->seq < y->seq ? 1 : (x->seq > y->seq ? -1 : 0);
}

typedef struct {
    int n;
    ag_tensor **targets;  /* capture mode: gradients for these tensors, leaves untouched */
    ag_tensor **results;
} capture_t;

static int check_saved(ag_node *n)
{
    unsigned saves = ag_op_table[n->op].r->saves;
    int i;
    for (i = 0; i < n->nin; i++) {
        if ((saves & (1u << (i < 30 ? i : 30))) && n->in[i]->storage->version != n->ver[i])
            return ag_set_error(AG_ERUNTIME,
                                "backward: input %d of %s was modified in place after it was saved "
                                "for the gradient (version %lld, expected %lld)",
                                i, ag_op_name(n->op), (long long)n->in[i]->storage->version,
                                (long long)n->ver[i]);
    }
    if (n->out && n->out->storage->version != n->out_version)
        return ag_set_error(AG_ERUNTIME,
                            "backward: the output of %s was modified in place after it was saved "
                            "for the gradient", ag_op_name(n->op));
    return 0;
}

/* A graph belongs to one sweep at a time.  Each node the sweep visits is claimed with a
 * compare-and-swap and released at the end, so a second backward over the same nodes -- from
 * another thread, or re-entrantly from a hook -- fails with a clear error instead of racing on
 * the nodes' epoch marks and gradient slots. */
static int node_claim(ag_node *n)
{
    return AG_ATOMIC_CLAIM(&n->busy);
}

static void node_unclaim(ag_node *n) { AG_ATOMIC_UNCLAIM(&n->busy); }

static int mark_epoch(ag_node *n, int64_t epoch)
{
    /* 1 when newly marked for this sweep */
    int64_t old = AG_ATOMIC_LOAD(&n->epoch);
    if (old == epoch) return 0;
    AG_ATOMIC_STORE(&n->epoch, epoch);
    return 1;
}

/* the pair list of sweep(): add g to hooked leaf x's gradient of this sweep */
static int hooked_leaf_add(ag_tensor ***hk, int64_t *nhk, int64_t *caphk, ag_tensor *x,
                           ag_tensor *g, int create)
{
    int64_t j;
    for (j = 0; j < *nhk && (*hk)[2 * j] != x; j++) {}
    if (j == *nhk) {
        if (*nhk == *caphk) {
            int64_t nc = *caphk ? *caphk * 2 : 8;
            ag_tensor **na = (ag_tensor **)realloc(*hk, sizeof(ag_tensor *) * 2 * (size_t)nc);
            if (!na) return ag_set_error(AG_ENOMEM, "backward: out of memory");
            *hk = na;
            *caphk = nc;
        }
        ag_tensor_incref(x);
        (*hk)[2 * j] = x;
        (*hk)[2 * j + 1] = NULL;
        (*nhk)++;
    }
    return accumulate(&(*hk)[2 * j + 1], g, create);
}

static int sweep(int nroots, ag_tensor **roots, ag_tensor **seeds, int retain, int create,
                 capture_t *cap)
{
    int64_t nclaimed = 0;
    ag_node **list = NULL, **stack = NULL;
    int64_t nlist = 0, caplist = 0, top = 0, capstack = 0, k;
    int64_t epoch = AG_ATOMIC_INC(&sweep_epoch);
    int status = 0, i, prev_grad;
    ag_tensor *gin_small[4], **gin = gin_small;
    int gin_cap = 4;
    /* leaves with hooks: their gradient is summed over the whole sweep, then the hook sees the
       total once (as for a non-leaf) before it is accumulated into .grad */
    ag_tensor **hk = NULL; /* pairs (leaf, gradient so far) */
    int64_t nhk = 0, caphk = 0;

#define PUSH(arr, n, capv, x)                                                                   \
    do {                                                                                        \
        if ((n) == (capv)) {                                                                    \
            int64_t nc = (capv) ? (capv) * 2 : 64;                                              \
            ag_node **na = (ag_node **)realloc((arr), sizeof(ag_node *) * (size_t)nc);          \
            if (!na) { status = ag_set_error(AG_ENOMEM, "backward: out of memory"); goto done; } \
            (arr) = na;                                                                         \
            (capv) = nc;                                                                        \
        }                                                                                       \
        (arr)[(n)++] = (x);                                                                     \
    } while (0)

    /* 1. collect the nodes reachable from the roots through edges that need a gradient */
    for (i = 0; i < nroots; i++) {
        ag_node *r = roots[i]->grad_fn;
        if (r && mark_epoch(r, epoch)) PUSH(stack, top, capstack, r);
    }
    while (top > 0) {
        ag_node *n = stack[--top];
        PUSH(list, nlist, caplist, n);
        ag_node_incref(n);
        if (!node_claim(n)) {
            status = ag_set_error(AG_ERUNTIME,
                                  "backward: the graph (at %s) is already being differentiated by "
                                  "another backward/grad call -- from another thread, or "
                                  "re-entrantly from a hook. A graph may be differentiated by one "
                                  "thread at a time: build a separate graph in each thread",
                                  ag_op_name(n->op));
            goto done;
        }
        nclaimed++;
        if (n->released) continue;
        for (i = 0; i < n->nin; i++) {
            ag_node *m = n->in[i]->grad_fn;
            if (n->needs[i] && m && mark_epoch(m, epoch)) PUSH(stack, top, capstack, m);
        }
    }
    /* 2. decreasing creation order is a topological order */
    {
        /* a chain is collected in order already: sort only when needed */
        int64_t j, sorted = 1;
        for (j = 1; j < nlist && sorted; j++) sorted = list[j - 1]->seq > list[j]->seq;
        if (!sorted) qsort(list, (size_t)nlist, sizeof(ag_node *), cmp_seq_desc);
    }

    prev_grad = ag_set_grad_enabled(create);

    /* 3. seeds */
    for (i = 0; i < nroots; i++) {
        ag_tensor *r = roots[i];
        if (r->grad_fn) {
            if (accumulate(&r->grad_fn->gradbuf, seeds[i], create)) { status = -1; goto restore; }
        } else if (cap) {
            int j;
            for (j = 0; j < cap->n; j++)
                if (cap->targets[j] == r && accumulate(&cap->results[j], seeds[i], create)) {
                    status = -1;
                    goto restore;
                }
        } else if (r->hook_id > 0) {
            if (hooked_leaf_add(&hk, &nhk, &caphk, r, seeds[i], create)) { status = -1; goto restore; }
        } else if (accumulate_leaf(r, seeds[i], create)) {
            status = -1;
            goto restore;
        }
    }

    /* 4. the reverse sweep */
    for (k = 0; k < nlist; k++) {
        ag_node *n = list[k];
        ag_tensor *g = n->gradbuf;
        ag_vjp_ctx c;
        const ag_oprules *r;
        if (!g) continue;
        n->gradbuf = NULL;
        if (n->released) {
            ag_tensor_decref(g);
            status = ag_set_error(AG_ERUNTIME,
                                  "backward: trying to backward through the graph a second time "
                                  "(through %s); its saved values were freed after the first "
                                  "backward. Pass retain_graph=True to the first backward.",
                                  ag_op_name(n->op));
            goto restore;
        }
        if (n->out_hook) {
            g = run_hook(n->out_hook_id, g);
            if (!g) { status = -1; goto restore; }
        }
        if (n->retain && !cap) {
            ag_tensor *rt = n->retain;
            if (!rt->grad && !g->grad_fn && g->refcount > 1) {
                /* g is held elsewhere too (the grad argument of backward): keep a copy, as
                   PyTorch's retained gradients, so that later writes to it do not show here */
                rt->grad = grad_copy(g, rt->dtype);
                if (!rt->grad) { ag_tensor_decref(g); status = -1; goto restore; }
            } else if (accumulate(&rt->grad, g, create)) {
                ag_tensor_decref(g);
                status = -1;
                goto restore;
            }
        }
        if (cap) {
            int j;
            for (j = 0; j < cap->n; j++)
                if (cap->targets[j]->grad_fn == n && accumulate(&cap->results[j], g, create)) {
                    ag_tensor_decref(g);
                    status = -1;
                    goto restore;
                }
        }
        if (check_saved(n)) { ag_tensor_decref(g); status = -1; goto restore; }
        if (n->nin > gin_cap) {
            ag_tensor **ng = (ag_tensor **)malloc(sizeof(ag_tensor *) * (size_t)n->nin);
            if (!ng) { ag_tensor_decref(g); status = ag_set_error(AG_ENOMEM, "backward: out of memory"); goto restore; }
            if (gin != gin_small) free(gin);
            gin = ng;
            gin_cap = n->nin;
        }
        memset(gin, 0, sizeof(ag_tensor *) * (size_t)n->nin);
        r = ag_op_table[n->op].r;
        c.op = n->op;
        c.n = n;
        c.g = g;
        c.in = n->in;
        c.nin = n->nin;
        c.out = n->out;
        c.p = &n->p;
        c.needs = n->needs;
        c.gin = gin;
        c.composed = create || ag_tangent_of(g) != NULL;
        for (i = 0; i < n->nin && !c.composed; i++) c.composed = ag_tangent_of(n->in[i]) != NULL;
        ag_clear_error();
        if (r->vjp(&c)) {
            for (i = 0; i < n->nin; i++) ag_tensor_decref(gin[i]);
            ag_tensor_decref(g);
            status = -1;
            goto restore;
        }
        /* the rule holds what it needs of g: drop g now, so that an input gradient that is a
           view of it (a reshape's, a transpose's, a roll's) is solely owned when it reaches a
           .grad or a gradient slot, which then takes it without a copy or adds into it in place */
        ag_tensor_decref(g);
        g = NULL;
        for (i = 0; i < n->nin && status == 0; i++) {
            ag_tensor *x = n->in[i], *gi;
            if (!gin[i] || !n->needs[i]) continue;
            gi = ag_sum_to(gin[i], x->ndim, x->shape);
            if (!gi) { status = -1; break; }
            /* drop the rule's reference now: a fresh gradient is then solely owned, and a leaf
               can take it as its .grad without a copy */
            ag_tensor_decref(gin[i]);
            gin[i] = NULL;
            if (x->grad_fn) {
                if (accumulate(&x->grad_fn->gradbuf, gi, create)) status = -1;
            } else if (cap) {
                int j;
                for (j = 0; j < cap->n; j++)
                    if (cap->targets[j] == x && accumulate(&cap->results[j], gi, create)) status = -1;
            } else if (x->requires_grad && x->hook_id > 0) {
                if (hooked_leaf_add(&hk, &nhk, &caphk, x, gi, create)) status = -1;
            } else if (x->requires_grad) {
                if (accumulate_leaf(x, gi, create)) status = -1;
            }
            ag_tensor_decref(gi);
        }
        for (i = 0; i < n->nin; i++) ag_tensor_decref(gin[i]);
        if (status) goto restore;
        if (!retain) node_release(n);
    }
    for (k = 0; k < nhk && status == 0; k++) {
        ag_tensor *x = hk[2 * k], *g = hk[2 * k + 1];
        hk[2 * k + 1] = NULL;
        if (!g) continue;
        g = run_hook(x->hook_id, g);
        if (!g) { status = -1; break; }
        if (accumulate_leaf(x, g, create)) status = -1;
        ag_tensor_decref(g);
    }
restore:
    ag_set_grad_enabled(prev_grad);
done:
    for (k = 0; k < nclaimed; k++) {
        /* gradient slots are cleared only by the sweep that owns them */
        ag_tensor_decref(list[k]->gradbuf);
        list[k]->gradbuf = NULL;
        node_unclaim(list[k]);
    }
    for (k = 0; k < nlist; k++) ag_node_decref(list[k]);
    for (k = 0; k < nhk; k++) {
        ag_tensor_decref(hk[2 * k + 1]);
        ag_tensor_decref(hk[2 * k]);
    }
    free(hk);
    free(list);
    free(stack);
    if (gin != gin_small) free(gin);
    return status;
}

static ag_tensor *make_seed(ag_tensor *root, ag_tensor *grad, const char *who)
{
    char b1[160], b2[160];
    if (!grad) {
        if (root->size != 1) {
            ag_format_shape(b1, sizeof b1, root->ndim, root->shape);
            ag_set_error(AG_ERUNTIME,
                         "%s: grad can be implicitly created only for scalar outputs; the output "
                         "has shape %s, so pass a grad of that shape", who, b1);
            return NULL;
        }
        return ag_tensor_full(root->dtype, root->ndim, root->shape, 1.0);
    }
    if (!ag_same_shape(root, grad)) {
        ag_format_shape(b1, sizeof b1, grad->ndim, grad->shape);
        ag_format_shape(b2, sizeof b2, root->ndim, root->shape);
        ag_set_error(AG_EVALUE, "%s: grad has shape %s but the output has shape %s", who, b1, b2);
        return NULL;
    }
    if (grad->dtype != root->dtype) return ag_tensor_cast(grad, root->dtype);
    ag_tensor_incref(grad);
    return grad;
}

int ag_backward(ag_tensor *root, ag_tensor *grad, int retain_graph, int create_graph)
{
    ag_tensor *seed;
    int st;
    if (!root->requires_grad)
        return ag_set_error(AG_ERUNTIME,
                            "backward: the tensor does not require grad and has no grad_fn (no "
                            "input was created with requires_grad=True, or it was computed under "
                            "no_grad)");
    seed = make_seed(root, grad, "backward");
    if (!seed) return -1;
    st = sweep(1, &root, &seed, retain_graph, create_graph, NULL);
    ag_tensor_decref(seed);
    return st;
}

int ag_grad(int nout, ag_tensor **outputs, ag_tensor **grad_outputs, int nin, ag_tensor **inputs,
            ag_tensor **results, int retain_graph, int create_graph, int allow_unused)
{
    ag_tensor *seeds_small[8], **seeds = seeds_small;
    capture_t cap;
    int i, st = 0, ns = 0;
    if (nout > 8) {
        seeds = (ag_tensor **)ag_malloc(sizeof(ag_tensor *) * (size_t)nout);
        if (!seeds) return -1;
    }
    for (i = 0; i < nin; i++) results[i] = NULL;
    for (i = 0; i < nout; i++) {
        if (!outputs[i]->requires_grad) {
            st = ag_set_error(AG_ERUNTIME, "grad: output %d does not require grad (it does not "
                                           "depend on any differentiated input)", i);
            break;
        }
        seeds[i] = make_seed(outputs[i], grad_outputs ? grad_outputs[i] : NULL, "grad");
        if (!seeds[i]) { st = -1; break; }
        ns++;
    }
    if (st == 0) {
        cap.n = nin;
        cap.targets = inputs;
        cap.results = results;
        st = sweep(nout, outputs, seeds, retain_graph, create_graph, &cap);
    }
    for (i = 0; i < ns; i++) ag_tensor_decref(seeds[i]);
    if (seeds != seeds_small) free(seeds);
    if (st == 0 && !allow_unused) {
        for (i = 0; i < nin; i++)
            if (!results[i]) {
                results[i] = ag_tensor_zeros(inputs[i]->dtype, inputs[i]->ndim, inputs[i]->shape);
                if (!results[i]) st = -1;
            }
    }
    if (st) {
        for (i = 0; i < nin; i++) { ag_tensor_decref(results[i]); results[i] = NULL; }
    }
    return st;
}

/* Does root's graph reach a leaf that requires grad other than the `known` tensors (whose
 * graphs are not walked)?  The function transforms ask it to learn whether their result must stay
 * differentiable for a backward through tensors the function closes over. */
int ag_graph_reaches_other_leaf(ag_tensor *root, int nknown, ag_tensor **known)
{
    ag_node **stack = NULL;
    int64_t top = 0, capstack = 0;
    int64_t epoch = AG_ATOMIC_INC(&sweep_epoch);
    int status = 0, i, j;
    if (!root->grad_fn) {          /* root is a leaf: itself, unless it is known */
        for (j = 0; j < nknown; j++)
            if (known[j] == root) return 0;
        return root->requires_grad;
    }
    mark_epoch(root->grad_fn, epoch);
    PUSH(stack, top, capstack, root->grad_fn);
    while (top > 0 && status == 0) {
        ag_node *n = stack[--top];
        if (n->released) continue;
        for (i = 0; i < n->nin; i++) {
            ag_tensor *t = n->in[i];
            int is_known = 0;
            if (!n->needs[i] || !t) continue;
            for (j = 0; j < nknown && !is_known; j++) is_known = known[j] == t;
            if (is_known) continue;
            if (!t->grad_fn) { status = 1; break; }
            if (mark_epoch(t->grad_fn, epoch)) PUSH(stack, top, capstack, t->grad_fn);
        }
    }
done:
    free(stack);
    return status;
}
#undef PUSH

/* ------------------------------------------------------------------ hooks and retained grads */
int ag_tensor_set_hook(ag_tensor *t, int64_t id)
{
    if (!t->requires_grad)
        return ag_set_error(AG_ERUNTIME,
                            "register_hook: cannot register a hook on a tensor that does not require grad");
    t->hook_id = id;
    if (t->grad_fn) {
        t->grad_fn->out_hook = id > 0;
        t->grad_fn->out_hook_id = id;
    }
    return 0;
}

int ag_retain_grad(ag_tensor *t)
{
    if (!t->requires_grad)
        return ag_set_error(AG_ERUNTIME, "retain_grad: the tensor does not require grad");
    if (t->grad_fn) t->grad_fn->retain = t;
    t->retains_grad = 1;
    return 0;
}
