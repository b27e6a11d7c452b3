/* vmath_avx512.h -- f32 vector math on 16 lanes (exp, log, tanh, sigmoid, relu, softplus), shared
 * by vmath_avx512.c (elementwise ops) and gemm_avx512.c (GEMM epilogue).  Include only from files
 * compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma.  Accurate to a few ulp over
 * the whole float range, denormals included, with exact IEEE special values (tests/test_vmath.py
 * measures both). */
#ifndef AG_VMATH_AVX512_H
#define AG_VMATH_AVX512_H
#include <immintrin.h>
#include <math.h>
#include "gemm_internal.h"

#define VS16 _mm512_set1_ps /* undefined at the end */

/* x = n ln2 + r, n = round(x/ln2), r in two parts (Cody-Waite), |r| <= ln2/2; also
   h = expm1(r)/r by the Taylor polynomial of e^r to r^7 (truncation < 6e-9 relative), so
   that e^r = 1 + r h and expm1(r) = r h */
AG_INLINE __m512 v_exp_reduce(__m512 x, __m512 *n, __m512 *h)
{
    __m512 r, p;
    *n = _mm512_roundscale_ps(_mm512_mul_ps(x, VS16(1.44269504f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_fnmadd_ps(*n, VS16(0.693359375f), x);
    r = _mm512_fnmadd_ps(*n, VS16(-2.12194440e-4f), r);
    p = VS16(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, VS16(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, VS16(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, VS16(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, VS16(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, VS16(0.5f));
    *h = _mm512_fmadd_ps(p, r, VS16(1.0f));
    return r;
}

/* e^x = 2^n (1 + r h).  x is clamped to [-104, 89] (NaN passes: max/min return their second
   operand on NaN); scalef rounds once into the denormal range and overflows to inf. */
AG_INLINE __m512 v_exp(__m512 x)
{
    __m512 n, h, r;
    x = _mm512_max_ps(VS16(-104.0f), x);
    x = _mm512_min_ps(VS16(89.0f), x);
    r = v_exp_reduce(x, &n, &h);
    return _mm512_scalef_ps(_mm512_fmadd_ps(h, r, VS16(1.0f)), n);
}

AG_INLINE __m512 v_abs(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x),
                                                _mm512_set1_epi32(0x7fffffff)));
}

/* log x = k ln2 + log1p(f), x = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt 2) (found by offsetting
   the bit pattern by that of sqrt(1/2)); denormals are first scaled by 2^23.  With
   s = f/(2+f), z = s^2: log1p(f) = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R)),
   R = 2z/3 + 2z^2/5 + 2z^3/7 + 2z^4/9 (truncation < 3e-9 relative); f is exact, so only the
   small correction carries rounding error.  k ln2_hi is exact.  v_log_core takes a positive
   normal xs (a denormal x scaled by 2^23, kadj = -23). */
AG_INLINE __m512 v_log_core(__m512 xs, __m512 kadj)
{
    __m512i ix = _mm512_sub_epi32(_mm512_castps_si512(xs), _mm512_set1_epi32(0x3f3504f3));
    __m512 dk = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(ix, 23)), kadj);
    __m512i mb = _mm512_and_si512(ix, _mm512_set1_epi32(0x7fffff));
    __m512 m = _mm512_castsi512_ps(_mm512_add_epi32(mb, _mm512_set1_epi32(0x3f3504f3)));
    __m512 f = _mm512_sub_ps(m, VS16(1.0f));
    __m512 s = _mm512_div_ps(f, _mm512_add_ps(f, VS16(2.0f)));
    __m512 z = _mm512_mul_ps(s, s), R, hfsq, res;
    R = VS16(2.0f / 9.0f);
    R = _mm512_fmadd_ps(R, z, VS16(2.0f / 7.0f));
    R = _mm512_fmadd_ps(R, z, VS16(2.0f / 5.0f));
    R = _mm512_fmadd_ps(R, z, VS16(2.0f / 3.0f));
    R = _mm512_mul_ps(R, z);
    hfsq = _mm512_mul_ps(_mm512_mul_ps(f, f), VS16(0.5f));
    res = _mm512_fmadd_ps(s, _mm512_add_ps(hfsq, R), _mm512_mul_ps(dk, VS16(-2.12194440e-4f)));
    res = _mm512_sub_ps(_mm512_sub_ps(hfsq, res), f);
    return _mm512_fmsub_ps(dk, VS16(0.693359375f), res);
}

/* vectors whose lanes are all positive normal numbers (the common case) skip the denormal
   scaling and the special-value fix-ups */
AG_INLINE __m512 v_log(__m512 x)
{
    __mmask16 den, odd = _mm512_cmp_ps_mask(x, VS16(1.17549435e-38f), _CMP_NGE_UQ) |
                         _mm512_cmp_ps_mask(x, VS16(3.40282347e+38f), _CMP_GT_OQ);
    __m512 res;
    if (!odd)
        return v_log_core(x, _mm512_setzero_ps());
    den = _mm512_cmp_ps_mask(x, VS16(1.17549435e-38f), _CMP_LT_OQ);
    res = v_log_core(_mm512_mask_mul_ps(x, den, x, VS16(8388608.0f)),
                     _mm512_maskz_mov_ps(den, VS16(-23.0f)));
    /* specials: log(0) = -inf, log(x < 0) = log(nan) = nan, log(inf) = inf */
    res = _mm512_mask_mov_ps(res, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ),
                             VS16(-INFINITY));
    res = _mm512_mask_mov_ps(res, _mm512_cmp_ps_mask(x, VS16(INFINITY), _CMP_EQ_OQ), x);
    res = _mm512_mask_mov_ps(res, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ),
                             VS16(NAN));
    return res;
}

