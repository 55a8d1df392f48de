// AVX-512 QuantizeLinear (kernels/cpu/quantize.h).
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/quantize.h"

namespace verge {

void quantize_f32_avx512(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax,
                         uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(qmin - zp)),
               hi = _mm512_set1_ps(static_cast<float>(qmax - zp));
  const __m512i z = _mm512_set1_epi32(zp);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), s),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_mask_mov_ps(q, _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), _mm512_setzero_ps());  // NaN -> 0
    q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(q), z)));
  }
}

namespace {
inline __m512 dequantize16(__m128i bytes, bool is_signed, __m512i zp, __m512 scale) {
  const __m512i v = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zp)), scale);
}
}  // namespace

void qbinary_avx512(const uint8_t* a, const uint8_t* b, int64_t n, const QBinaryParams& p, uint8_t* y) {
  const __m512 as = _mm512_set1_ps(p.a_scale), bs = _mm512_set1_ps(p.b_scale), ys = _mm512_set1_ps(p.y_scale);
  const __m512i az = _mm512_set1_epi32(p.a_zp), bz = _mm512_set1_epi32(p.b_zp),
                yz = _mm512_set1_epi32(p.y_zp);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.y_zp)),
               hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.y_zp));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 fa = dequantize16(_mm_maskz_loadu_epi8(m, a + i), p.a_signed, az, as);
    const __m512 fb =
        dequantize16(p.b_broadcast ? _mm_set1_epi8(static_cast<char>(b[0])) : _mm_maskz_loadu_epi8(m, b + i),
                     p.b_signed, bz, bs);
    __m512 v = p.mul ? _mm512_mul_ps(fa, fb) : _mm512_add_ps(fa, fb);
    if (p.relu) v = _mm512_max_ps(v, _mm512_setzero_ps());  // NaN -> 0 (second operand)
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(v, ys), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_mask_mov_ps(q, _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), _mm512_setzero_ps());
    q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(q), yz)));
  }
}

namespace {
__attribute__((target("avx512vbmi"))) inline __m512i lut256(__m512i v, __m512i t0, __m512i t1, __m512i t2,
                                                            __m512i t3) {
  const __m512i lo = _mm512_permutex2var_epi8(t0, v, t1), hi = _mm512_permutex2var_epi8(t2, v, t3);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
}
}  // namespace

__attribute__((target("avx512vbmi"))) void qlut_avx512vbmi(const uint8_t* x, int64_t n, const uint8_t* table,
                                                           uint8_t* y) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(y + i, lut256(_mm512_loadu_si512(x + i), t0, t1, t2, t3));
  if (i < n) {
    const __mmask64 m = (__mmask64{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(y + i, m, lut256(_mm512_maskz_loadu_epi8(m, x + i), t0, t1, t2, t3));
  }
}

}  // namespace verge
