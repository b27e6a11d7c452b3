/* vmath.h -- vectorised elementwise math (exp, log, tanh, sigmoid, ...) for contiguous tensors,
 * dispatched per ISA.  Returns 1 when it handled the op (o = f(x)), 0 to fall back to the
 * portable strided loop. */
#ifndef AG_VMATH_H
#define AG_VMATH_H
#include "../ag.h"
int ag_vmath_unary(int op, const ag_tensor *x, ag_tensor *o);
#endif