/* tanh|x| = -m / (2 + m) with m = expm1(-2|x|) in [-1, 0]: no cancellation at any x, one
   branch-free path.  |x| is clamped to 10 (tanh rounds to 1 beyond 9.01; NaN passes), so
   n = round(-2|x|/ln2) lies in [-29, 0] and m = 2^n (r h) + (2^n - 1) with 2^n - 1 exact for
   n >= -24.  The sign of x (-0 too) goes on last. */
AG_INLINE __m512 v_tanh(__m512 x)
{
    __m512 u = _mm512_mul_ps(_mm512_min_ps(VS16(10.0f), v_abs(x)), VS16(-2.0f));
    __m512 n, h, r = v_exp_reduce(u, &n, &h);
    __m512 t = _mm512_scalef_ps(VS16(1.0f), n);
    __m512 m = _mm512_fmadd_ps(t, _mm512_mul_ps(r, h), _mm512_sub_ps(t, VS16(1.0f)));
    __m512 th = _mm512_div_ps(_mm512_sub_ps(_mm512_setzero_ps(), m), _mm512_add_ps(m, VS16(2.0f)));
    return _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_castps_si512(th),
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

/* sigmoid: e = e^{-|x|} never overflows; 1/(1+e) for x >= 0, e/(1+e) for x < 0 (no cancellation,
   denormal results for x < -87 come out right) */
AG_INLINE __m512 v_sigmoid(__m512 x)
{
    __m512 e = v_exp(_mm512_sub_ps(_mm512_setzero_ps(), v_abs(x)));
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    __m512 num = _mm512_mask_mov_ps(VS16(1.0f), neg, e);
    return _mm512_div_ps(num, _mm512_add_ps(e, VS16(1.0f)));
}

/* relu: x <= 0 ? 0 : x (NaN passes, like the portable loop) */
AG_INLINE __m512 v_relu(__m512 x)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NLE_UQ), x);
}

