// AVX2 QuantizeLinear and QAdd / QMul (kernels/cpu/quantize.h): the AVX-512 kernels' arithmetic, 8 lanes.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/quantize.h"

namespace verge {
namespace {

// Lanes [0, n) of 8 (n < 8 for a tail): loads through a zeroed buffer, stores only the valid bytes.
inline __m256 load8(const float* x, int64_t n) {
  if (n >= 8) return _mm256_loadu_ps(x);
  alignas(32) float b[8] = {};
  std::memcpy(b, x, static_cast<size_t>(n) * sizeof(float));
  return _mm256_load_ps(b);
}
inline __m256i load8_bytes(const uint8_t* x, int64_t n, bool is_signed) {
  int64_t v = 0;
  std::memcpy(&v, x, static_cast<size_t>(n >= 8 ? 8 : n));
  const __m128i b = _mm_cvtsi64_si128(v);
  return is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
}
// round_half_even(v / scale) (NaN -> 0), clamped to [lo, hi], + zp, stored as bytes.
inline void quantize8(__m256 v, __m256 scale, __m256 lo, __m256 hi, __m256i zp, int64_t n, uint8_t* y) {
  __m256 q = _mm256_round_ps(_mm256_div_ps(v, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_blendv_ps(q, _mm256_setzero_ps(), _mm256_cmp_ps(q, q, _CMP_UNORD_Q));
  q = _mm256_min_ps(_mm256_max_ps(q, lo), hi);
  const __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(q), zp);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
  const __m128i b =
      _mm_packus_epi16(_mm_and_si128(w, _mm_set1_epi16(0xFF)), _mm_setzero_si128());  // low bytes
  const int64_t v64 = _mm_cvtsi128_si64(b);
  std::memcpy(y, &v64, static_cast<size_t>(n >= 8 ? 8 : n));
}

}  // namespace

void quantize_f32_avx2(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax,
                       uint8_t* y) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(qmin - zp)),
               hi = _mm256_set1_ps(static_cast<float>(qmax - zp));
  const __m256i z = _mm256_set1_epi32(zp);
  for (int64_t i = 0; i < n; i += 8) quantize8(load8(x + i, n - i), s, lo, hi, z, n - i, y + i);
}

void qbinary_avx2(const uint8_t* a, const uint8_t* b, int64_t n, const QBinaryParams& p, uint8_t* y) {
  const __m256 as = _mm256_set1_ps(p.a_scale), bs = _mm256_set1_ps(p.b_scale), ys = _mm256_set1_ps(p.y_scale);
  const __m256i az = _mm256_set1_epi32(p.a_zp), bz = _mm256_set1_epi32(p.b_zp),
                yz = _mm256_set1_epi32(p.y_zp);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.y_zp)),
               hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.y_zp));
  const int32_t b0 = p.b_signed ? static_cast<int8_t>(b[0]) : b[0];
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 fa =
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(load8_bytes(a + i, n - i, p.a_signed), az)), as);
    const __m256i bi = p.b_broadcast ? _mm256_set1_epi32(b0) : load8_bytes(b + i, n - i, p.b_signed);
    const __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(bi, bz)), bs);
    __m256 v = p.mul ? _mm256_mul_ps(fa, fb) : _mm256_add_ps(fa, fb);
    if (p.relu) v = _mm256_max_ps(v, _mm256_setzero_ps());  // NaN -> 0 (second operand)
    quantize8(v, ys, lo, hi, yz, n - i, y + i);
  }
}

}  // namespace verge
