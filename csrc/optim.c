/* optim.c -- fused, in-place optimizer updates over all parameters of a group in one call.
 *
 * The update formulas follow PyTorch's torch.optim documentation.  Every array is validated
 * before anything is written, so a failed call leaves parameters and state untouched.  Loops over
 * large tensors run under OpenMP; small ones stay serial (thread start-up costs more than them).
 */
#include <math.h>
#include <string.h>

#include "ag_internal.h"
#include "kernels/gemm.h"
#include "optim.h"

#define OPT_PAR_N 65536

static int check_buf(const char *opt, const char *what, int i, ag_tensor *p, ag_tensor *b)
{
    if (!b) return ag_set_error(AG_EVALUE, "%s: parameter %d has no %s buffer", opt, i, what);
    if (b->size != p->size || b->dtype != p->dtype || !ag_tensor_is_contiguous(b))
        return ag_set_error(AG_EVALUE,
                            "%s: %s buffer of parameter %d must be a contiguous %s tensor of %lld "
                            "elements (got %s, %lld elements)", opt, what, i,
                            ag_dtype_name(p->dtype), (long long)p->size, ag_dtype_name(b->dtype),
                            (long long)b->size);
    return 0;
}

/* every parameter: a leaf; its grad (when present): same shape and dtype.  Either may be a
 * strided view: see stage() */
static int check_params(const char *opt, int n, ag_tensor **params)
{
    int i, d;
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *g;
        if (!p) return ag_set_error(AG_EVALUE, "%s: parameter %d is missing", opt, i);
        if (p->grad_fn)
            return ag_set_error(AG_EVALUE, "%s: parameter %d is not a leaf tensor (it is the "
                                "output of %s); optimizers update leaves only", opt, i,
                                ag_node_name(p->grad_fn));
        g = p->grad;
        if (!g) continue;
        for (d = 0; d < p->ndim; d++)
            if (p->strides[d] == 0 && p->shape[d] > 1)
                return ag_set_error(AG_EVALUE, "%s: parameter %d is a broadcast (expanded) view, "
                                    "where several elements share one memory location; make "
                                    "it a copy", opt, i);
        if (g->dtype != p->dtype || !ag_same_shape(g, p))
            return ag_set_error(AG_EVALUE, "%s: the gradient of parameter %d must be a tensor of "
                                "the parameter's shape and dtype", opt, i);
    }
    return 0;
}

/* The kernels run over flat arrays.  A non-contiguous parameter (say a transposed view made a
 * Parameter) is updated through a contiguous copy that unstage() writes back; a non-contiguous
 * gradient is read through a contiguous copy. */
static int stage(ag_tensor *p, ag_tensor *g, ag_tensor **w, ag_tensor **wg)
{
    *w = ag_tensor_is_contiguous(p) ? p : ag_tensor_contiguous_copy(p);
    *wg = ag_tensor_is_contiguous(g) ? g : ag_tensor_contiguous_copy(g);
    if (*w && *wg) return 0;
    if (*w && *w != p) ag_tensor_decref(*w);
    if (*wg && *wg != g) ag_tensor_decref(*wg);
    return -1;
}

static void unstage(ag_tensor *p, ag_tensor *g, ag_tensor *w, ag_tensor *wg)
{
    if (w != p) {
        ag_copy_raw(p, w);
        ag_tensor_decref(w);
    }
    if (wg != g) ag_tensor_decref(wg);
}

/* each hyper-parameter must be a number >= 0 (NaN fails the test too) */
static int check_hyper(const char *opt, int n, const char *const *names, const double *vals)
{
    int i;
    for (i = 0; i < n; i++)
        if (!(vals[i] >= 0.0) || isinf(vals[i]))
            return ag_set_error(AG_EVALUE, "%s: invalid %s %g (must be a finite number >= 0)", opt,
                                names[i], vals[i]);
    return 0;
}
#define CHECK_HYPER(opt, ...)                                                                     \
    do {                                                                                          \
        static const char *const nm_[] = {__VA_ARGS__};                                            \
        if (check_hyper(opt, (int)(sizeof nm_ / sizeof nm_[0]), nm_, hv_)) return -1;             \
    } while (0)

