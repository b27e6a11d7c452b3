/* optim.h -- fused optimizer steps: each call updates every parameter of a group in place,
 * outside the tape, reading each parameter's gradient from its .grad (parameters whose .grad is
 * NULL are skipped and their step counter is left alone).  State buffers (momentum, moments,
 * sums) are tensors of the parameter's shape and dtype, created by the caller; a NULL entry in
 * a state array means that buffer is unused by the chosen options.  Each updated parameter's
 * storage version is bumped.  Return 0, or -1 with the error set (nothing has been written then).
 */
#ifndef AG_OPTIM_H
#define AG_OPTIM_H

#include "ag.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SGD with momentum/dampening/nesterov and L2 weight decay (PyTorch's formulation). */
int ag_optim_sgd(int n, ag_tensor **params, ag_tensor **momentum_buf, int64_t *steps, double lr,
                 double momentum, double dampening, int nesterov, double weight_decay,
                 int maximize);

/* Adam (decoupled = 0, L2 added to the gradient) or AdamW (decoupled = 1), optional amsgrad. */
int ag_optim_adam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                  ag_tensor **max_exp_avg_sq, int64_t *steps, double lr, double beta1,
                  double beta2, double eps, double weight_decay, int decoupled, int amsgrad,
                  int maximize);

/* RMSprop, optionally centered and with momentum. */
int ag_optim_rmsprop(int n, ag_tensor **params, ag_tensor **square_avg, ag_tensor **momentum_buf,
                     ag_tensor **grad_avg, int64_t *steps, double lr, double alpha, double eps,
                     double weight_decay, double momentum, int centered, int maximize);

/* Adagrad with learning-rate decay. */
int ag_optim_adagrad(int n, ag_tensor **params, ag_tensor **state_sum, int64_t *steps, double lr,
                     double lr_decay, double weight_decay, double eps, int maximize);

/* Adamax (infinity-norm Adam). */
int ag_optim_adamax(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_inf,
                    int64_t *steps, double lr, double beta1, double beta2, double eps,
                    double weight_decay, int maximize);

/* NAdam (Nesterov Adam with momentum decay); mu_product[i] (prod of mu_1..mu_t, 1 before the
 * first step) is read and advanced for every parameter that has a gradient. */
int ag_optim_nadam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                   int64_t *steps, double *mu_product, double lr, double beta1, double beta2,
                   double eps, double weight_decay, double momentum_decay, int decoupled,
                   int maximize);

/* RAdam (rectified Adam), optionally with decoupled weight decay. */
int ag_optim_radam(int n, ag_tensor **params, ag_tensor **exp_avg, ag_tensor **exp_avg_sq,
                   int64_t *steps, double lr, double beta1, double beta2, double eps,
                   double weight_decay, int decoupled, int maximize);

/* Adadelta. */
int ag_optim_adadelta(int n, ag_tensor **params, ag_tensor **square_avg, ag_tensor **acc_delta,
                      int64_t *steps, double lr, double rho, double eps, double weight_decay,
                      int maximize);

/* sum over parameters of sum |g|^p (p > 0) or max |g| (p = inf) of the gradients */
int ag_optim_grad_norm(int n, ag_tensor **params, double p, double *out);
/* multiply every gradient by s in place */
int ag_optim_scale_grads(int n, ag_tensor **params, double s);
/* clamp every gradient to [-c, c] in place (c >= 0) */
int ag_optim_clip_grads(int n, ag_tensor **params, double c);
/* set every .grad to zero (set_to_none = 0) or release it (set_to_none = 1) */
int ag_optim_zero_grad(int n, ag_tensor **params, int set_to_none);

#ifdef __cplusplus
}
#endif
#endif