/* softplus = max(x, 0) + log1p(e), e = e^{-|x|} in (0, 1]; with u = 1 + e rounded,
   log1p(e) = log u + (e - (u - 1))/u to first order in the rounding error of u
   (so denormal e comes out as e) */
AG_INLINE __m512 v_softplus(__m512 x)
{
    __m512 e = v_exp(_mm512_sub_ps(_mm512_setzero_ps(), v_abs(x)));
    __m512 u = _mm512_add_ps(e, VS16(1.0f));
    __m512 c = _mm512_div_ps(_mm512_sub_ps(e, _mm512_sub_ps(u, VS16(1.0f))), u);
    return _mm512_add_ps(_mm512_max_ps(_mm512_setzero_ps(), x), _mm512_add_ps(v_log(u), c));
}

/* e^x - 1: Taylor to x^8 for |x| < ln2/2 (no cancellation), else e^x - 1 */
AG_INLINE __m512 v_expm1(__m512 x)
{
    __m512 p = _mm512_set1_ps(1.0f / 40320.0f);
    __mmask16 small = _mm512_cmp_ps_mask(v_abs(x), _mm512_set1_ps(0.34657359f),
                                         _CMP_LT_OQ);
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.0f / 5040.0f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(0.5f));
    p = _mm512_mul_ps(_mm512_fmadd_ps(p, x, _mm512_set1_ps(1.0f)), x);
    return _mm512_mask_blend_ps(small, _mm512_sub_ps(v_exp(x), _mm512_set1_ps(1.0f)), p);
}

/* gelu(x) = x/2 (1 + erf(z)), z = x/sqrt2.
   |z| < 0.5: erf(z) = 2/sqrt(pi) z (1 - z^2/3 + z^4/10 - ...) to z^13.
   else: h = erfc(|z|)/2 = e^{-z^2} G(t)/2, t = 1/(1 + |z|/2), G a degree-9
   fit of erfc(z) e^{z^2} (rel. error 4e-9 on [0.5, 10.5]); z^2 = x*x/2 is
   taken as hi + lo (FMA) so e^{-z^2} keeps full precision; then
   gelu = x - x h (x > 0) or x h (x < 0), free of cancellation. */
/* the pieces of gelu and its derivative: erf(z) by its series (used where *small), e^(-x^2/2)
   (x clamped to +-20, where it is 0 in float anyway) and G(t)/2, so that erfc(|z|)/2 = e G/2 */