#define PDATA(T, t) ((T *)(t)->storage->data + (t)->offset)

/* ---- SGD
 * g <- grad + wd p;  buf <- mu buf + (1 - damp) g (buf <- g on the first step);
 * g <- g + mu buf (nesterov) or buf;  p <- p - lr g */
#define SGD_KERNEL(T, NAME)                                                                      \
    static void NAME(int64_t n, T *p, const T *gr, T *buf, int first, double lr, double mu,       \
                     double damp, int nesterov, double wd, double sgn)                           \
    {                                                                                             \
        int64_t j;                                                                                \
        const T tlr = (T)lr, tmu = (T)mu, tdamp = (T)(1.0 - damp), twd = (T)wd, ts = (T)sgn;      \
        AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                          \
            T g = ts * gr[j] + twd * p[j];                                                        \
            if (buf) {                                                                            \
                T b = first ? g : tmu * buf[j] + tdamp * g;                                       \
                buf[j] = b;                                                                       \
                g = nesterov ? g + tmu * b : b;                                                   \
            }                                                                                     \
            p[j] -= tlr * g;                                                                      \
        );                                                                                        \
    }
SGD_KERNEL(float, sgd_f32)
SGD_KERNEL(double, sgd_f64)

int ag_optim_sgd(int n, ag_tensor **params, ag_tensor **mbuf, int64_t *steps, double lr,
                 double momentum, double dampening, int nesterov, double weight_decay,
                 int maximize)
{
    int i;
    const double hv_[] = {lr, momentum, dampening, weight_decay};
    CHECK_HYPER("SGD", "lr", "momentum", "dampening", "weight_decay");
    if (check_params("SGD", n, params)) return -1;
    if (momentum != 0.0)
        for (i = 0; i < n; i++)
            if (params[i]->grad && check_buf("SGD", "momentum", i, params[i], mbuf[i])) return -1;
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *b = momentum != 0.0 ? mbuf[i] : NULL, *w, *wg;
        if (!p->grad) continue;
        if (stage(p, p->grad, &w, &wg)) return -1;
        if (p->dtype == AG_F32)
            sgd_f32(w->size, PDATA(float, w), PDATA(float, wg), b ? PDATA(float, b) : NULL,
                    steps[i] == 0, lr, momentum, dampening, nesterov, weight_decay,
                    maximize ? -1.0 : 1.0);
        else
            sgd_f64(w->size, PDATA(double, w), PDATA(double, wg),
                    b ? PDATA(double, b) : NULL, steps[i] == 0, lr, momentum, dampening, nesterov,
                    weight_decay, maximize ? -1.0 : 1.0);
        steps[i]++;
        unstage(p, p->grad, w, wg);
        ag_bump_version(p);
        if (b) ag_bump_version(b);
    }
    return 0;
}

/* ---- the Adam family: Adam / AdamW, Adamax, NAdam, RAdam
 * One element kernel serves them all.  With g = sgn * grad + l2 p (l2 = 0 when weight decay is
 * decoupled, which scales p by dec = 1 - lr wd instead):
 *   m <- b1 m + (1 - b1) g;
 *   AF_SQ:    v <- b2 v + (1 - b2) g^2 (vmax <- max(vmax, v) with amsgrad), d = sqrt(v) ib + eps;
 *   AF_PLAIN: v as AF_SQ, d = 1 (RAdam before its variance estimate is usable);
 *   AF_INF:   v <- max(b2 v, |g| + eps), d = v (Adamax's infinity norm);
 *   p <- dec p - (kg g + km m) / d.
 * The per-parameter scalars kg, km and ib carry each optimizer's bias corrections (af_coef). */
