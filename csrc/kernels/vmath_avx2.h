/* vmath_avx2.h -- f32 vector math on 8 lanes (exp, log, tanh, sigmoid, relu, softplus), shared
 * by vmath_avx2.c (elementwise ops) and gemm_avx2.c (GEMM epilogue).  Include only from files
 * compiled with -mavx2 -mfma.  Same algorithms as vmath_avx512.h (see the error analysis there);
 * AVX2 lacks scalef, so 2^n is applied as two exact powers of two and the second multiply rounds
 * once into the denormal range.  Exact IEEE special values; tests/test_vmath.py measures ulps. */
#ifndef AG_VMATH_AVX2_H
#define AG_VMATH_AVX2_H
#include <immintrin.h>
#include <math.h>
#include "gemm_internal.h"

#define VS8 _mm256_set1_ps /* undefined at the end */

/* 2^n for integer n in [-126, 127] */
AG_INLINE __m256 v_pow2i(__m256i n)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

/* x = n ln2 + r, |r| <= ln2/2, and h = expm1(r)/r (see vmath_avx512.h) */
AG_INLINE __m256 v_exp_reduce(__m256 x, __m256 *n, __m256 *h)
{
    __m256 r, p;
    *n = _mm256_round_ps(_mm256_mul_ps(x, VS8(1.44269504f)),
                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_fnmadd_ps(*n, VS8(0.693359375f), x);
    r = _mm256_fnmadd_ps(*n, VS8(-2.12194440e-4f), r);
    p = VS8(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, VS8(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, VS8(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, VS8(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, VS8(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, VS8(0.5f));
    *h = _mm256_fmadd_ps(p, r, VS8(1.0f));
    return r;
}

/* e^x = 2^n (1 + r h); x clamped to [-104, 89] (NaN passes) so n in [-150, 128] splits into
   two halves in [-75, 64] */
AG_INLINE __m256 v_exp(__m256 x)
{
    __m256 n, h, r, p;
    __m256i ni, n1;
    x = _mm256_max_ps(VS8(-104.0f), x);
    x = _mm256_min_ps(VS8(89.0f), x);
    r = v_exp_reduce(x, &n, &h);
    p = _mm256_fmadd_ps(h, r, VS8(1.0f));
    ni = _mm256_cvtps_epi32(n);
    n1 = _mm256_srai_epi32(ni, 1);
    p = _mm256_mul_ps(p, v_pow2i(n1));
    return _mm256_mul_ps(p, v_pow2i(_mm256_sub_epi32(ni, n1)));
}

AG_INLINE __m256 v_abs(__m256 x)
{
    return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

/* log x = k ln2 + log1p(f), as in vmath_avx512.h; v_log_core takes a positive normal xs (a
   denormal x scaled by 2^23, kadj = -23) */
AG_INLINE __m256 v_log_core(__m256 xs, __m256 kadj)
{
    __m256i ix = _mm256_sub_epi32(_mm256_castps_si256(xs), _mm256_set1_epi32(0x3f3504f3));
    __m256 dk = _mm256_add_ps(_mm256_cvtepi32_ps(_mm256_srai_epi32(ix, 23)), kadj);
    __m256i mb = _mm256_and_si256(ix, _mm256_set1_epi32(0x7fffff));
    __m256 m = _mm256_castsi256_ps(_mm256_add_epi32(mb, _mm256_set1_epi32(0x3f3504f3)));
    __m256 f = _mm256_sub_ps(m, VS8(1.0f));
    __m256 s = _mm256_div_ps(f, _mm256_add_ps(f, VS8(2.0f)));
    __m256 z = _mm256_mul_ps(s, s), R, hfsq, res;
    R = VS8(2.0f / 9.0f);
    R = _mm256_fmadd_ps(R, z, VS8(2.0f / 7.0f));
    R = _mm256_fmadd_ps(R, z, VS8(2.0f / 5.0f));
    R = _mm256_fmadd_ps(R, z, VS8(2.0f / 3.0f));
    R = _mm256_mul_ps(R, z);
    hfsq = _mm256_mul_ps(_mm256_mul_ps(f, f), VS8(0.5f));
    res = _mm256_fmadd_ps(s, _mm256_add_ps(hfsq, R), _mm256_mul_ps(dk, VS8(-2.12194440e-4f)));
    res = _mm256_sub_ps(_mm256_sub_ps(hfsq, res), f);
    return _mm256_fmsub_ps(dk, VS8(0.693359375f), res);
}

/* all-positive-normal vectors skip the denormal scaling and the fix-ups */
AG_INLINE __m256 v_log(__m256 x)
{
    __m256 odd = _mm256_or_ps(_mm256_cmp_ps(x, VS8(1.17549435e-38f), _CMP_NGE_UQ),
                              _mm256_cmp_ps(x, VS8(3.40282347e+38f), _CMP_GT_OQ));
    __m256 den, res;
    if (!_mm256_movemask_ps(odd))
        return v_log_core(x, _mm256_setzero_ps());
    den = _mm256_cmp_ps(x, VS8(1.17549435e-38f), _CMP_LT_OQ);
    res = v_log_core(_mm256_blendv_ps(x, _mm256_mul_ps(x, VS8(8388608.0f)), den),
                     _mm256_and_ps(den, VS8(-23.0f)));
    /* specials: log(0) = -inf, log(x < 0) = log(nan) = nan, log(inf) = inf */
    res = _mm256_blendv_ps(res, VS8(-INFINITY), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    res = _mm256_blendv_ps(res, x, _mm256_cmp_ps(x, VS8(INFINITY), _CMP_EQ_OQ));
    res = _mm256_blendv_ps(res, VS8(NAN), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NGE_UQ));
    return res;
}

/* tanh|x| = -m / (2 + m), m = expm1(-2|x|), |x| clamped to 10 (see vmath_avx512.h) */
AG_INLINE __m256 v_tanh(__m256 x)
{
    __m256 u = _mm256_mul_ps(_mm256_min_ps(VS8(10.0f), v_abs(x)), VS8(-2.0f));
    __m256 n, h, r = v_exp_reduce(u, &n, &h);
    __m256 t = v_pow2i(_mm256_cvtps_epi32(n));
    __m256 m = _mm256_fmadd_ps(t, _mm256_mul_ps(r, h), _mm256_sub_ps(t, VS8(1.0f)));
    __m256 th = _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), m), _mm256_add_ps(m, VS8(2.0f)));
    return _mm256_or_ps(th, _mm256_and_ps(x, VS8(-0.0f)));
}

/* sigmoid: e = e^{-|x|}; 1/(1+e) for x >= 0, e/(1+e) for x < 0 */
AG_INLINE __m256 v_sigmoid(__m256 x)
{
    __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), v_abs(x)));
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 num = _mm256_blendv_ps(VS8(1.0f), e, neg);
    return _mm256_div_ps(num, _mm256_add_ps(e, VS8(1.0f)));
}

