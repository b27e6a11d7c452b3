/* elementwise.c -- unary, binary and ternary elementwise ops: forward kernels, VJP and JVP.
 *
 * A unary op is one row of UNARY_OPS below: its value f(x) and its derivative f'(x, y) (y is the
 * output).  The same derivative kernel serves the VJP (g * f'(x)) and the JVP (t * f'(x)).  When
 * the backward pass must itself be differentiable (create_graph, or tangents flowing through it),
 * the derivative is rebuilt from differentiable ops by unary_deriv_composed.
 */
#include "../ag_internal.h"
#include "../kernels/vmath.h"
#include <tgmath.h>
#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define AG_SQRT1_2 0.70710678118654752440
#define AG_INV_SQRT_2PI 0.39894228040143267794
#define AG_2_SQRTPI 1.12837916709551257390
#define AG_LN2 0.69314718055994530942
#define AG_LN10 2.30258509299404568402

#define PAR_N 32768 /* parallel loops honour ag_num_threads(): set_num_threads, and one thread
                      in a fork() child, where an OpenMP team would hang */


/* ------------------------------------------------------------------ unary table
 * X(name, f(x), f'(x, y)); a and b are the op's scalar parameters */
#define SIGM(x) ((x) >= 0 ? 1 / (1 + exp(-(x))) : exp(x) / (1 + exp(x)))
#define UNARY_OPS(X)                                                                     \
    X(neg, -x, -1)                                                                       \
    X(abs, fabs(x), (x > 0) - (x < 0))                                                   \
    X(exp, exp(x), y)                                                                    \
    X(log, log(x), 1 / x)                                                                \
    X(log1p, log1p(x), 1 / (1 + x))                                                      \
    X(sqrt, sqrt(x), (T)0.5 / y)                                                         \
    X(sin, sin(x), cos(x))                                                               \
    X(cos, cos(x), -sin(x))                                                              \
    X(tan, tan(x), 1 + y * y)                                                            \
    X(tanh, tanh(x), 1 - y * y)                                                          \
    X(sigmoid, SIGM(x), y * (1 - y))                                                     \
    X(relu, x <= 0 ? 0 : x, x > 0) /* NaN in, NaN out (like numpy.maximum(x, 0)) */     \
    X(leaky_relu, x > 0 ? x : a * x, x > 0 ? 1 : a)                                      \
    /* elu' = a e^x for x <= 0, not y + a (= a expm1(x) + a, which cancels for x << 0); the   \
       fused linear layer has only y, and passes b = 1 to take y + a */                      \
    X(elu, x > 0 ? x : a * expm1(x), x > 0 ? 1 : (b != 0 ? y + a : a * exp(x)))          \
    X(softplus, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)), SIGM(x))                     \
    /* gelu = x/2 erfc(-x/sqrt2) in double (kernels/vmath.c): no cancellation for x < 0,    \
       and e^{-x^2/2} from an exact x^2, so the tail keeps its digits */                     \
    X(gelu, ag_gelu_scalar((double)x), ag_gelu_grad_scalar((double)x))                 \
    X(gelu_grad, ag_gelu_grad_scalar((double)x), ag_gelu_grad2_scalar((double)x))      \
    X(silu, x * SIGM(x), SIGM(x) * (1 + x * (1 - SIGM(x))))                              \
    X(erf, erf(x), (T)(AG_2_SQRTPI * ag_exp_neg_sq((double)x)))                           \
    X(sign, x != x ? x : (T)((x > 0) - (x < 0)), 0)                                      \
    X(step, x > 0, 0)                                                                    \
    X(clip, x < a ? a : (x > b ? b : x), (x >= a && x <= b))                             \
    X(sinh, sinh(x), cosh(x))                                                            \
    X(cosh, cosh(x), sinh(x))                                                            \
    /* (1 - x)(1 + x), not 1 - x^2: exact near |x| = 1, where the derivative blows up */   \
    X(arcsin, asin(x), 1 / sqrt((1 - x) * (1 + x)))                                      \
    X(arccos, acos(x), -1 / sqrt((1 - x) * (1 + x)))                                     \
    X(arctan, atan(x), 1 / (1 + x * x))                                                  \
    X(arcsinh, asinh(x), 1 / hypot(x, (T)1))                                             \
    X(arccosh, acosh(x), 1 / (sqrt(x - 1) * sqrt(x + 1)))                                \
    X(arctanh, atanh(x), 1 / ((1 - x) * (1 + x)))                                        \
    X(expm1, expm1(x), exp(x))                                                           \
    X(exp2, exp2(x), y * (T)AG_LN2)                                                      \
    X(log2, log2(x), 1 / (x * (T)AG_LN2))                                                \
    X(log10, log10(x), 1 / (x * (T)AG_LN10))                                             \
    X(floor, floor(x), 0)                                                                \
    X(ceil, ceil(x), 0)                                                                  \
    X(rint, rint(x), 0) /* halves to even, as numpy.round */                             \
    X(trunc, trunc(x), 0)

typedef struct { double a, b; } uparams;