enum { AF_SQ, AF_PLAIN, AF_INF };

typedef struct {
    int mode;
    double kg, km, ib;
} af_step;

#define ADAM_FAMILY_KERNEL(T, NAME, SQRT, ABS)                                                   \
    static void NAME(int64_t n, T *p, const T *gr, T *m, T *v, T *vmax, const af_step *s,         \
                     double b1, double b2, double eps, double l2, double decay, double sgn)       \
    {                                                                                             \
        int64_t j;                                                                                \
        const int mode = s->mode;                                                                 \
        const T tb1 = (T)b1, tb2 = (T)b2, c1 = (T)(1.0 - b1), c2 = (T)(1.0 - b2);                 \
        const T tkg = (T)s->kg, tkm = (T)s->km, tib = (T)s->ib, teps = (T)eps, tl2 = (T)l2;       \
        const T tdec = (T)decay, ts = (T)sgn;                                                     \
        if (mode == AF_SQ && !vmax) {                                                             \
            /* plain Adam / AdamW / NAdam: the same operations in the same order as the general \
               loop below, without its per-element branches, so the compiler vectorises it */     \
            AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                      \
                T g = ts * gr[j] + tl2 * p[j];                                                    \
                T mj = tb1 * m[j] + c1 * g;                                                       \
                T vj = tb2 * v[j] + c2 * g * g;                                                   \
                m[j] = mj;                                                                        \
                v[j] = vj;                                                                        \
                p[j] = p[j] * tdec - (tkg * g + tkm * mj) / (SQRT(vj) * tib + teps);              \
            );                                                                                    \
            return;                                                                               \
        }                                                                                         \
        AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                          \
            T g = ts * gr[j] + tl2 * p[j];                                                        \
            T mj = tb1 * m[j] + c1 * g;                                                           \
            T d;                                                                                  \
            m[j] = mj;                                                                            \
            if (mode == AF_INF) {                                                                 \
                T a = ABS(g) + teps, u = tb2 * v[j];                                              \
                d = u > a || u != u ? u : a;                                                      \
                v[j] = d;                                                                         \
            } else {                                                                              \
                T vj = tb2 * v[j] + c2 * g * g;                                                   \
                v[j] = vj;                                                                        \
                if (vmax) {                                                                       \
                    vj = vmax[j] > vj ? vmax[j] : vj;                                             \
                    vmax[j] = vj;                                                                 \
                }                                                                                 \
                d = mode == AF_PLAIN ? (T)1 : SQRT(vj) * tib + teps;                              \
            }                                                                                     \
            p[j] = p[j] * tdec - (tkg * g + tkm * mj) / d;                                        \
        );                                                                                        \
    }
ADAM_FAMILY_KERNEL(float, adam_family_f32, sqrtf, fabsf)
ADAM_FAMILY_KERNEL(double, adam_family_f64, sqrt, fabs)

enum { AF_ADAM, AF_ADAMAX, AF_NADAM, AF_RADAM };

typedef struct {
    const char *name;
    int algo;
    double lr, b1, b2, eps, weight_decay, momentum_decay;
    int decoupled, amsgrad, maximize;
    double *mu_product; /* NAdam: per parameter, prod of mu_1..mu_t */
} af_opts;

