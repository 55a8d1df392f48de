// AVX2 int8 convolution microkernels (layouts and numerics in kernels/cpu/qconv.h, "AVX2").
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/qconv.h"

namespace verge {
namespace {

// 16 requantized int32 (two vectors, before the zero point) -> 16 int16 in order, + y_zp saturating.
inline __m256i pack_row_half(__m256i a, __m256i b, __m256i zp16) {
  return _mm256_adds_epi16(_mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8), zp16);
}

inline __m256i requant(__m256i acc, __m256 scale, __m256 hi) {  // see qconv.h: clamp above, round to even
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale), hi));
}

}  // namespace

void qconv_tile_avx2(const int16_t* col, const int16_t* wpack, int64_t k2, const QRequant& rq, int rows,
                     uint8_t* y, int64_t ldy, const QTileStore& store) {
  constexpr int MR = kQConvMrAvx2;
  __m256i acc[MR][4];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm256_set1_epi32(rq.comp[r]);
  for (int64_t k = 0; k < k2; ++k) {
    const int16_t* w = wpack + k * MR * 2;
    __m256i wr[MR];
    for (int r = 0; r < MR; ++r) {
      int32_t pair;
      std::memcpy(&pair, w + r * 2, sizeof(pair));
      wr[r] = _mm256_set1_epi32(pair);
    }
    for (int v = 0; v < 4; ++v) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + k * 64 + v * 16));
      for (int r = 0; r < MR; ++r) acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(x, wr[r]));
    }
  }
  const __m256i zp16 = _mm256_set1_epi16(static_cast<int16_t>(rq.y_zp));
  const __m256 hi = _mm256_set1_ps(static_cast<float>((rq.y_signed ? 127 : 255) - rq.y_zp));
  for (int r = 0; r < rows && r < MR; ++r) {
    const __m256 s = _mm256_set1_ps(rq.scale[r]);
    const __m256i lo16 = pack_row_half(requant(acc[r][0], s, hi), requant(acc[r][1], s, hi), zp16);
    const __m256i hi16 = pack_row_half(requant(acc[r][2], s, hi), requant(acc[r][3], s, hi), zp16);
    const __m256i bytes = _mm256_permute4x64_epi64(
        rq.y_signed ? _mm256_packs_epi16(lo16, hi16) : _mm256_packus_epi16(lo16, hi16), 0xD8);
    if (store.runs == 1 && store.lanes[0] == ~0u) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + r * ldy + store.offset[0]), bytes);
      continue;
    }
    alignas(32) uint8_t tmp[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), bytes);
    for (int s = 0; s < store.runs; ++s) {  // no byte-masked stores in AVX2: copy each run's bytes
      const int lo = __builtin_ctz(store.lanes[s]), n = __builtin_popcount(store.lanes[s]);
      std::memcpy(reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(y + r * ldy) + store.offset[s]) + lo,
                  tmp + lo, static_cast<size_t>(n));
    }
  }
}

void qconv_interleave2_avx2(const uint8_t* r0, const uint8_t* r1, uint8_t flip, int16_t* dst) {
  const __m128i f = _mm_set1_epi8(static_cast<char>(flip));
  for (int h = 0; h < 2; ++h) {
    const __m256i a = _mm256_cvtepu8_epi16(
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 16 * h)), f));
    const __m256i b = _mm256_cvtepu8_epi16(
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + 16 * h)), f));
    const __m256i lo = _mm256_unpacklo_epi16(a, b),
                  hi = _mm256_unpackhi_epi16(a, b);  // pixels 0-3 | 8-11, 4-7 | 12-15
    auto* d = reinterpret_cast<__m256i*>(dst + 32 * h);
    _mm256_storeu_si256(d, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256(d + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
  }
}

void qconv_even_bytes_avx2(const uint8_t* src, uint8_t* dst) {
  const __m256i low = _mm256_set1_epi16(0x00FF);
  const __m256i a = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)), low);
  const __m256i b = _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 32)), low);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst),
                      _mm256_permute4x64_epi64(_mm256_packus_epi16(a, b), 0xD8));
}

void qconv_split_columns_avx2(const uint8_t* src, int64_t n, uint8_t* even, uint8_t* odd) {
  const __m256i low = _mm256_set1_epi16(0x00FF);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    // Per 128-bit lane: 8 even bytes then 8 odd bytes; the permute gathers the evens in the low half.
    const __m256i p = _mm256_permute4x64_epi64(
        _mm256_packus_epi16(_mm256_and_si256(v, low), _mm256_srli_epi16(v, 8)), 0xD8);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(even + i / 2), _mm256_castsi256_si128(p));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(odd + i / 2), _mm256_extracti128_si256(p, 1));
  }
  for (; i + 1 < n; i += 2) even[i / 2] = src[i], odd[i / 2] = src[i + 1];
  if (i < n) even[i / 2] = src[i];
}

}  // namespace verge
