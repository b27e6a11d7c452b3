/* vmath.c -- dispatch of vectorised elementwise math; the portable path is the strided loop in
 * ops/elementwise.c, so this returns 0 where no vectorised kernel exists. */
#include "vmath.h"
int ag_vmath_unary(int op, const ag_tensor *x, ag_tensor *o)
{
    (void)op; (void)x; (void)o;
    return 0;
}