/* relu: x <= 0 ? 0 : x (NaN passes) */
AG_INLINE __m256 v_relu(__m256 x)
{
    return _mm256_and_ps(x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_NLE_UQ));
}

/* softplus = max(x, 0) + log1p(e^{-|x|}), as in vmath_avx512.c */
AG_INLINE __m256 v_softplus(__m256 x)
{
    __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), v_abs(x)));
    __m256 u = _mm256_add_ps(e, VS8(1.0f));
    __m256 c = _mm256_div_ps(_mm256_sub_ps(e, _mm256_sub_ps(u, VS8(1.0f))), u);
    return _mm256_add_ps(_mm256_max_ps(_mm256_setzero_ps(), x), _mm256_add_ps(v_log(u), c));
}

/* e^x - 1 and gelu: the algorithms and their error bounds are described in vmath_avx512.h */
AG_INLINE __m256 v_expm1(__m256 x)
{
    __m256 p = _mm256_set1_ps(1.0f / 40320.0f);
    __m256 small = _mm256_cmp_ps(v_abs(x), _mm256_set1_ps(0.34657359f), _CMP_LT_OQ);
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 5040.0f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(0.5f));
    p = _mm256_mul_ps(_mm256_fmadd_ps(p, x, _mm256_set1_ps(1.0f)), x);
    return _mm256_blendv_ps(_mm256_sub_ps(v_exp(x), _mm256_set1_ps(1.0f)), p, small);
}

/* the pieces of gelu and its derivative: erf(z) by its series (used where *small), e^(-x^2/2)
   (x clamped to +-20, where it is 0 in float anyway) and G(t)/2, so that erfc(|z|)/2 = e G/2 */
