/* vmath_f64.h -- float64 vector math (exp, expm1, log, tanh, sigmoid, relu, softplus, gelu), written
 * once over a small macro layer that vmath_avx512.h (8 lanes) and vmath_avx2.h (4 lanes) define
 * before including this file:
 *   VD, VI, VM          vector of doubles, of int64, and a lane mask
 *   VD1(c) VI1(c)       broadcast a constant
 *   VADD VSUB VMUL VDIV VMAX VMIN   (VMAX/VMIN return their second operand on NaN)
 *   VFMA(a, b, c)       a*b + c, one rounding;  VFNMA(a, b, c)  c - a*b
 *   VROUND(x) VFLOOR(x) to integral values
 *   VLT VGT VEQ VNGE    ordered compares (VNGE: not >=, true on NaN) giving VM
 *   VSEL(m, t, f)       m ? t : f per lane
 *   VBITS(x) VFROMBITS(i), VIADD VISUB VIAND VIOR, VISRL/VISLL(i, n) (logical shifts)
 *   VSCALE(p, n)        p * 2^n for integral n in [-1100, 1100], rounded once
 *   VLUT_T, VLUT_PREP(i), VLUT(tab, p)   per-lane table lookup: p = VLUT_PREP(i) for int64
 *                       lanes i in [0, 8), then VLUT(tab, p) gives tab[i] (tab: 8 doubles)
 * and undefines them at its end.
 * Accuracy target: a few ulp over the whole double range, denormals included, exact IEEE
 * special values (tests/test_vmath.py measures both against long-double references).  The
 * argument reductions split ln 2 as LN2_HI + LN2_LO, LN2_HI with 33 significant bits so that
 * n * LN2_HI is exact for every n that occurs. */

#define LN2_HI 0x1.62e42ff000000p-1
#define LN2_LO -0x1.718432a1b0e26p-35
#define LOG2E 0x1.71547652b82fep+0

/* 2^n for integral n in [-1022, 1023], built from its bit pattern: n + 1.5*2^52 holds n in the
   low mantissa bits */
AG_INLINE VD vd_pow2(VD n)
{
    const VD magic = VD1(0x1.8p52);
    VI ni = VISUB(VBITS(VADD(n, magic)), VBITS(magic));
    return VFROMBITS(VISLL(VIADD(ni, VI1(1023)), 52));
}

AG_INLINE VD vd_abs(VD x)
{
    return VFROMBITS(VIAND(VBITS(x), VI1(0x7fffffffffffffffLL)));
}

/* x with the sign bit of s */
AG_INLINE VD vd_copysign_pos(VD x_nonneg, VD s)
{
    return VFROMBITS(VIOR(VBITS(x_nonneg), VIAND(VBITS(s), VI1((long long)0x8000000000000000ULL))));
}

/* n = round(x / ln2) and r = x - n ln2 (|r| <= ln2/2, two-part ln2), r returned through *r */
AG_INLINE VD vd_reduce_ln2(VD x, VD *r)
{
    VD n = VROUND(VMUL(x, VD1(LOG2E)));
    *r = VFNMA(n, VD1(LN2_LO), VFNMA(n, VD1(LN2_HI), x));
    return n;
}

/* q(r) = (e^r - 1 - r) / r^2 = 1/2! + r/3! + ... + r^11/13!, Horner (for |r| <= ln2/2 the first
   omitted term is < 5e-18 relative to e^r - 1) */
AG_INLINE VD vd_exp_q(VD r)
{
    VD q = VD1(1.0 / 6227020800.0);
    q = VFMA(q, r, VD1(1.0 / 479001600.0));
    q = VFMA(q, r, VD1(1.0 / 39916800.0));
    q = VFMA(q, r, VD1(1.0 / 3628800.0));
    q = VFMA(q, r, VD1(1.0 / 362880.0));
    q = VFMA(q, r, VD1(1.0 / 40320.0));
    q = VFMA(q, r, VD1(1.0 / 5040.0));
    q = VFMA(q, r, VD1(1.0 / 720.0));
    q = VFMA(q, r, VD1(1.0 / 120.0));
    q = VFMA(q, r, VD1(1.0 / 24.0));
    q = VFMA(q, r, VD1(1.0 / 6.0));
    return VFMA(q, r, VD1(0.5));
}

