// AVX-512 vector math for microkernels: exp, sigmoid, tanh and the fused activations. Include only from
// *_avx512.cpp files. Functions are `static inline` (internal linkage) so no AVX-512 code can leak into
// the portable parts of the binary through ODR merging.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/act_params.h"

namespace verge::avx512 {

// e^x, relative error < 2e-7 on [-87, 88]; saturates to 0 / +inf beyond.
static inline __m512 exp_ps(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-88.3762626647949f);
  x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

static inline __m512 sigmoid_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

static inline __m512 tanh_ps(__m512 x) {  // 2 * sigmoid(2x) - 1
  const __m512 two = _mm512_set1_ps(2.f);
  return _mm512_fmsub_ps(two, sigmoid_ps(_mm512_mul_ps(two, x)), _mm512_set1_ps(1.f));
}

// Applies an ActParams activation (kind values of verge::ActKind).
static inline __m512 activate_ps(__m512 v, const ActParams& p) {
  switch (p.kind) {
    case 0: return v;
    case 1: return _mm512_max_ps(v, _mm512_setzero_ps());
    case 2: return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(p.a)), _mm512_set1_ps(p.b));
    case 3: return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v, _mm512_set1_ps(p.a));
    case 4:
      return _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(v, _mm512_set1_ps(p.a), _mm512_set1_ps(p.b)), _mm512_setzero_ps()),
                           _mm512_set1_ps(1.f));
    case 5: {
      const __m512 g = _mm512_min_ps(
          _mm512_max_ps(_mm512_fmadd_ps(v, _mm512_set1_ps(1.f / 6.f), _mm512_set1_ps(0.5f)), _mm512_setzero_ps()),
          _mm512_set1_ps(1.f));
      return _mm512_mul_ps(v, g);
    }
    case 6: return sigmoid_ps(v);
    case 7: return _mm512_mul_ps(v, sigmoid_ps(v));
    case 8: return tanh_ps(v);
  }
  return v;
}

}  // namespace verge::avx512