/* the step coefficients of parameter i at its step t (1-based) */
static af_step af_coef(const af_opts *o, int i, double t)
{
    af_step s;
    const double bc1 = 1.0 - pow(o->b1, t), bc2 = 1.0 - pow(o->b2, t);
    s.mode = AF_SQ;
    s.kg = 0.0;
    s.km = o->lr / bc1;
    s.ib = 1.0 / sqrt(bc2);
    if (o->algo == AF_ADAMAX) {
        s.mode = AF_INF;
    } else if (o->algo == AF_NADAM) {
        /* mu_t = b1 (1 - 0.96^(t psi) / 2);  kg = lr (1 - mu_t) / (1 - prod_1^t mu),
         * km = lr mu_{t+1} / (1 - prod_1^{t+1} mu) */
        double mu = o->b1 * (1.0 - 0.5 * pow(0.96, t * o->momentum_decay));
        double mu_next = o->b1 * (1.0 - 0.5 * pow(0.96, (t + 1.0) * o->momentum_decay));
        double prod = o->mu_product[i] * mu;
        o->mu_product[i] = prod;
        s.kg = o->lr * (1.0 - mu) / (1.0 - prod);
        s.km = o->lr * mu_next / (1.0 - prod * mu_next);
    } else if (o->algo == AF_RADAM) {
        /* rho_t = rho_inf - 2 t b2^t / (1 - b2^t); rectified (rho_t > 5):
         * km = lr / bc1 * r_t * sqrt(bc2) over sqrt(v) + eps, else plain momentum lr / bc1 m */
        double rho_inf = 2.0 / (1.0 - o->b2) - 1.0;
        double rho_t = rho_inf - 2.0 * t * pow(o->b2, t) / bc2;
        if (rho_t > 5.0) {
            double r = sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                            ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t));
            s.km *= r * sqrt(bc2);
            s.ib = 1.0;
        } else {
            s.mode = AF_PLAIN;
        }
    }
    return s;
}

static int adam_family(const af_opts *o, int n, ag_tensor **params, ag_tensor **exp_avg,
                       ag_tensor **second, const char *second_name, ag_tensor **max_exp_avg_sq,
                       int64_t *steps)
{
    int i;
    const char *nm = o->name;
    const double hv_[] = {o->lr, o->eps, o->weight_decay, o->momentum_decay};
    CHECK_HYPER(nm, "lr", "eps", "weight_decay", "momentum_decay");
    if (!(o->b1 >= 0.0 && o->b1 < 1.0 && o->b2 >= 0.0 && o->b2 < 1.0))
        return ag_set_error(AG_EVALUE, "%s: betas must be in [0, 1), got (%g, %g)", nm, o->b1,
                            o->b2);
    if (check_params(nm, n, params)) return -1;
    for (i = 0; i < n; i++) {
        if (!params[i]->grad) continue;
        if (check_buf(nm, "exp_avg", i, params[i], exp_avg[i]) ||
            check_buf(nm, second_name, i, params[i], second[i]) ||
            (o->amsgrad && check_buf(nm, "max_exp_avg_sq", i, params[i], max_exp_avg_sq[i])))
            return -1;
    }
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *vm, *w, *wg;
        double l2, dec, sg = o->maximize ? -1.0 : 1.0;
        af_step s;
        if (!p->grad) continue;
        if (stage(p, p->grad, &w, &wg)) return -1;
        s = af_coef(o, i, (double)(++steps[i]));
        l2 = o->decoupled ? 0.0 : o->weight_decay;
        dec = o->decoupled ? 1.0 - o->lr * o->weight_decay : 1.0;
        vm = o->amsgrad ? max_exp_avg_sq[i] : NULL;
        if (p->dtype == AG_F32)
            adam_family_f32(w->size, PDATA(float, w), PDATA(float, wg), PDATA(float, exp_avg[i]),
                            PDATA(float, second[i]), vm ? PDATA(float, vm) : NULL, &s, o->b1,
                            o->b2, o->eps, l2, dec, sg);
        else
            adam_family_f64(w->size, PDATA(double, w), PDATA(double, wg),
                            PDATA(double, exp_avg[i]), PDATA(double, second[i]),
                            vm ? PDATA(double, vm) : NULL, &s, o->b1, o->b2, o->eps, l2, dec, sg);
        unstage(p, p->grad, w, wg);
        ag_bump_version(p);
        ag_bump_version(exp_avg[i]);
        ag_bump_version(second[i]);
        if (vm) ag_bump_version(vm);
    }
    return 0;
}