/* e^x = 2^n e^r, e^r = 1 + r (1 + r q(r)) (Horner, the leading 1 + r added last).  x is clamped
   to [-746, 710] (NaN passes), where VSCALE underflows to 0 and overflows to inf. */
AG_INLINE VD vd_exp(VD x)
{
    VD n, r;
    x = VMAX(VD1(-746.0), x);
    x = VMIN(VD1(710.0), x);
    n = vd_reduce_ln2(x, &r);
    return VSCALE(VFMA(VFMA(vd_exp_q(r), r, VD1(1.0)), r, VD1(1.0)), n);
}

/* e^x - 1 for x clamped to [-40, 709.78] (below, the result is -1; above, +inf; NaN passes):
   e^r - 1 = r + r^2 q(r), then e^x - 1 = 2^n (e^r - 1) + (2^n - 1), one FMA, 2^n - 1 exact.
   At most ~2 ulp (n = 1, where the two terms have opposite signs). */
AG_INLINE VD vd_expm1(VD x)
{
    VD xc, n, r, em, t;
    xc = VMAX(VD1(-40.0), x);
    xc = VMIN(VD1(709.78), xc);
    n = vd_reduce_ln2(xc, &r);
    em = VFMA(VMUL(r, r), vd_exp_q(r), r);
    t = vd_pow2(n);
    em = VSEL(VEQ(n, VD1(0.0)), em, VFMA(t, em, VSUB(t, VD1(1.0))));
    return VSEL(VGT(x, VD1(709.782712893384)), VD1(INFINITY), em);
}

/* log x = k ln2 + log1p(f), x = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt 2) (the bit pattern of x
   offset by that of sqrt(1/2)); denormals are first scaled by 2^52.  With s = f/(2+f), z = s^2:
   log1p(f) = f - (f^2/2 - s (f^2/2 + R)), R = sum 2 z^i / (2i + 1), i = 1..10 (|z| < 0.0295:
   truncation < 1e-18 relative).  f is exact and k ln2_hi is exact, so only the small
   correction carries rounding error.  vd_log_core takes a positive normal xs (a denormal x
   scaled by 2^52, kadj = -52); vd_log skips the scaling and the special-value fix-ups when every
   lane is a positive normal number. */
AG_INLINE VD vd_log_core(VD xs, VD kadj)
{
    VI ix = VISUB(VBITS(xs), VI1(0x3fe6a09e667f3bcdLL));
    /* k = floor(ix / 2^52): offset by 2^62 so that the logical shift sees a non-negative value,
       then read the small integer back through the mantissa of 2^52 */
    VI kb = VISRL(VIADD(ix, VI1(0x4000000000000000LL)), 52);
    VD dk = VSUB(VFROMBITS(VIOR(kb, VBITS(VD1(0x1p52)))), VD1(0x1p52 + 1024.0));
    VD m = VFROMBITS(VIADD(VIAND(ix, VI1(0x000fffffffffffffLL)), VI1(0x3fe6a09e667f3bcdLL)));
    VD f = VSUB(m, VD1(1.0));
    VD s = VDIV(f, VADD(f, VD1(2.0)));
    VD z = VMUL(s, s), R, hfsq, res;
    dk = VADD(dk, kadj);
    R = VD1(2.0 / 21.0);
    R = VFMA(R, z, VD1(2.0 / 19.0));
    R = VFMA(R, z, VD1(2.0 / 17.0));
    R = VFMA(R, z, VD1(2.0 / 15.0));
    R = VFMA(R, z, VD1(2.0 / 13.0));
    R = VFMA(R, z, VD1(2.0 / 11.0));
    R = VFMA(R, z, VD1(2.0 / 9.0));
    R = VFMA(R, z, VD1(2.0 / 7.0));
    R = VFMA(R, z, VD1(2.0 / 5.0));
    R = VFMA(R, z, VD1(2.0 / 3.0));
    R = VMUL(R, z);
    hfsq = VMUL(VMUL(f, f), VD1(0.5));
    res = VFMA(s, VADD(hfsq, R), VMUL(dk, VD1(LN2_LO)));
    res = VSUB(VSUB(hfsq, res), f);
    return VSUB(VMUL(dk, VD1(LN2_HI)), res);
}