AG_INLINE void v_gelu_core(__m256 x, __m256 *erfz, __m256 *e, __m256 *ghalf, __m256 *small)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    __m256 xc = _mm256_min_ps(_mm256_set1_ps(20.0f), _mm256_max_ps(_mm256_set1_ps(-20.0f), x));
    __m256 z = _mm256_mul_ps(xc, _mm256_set1_ps(0.70710678f));
    __m256 az = v_abs(z), z2 = _mm256_mul_ps(z, z), q, hi, lo, t, g;
    *small = _mm256_cmp_ps(az, half, _CMP_LT_OQ);
    q = _mm256_set1_ps(1.0f / 9360.0f);
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-1.0f / 1320.0f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(1.0f / 216.0f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-1.0f / 42.0f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(1.0f / 10.0f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(-1.0f / 3.0f));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(1.0f));
    *erfz = _mm256_mul_ps(_mm256_mul_ps(q, z), _mm256_set1_ps(1.12837917f));
    hi = _mm256_mul_ps(xc, xc);
    lo = _mm256_fmsub_ps(xc, xc, hi);
    *e = v_exp(_mm256_mul_ps(hi, _mm256_set1_ps(-0.5f)));
    *e = _mm256_fnmadd_ps(*e, _mm256_mul_ps(lo, half), *e);
    t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(az, half, _mm256_set1_ps(1.0f)));
    g = _mm256_set1_ps(-7.369133085e-02f);
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(3.482938111e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(-6.057823300e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(4.012553990e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(-1.050045565e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(2.342185974e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(2.351179570e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(2.835982442e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(2.819840014e-01f));
    g = _mm256_fmadd_ps(g, t, _mm256_set1_ps(3.565166708e-06f));
    *ghalf = _mm256_mul_ps(g, half);
}

AG_INLINE __m256 v_gelu(__m256 x)
{
    __m256 erfz, e, ghalf, h;
    __m256 small, neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 big = _mm256_cmp_ps(x, _mm256_set1_ps(20.0f), _CMP_GT_OQ);
    v_gelu_core(x, &erfz, &e, &ghalf, &small);
    /* x h = (x G/2) e: no denormal intermediate in the far negative tail */
    h = _mm256_mul_ps(_mm256_mul_ps(x, ghalf), e);
    h = _mm256_blendv_ps(_mm256_sub_ps(x, h), h, neg);
    h = _mm256_blendv_ps(h, x, big);
    return _mm256_blendv_ps(h, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erfz)), small);
}

/* gelu'(x) = Phi(x) + x phi(x): Phi = (1 + erf z)/2 where |z| < 0.5, else erfc(|z|)/2 = e G/2
   (x < 0) or 1 minus it; phi = e / sqrt(2 pi).  +-inf give NaN (x * 0), like the libm loop. */
AG_INLINE __m256 v_gelu_grad(__m256 x)
{
    __m256 erfz, e, ghalf, hc, Phi;
    __m256 small, neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    v_gelu_core(x, &erfz, &e, &ghalf, &small);
    hc = _mm256_mul_ps(ghalf, e);
    Phi = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), hc), hc, neg);
    Phi = _mm256_blendv_ps(Phi, _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(_mm256_set1_ps(1.0f), erfz)), small);
    return _mm256_fmadd_ps(_mm256_mul_ps(x, e), _mm256_set1_ps(0.39894228f), Phi);
}

#undef VS8

/* ---- float64: the shared algorithms of vmath_f64.h on 4 lanes (no scalef: 2^n is applied as
   two exact powers of two, the second multiply rounding once into the denormal range) ---- */
#define VD __m256d
#define VI __m256i
#define VM __m256d
#define VD1 _mm256_set1_pd
#define VI1 _mm256_set1_epi64x
#define VADD _mm256_add_pd
#define VSUB _mm256_sub_pd
#define VMUL _mm256_mul_pd
#define VDIV _mm256_div_pd
#define VMAX _mm256_max_pd
#define VMIN _mm256_min_pd
#define VFMA _mm256_fmadd_pd
#define VFNMA _mm256_fnmadd_pd
#define VROUND(x) _mm256_round_pd((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VFLOOR(x) _mm256_round_pd((x), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC)
#define VLT(a, b) _mm256_cmp_pd((a), (b), _CMP_LT_OQ)
#define VGT(a, b) _mm256_cmp_pd((a), (b), _CMP_GT_OQ)
#define VEQ(a, b) _mm256_cmp_pd((a), (b), _CMP_EQ_OQ)
#define VNGE(a, b) _mm256_cmp_pd((a), (b), _CMP_NGE_UQ)
#define VSEL(m, t, f) _mm256_blendv_pd((f), (t), (m))
#define VANY(m) (_mm256_movemask_pd(m) != 0)
#define VBITS _mm256_castpd_si256
#define VFROMBITS _mm256_castsi256_pd
#define VIADD _mm256_add_epi64
#define VISUB _mm256_sub_epi64
#define VIAND _mm256_and_si256
#define VIOR _mm256_or_si256
#define VISRL _mm256_srli_epi64
#define VISLL _mm256_slli_epi64
#define VSCALE(p, n)                                                                      \
    VMUL(VMUL((p), vd_pow2(VFLOOR(VMUL((n), VD1(0.5))))),                                  \
         vd_pow2(VSUB((n), VFLOOR(VMUL((n), VD1(0.5))))))
/* table lookup on 4 lanes: each lane's index i picks the 32-bit pair (2i, 2i+1) of the table's
   low or high half (vpermps), and the halves are blended on i >= 4 */
typedef struct { __m256i pair; __m256d high; } ag_lut4;
AG_INLINE ag_lut4 ag_lut4_prep(__m256i i)
{
    ag_lut4 p;
    __m256i two = _mm256_slli_epi64(i, 1);
    p.pair = _mm256_or_si256(two, _mm256_slli_epi64(_mm256_add_epi64(two, _mm256_set1_epi64x(1)), 32));
    p.high = _mm256_castsi256_pd(_mm256_cmpgt_epi64(i, _mm256_set1_epi64x(3)));
    return p;
}
AG_INLINE __m256d ag_lut4_get(const double *tab, ag_lut4 p)
{
    __m256 lo = _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_loadu_pd(tab)), p.pair);
    __m256 hi = _mm256_permutevar8x32_ps(_mm256_castpd_ps(_mm256_loadu_pd(tab + 4)), p.pair);
    return _mm256_blendv_pd(_mm256_castps_pd(lo), _mm256_castps_pd(hi), p.high);
}
#define VLUT_T ag_lut4
#define VLUT_PREP ag_lut4_prep
#define VLUT ag_lut4_get
#include "vmath_f64.h"

#endif /* AG_VMATH_AVX2_H */