int ag_optim_adam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                  ag_tensor **max_exp_avg_sq, int64_t *steps, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int decoupled, int amsgrad,
                  int maximize)
{
    af_opts o = {decoupled ? "AdamW" : "Adam", AF_ADAM, lr, beta1, beta2, eps, weight_decay, 0.0,
                 decoupled, amsgrad, maximize, NULL};
    return adam_family(&o, n, params, exp_avg, exp_avg_sq, "exp_avg_sq", max_exp_avg_sq, steps);
}

int ag_optim_adamax(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_inf,
                    int64_t *steps, double lr, double beta1, double beta2, double eps,
                    double weight_decay, int maximize)
{
    af_opts o = {"Adamax", AF_ADAMAX, lr, beta1, beta2, eps, weight_decay, 0.0, 0, 0, maximize,
                 NULL};
    return adam_family(&o, n, params, exp_avg, exp_inf, "exp_inf", NULL, steps);
}

int ag_optim_nadam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                   int64_t *steps, double *mu_product, double lr, double beta1, double beta2,
                   double eps, double weight_decay, double momentum_decay, int decoupled,
                   int maximize)
{
    af_opts o = {"NAdam", AF_NADAM, lr, beta1, beta2, eps, weight_decay, momentum_decay,
                 decoupled, 0, maximize, mu_product};
    if (!mu_product) return ag_set_error(AG_EVALUE, "NAdam: the mu_product array is missing");
    return adam_family(&o, n, params, exp_avg, exp_avg_sq, "exp_avg_sq", NULL, steps);
}

int ag_optim_radam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                   int64_t *steps, double lr, double beta1, double beta2, double eps,
                   double weight_decay, int decoupled, int maximize)
{
    af_opts o = {"RAdam", AF_RADAM, lr, beta1, beta2, eps, weight_decay, 0.0, decoupled, 0,
                 maximize, NULL};
    return adam_family(&o, n, params, exp_avg, exp_avg_sq, "exp_avg_sq", NULL, steps);
}

/* ---- RMSprop
 * s <- a s + (1 - a) g^2;  c <- a c + (1 - a) g (centered);  d <- sqrt(s - c^2) + eps;
 * buf <- mu buf + g / d, p <- p - lr buf (momentum) or p <- p - lr g / d */
#define RMSPROP_KERNEL(T, NAME, SQRT)                                                            \
    static void NAME(int64_t n, T *p, const T *gr, T *sq, T *buf, T *ga, double lr, double a,     \
                     double eps, double wd, double mu, double sgn)                               \
    {                                                                                             \
        int64_t j;                                                                                \
        const T ta = (T)a, c = (T)(1.0 - a), teps = (T)eps, twd = (T)wd, tmu = (T)mu;             \
        const T tlr = (T)lr, ts = (T)sgn;                                                         \
        AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                          \
            T g = ts * gr[j] + twd * p[j];                                                        \
            T s = ta * sq[j] + c * g * g;                                                         \
            T d;                                                                                  \
            sq[j] = s;                                                                            \
            if (ga) {                                                                             \
                T cj = ta * ga[j] + c * g;                                                        \
                ga[j] = cj;                                                                       \
                s -= cj * cj;                                                                     \
            }                                                                                     \
            d = SQRT(s) + teps;                                                                   \
            if (buf) {                                                                            \
                T b = tmu * buf[j] + g / d;                                                       \
                buf[j] = b;                                                                       \
                p[j] -= tlr * b;                                                                  \
            } else {                                                                              \
                p[j] -= tlr * g / d;                                                              \
            }                                                                                     \
        );                                                                                        \
    }
RMSPROP_KERNEL(float, rmsprop_f32, sqrtf)
RMSPROP_KERNEL(double, rmsprop_f64, sqrt)