AG_INLINE void v_gelu_core(__m512 x, __m512 *erfz, __m512 *e, __m512 *ghalf, __mmask16 *small)
{
    const __m512 half = _mm512_set1_ps(0.5f);
    __m512 xc = _mm512_min_ps(_mm512_set1_ps(20.0f), _mm512_max_ps(_mm512_set1_ps(-20.0f), x));
    __m512 z = _mm512_mul_ps(xc, _mm512_set1_ps(0.70710678f));
    __m512 az = v_abs(z), z2 = _mm512_mul_ps(z, z), q, hi, lo, t, g;
    *small = _mm512_cmp_ps_mask(az, half, _CMP_LT_OQ);
    q = _mm512_set1_ps(1.0f / 9360.0f);
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(-1.0f / 1320.0f));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(1.0f / 216.0f));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(-1.0f / 42.0f));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(1.0f / 10.0f));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(-1.0f / 3.0f));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(1.0f));
    *erfz = _mm512_mul_ps(_mm512_mul_ps(q, z), _mm512_set1_ps(1.12837917f));
    hi = _mm512_mul_ps(xc, xc);
    lo = _mm512_fmsub_ps(xc, xc, hi);
    *e = v_exp(_mm512_mul_ps(hi, _mm512_set1_ps(-0.5f)));
    *e = _mm512_fnmadd_ps(*e, _mm512_mul_ps(lo, half), *e);
    t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(az, half, _mm512_set1_ps(1.0f)));
    g = _mm512_set1_ps(-7.369133085e-02f);
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(3.482938111e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(-6.057823300e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(4.012553990e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(-1.050045565e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(2.342185974e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(2.351179570e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(2.835982442e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(2.819840014e-01f));
    g = _mm512_fmadd_ps(g, t, _mm512_set1_ps(3.565166708e-06f));
    *ghalf = _mm512_mul_ps(g, half);
}

AG_INLINE __m512 v_gelu(__m512 x)
{
    __m512 erfz, e, ghalf, h;
    __mmask16 small, neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    __mmask16 big = _mm512_cmp_ps_mask(x, _mm512_set1_ps(20.0f), _CMP_GT_OQ);
    v_gelu_core(x, &erfz, &e, &ghalf, &small);
    /* x h = (x G/2) e: no denormal intermediate in the far negative tail */
    h = _mm512_mul_ps(_mm512_mul_ps(x, ghalf), e);
    h = _mm512_mask_blend_ps(neg, _mm512_sub_ps(x, h), h);
    h = _mm512_mask_blend_ps(big, h, x);
    return _mm512_mask_blend_ps(small, h, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erfz)));
}

/* gelu'(x) = Phi(x) + x phi(x): Phi = (1 + erf z)/2 where |z| < 0.5, else erfc(|z|)/2 = e G/2
   (x < 0) or 1 minus it; phi = e / sqrt(2 pi).  +-inf give NaN (x * 0), like the libm loop. */
AG_INLINE __m512 v_gelu_grad(__m512 x)
{
    __m512 erfz, e, ghalf, hc, Phi;
    __mmask16 small, neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    v_gelu_core(x, &erfz, &e, &ghalf, &small);
    hc = _mm512_mul_ps(ghalf, e);
    Phi = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(1.0f), hc), hc);
    Phi = _mm512_mask_blend_ps(small, Phi, _mm512_mul_ps(_mm512_set1_ps(0.5f), _mm512_add_ps(_mm512_set1_ps(1.0f), erfz)));
    return _mm512_fmadd_ps(_mm512_mul_ps(x, e), _mm512_set1_ps(0.39894228f), Phi);
}

#undef VS16

/* ---- float64: the shared algorithms of vmath_f64.h on 8 lanes ---- */
#define VD __m512d
#define VI __m512i
#define VM __mmask8
#define VD1 _mm512_set1_pd
#define VI1 _mm512_set1_epi64
#define VADD _mm512_add_pd
#define VSUB _mm512_sub_pd
#define VMUL _mm512_mul_pd
#define VDIV _mm512_div_pd
#define VMAX _mm512_max_pd
#define VMIN _mm512_min_pd
#define VFMA _mm512_fmadd_pd
#define VFNMA _mm512_fnmadd_pd
#define VROUND(x) _mm512_roundscale_pd((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VFLOOR(x) _mm512_roundscale_pd((x), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
#define VLT(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_LT_OQ)
#define VGT(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_GT_OQ)
#define VEQ(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_EQ_OQ)
#define VNGE(a, b) _mm512_cmp_pd_mask((a), (b), _CMP_NGE_UQ)
#define VSEL(m, t, f) _mm512_mask_blend_pd((m), (f), (t))
#define VANY(m) ((m) != 0)
#define VBITS _mm512_castpd_si512
#define VFROMBITS _mm512_castsi512_pd
#define VIADD _mm512_add_epi64
#define VISUB _mm512_sub_epi64
#define VIAND _mm512_and_si512
#define VIOR _mm512_or_si512
#define VISRL _mm512_srli_epi64
#define VISLL _mm512_slli_epi64
#define VSCALE _mm512_scalef_pd
#define VLUT_T __m512i
#define VLUT_PREP(i) (i)
#define VLUT(tab, p) _mm512_permutexvar_pd((p), _mm512_loadu_pd(tab))
#include "vmath_f64.h"

#endif /* AG_VMATH_AVX512_H */