AG_INLINE VD vd_log(VD x)
{
    VM den;
    VD xs, out;
    /* every lane a normal positive finite number (the common case): no fix-ups */
    if (!VANY(VNGE(x, VD1(0x1p-1022))) && !VANY(VGT(x, VD1(0x1.fffffffffffffp1023))))
        return vd_log_core(x, VD1(0.0));
    den = VLT(x, VD1(0x1p-1022));
    xs = VSEL(den, VMUL(x, VD1(0x1p52)), x);
    out = vd_log_core(xs, VSEL(den, VD1(-52.0), VD1(0.0)));
    /* specials: log(+-0) = -inf, log(x < 0) = log(nan) = nan, log(inf) = inf */
    out = VSEL(VEQ(x, VD1(0.0)), VD1(-INFINITY), out);
    out = VSEL(VEQ(x, VD1(INFINITY)), x, out);
    return VSEL(VNGE(x, VD1(0.0)), VD1(NAN), out);
}

/* tanh |x| = e / (e + 2), e = e^{2|x|} - 1 (no cancellation anywhere; |x| > 22 rounds to 1),
   then the sign of x (so -0 stays -0, NaN passes) */
AG_INLINE VD vd_tanh(VD x)
{
    VD ax = vd_abs(x);
    VD e = vd_expm1(VMIN(VD1(44.0), VADD(ax, ax)));
    return vd_copysign_pos(VDIV(e, VADD(e, VD1(2.0))), x);
}

/* sigmoid: e = e^{-|x|} never overflows; 1/(1+e) for x >= 0, e/(1+e) for x < 0 */
AG_INLINE VD vd_sigmoid(VD x)
{
    VD e = vd_exp(VSUB(VD1(0.0), vd_abs(x)));
    VD num = VSEL(VLT(x, VD1(0.0)), e, VD1(1.0));
    return VDIV(num, VADD(e, VD1(1.0)));
}

/* relu: x <= 0 ? 0 : x (NaN passes) */
AG_INLINE VD vd_relu(VD x)
{
    return VSEL(VNGE(VD1(0.0), x), x, VD1(0.0));
}

/* softplus = max(x, 0) + log1p(e), e = e^{-|x|}: with u = 1 + e rounded,
   log1p(e) = log u + (e - (u - 1))/u to first order in the rounding error of u */
AG_INLINE VD vd_softplus(VD x)
{
    VD e = vd_exp(VSUB(VD1(0.0), vd_abs(x)));
    VD u = VADD(e, VD1(1.0));
    VD c = VDIV(VSUB(e, VSUB(u, VD1(1.0))), u);
    return VADD(VMAX(VD1(0.0), x), VADD(vd_log(u), c));
}

/* gelu(x) = x/2 erfc(-z), z = x/sqrt2, and its derivative.
   |z| < 0.5: erf(z) = z sum_n a_n z^2n (Taylor to n = 12), gelu = x/2 (1 + erf z).
   |z| >= 0.5: h = erfc(|z|)/2 = e^{-z^2} erfcx(|z|)/2, erfcx(z) = erfc(z) e^{z^2} from one
   degree-20 polynomial per binade [2^j, 2^(j+1)), j = -1..4, in s = 2m - 3 where |z| = m 2^j:
   each lane takes its binade's coefficients from a table (VLUT) indexed by the exponent bits.
   The polynomials come from tools/gen_erfcx_table.py (relative error <= 3.1e-16 in double).
   z^2 = x^2/2 is taken as hi + lo (FMA), so e^{-z^2} keeps full precision where z^2 is
   hundreds; then gelu = x h (x < 0) or x - x h (x > 0): no cancellation anywhere. */
#include "erfcx_f64_table.h"

/* the pieces of gelu and gelu': erf(z) (used where *small, |z| < 0.5), e = e^{-x^2/2} and
   hg = erfcx(|z|)/2, so that erfc(|z|)/2 = e hg; x is clamped to +-40 (beyond it e is 0, and
   x^2 can no longer overflow into inf - inf in the FMA) */
