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

namespace {
template <bool S>
inline __m512i max8(__m512i a, __m512i b) {
  return S ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
}
inline __mmask64 first(int64_t n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

template <bool S>
void max_bytes(uint8_t* cm, const uint8_t* row, int64_t n) {
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = first(n - i);
    _mm512_mask_storeu_epi8(cm + i, m,
                            max8<S>(_mm512_maskz_loadu_epi8(m, cm + i), _mm512_maskz_loadu_epi8(m, row + i)));
  }
}

template <bool S>
inline __m512i window_max(const uint8_t* p, int k) {
  __m512i v = _mm512_loadu_si512(p);
  for (int j = 1; j < k; ++j) v = max8<S>(v, _mm512_loadu_si512(p + j));
  return v;
}

template <bool S>
void max_windows(const uint8_t* cm, int64_t n, int k, int stride, uint8_t* y) {
  for (int64_t o = 0; o < n; o += 64) {
    __m512i v;
    if (stride == 1) {
      v = window_max<S>(cm + o, k);
    } else {  // the even bytes of two 64-byte window maxima
      const __m256i lo = _mm512_cvtepi16_epi8(window_max<S>(cm + 2 * o, k));
      const __m256i hi = _mm512_cvtepi16_epi8(window_max<S>(cm + 2 * o + 64, k));
      v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    _mm512_mask_storeu_epi8(y + o, first(n - o), v);
  }
}
}  // namespace

void max_bytes_avx512(uint8_t* cm, const uint8_t* row, int64_t n, bool is_signed) {
  is_signed ? max_bytes<true>(cm, row, n) : max_bytes<false>(cm, row, n);
}

void max_windows_avx512(const uint8_t* cm, int64_t n, int k, int stride, bool is_signed, uint8_t* y) {
  is_signed ? max_windows<true>(cm, n, k, stride, y) : max_windows<false>(cm, n, k, stride, y);
}

int64_t sum_bytes_avx512(const uint8_t* x, int64_t n, bool is_signed) {
  const __m512i flip = _mm512_set1_epi8(is_signed ? static_cast<char>(0x80) : 0),
                zero = _mm512_setzero_si512();
  __m512i acc = zero;
  for (int64_t i = 0; i < n; i += 64) {  // int8 summed as uint8 (x + 128), corrected below
    const __mmask64 m = first(n - i);
    const __m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, x + i), flip));
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
  }
  return _mm512_reduce_add_epi64(acc) - (is_signed ? 128 * n : 0);
}

}  // namespace verge
