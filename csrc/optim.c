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

/* ---- Adam / AdamW
 * m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  vmax <- max(vmax, v) (amsgrad);
 * p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps);
 * AdamW first decays p <- p (1 - lr wd), Adam instead adds wd p to g */
#define ADAM_KERNEL(T, NAME, SQRT)                                                               \
    static void NAME(int64_t n, T *p, const T *gr, T *m, T *v, T *vmax, double step_size,         \
                     double inv_sqrt_bc2, double b1, double b2, double eps, double l2,            \
                     double decay, double sgn)                                                   \
    {                                                                                             \
        int64_t j;                                                                                \
        const T tb1 = (T)b1, tb2 = (T)b2, c1 = (T)(1.0 - b1), c2 = (T)(1.0 - b2);                 \
        const T tss = (T)step_size, tib = (T)inv_sqrt_bc2, teps = (T)eps, tl2 = (T)l2;            \
        const T tdec = (T)decay, ts = (T)sgn;                                                     \
        AG_PAR_FOR(n >= OPT_PAR_N, j, n,                                                          \
            T g = ts * gr[j] + tl2 * p[j];                                                        \
            T mj = tb1 * m[j] + c1 * g;                                                           \
            T vj = tb2 * v[j] + c2 * g * g;                                                       \
            T vd = vj;                                                                            \
            m[j] = mj;                                                                            \
            v[j] = vj;                                                                            \
            if (vmax) {                                                                           \
                vd = vmax[j] > vj ? vmax[j] : vj;                                                 \
                vmax[j] = vd;                                                                     \
            }                                                                                     \
            p[j] = p[j] * tdec - tss * mj / (SQRT(vd) * tib + teps);                              \
        );                                                                                        \
    }
ADAM_KERNEL(float, adam_f32, sqrtf)
ADAM_KERNEL(double, adam_f64, sqrt)

int ag_optim_adam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                  ag_tensor **max_exp_avg_sq, int64_t *steps, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int decoupled, int amsgrad,
                  int maximize)
{
    int i;
    const char *nm = decoupled ? "AdamW" : "Adam";
    const double hv_[] = {lr, eps, weight_decay};
    CHECK_HYPER(nm, "lr", "eps", "weight_decay");
    if (!(beta1 >= 0.0 && beta1 < 1.0 && beta2 >= 0.0 && beta2 < 1.0))
        return ag_set_error(AG_EVALUE, "%s: betas must be in [0, 1), got (%g, %g)", nm, beta1, beta2);
    if (check_params(nm, n, params)) return -1;
    for (i = 0; i < n; i++) {
        if (!params[i]->grad) continue;
        if (check_buf(nm, "exp_avg", i, params[i], exp_avg[i]) ||
            check_buf(nm, "exp_avg_sq", i, params[i], exp_avg_sq[i]) ||
            (amsgrad && check_buf(nm, "max_exp_avg_sq", i, params[i], max_exp_avg_sq[i])))
            return -1;
    }
    for (i = 0; i < n; i++) {
        ag_tensor *p = params[i], *vm, *w, *wg;
        double t, ss, ib, l2, dec;
        if (!p->grad) continue;
        if (stage(p, p->grad, &w, &wg)) return -1;
        t = (double)(++steps[i]);
        ss = lr / (1.0 - pow(beta1, t));
        ib = 1.0 / sqrt(1.0 - pow(beta2, t));
        l2 = decoupled ? 0.0 : weight_decay;
        dec = decoupled ? 1.0 - lr * weight_decay : 1.0;
        vm = amsgrad ? max_exp_avg_sq[i] : NULL;
        if (p->dtype == AG_F32)
            adam_f32(w->size, PDATA(float, w), PDATA(float, wg), PDATA(float, exp_avg[i]),
                     PDATA(float, exp_avg_sq[i]), vm ? PDATA(float, vm) : NULL, ss, ib, beta1,
                     beta2, eps, l2, dec, maximize ? -1.0 : 1.0);
        else
            adam_f64(w->size, PDATA(double, w), PDATA(double, wg),
                     PDATA(double, exp_avg[i]), PDATA(double, exp_avg_sq[i]),
                     vm ? PDATA(double, vm) : NULL, ss, ib, beta1, beta2, eps, l2, dec,
                     maximize ? -1.0 : 1.0);
        unstage(p, p->grad, w, wg);
        ag_bump_version(p);
        ag_bump_version(exp_avg[i]);
        ag_bump_version(exp_avg_sq[i]);
        if (vm) ag_bump_version(vm);
    }
    return 0;
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

/* g <- s g for every gradient */
int ag_optim_scale_grads(int n, ag_tensor **params, double s)
{
    int i;
    if (check_params("clip_grad_norm_", n, params)) return -1;
    for (i = 0; i < n; i++) {
        ag_tensor *g0 = params[i]->grad, *g;
        int64_t j;
        if (!g0) continue;
        /* a strided gradient is scaled through a contiguous copy written back */
        g = ag_tensor_is_contiguous(g0) ? g0 : ag_tensor_contiguous_copy(g0);
        if (!g) return -1;
        if (g->dtype == AG_F32) {
            float *d = PDATA(float, g), fs = (float)s;
            for (j = 0; j < g->size; j++) d[j] *= fs;
        } else {
            double *d = PDATA(double, g);
            for (j = 0; j < g->size; j++) d[j] *= s;
        }
        if (g != g0) {
            ag_copy_raw(g0, g);
            ag_tensor_decref(g);
        }
        ag_bump_version(g0);
    }
    return 0;
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