#define GEN_UNARY_T(name, FX, DX, TY, sfx)                                                      \
    static void fwd_##name##_##sfx(int64_t n, char **p, const int64_t *s, void *ctx)           \
    {                                                                                          \
        typedef TY T;                                                                          \
        const uparams *pr = (const uparams *)ctx;                                              \
        const T a = (T)pr->a, b = (T)pr->b;                                                    \
        int64_t i;                                                                             \
        (void)a; (void)b;                                                                      \
        if (s[0] == sizeof(T) && s[1] == sizeof(T)) {                                          \
            T *o = (T *)p[0];                                                                  \
            const T *xs = (const T *)p[1];                                                     \
            AG_PAR_FOR(n >= PAR_N, i, n, const T x = xs[i]; o[i] = (T)(FX););                  \
        } else {                                                                               \
            for (i = 0; i < n; i++) {                                                          \
                const T x = *(const T *)(p[1] + i * s[1]);                                     \
                *(T *)(p[0] + i * s[0]) = (T)(FX);                                             \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    /* o = v * f'(x, y) */                                                                     \
    static void dmul_##name##_##sfx(int64_t n, char **p, const int64_t *s, void *ctx)          \
    {                                                                                          \
        typedef TY T;                                                                          \
        const uparams *pr = (const uparams *)ctx;                                              \
        const T a = (T)pr->a, b = (T)pr->b;                                                    \
        int64_t i;                                                                             \
        (void)a; (void)b;                                                                      \
        if (s[0] == sizeof(T) && s[1] == sizeof(T) && s[2] == sizeof(T) && s[3] == sizeof(T)) { \
            T *restrict o = (T *)p[0]; /* a fresh tensor: aliases no input */                  \
            const T *restrict vs = (const T *)p[1], *restrict xs = (const T *)p[2];            \
            const T *restrict ys = (const T *)p[3];                                            \
            AG_PAR_FOR(n >= PAR_N, i, n, const T x = xs[i]; const T y = ys[i]; (void)x; (void)y; o[i] = vs[i] * (T)(DX););\
        } else if (s[0] == sizeof(T) && s[1] == 0 && s[2] == sizeof(T) && s[3] == sizeof(T)) { \
            /* v broadcast from one value: the gradient of a sum or mean */                    \
            T *restrict o = (T *)p[0];                                                         \
            const T v = *(const T *)p[1], *restrict xs = (const T *)p[2];                      \
            const T *restrict ys = (const T *)p[3];                                            \
            AG_PAR_FOR(n >= PAR_N, i, n, const T x = xs[i]; const T y = ys[i]; (void)x; (void)y; o[i] = v * (T)(DX););\
        } else {                                                                               \
            for (i = 0; i < n; i++) {                                                          \
                const T x = *(const T *)(p[2] + i * s[2]), y = *(const T *)(p[3] + i * s[3]);  \
                (void)x; (void)y;                                                              \
                *(T *)(p[0] + i * s[0]) = *(const T *)(p[1] + i * s[1]) * (T)(DX);            \
            }                                                                                  \
        }                                                                                      \
    }
#define GEN_UNARY(name, FX, DX) GEN_UNARY_T(name, FX, DX, float, f32) GEN_UNARY_T(name, FX, DX, double, f64)
UNARY_OPS(GEN_UNARY)

static const ag_row_fn unary_fwd[AG_NUM_OPS][2] = {
#define ROWF(name, FX, DX) [AG_OP_##name] = {fwd_##name##_f32, fwd_##name##_f64},
    UNARY_OPS(ROWF)
#undef ROWF
};
static const ag_row_fn unary_dmul[AG_NUM_OPS][2] = {
#define ROWD(name, FX, DX) [AG_OP_##name] = {dmul_##name##_f32, dmul_##name##_f64},
    UNARY_OPS(ROWD)
#undef ROWD
};

static uparams unary_params(int op, const ag_params *p)
{
    uparams u = {0, 0};
    if (p) { u.a = p->d[0]; u.b = p->d[1]; }
    (void)op;
    return u;
}

static ag_tensor *unary_fwd_op(int op, ag_tensor **in, int nin, const ag_params *p)
{
    ag_tensor *x = in[0], *o = ag_tensor_empty(x->dtype, x->ndim, x->shape);
    int64_t bs[2][AG_MAXDIM];
    char *base[2];
    uparams u = unary_params(op, p);
    int i;
    (void)nin;
    if (!o) return NULL;
    for (i = 0; i < x->ndim; i++) {
        bs[0][i] = o->strides[i] * (int64_t)ag_dtype_size(o->dtype);
        bs[1][i] = x->strides[i] * (int64_t)ag_dtype_size(x->dtype);
    }
    base[0] = ag_ptr(o);
    base[1] = ag_ptr(x);
    if (ag_vmath_unary(op, x, o)) return o; /* vectorised contiguous path, if any */
    {
        ag_tensor *ops[2];
        ops[0] = o; ops[1] = x;
        if (ag_iter_single_row(2, ops, unary_fwd[op][x->dtype], &u)) return o;
    }
    ag_iter(2, x->ndim, x->shape, base, bs, unary_fwd[op][x->dtype], &u);
    return o;
}

/* v = diag(dv) (a Jacobian's basis, batch axis first) and x, y of v's core shape:
 * v * f'(x) = diag(dv * f'(x)), from n derivatives instead of n^2.  1: done (*out set), 0: not
 * applicable, -1: error */
static int deriv_mul_diag(int op, ag_tensor *x, ag_tensor *y, ag_tensor *v, uparams *u,
                          ag_tensor **out)
{
    ag_tensor *dv = ag_diag_vec(v), *w;
    char *ptrs[4];
    int64_t st[4], n;
    int k;
    if (!dv || v->ndim != x->ndim + 1 || x->dtype != v->dtype || !ag_tensor_is_contiguous(x) ||
        memcmp(x->shape, v->shape + 1, sizeof(int64_t) * (size_t)x->ndim) != 0)
        return 0;
    if (y && (!ag_same_shape(y, x) || y->dtype != x->dtype || !ag_tensor_is_contiguous(y)))
        return 0;
    n = dv->size;
    w = ag_tensor_empty(v->dtype, 1, &n);
    if (!w) return -1;
    ptrs[0] = ag_ptr(w); ptrs[1] = ag_ptr(dv); ptrs[2] = ag_ptr(x); ptrs[3] = ag_ptr(y ? y : x);
    for (k = 0; k < 4; k++) st[k] = (int64_t)ag_dtype_size(v->dtype);
    unary_dmul[op][v->dtype](n, ptrs, st, u);
    if (!ag_all_finite(w)) { ag_tensor_decref(w); return 0; } /* the dense zeros would be nan */
    *out = ag_diag_new(w, v->ndim, v->shape);
    return *out ? 1 : -1;
}

/* v * f'(x) with x (and its output y) broadcast to v's shape; raw kernel, records nothing */
ag_tensor *ag_unary_deriv_mul(int op, ag_tensor *x, ag_tensor *y, ag_tensor *v, const ag_params *p)
{
    ag_tensor *o = NULL, *ops[4];
    int64_t bs[4][AG_MAXDIM];
    char *base[4];
    uparams u = unary_params(op, p);
    int k = deriv_mul_diag(op, x, y, v, &u, &o);
    if (k) return k > 0 ? o : NULL;
    o = ag_tensor_empty(v->dtype, v->ndim, v->shape);
    if (!o) return NULL;
    if (ag_vmath_deriv_mul(op, v, x, o)) return o; /* vectorised contiguous path, if any */
    ops[0] = o; ops[1] = v; ops[2] = x; ops[3] = y ? y : x;
    if (ag_iter_single_row(4, ops, unary_dmul[op][v->dtype], &u)) return o;
    for (k = 0; k < 4; k++) {
        ag_broadcast_strides(ops[k], v->ndim, v->shape, bs[k]);
        base[k] = ag_ptr(ops[k]);
    }
    ag_iter(4, v->ndim, v->shape, base, bs, unary_dmul[op][v->dtype], &u);
    return o;
}

/* ------------------------------------------------------------------ consuming helpers:
 * each takes ownership of its tensor arguments and propagates NULL (an error already set) */
static ag_tensor *own(ag_tensor *t) { ag_tensor_incref(t); return t; }

static ag_tensor *cbin(int op, ag_tensor *a, ag_tensor *b)
{
    ag_tensor *r = (a && b) ? ag_binary(op, a, b) : NULL;
    ag_tensor_decref(a);
    ag_tensor_decref(b);
    return r;
}
static ag_tensor *cun(int op, ag_tensor *a)
{
    ag_tensor *r = a ? ag_unary(op, a) : NULL;
    ag_tensor_decref(a);
    return r;
}
static ag_tensor *cscale(ag_tensor *a, double s)
{
    ag_tensor *r = a ? ag_scale(a, s) : NULL;
    ag_tensor_decref(a);
    return r;
}
static ag_tensor *caddc(ag_tensor *a, double s)
{
    ag_tensor *r = a ? ag_add_scalar(a, s) : NULL;
    ag_tensor_decref(a);
    return r;
}
static ag_tensor *cpows(ag_tensor *a, double s)
{
    ag_tensor *r = a ? ag_pow_scalar(a, s) : NULL;
    ag_tensor_decref(a);
    return r;
}
static ag_tensor *cconst(ag_tensor *like, double v) { return ag_tensor_scalar(like->dtype, v); }
#define CMUL(a, b) cbin(AG_OP_mul, a, b)
#define CADD(a, b) cbin(AG_OP_add, a, b)
#define CSUB(a, b) cbin(AG_OP_sub, a, b)
#define CDIV(a, b) cbin(AG_OP_div, a, b)

/* f'(x) built from differentiable ops, so the backward can be differentiated again */
ag_tensor *ag_unary_deriv_composed(int op, ag_tensor *x, const ag_params *p)
{
    double a = p ? p->d[0] : 0, b = p ? p->d[1] : 0;
    ag_tensor *s, *oms;
    switch (op) {
    case AG_OP_neg: return cconst(x, -1.0);
    case AG_OP_abs: return ag_unary(AG_OP_sign, x);
    case AG_OP_exp: return ag_unary(AG_OP_exp, x);
    case AG_OP_log: return CDIV(cconst(x, 1.0), own(x));
    case AG_OP_log1p: return CDIV(cconst(x, 1.0), caddc(own(x), 1.0));
    case AG_OP_sqrt: return cscale(ag_pow_scalar(x, -0.5), 0.5);
    case AG_OP_sin: return ag_unary(AG_OP_cos, x);
    case AG_OP_cos: return cscale(ag_unary(AG_OP_sin, x), -1.0);
    case AG_OP_tan: s = ag_unary(AG_OP_tan, x); return caddc(CMUL(own(s), s), 1.0);
    case AG_OP_tanh: s = ag_unary(AG_OP_tanh, x); return CSUB(cconst(x, 1.0), CMUL(own(s), s));
    case AG_OP_sigmoid:
    case AG_OP_softplus:
        s = ag_unary(AG_OP_sigmoid, x);
        if (op == AG_OP_softplus) return s;
        /* take s's extra reference before any consumer runs: argument order is unspecified */
        oms = CSUB(cconst(x, 1.0), own(s));
        return CMUL(s, oms);
    case AG_OP_relu: return ag_unary(AG_OP_step, x);
    case AG_OP_leaky_relu: return caddc(cscale(ag_unary(AG_OP_step, x), 1.0 - a), a);
    case AG_OP_elu: {
        /* step(x) + (1 - step(x)) * a * exp(min(x, 0)) */
        ag_tensor *st = ag_unary(AG_OP_step, x);
        ag_tensor *e = cscale(cun(AG_OP_exp, cbin(AG_OP_minimum, own(x), cconst(x, 0.0))), a);
        ag_tensor *not_st = CSUB(cconst(x, 1.0), own(st));
        return CADD(st, CMUL(not_st, e));
    }
    case AG_OP_gelu:
        /* Phi(x) + x phi(x) as one op: composed from erf, 1 + erf(x/sqrt2) would cancel for
           x < 0 (0.7% off at x = -12) */
        return ag_unary(AG_OP_gelu_grad, x);
    case AG_OP_gelu_grad: {
        /* gelu''(x) = phi(x) (2 - x^2) */
        ag_tensor *phi = cscale(cun(AG_OP_exp, cscale(CMUL(own(x), own(x)), -0.5)), AG_INV_SQRT_2PI);
        return CMUL(phi, CSUB(cconst(x, 2.0), CMUL(own(x), own(x))));
    }
    case AG_OP_silu: {
        /* s + x s (1 - s) */
        ag_tensor *xs;
        s = ag_unary(AG_OP_sigmoid, x);
        xs = CMUL(own(x), own(s));
        oms = CSUB(cconst(x, 1.0), own(s));
        return CADD(s, CMUL(xs, oms));
    }
    case AG_OP_erf:
        return cscale(cun(AG_OP_exp, cscale(CMUL(own(x), own(x)), -1.0)), AG_2_SQRTPI);
    case AG_OP_sinh: return ag_unary(AG_OP_cosh, x);
    case AG_OP_cosh: return ag_unary(AG_OP_sinh, x);
    case AG_OP_arcsin:
    case AG_OP_arccos:  /* -+((1 - x)(1 + x))^(-1/2) */
        return cscale(cpows(CMUL(caddc(cscale(own(x), -1.0), 1.0), caddc(own(x), 1.0)), -0.5),
                      op == AG_OP_arcsin ? 1.0 : -1.0);
    case AG_OP_arctan: return CDIV(cconst(x, 1.0), caddc(CMUL(own(x), own(x)), 1.0));
    case AG_OP_arcsinh: /* 1 / hypot(x, 1): (x^2 + 1)^(-1/2) overflowed to 0 at |x| > 1e154 */
        return CDIV(cconst(x, 1.0), cbin(AG_OP_hypot, own(x), cconst(x, 1.0)));
    case AG_OP_arccosh: return CMUL(cpows(caddc(own(x), -1.0), -0.5), cpows(caddc(own(x), 1.0), -0.5));
    case AG_OP_arctanh:
        return CDIV(cconst(x, 1.0), CMUL(caddc(cscale(own(x), -1.0), 1.0), caddc(own(x), 1.0)));
    case AG_OP_expm1: return ag_unary(AG_OP_exp, x);
    case AG_OP_exp2: return cscale(ag_unary(AG_OP_exp2, x), AG_LN2);
    case AG_OP_log2: return CDIV(cconst(x, 1.0), cscale(own(x), AG_LN2));
    case AG_OP_log10: return CDIV(cconst(x, 1.0), cscale(own(x), AG_LN10));
    case AG_OP_clip: {
        ag_tensor *lo = cconst(x, a), *hi = cconst(x, b);
        return CMUL(cbin(AG_OP_ge, own(x), lo), cbin(AG_OP_le, own(x), hi));
    }
    default:
        return cconst(x, 0.0);
    }
}

static int vjp_unary(ag_vjp_ctx *c)
{
    if (!c->needs[0]) return 0;
    if (c->op == AG_OP_neg) {
        c->gin[0] = ag_neg(c->g);
    } else if (c->composed) {
        c->gin[0] = CMUL(own(c->g), ag_unary_deriv_composed(c->op, c->in[0], c->p));
    } else {
        c->gin[0] = ag_unary_deriv_mul(c->op, c->in[0], c->out, c->g, c->p);
    }
    return c->gin[0] ? 0 : -1;
}

static ag_tensor *jvp_unary(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                            const ag_params *p)
{
    (void)nin;
    if (op == AG_OP_neg) return ag_neg(tin[0]);
    return ag_unary_deriv_mul(op, in[0], out, tin[0], p);
}

/* every unary row shares the same three functions */
const ag_oprules ag_rules_neg = {unary_fwd_op, vjp_unary, jvp_unary, 0};
#define U_RULE(name) const ag_oprules ag_rules_##name = {unary_fwd_op, vjp_unary, jvp_unary, 1u | AG_SAVES_OUT};
U_RULE(abs) U_RULE(exp) U_RULE(log) U_RULE(log1p) U_RULE(sqrt) U_RULE(sin) U_RULE(cos)
U_RULE(tan) U_RULE(tanh) U_RULE(sigmoid) U_RULE(relu) U_RULE(leaky_relu) U_RULE(elu)
U_RULE(softplus) U_RULE(gelu) U_RULE(gelu_grad) U_RULE(silu) U_RULE(erf) U_RULE(clip)
U_RULE(sinh) U_RULE(cosh) U_RULE(arcsin) U_RULE(arccos) U_RULE(arctan) U_RULE(arcsinh)
U_RULE(arccosh) U_RULE(arctanh) U_RULE(expm1) U_RULE(exp2) U_RULE(log2) U_RULE(log10)
/* no gradient (AG_FLAG_NONDIFF), nothing saved */
#define N_RULE(name) const ag_oprules ag_rules_##name = {unary_fwd_op, vjp_unary, jvp_unary, 0};
N_RULE(sign) N_RULE(step) N_RULE(floor) N_RULE(ceil) N_RULE(rint) N_RULE(trunc)

ag_tensor *ag_unary(int op, ag_tensor *x) { return ag_apply(op, &x, 1, NULL); }

ag_tensor *ag_unary_p(int op, ag_tensor *x, double param)
{
    ag_params p;
    ag_params_init(&p);
    p.d[0] = param;
    return ag_apply(op, &x, 1, &p);
}

ag_tensor *ag_clip(ag_tensor *x, double lo, double hi, int has_lo, int has_hi)
{
    ag_params p;
    ag_params_init(&p);
    p.d[0] = has_lo ? lo : -INFINITY;
    p.d[1] = has_hi ? hi : INFINITY;
    if ((has_lo && isnan(lo)) || (has_hi && isnan(hi))) {
        /* x < NaN is false for every x: the bound would be ignored without a word */
        ag_set_error(AG_EVALUE, "clip: a bound is NaN (a_min=%g, a_max=%g)", lo, hi);
        return NULL;
    }
    if (has_lo && has_hi && lo > hi) {
        ag_set_error(AG_EVALUE, "clip: lower bound %g is greater than upper bound %g", lo, hi);
        return NULL;
    }
    return ag_apply(AG_OP_clip, &x, 1, &p);
}

/* ------------------------------------------------------------------ binary */
/* a^b with the exponents whose exact (correctly rounded) forms are cheap: a^2 = a*a, a^1 = a,
   a^-1 = 1/a (libm's pow is within ~0.52 ulp, these are exact to 0.5); with a scalar exponent
   the test is loop-invariant, so the loop is specialised */
#define POWX(a, b) ((b) == 2 ? (a) * (a) : (b) == 1 ? (a) : (b) == -1 ? 1 / (a) : pow(a, b))
#define BINARY_OPS(X)                        \
    X(add, a + b)                            \
    X(sub, a - b)                            \
    X(mul, a * b)                            \
    X(div, a / b)                            \
    X(pow, POWX(a, b))                       \
    X(maximum, (a != a || a > b) ? a : (b != b ? b : (a == b ? a : b))) \
    X(minimum, (a != a || a < b) ? a : (b != b ? b : (a == b ? a : b))) \
    X(arctan2, atan2(a, b))                  \
    X(hypot, hypot(a, b))                    \
    X(eq, a == b)                            \
    X(ne, a != b)                            \
    X(lt, a < b)                             \
    X(le, a <= b)                            \
    X(gt, a > b)                             \
    X(ge, a >= b)

#define GEN_BINARY_T(name, EX, T, sfx)                                                         \
    static void bin_##name##_##sfx(int64_t n, char **p, const int64_t *s, void *ctx)           \
    {                                                                                          \
        int64_t i;                                                                             \
        const int64_t es = sizeof(T);                                                          \
        (void)ctx;                                                                             \
        if (s[0] == es && s[1] == es && s[2] == es) {                                          \
            T *o = (T *)p[0];                                                                  \
            const T *as = (const T *)p[1], *bs = (const T *)p[2];                              \
            AG_PAR_FOR(n >= PAR_N, i, n, const T a = as[i]; const T b = bs[i]; o[i] = (T)(EX););\
        } else if (s[0] == es && s[1] == es && s[2] == 0) {                                    \
            T *o = (T *)p[0];                                                                  \
            const T *as = (const T *)p[1], b = *(const T *)p[2];                               \
            AG_PAR_FOR(n >= PAR_N, i, n, const T a = as[i]; o[i] = (T)(EX););                  \
        } else if (s[0] == es && s[1] == 0 && s[2] == es) {                                    \
            T *o = (T *)p[0];                                                                  \
            const T a = *(const T *)p[1], *bs = (const T *)p[2];                               \
            AG_PAR_FOR(n >= PAR_N, i, n, const T b = bs[i]; o[i] = (T)(EX););                  \
        } else if (s[0] == es && s[1] == 0 && s[2] == 0) { /* both broadcast: a fill */        \
            T *o = (T *)p[0];                                                                  \
            const T a = *(const T *)p[1], b = *(const T *)p[2], r = (T)(EX);                   \
            AG_PAR_FOR(n >= PAR_N, i, n, o[i] = r;);                                           \
        } else {                                                                               \
            for (i = 0; i < n; i++) {                                                          \
                const T a = *(const T *)(p[1] + i * s[1]), b = *(const T *)(p[2] + i * s[2]);  \
                *(T *)(p[0] + i * s[0]) = (T)(EX);                                             \
            }                                                                                  \
        }                                                                                      \
    }
#define GEN_BINARY(name, EX) GEN_BINARY_T(name, EX, float, f32) GEN_BINARY_T(name, EX, double, f64)
BINARY_OPS(GEN_BINARY)

static const ag_row_fn binary_rows[AG_NUM_OPS][2] = {
#define ROWB(name, EX) [AG_OP_##name] = {bin_##name##_f32, bin_##name##_f64},
    BINARY_OPS(ROWB)
#undef ROWB
};

/* out (already allocated, its own shape) = a op b, broadcast */
static void binary_into(int op, ag_tensor *o, ag_tensor *a, ag_tensor *b)
{
    int64_t bs[3][AG_MAXDIM];
    char *base[3];
    ag_tensor *ops[3];
    int k;
    ops[0] = o; ops[1] = a; ops[2] = b;
    if (ag_iter_single_row(3, ops, binary_rows[op][o->dtype], NULL)) return;
    for (k = 0; k < 3; k++) {
        ag_broadcast_strides(ops[k], o->ndim, o->shape, bs[k]);
        base[k] = ag_ptr(ops[k]);
    }
    ag_iter(3, o->ndim, o->shape, base, bs, binary_rows[op][o->dtype], NULL);
}

static int check_dtypes(const char *opname, ag_tensor **in, int nin)
{
    int i;
    for (i = 1; i < nin; i++)
        if (in[i]->dtype != in[0]->dtype)
            return ag_set_error(AG_ETYPE,
                                "%s: dtype mismatch, %s and %s (convert one with .astype())",
                                opname, ag_dtype_name(in[0]->dtype), ag_dtype_name(in[i]->dtype));
    return 0;
}

/* a = diag(v) (batch axis first) and b without the batch axis, broadcast into a's core:
 * diag(v) * b = diag(v * b), b * diag(v) = diag(b * v), diag(v) / b = diag(v / b), from n
 * products instead of n^2 (out: the broadcast shape).  1: done, 0: not applicable, -1: error */
static int binary_diag(int op, ag_tensor *a, ag_tensor *b, int nd, const int64_t *shape,
                       ag_tensor **out)
{
    ag_tensor *h, *dv = NULL, *vs, *w, *wf;
    int64_t n;
    if (op != AG_OP_mul && op != AG_OP_div) return 0;
    if (b->ndim < nd && (dv = ag_diag_vec(a))) h = a;
    else if (op == AG_OP_mul && a->ndim < nd && (dv = ag_diag_vec(b))) h = b;
    else return 0;
    if (h->ndim != nd || memcmp(h->shape, shape, sizeof(int64_t) * (size_t)nd) != 0) return 0;
    /* w (core shape) = v op other, with the other operand's own broadcasting */
    vs = ag_tensor_view(dv, nd - 1, shape + 1, NULL, dv->offset);
    w = vs ? ag_tensor_empty(a->dtype, nd - 1, shape + 1) : NULL;
    if (!w) { ag_tensor_decref(vs); return -1; }
    binary_into(op, w, h == a ? vs : a, h == a ? b : vs);
    ag_tensor_decref(vs);
    if (!ag_all_finite(w)) { ag_tensor_decref(w); return 0; } /* the dense zeros would be nan */
    n = dv->size;
    wf = ag_tensor_view(w, 1, &n, NULL, 0);
    ag_tensor_decref(w);
    if (!wf) return -1;
    *out = ag_diag_new(wf, nd, shape);
    return *out ? 1 : -1;
}

static ag_tensor *binary_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    int nd, k;
    int64_t shape[AG_MAXDIM];
    ag_tensor *o = NULL;
    (void)p;
    if (check_dtypes(ag_op_name(op), in, nin)) return NULL;
    if (ag_broadcast_shapes(ag_op_name(op), in[0]->ndim, in[0]->shape, in[1]->ndim, in[1]->shape,
                            &nd, shape))
        return NULL;
    k = binary_diag(op, in[0], in[1], nd, shape, &o);
    if (k) return k > 0 ? o : NULL;
    o = ag_tensor_empty(in[0]->dtype, nd, shape);
    if (o) binary_into(op, o, in[0], in[1]);
    return o;
}

int ag_inplace_binary(ag_tensor *t, ag_tensor *other, int op)
{
    int nd;
    int64_t shape[AG_MAXDIM];
    ag_tensor *src = other;
    if (other->dtype != t->dtype)
        return ag_set_error(AG_ETYPE, "in-place %s: dtype mismatch, %s and %s", ag_op_name(op),
                            ag_dtype_name(t->dtype), ag_dtype_name(other->dtype));
    if (ag_broadcast_shapes(ag_op_name(op), t->ndim, t->shape, other->ndim, other->shape, &nd, shape))
        return -1;
    if (nd != t->ndim || memcmp(shape, t->shape, sizeof(int64_t) * (size_t)nd) != 0) {
        char b1[160], b2[160];
        ag_format_shape(b1, sizeof b1, other->ndim, other->shape);
        ag_format_shape(b2, sizeof b2, t->ndim, t->shape);
        return ag_set_error(AG_EVALUE, "in-place %s: operand of shape %s cannot be broadcast to %s",
                            ag_op_name(op), b1, b2);
    }
    if (other->storage == t->storage) {
        src = ag_tensor_contiguous_copy(other);
        if (!src) return -1;
    }
    binary_into(op, t, t, src);
    if (src != other) ag_tensor_decref(src);
    ag_bump_version(t);
    return 0;
}

ag_tensor *ag_binary(int op, ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2];
    in[0] = a;
    in[1] = b;
    return ag_apply(op, in, 2, NULL);
}
ag_tensor *ag_add(ag_tensor *a, ag_tensor *b) { return ag_binary(AG_OP_add, a, b); }
ag_tensor *ag_sub(ag_tensor *a, ag_tensor *b) { return ag_binary(AG_OP_sub, a, b); }
ag_tensor *ag_mul(ag_tensor *a, ag_tensor *b) { return ag_binary(AG_OP_mul, a, b); }
ag_tensor *ag_div(ag_tensor *a, ag_tensor *b) { return ag_binary(AG_OP_div, a, b); }
ag_tensor *ag_neg(ag_tensor *a) { return a ? ag_unary(AG_OP_neg, a) : NULL; }

static ag_tensor *with_scalar(int op, ag_tensor *x, double s, int scalar_first)
{
    ag_tensor *c = ag_tensor_scalar(x->dtype, s), *r;
    if (!c) return NULL;
    r = scalar_first ? ag_binary(op, c, x) : ag_binary(op, x, c);
    ag_tensor_decref(c);
    return r;
}
ag_tensor *ag_scale(ag_tensor *x, double s) { return with_scalar(AG_OP_mul, x, s, 0); }
ag_tensor *ag_add_scalar(ag_tensor *x, double s) { return with_scalar(AG_OP_add, x, s, 0); }
ag_tensor *ag_pow_scalar(ag_tensor *x, double s) { return with_scalar(AG_OP_pow, x, s, 0); }

/* log(a), with 0 where a == 0 (so that d(a^b)/db = a^b log a is 0 there, not nan) */
static ag_tensor *log_or_zero(ag_tensor *a)
{
    ag_tensor *z = cbin(AG_OP_eq, own(a), cconst(a, 0.0)), *one = cconst(a, 1.0);
    ag_tensor *safe = (z && one) ? ag_where(z, one, a) : NULL;
    ag_tensor_decref(z);
    ag_tensor_decref(one);
    return cun(AG_OP_log, safe);
}

/* mask of where the gradient of maximum/minimum goes to a: 1, 0, and 1/2 at ties; a NaN is the
   result (as in numpy), so the gradient goes to the NaN operand (to a when both are NaN), not to
   the operand the result does not depend on */
static ag_tensor *minmax_mask(int op, ag_tensor *a, ag_tensor *b)
{
    ag_tensor *m = cbin(op == AG_OP_maximum ? AG_OP_gt : AG_OP_lt, own(a), own(b));
    m = CADD(m, cbin(AG_OP_ne, own(a), own(a)));
    return CADD(m, cscale(cbin(AG_OP_eq, own(a), own(b)), 0.5));
}

/* the exponent of a^(b-1) in d(a^b)/da = b a^(b-1): b - 1, but 0 where a == 0 and b == 0, so
   that the derivative of a^0 there is 0 * 0^0 = 0, not 0 * inf = NaN (PyTorch gives 0 too).
   Only there: elsewhere a^(b-1) is finite, and keeping it keeps the higher derivatives exact
   (d/db of b a^(b-1) at b = 0 is 1/a, which a mask on b alone would turn into 1). */
static ag_tensor *pow_grad_exponent(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *both0 = CMUL(cbin(AG_OP_eq, own(b), cconst(b, 0.0)), cbin(AG_OP_eq, own(a), cconst(a, 0.0)));
    return CADD(ag_add_scalar(b, -1.0), both0);
}

/* q = (a/r, b/r, r) with r = hypot(a, b): the point's unit vector and length; 0 or -1.
 * At the origin r is taken as 1, so the unit vector and both derivatives are 0 there (hypot's
 * subgradient, as norm's; atan2 has none): a 0/0 would be NaN, and 0 * NaN poisons the
 * other elements' gradients in every sum over a broadcast or a batched Jacobian */
static int polar(ag_tensor *a, ag_tensor *b, ag_tensor **q)
{
    ag_tensor *r = ag_binary(AG_OP_hypot, a, b);
    int k;
    q[2] = r ? CADD(own(r), cbin(AG_OP_eq, own(r), cconst(r, 0.0))) : NULL;
    ag_tensor_decref(r);
    q[0] = q[2] ? ag_div(a, q[2]) : NULL;
    q[1] = q[2] ? ag_div(b, q[2]) : NULL;
    if (q[0] && q[1]) return 0;
    for (k = 0; k < 3; k++) ag_tensor_decref(q[k]);
    return -1;
}

static int vjp_binary(ag_vjp_ctx *c)
{
    ag_tensor *a = c->in[0], *b = c->in[1], *g = c->g;
    ag_tensor **ga = &c->gin[0], **gb = &c->gin[1];
    int na = c->needs[0], nb = c->needs[1];
    switch (c->op) {
    case AG_OP_add: /* d(a+b) = da + db */
        if (na) *ga = own(g);
        if (nb) *gb = own(g);
        break;
    case AG_OP_sub:
        if (na) *ga = own(g);
        if (nb && !(*gb = ag_neg(g))) return -1;
        break;
    case AG_OP_mul: /* d(ab) = b da + a db */
        if (na && !(*ga = ag_mul(g, b))) return -1;
        if (nb && !(*gb = ag_mul(g, a))) return -1;
        break;
    case AG_OP_div: /* d(a/b) = da / b - (a/b) db / b; not a db / b^2, whose b^2 over- or
                       underflows long before the result does (b = 1e200) */
        if (na && !(*ga = ag_div(g, b))) return -1;
        if (nb && !(*gb = cun(AG_OP_neg, CDIV(CMUL(own(g), ag_div(a, b)), own(b))))) return -1;
        break;
    case AG_OP_pow: /* d(a^b) = b a^(b-1) da + a^b log(a) db */
        if (na && !(*ga = CMUL(ag_mul(g, b), cbin(AG_OP_pow, own(a), pow_grad_exponent(a, b)))))
            return -1;
        if (nb && !(*gb = CMUL(CMUL(own(g), ag_binary(AG_OP_pow, a, b)), log_or_zero(a)))) return -1;
        break;
    case AG_OP_maximum:
    case AG_OP_minimum: {
        ag_tensor *m = minmax_mask(c->op, a, b);
        if (!m) return -1;
        if (na) *ga = ag_mul(g, m);
        if (nb) *gb = CMUL(own(g), CSUB(cconst(m, 1.0), own(m)));
        ag_tensor_decref(m);
        if ((na && !*ga) || (nb && !*gb)) return -1;
        break;
    }
    case AG_OP_arctan2: /* d atan2(a, b) = ((b/r) da - (a/r) db) / r, r = hypot(a, b) */
    case AG_OP_hypot: { /* d hypot(a, b) = (a/r) da + (b/r) db; a/r, b/r in [-1, 1]: nothing
                           over- or underflows that the exact derivative would not */
        ag_tensor *q[3];
        int at = c->op == AG_OP_arctan2, k;
        if (polar(a, b, q)) return -1;
        if (na) *ga = at ? CDIV(ag_mul(g, q[1]), own(q[2])) : ag_mul(g, q[0]);
        if (nb) *gb = at ? cun(AG_OP_neg, CDIV(ag_mul(g, q[0]), own(q[2]))) : ag_mul(g, q[1]);
        for (k = 0; k < 3; k++) ag_tensor_decref(q[k]);
        if ((na && !*ga) || (nb && !*gb)) return -1;
        break;
    }
    default:
        break;
    }
    return 0;
}

/* tangent of an input, with unit axes inserted so that it lines up with the output */
ag_tensor *ag_align_tangent(ag_tensor *t, const ag_tensor *x, int out_ndim)
{
    int64_t shape[AG_MAXDIM + 2];
    int lead, k, nd = 0;
    if (!t) return NULL;
    lead = t->ndim - x->ndim;
    if (x->ndim == out_ndim || lead == 0) return own(t);
    for (k = 0; k < lead; k++) shape[nd++] = t->shape[k];
    for (k = 0; k < out_ndim - x->ndim; k++) shape[nd++] = 1;
    for (k = 0; k < x->ndim; k++) shape[nd++] = x->shape[k];
    return ag_reshape(t, nd, shape);
}

/* a + b with NULL meaning zero */
static ag_tensor *add_opt(ag_tensor *a, ag_tensor *b)
{
    if (!a) return b;
    if (!b) return a;
    return CADD(a, b);
}

static ag_tensor *jvp_binary(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                             const ag_params *p)
{
    ag_tensor *a = in[0], *b = in[1];
    ag_tensor *ta = ag_align_tangent(tin[0], a, out->ndim), *tb = ag_align_tangent(tin[1], b, out->ndim);
    ag_tensor *r = NULL;
    (void)nin; (void)p;
    if ((tin[0] && !ta) || (tin[1] && !tb)) goto fail;
    switch (op) {
    case AG_OP_add: return add_opt(ta, tb);
    case AG_OP_sub: return add_opt(ta, tb ? cun(AG_OP_neg, tb) : NULL);
    case AG_OP_mul: return add_opt(ta ? CMUL(ta, own(b)) : NULL, tb ? CMUL(own(a), tb) : NULL);
    case AG_OP_div: /* (ta - tb * out) / b */
        r = add_opt(ta, tb ? cun(AG_OP_neg, CMUL(tb, own(out))) : NULL);
        return r ? CDIV(r, own(b)) : NULL;
    case AG_OP_pow:
        return add_opt(ta ? CMUL(ta, CMUL(own(b), cbin(AG_OP_pow, own(a), pow_grad_exponent(a, b)))) : NULL,
                       tb ? CMUL(tb, CMUL(own(out), log_or_zero(a))) : NULL);
    case AG_OP_maximum:
    case AG_OP_minimum: {
        ag_tensor *m = minmax_mask(op, a, b);
        r = add_opt(ta ? CMUL(ta, own(m)) : NULL, tb ? CMUL(tb, CSUB(cconst(m, 1.0), own(m))) : NULL);
        ag_tensor_decref(m);
        return r;
    }
    case AG_OP_arctan2: /* ((b/r) ta - (a/r) tb) / r */
    case AG_OP_hypot: { /* (a/r) ta + (b/r) tb */
        ag_tensor *q[3];
        int k;
        if (polar(a, b, q)) goto fail;
        r = add_opt(ta ? CMUL(ta, own(q[op == AG_OP_arctan2])) : NULL,
                    tb ? CMUL(tb, op == AG_OP_arctan2 ? cun(AG_OP_neg, own(q[0])) : own(q[1])) : NULL);
        if (r && op == AG_OP_arctan2) r = CDIV(r, own(q[2]));
        for (k = 0; k < 3; k++) ag_tensor_decref(q[k]);
        return r;
    }
    default:
        break;
    }
fail:
    ag_tensor_decref(ta);
    ag_tensor_decref(tb);
    return NULL;
}

#define B_RULE(name) const ag_oprules ag_rules_##name = {binary_fwd, vjp_binary, jvp_binary, 3u};
const ag_oprules ag_rules_add = {binary_fwd, vjp_binary, jvp_binary, 0};
const ag_oprules ag_rules_sub = {binary_fwd, vjp_binary, jvp_binary, 0};
B_RULE(mul) B_RULE(div) B_RULE(pow) B_RULE(maximum) B_RULE(minimum) B_RULE(arctan2)
B_RULE(hypot)
#define C_RULE(name) const ag_oprules ag_rules_##name = {binary_fwd, vjp_binary, jvp_binary, 0};
C_RULE(eq) C_RULE(ne) C_RULE(lt) C_RULE(le) C_RULE(gt) C_RULE(ge)

/* ------------------------------------------------------------------ where(cond, a, b) */
#define GEN_WHERE_T(T, sfx)                                                                  \
    static void where_row_##sfx(int64_t n, char **p, const int64_t *s, void *ctx)            \
    {                                                                                        \
        int64_t i;                                                                           \
        (void)ctx;                                                                           \
        for (i = 0; i < n; i++) {                                                            \
            T c = *(const T *)(p[1] + i * s[1]);                                             \
            *(T *)(p[0] + i * s[0]) = c != 0 ? *(const T *)(p[2] + i * s[2])                 \
                                             : *(const T *)(p[3] + i * s[3]);                \
        }                                                                                    \
    }
GEN_WHERE_T(float, f32)
GEN_WHERE_T(double, f64)

static ag_tensor *where_fwd(int op, ag_tensor **in, int nin, const ag_params *p)
{
    int nd, nd2, k;
    int64_t s1[AG_MAXDIM], s2[AG_MAXDIM], bs[4][AG_MAXDIM];
    char *base[4];
    ag_tensor *o, *ops[4];
    (void)p; (void)op;
    if (check_dtypes("where", in, nin)) return NULL;
    if (ag_broadcast_shapes("where", in[1]->ndim, in[1]->shape, in[2]->ndim, in[2]->shape, &nd, s1))
        return NULL;
    if (ag_broadcast_shapes("where", in[0]->ndim, in[0]->shape, nd, s1, &nd2, s2)) return NULL;
    o = ag_tensor_empty(in[1]->dtype, nd2, s2);
    if (!o) return NULL;
    ops[0] = o; ops[1] = in[0]; ops[2] = in[1]; ops[3] = in[2];
    for (k = 0; k < 4; k++) {
        ag_broadcast_strides(ops[k], nd2, s2, bs[k]);
        base[k] = ag_ptr(ops[k]);
    }
    ag_iter(4, nd2, s2, base, bs, o->dtype == AG_F32 ? where_row_f32 : where_row_f64, NULL);
    return o;
}

ag_tensor *ag_where(ag_tensor *cond, ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[3];
    in[0] = cond; in[1] = a; in[2] = b;
    return ag_apply(AG_OP_where, in, 3, NULL);
}

/* d where(c, a, b) = where(c, da, 0) + where(c, 0, db) */
static int vjp_where(ag_vjp_ctx *c)
{
    ag_tensor *z = cconst(c->g, 0.0);
    if (!z) return -1;
    if (c->needs[1]) c->gin[1] = ag_where(c->in[0], c->g, z);
    if (c->needs[2]) c->gin[2] = ag_where(c->in[0], z, c->g);
    ag_tensor_decref(z);
    return ((c->needs[1] && !c->gin[1]) || (c->needs[2] && !c->gin[2])) ? -1 : 0;
}

static ag_tensor *jvp_where(int op, ag_tensor **in, int nin, ag_tensor *out, ag_tensor **tin,
                            const ag_params *p)
{
    ag_tensor *ta, *tb, *r;
    (void)op; (void)nin; (void)p;
    if (!tin[1] && !tin[2]) return NULL;
    ta = tin[1] ? ag_align_tangent(tin[1], in[1], out->ndim) : cconst(out, 0.0);
    tb = tin[2] ? ag_align_tangent(tin[2], in[2], out->ndim) : cconst(out, 0.0);
    r = (ta && tb) ? ag_where(in[0], ta, tb) : NULL;
    ag_tensor_decref(ta);
    ag_tensor_decref(tb);
    return r;
}

const ag_oprules ag_rules_where = {where_fwd, vjp_where, jvp_where, 1u};