int ag_optim_rmsprop(int n, ag_tensor **params, ag_tensor **square_avg, ag_tensor **mbuf,
                     ag_tensor **grad_avg, int64_t *steps, double lr, double alpha, double eps,
                     double weight_decay, double momentum, int centered, int maximize)
{
    int i;
    const double hv_[] = {lr, alpha, eps, weight_decay, momentum};
    CHECK_HYPER("RMSprop", "lr", "alpha", "eps", "weight_decay", "momentum");
    if (check_params("RMSprop", n, params)) return -1;
    for (i = 0; i < n; i++) {
        if (!params[i]->grad) continue;
        if (check_buf("RMSprop", "square_avg", i, params[i], square_avg[i]) ||
            (momentum > 0 && check_buf("RMSprop", "momentum", i, params[i], mbuf[i])) ||
            (centered && check_buf("RMSprop", "grad_avg", i, params[i], grad_avg[i])))
            return -1;
    }
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *w, *wg;
        ag_tensor *b = momentum > 0 ? mbuf[i] : NULL, *c = centered ? grad_avg[i] : NULL;
        double sg = maximize ? -1.0 : 1.0;
        if (!p->grad) continue;
        if (stage(p, p->grad, &w, &wg)) return -1;
        if (p->dtype == AG_F32)
            rmsprop_f32(w->size, PDATA(float, w), PDATA(float, wg),
                        PDATA(float, square_avg[i]), b ? PDATA(float, b) : NULL,
                        c ? PDATA(float, c) : NULL, lr, alpha, eps, weight_decay, momentum, sg);
        else
            rmsprop_f64(w->size, PDATA(double, w), PDATA(double, wg),
                        PDATA(double, square_avg[i]), b ? PDATA(double, b) : NULL,
                        c ? PDATA(double, c) : NULL, lr, alpha, eps, weight_decay, momentum, sg);
        steps[i]++;
        unstage(p, p->grad, w, wg);
        ag_bump_version(p);
        ag_bump_version(square_avg[i]);
        if (b) ag_bump_version(b);
        if (c) ag_bump_version(c);
    }
    return 0;
}

/* ---- Adagrad
 * lr_t = lr / (1 + (t - 1) decay);  s <- s + g^2;  p <- p - lr_t g / (sqrt(s) + eps) */
#define ADAGRAD_KERNEL(T, NAME, SQRT)                                                            \
    static void NAME(int64_t n, T *p, const T *gr, T *sum, double clr, double wd, double eps,     \
                     double sgn)                                                                  \
    {                                                                                             \
        int64_t j;                                                                                \
        const T tlr = (T)clr, twd = (T)wd, teps = (T)eps, ts = (T)sgn;                            \
        AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                          \
            T g = ts * gr[j] + twd * p[j];                                                        \
            T s = sum[j] + g * g;                                                                 \
            sum[j] = s;                                                                           \
            p[j] -= tlr * g / (SQRT(s) + teps);                                                   \
        );                                                                                        \
    }
ADAGRAD_KERNEL(float, adagrad_f32, sqrtf)
ADAGRAD_KERNEL(double, adagrad_f64, sqrt)

int ag_optim_adagrad(int n, ag_tensor **params, ag_tensor **state_sum, int64_t *steps, double lr,
                     double lr_decay, double weight_decay, double eps, int maximize)
{
    int i;
    const double hv_[] = {lr, lr_decay, weight_decay, eps};
    CHECK_HYPER("Adagrad", "lr", "lr_decay", "weight_decay", "eps");
    if (check_params("Adagrad", n, params)) return -1;
    for (i = 0; i < n; i++)
        if (params[i]->grad && check_buf("Adagrad", "sum", i, params[i], state_sum[i])) return -1;
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *w, *wg;
        double clr;
        if (!p->grad) continue;
        if (stage(p, p->grad, &w, &wg)) return -1;
        clr = lr / (1.0 + (double)steps[i] * lr_decay);
        steps[i]++;
        if (p->dtype == AG_F32)
            adagrad_f32(w->size, PDATA(float, w), PDATA(float, wg),
                        PDATA(float, state_sum[i]), clr, weight_decay, eps, maximize ? -1.0 : 1.0);
        else
            adagrad_f64(w->size, PDATA(double, w), PDATA(double, wg),
                        PDATA(double, state_sum[i]), clr, weight_decay, eps,
                        maximize ? -1.0 : 1.0);
        unstage(p, p->grad, w, wg);
        ag_bump_version(p);
        ag_bump_version(state_sum[i]);
    }
    return 0;
}