AG_INLINE void vd_gelu_core(VD x, VD *erfz, VD *e, VD *hg, VM *small)
{
    VD xc = VMIN(VD1(40.0), VMAX(x, VD1(-40.0))); /* NaN -> -40: the callers keep the NaN */
    VD z = VMUL(xc, VD1(0.70710678118654752440));
    VD az = vd_abs(z), w = VMUL(z, z), q, hi, lo, zc, m, s;
    VI b;
    VLUT_T p;
    int k;
    *small = VLT(az, VD1(0.5));
    q = VD1(AG_ERF_SMALL[12]);
    for (k = 11; k >= 0; k--)
        q = VFMA(q, w, VD1(AG_ERF_SMALL[k]));
    *erfz = VMUL(q, z);
    hi = VMUL(xc, xc);
    lo = VFMA(xc, xc, VSUB(VD1(0.0), hi)); /* x^2 - hi, exactly */
    *e = vd_exp(VMUL(hi, VD1(-0.5)));
    *e = VFNMA(*e, VMUL(lo, VD1(0.5)), *e);
    zc = VMIN(VMAX(az, VD1(0.5)), VD1(31.0));
    b = VBITS(zc);
    m = VFROMBITS(VIOR(VIAND(b, VI1(0x000fffffffffffffLL)), VI1(0x3ff0000000000000LL)));
    s = VFMA(m, VD1(2.0), VD1(-3.0));
    p = VLUT_PREP(VISUB(VISRL(b, 52), VI1(1022))); /* binade 2^j -> slot j + 1 */
    q = VLUT(AG_ERFCX_C[20], p);
    for (k = 19; k >= 0; k--)
        q = VFMA(q, s, VLUT(AG_ERFCX_C[k], p));
    *hg = VMUL(q, VD1(0.5));
}

AG_INLINE VD vd_gelu(VD x)
{
    VD erfz, e, hg, h;
    VM small;
    vd_gelu_core(x, &erfz, &e, &hg, &small);
    h = VMUL(VMUL(x, hg), e); /* x erfc(|z|)/2, the small factor last */
    h = VSEL(VLT(x, VD1(0.0)), h, VSUB(x, h));
    h = VSEL(VGT(x, VD1(40.0)), x, h);
    return VSEL(small, VMUL(VMUL(VD1(0.5), x), VADD(VD1(1.0), erfz)), h);
}

/* gelu'(x) = Phi(x) + x phi(x): Phi = (1 + erf z)/2 where |z| < 0.5, else erfc(|z|)/2 = e hg
   (x < 0) or 1 minus it; phi = e / sqrt(2 pi).  +-inf give NaN (x * 0), like the libm loop. */
AG_INLINE VD vd_gelu_grad(VD x)
{
    VD erfz, e, hg, hc, Phi;
    VM small;
    vd_gelu_core(x, &erfz, &e, &hg, &small);
    hc = VMUL(hg, e);
    Phi = VSEL(VLT(x, VD1(0.0)), hc, VSUB(VD1(1.0), hc));
    Phi = VSEL(small, VMUL(VD1(0.5), VADD(VD1(1.0), erfz)), Phi);
    return VFMA(VMUL(x, e), VD1(0.39894228040143267794), Phi);
}

#ifdef AG_GEMM_H
/* the GEMM epilogue's activations (gemm.h codes): relu, leaky_relu (slope pv), tanh, sigmoid,
   gelu, elu (alpha pv).  NaN passes. */
AG_INLINE VD vd_act(VD x, int act, VD pv)
{
    VM pos = VNGE(VD1(0.0), x); /* x > 0 or NaN: x itself */
    switch (act) {
    case AG_ACT_RELU: return VSEL(pos, x, VD1(0.0));
    case AG_ACT_LEAKY_RELU: return VSEL(pos, x, VMUL(x, pv));
    case AG_ACT_TANH: return vd_tanh(x);
    case AG_ACT_SIGMOID: return vd_sigmoid(x);
    case AG_ACT_GELU: return vd_gelu(x);
    case AG_ACT_ELU: return VSEL(pos, x, VMUL(pv, vd_expm1(x)));
    default: return x;
    }
}
#endif

#undef LN2_HI
#undef LN2_LO
#undef LOG2E
/* the layer macros end here too */
#undef VD
#undef VI
#undef VM
#undef VD1
#undef VI1
#undef VADD
#undef VSUB
#undef VMUL
#undef VDIV
#undef VMAX
#undef VMIN
#undef VFMA
#undef VFNMA
#undef VROUND
#undef VFLOOR
#undef VLT
#undef VGT
#undef VEQ
#undef VNGE
#undef VANY
#undef VSEL
#undef VBITS
#undef VFROMBITS
#undef VIADD
#undef VISUB
#undef VIAND
#undef VIOR
#undef VISRL
#undef VISLL
#undef VSCALE
#undef VLUT_T
#undef VLUT_PREP
#undef VLUT
