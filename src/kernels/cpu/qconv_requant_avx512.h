// Requantization and store helpers shared by the AVX512-VNNI and AMX int8 kernels (numerics in
// kernels/cpu/qconv.h). Include only from files compiled for AVX-512 (*_avx512vnni.cpp, *_amx.cpp).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/qconv.h"

namespace verge::qsimd {
// Internal linkage: the files that include this are compiled with different ISA flags (AMX files also
// with VBMI), so no copy may be shared through the linker.
namespace {

// float32 requantization of 16 accumulators to int32 (see qconv.h): a value past qmax - y_zp is clamped
// first (cvtps2dq would turn it into INT_MIN); one below -2^31 becomes INT_MIN, which the saturating
// packs take to qmin like every other value below the range.
inline __m512i requant_f32(__m512i acc, __m512 scale, __m512 hi) {
  const __m512 v = _mm512_min_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale), hi);
  return _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

// Four vectors of requantized int32 (before the zero point) -> 64 bytes, each clamp(v + y_zp) to the
// output type (int16 saturating pack, saturating + y_zp, byte saturating pack), left in the packs'
// per-128-bit-lane order: byte 16 L + 4 s + i is element 4 L + i of source s (a, b, c, d).
inline __m512i pack4_lanes(__m512i a, __m512i b, __m512i c, __m512i d, __m512i zp16, bool y_signed) {
  const __m512i ab = _mm512_adds_epi16(_mm512_packs_epi32(a, b), zp16);
  const __m512i cd = _mm512_adds_epi16(_mm512_packs_epi32(c, d), zp16);
  return y_signed ? _mm512_packs_epi16(ab, cd) : _mm512_packus_epi16(ab, cd);
}

// The same in source order, [a | b | c | d]: one dword permute undoes the lane interleave.
inline __m512i pack4(__m512i a, __m512i b, __m512i c, __m512i d, __m512i zp16, bool y_signed) {
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
                                  pack4_lanes(a, b, c, d, zp16, y_signed));
}

// The same for scales below 1, where float(acc) * scale stays inside (-2^31, 2^31): no clamp needed.
inline __m512i requant_f32(__m512i acc, __m512 scale) {
  return _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

inline __m512 requant_hi(int32_t y_zp, bool y_signed) {
  return _mm512_set1_ps(static_cast<float>((y_signed ? 127 : 255) - y_zp));
}

// One output row of a tile (see QTileStore); the address is formed as an integer since a run's offset may
// precede the row (its masked-off bytes are never written).
inline void store_runs(uint8_t* y, __m256i v, const QTileStore& st) {
  if (st.runs == 1 && st.lanes[0] == ~0u) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + st.offset[0]), v);
    return;
  }
  for (int s = 0; s < st.runs; ++s)
    _mm256_mask_storeu_epi8(reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(y) + st.offset[s]),
                            st.lanes[s], v);
}

inline void store_runs(uint8_t* y, __m128i v, const QTileStore& st) {
  if (st.runs == 1 && (st.lanes[0] & 0xFFFF) == 0xFFFF) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + st.offset[0]), v);
    return;
  }
  for (int s = 0; s < st.runs; ++s)
    _mm_mask_storeu_epi8(reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(y) + st.offset[s]),
                         static_cast<__mmask16>(st.lanes[s]), v);
}

// Requantized rows r .. r + 3 of a tile of at most 16 pixels (the four 16-byte quarters of q), those below
// `rows`, at y + row * ldy.
inline void store_rows4(uint8_t* y, int64_t ldy, int r, int rows, __m512i q, const QTileStore& st) {
  store_runs(y + r * ldy, _mm512_castsi512_si128(q), st);
  if (r + 1 < rows) store_runs(y + (r + 1) * ldy, _mm512_extracti32x4_epi32(q, 1), st);
  if (r + 2 < rows) store_runs(y + (r + 2) * ldy, _mm512_extracti32x4_epi32(q, 2), st);
  if (r + 3 < rows) store_runs(y + (r + 3) * ldy, _mm512_extracti32x4_epi32(q, 3), st);
}

// Requantized rows r and r + 1 (if below `rows`) of a 32-pixel tile: the two halves of q.
inline void store_rows2(uint8_t* y, int64_t ldy, int r, int rows, __m512i q, const QTileStore& st) {
  store_runs(y + r * ldy, _mm512_castsi512_si256(q), st);
  if (r + 1 < rows) store_runs(y + (r + 1) * ldy, _mm512_extracti64x4_epi64(q, 1), st);
}

}  // namespace
}  // namespace verge::qsimd