/* ---- Adadelta
 * v <- rho v + (1 - rho) g^2;  delta = sqrt(u + eps) / sqrt(v + eps) g;
 * u <- rho u + (1 - rho) delta^2;  p <- p - lr delta */
#define ADADELTA_KERNEL(T, NAME, SQRT)                                                           \
    static void NAME(int64_t n, T *p, const T *gr, T *sq, T *acc, double lr, double rho,          \
                     double eps, double wd, double sgn)                                          \
    {                                                                                             \
        int64_t j;                                                                                \
        const T tr = (T)rho, c = (T)(1.0 - rho), teps = (T)eps, twd = (T)wd, tlr = (T)lr;         \
        const T ts = (T)sgn;                                                                      \
        AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                          \
            T g = ts * gr[j] + twd * p[j];                                                        \
            T v = tr * sq[j] + c * g * g;                                                         \
            T delta = SQRT(acc[j] + teps) / SQRT(v + teps) * g;                                   \
            sq[j] = v;                                                                            \
            acc[j] = tr * acc[j] + c * delta * delta;                                             \
            p[j] -= tlr * delta;                                                                  \
        );                                                                                        \
    }
ADADELTA_KERNEL(float, adadelta_f32, sqrtf)
ADADELTA_KERNEL(double, adadelta_f64, sqrt)

int ag_optim_adadelta(int n, ag_tensor **params, ag_tensor **square_avg, ag_tensor **acc_delta,
                      int64_t *steps, double lr, double rho, double eps, double weight_decay,
                      int maximize)
{
    int i;
    const double hv_[] = {lr, rho, eps, weight_decay};
    CHECK_HYPER("Adadelta", "lr", "rho", "eps", "weight_decay");
    if (rho > 1.0) return ag_set_error(AG_EVALUE, "Adadelta: rho must be in [0, 1], got %g", rho);
    if (check_params("Adadelta", n, params)) return -1;
    for (i = 0; i < n; i++) {
        if (!params[i]->grad) continue;
        if (check_buf("Adadelta", "square_avg", i, params[i], square_avg[i]) ||
            check_buf("Adadelta", "acc_delta", i, params[i], acc_delta[i]))
            return -1;
    }
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *w, *wg;
        double sg = maximize ? -1.0 : 1.0;
        if (!p->grad) continue;
        if (stage(p, p->grad, &w, &wg)) return -1;
        if (p->dtype == AG_F32)
            adadelta_f32(w->size, PDATA(float, w), PDATA(float, wg), PDATA(float, square_avg[i]),
                         PDATA(float, acc_delta[i]), lr, rho, eps, weight_decay, sg);
        else
            adadelta_f64(w->size, PDATA(double, w), PDATA(double, wg),
                         PDATA(double, square_avg[i]), PDATA(double, acc_delta[i]), lr, rho, eps,
                         weight_decay, sg);
        steps[i]++;
        unstage(p, p->grad, w, wg);
        ag_bump_version(p);
        ag_bump_version(square_avg[i]);
        ag_bump_version(acc_delta[i]);
    }
    return 0;
}

/* ---- gradient utilities */

