// AVX2+FMA vector math for microkernels (see vecmath_avx512.h). Include only from *_avx2.cpp files.
#pragma once

#include <immintrin.h>

#include "kernels/cpu/act_params.h"

namespace verge::avx2 {

static inline __m256 exp_ps(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  // 2^n: n is in [-128, 128]; build it in two halves so n = -128 and 128 stay representable.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static inline __m256 sigmoid_ps(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

static inline __m256 tanh_ps(__m256 x) {
  const __m256 two = _mm256_set1_ps(2.f);
  return _mm256_fmsub_ps(two, sigmoid_ps(_mm256_mul_ps(two, x)), _mm256_set1_ps(1.f));
}

static inline __m256 activate_ps(__m256 v, const ActParams& p) {
  const __m256 zero = _mm256_setzero_ps();
  switch (p.kind) {
    case 0: return v;
    case 1: return _mm256_max_ps(v, zero);
    case 2: return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(p.a)), _mm256_set1_ps(p.b));
    case 3: return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(p.a)), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    case 4: return _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(v, _mm256_set1_ps(p.a), _mm256_set1_ps(p.b)), zero), _mm256_set1_ps(1.f));
    case 5:
      return _mm256_mul_ps(
          v, _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(v, _mm256_set1_ps(1.f / 6.f), _mm256_set1_ps(0.5f)), zero), _mm256_set1_ps(1.f)));
    case 6: return sigmoid_ps(v);
    case 7: return _mm256_mul_ps(v, sigmoid_ps(v));
    case 8: return tanh_ps(v);
  }
  return v;
}

}  // namespace verge::avx2