/* sum_i |g_i|^p, or max_i |g_i| for p = inf, over all gradients (in double) */
int ag_optim_grad_norm(int n, ag_tensor **params, double p, double *out)
{
    int i;
    double acc = 0.0;
    int inf = isinf(p);
    if (check_params("clip_grad_norm_", n, params)) return -1;
    for (i = 0; i < n; i++) {
        ag_tensor *g0 = params[i]->grad, *g;
        int64_t j, m;
        if (!g0) continue;
        g = ag_tensor_is_contiguous(g0) ? g0 : ag_tensor_contiguous_copy(g0);
        if (!g) return -1;
        m = g->size;
        for (j = 0; j < m; j++) {
            double a = g->dtype == AG_F32 ? fabs((double)PDATA(float, g)[j])
                                          : fabs(PDATA(double, g)[j]);
            if (inf) acc = a > acc || isnan(a) ? a : acc;
            else if (p == 2.0) acc += a * a;
            else if (p == 1.0) acc += a;
            else acc += pow(a, p);
        }
        if (g != g0) ag_tensor_decref(g);
    }
    *out = acc;
    return 0;
}

/* every gradient, in place: g <- s g (clamp = 0) or g <- min(max(g, lo), hi) (clamp = 1; NaN
 * stays NaN).  A strided gradient is mapped through a contiguous copy written back. */
#define MAP_GRAD_LOOP(T, g, clamp, s, lo, hi)                                                    \
    do {                                                                                          \
        T *d_ = PDATA(T, g);                                                                      \
        const T s_ = (T)(s), lo_ = (T)(lo), hi_ = (T)(hi);                                        \
        int64_t j_;                                                                               \
        for (j_ = 0; j_ < (g)->size; j_++) {                                                      \
            if (!(clamp)) d_[j_] *= s_;                                                           \
            else if (d_[j_] < lo_) d_[j_] = lo_;                                                  \
            else if (d_[j_] > hi_) d_[j_] = hi_;                                                  \
        }                                                                                         \
    } while (0)

static int map_grads(const char *nm, int n, ag_tensor **params, int clamp, double s, double lo,
                     double hi)
{
    int i;
    if (check_params(nm, n, params)) return -1;
    for (i = 0; i < n; i++) {
        ag_tensor *g0 = params[i]->grad, *g;
        if (!g0) continue;
        g = ag_tensor_is_contiguous(g0) ? g0 : ag_tensor_contiguous_copy(g0);
        if (!g) return -1;
        if (g->dtype == AG_F32)
            MAP_GRAD_LOOP(float, g, clamp, s, lo, hi);
        else
            MAP_GRAD_LOOP(double, g, clamp, s, lo, hi);
        if (g != g0) {
            ag_copy_raw(g0, g);
            ag_tensor_decref(g);
        }
        ag_bump_version(g0);
    }
    return 0;
}

/* g <- s g for every gradient */
int ag_optim_scale_grads(int n, ag_tensor **params, double s)
{
    return map_grads("clip_grad_norm_", n, params, 0, s, 0.0, 0.0);
}

/* g <- clamp(g, -c, c) for every gradient */
int ag_optim_clip_grads(int n, ag_tensor **params, double c)
{
    if (!(c >= 0.0))
        return ag_set_error(AG_EVALUE, "clip_grad_value_: clip_value must be >= 0, got %g", c);
    return map_grads("clip_grad_value_", n, params, 1, 1.0, -c, c);
}

int ag_optim_zero_grad(int n, ag_tensor **params, int set_to_none)
{
    int i;
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *g = p ? p->grad : NULL;
        if (!g) continue;
        if (set_to_none || g->grad_fn || !ag_tensor_is_contiguous(g)) {
            p->grad = NULL;
            ag_tensor_decref(g);
        } else {
            size_t isz = ag_dtype_size(g->dtype);
            memset((char *)g->storage->data + (size_t)g->offset * isz, 0, (size_t)g->size * isz);
            ag_bump_version(g);
        }
    }
    return 0;
}
