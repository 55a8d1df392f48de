// AMX int8 convolution tile (layouts and numerics in kernels/cpu/qconv.h).
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/qconv.h"
#include "kernels/cpu/qconv_requant_avx512.h"

namespace verge {
namespace {

using namespace qsimd;

// Palette 1, every tile 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// tmm(2 a + b) accumulates channel half a x pixel half b; tmm4 + a holds the weights of channel half a,
// tmm6 + b the activations of pixel half b. Step s multiplies the weights at wpack + s * 2048 (32 rows of
// 64 bytes) by the 16 rows of 64 bytes at b_of(s), b_stride apart (pixel half 1: 64 bytes further).
// acc[r * 32 + p]: channel r, pixel p.
template <bool kRows32, bool kPixels32, class BOf>
void multiply(BOf&& b_of, int64_t b_stride, const int8_t* wpack, int64_t steps, int32_t* acc) {
  _tile_zero(0);
  if (kPixels32) _tile_zero(1);
  if (kRows32) _tile_zero(2);
  if (kRows32 && kPixels32) _tile_zero(3);
  for (int64_t s = 0; s < steps; ++s) {
    const uint8_t* b = b_of(s);
    const int8_t* a = wpack + s * kQConvMrAmx * 64;
    _tile_loadd(6, b, b_stride);
    if (kPixels32) _tile_loadd(7, b + 64, b_stride);
    _tile_loadd(4, a, 64);
    _tile_dpbsud(0, 4, 6);
    if (kPixels32) _tile_dpbsud(1, 4, 7);
    if (kRows32) {
      _tile_loadd(5, a + 16 * 64, 64);
      _tile_dpbsud(2, 5, 6);
      if (kPixels32) _tile_dpbsud(3, 5, 7);
    }
  }
  _tile_stored(0, acc, 128);
  if (kPixels32) _tile_stored(1, acc + 16, 128);
  if (kRows32) _tile_stored(2, acc + 16 * 32, 128);
  if (kRows32 && kPixels32) _tile_stored(3, acc + 16 * 32 + 16, 128);
}

template <class BOf>
__attribute__((always_inline)) inline void multiply_any(BOf&& b_of, int64_t b_stride, const int8_t* wpack,
                                                        int64_t steps, bool rows32, bool pixels32,
                                                        int32_t* acc) {
  static constexpr TileConfig kConfig;
  _tile_loadconfig(&kConfig);
  if (rows32)
    pixels32 ? multiply<true, true>(b_of, b_stride, wpack, steps, acc)
             : multiply<true, false>(b_of, b_stride, wpack, steps, acc);
  else
    pixels32 ? multiply<false, true>(b_of, b_stride, wpack, steps, acc)
             : multiply<false, false>(b_of, b_stride, wpack, steps, acc);
}

inline __m512i load_acc(const int32_t* acc, int32_t comp) {
  return _mm512_add_epi32(_mm512_loadu_si512(acc), _mm512_set1_epi32(comp));
}

// acc + comp requantized (as qconv_tile_avx512vnni) and stored: `rows` channels of 32 pixels, or of 16
// when !pixels32.
__attribute__((always_inline)) inline void requantize_store(const int32_t* acc, const QRequant& rq, int rows,
                                                            bool pixels32, uint8_t* y, int64_t ldy,
                                                            const QTileStore& store) {
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(rq.y_zp));
  const __m512 hi = requant_hi(rq.y_zp, rq.y_signed);
  if (pixels32) {
    for (int r = 0; r < rows; r += 2) {
      const int32_t* a0 = acc + r * 32;
      const __m512 s0 = _mm512_set1_ps(rq.scale[r]), s1 = _mm512_set1_ps(rq.scale[r + 1]);
      const __m512i q = pack4(requant_f32(load_acc(a0, rq.comp[r]), s0, hi),
                              requant_f32(load_acc(a0 + 16, rq.comp[r]), s0, hi),
                              requant_f32(load_acc(a0 + 32, rq.comp[r + 1]), s1, hi),
                              requant_f32(load_acc(a0 + 48, rq.comp[r + 1]), s1, hi), zp16, rq.y_signed);
      store_rows2(y, ldy, r, rows, q, store);
    }
    return;
  }
  for (int r = 0; r < rows; r += 4) {
    const int32_t* a0 = acc + r * 32;
    const __m512i q =
        pack4(requant_f32(load_acc(a0, rq.comp[r]), _mm512_set1_ps(rq.scale[r]), hi),
              requant_f32(load_acc(a0 + 32, rq.comp[r + 1]), _mm512_set1_ps(rq.scale[r + 1]), hi),
              requant_f32(load_acc(a0 + 64, rq.comp[r + 2]), _mm512_set1_ps(rq.scale[r + 2]), hi),
              requant_f32(load_acc(a0 + 96, rq.comp[r + 3]), _mm512_set1_ps(rq.scale[r + 3]), hi), zp16,
              rq.y_signed);
    store_rows4(y, ldy, r, rows, q, store);
  }
}

}  // namespace

void qconv_tile_amx(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                    uint8_t* y, int64_t ldy, const QTileStore& store) {
  alignas(64) int32_t acc[kQConvMrAmx * 32];
  const bool pixels32 = store.width > 16;
  multiply_any([col](int64_t s) { return col + s * 16 * 128; }, 128, wpack, k4 / 16, rows > 16, pixels32,
               acc);
  requantize_store(acc, rq, rows, pixels32, y, ldy, store);
}

void qconv_direct_tile_amx(const uint8_t* x, int64_t plane_bytes, const int64_t* tap_off, int taps,
                           int64_t chunks, const int8_t* wpack, const QRequant& rq, int rows, uint8_t* y,
                           int64_t ldy, const QTileStore& store) {
  alignas(64) int32_t acc[kQConvMrAmx * 32];
  const bool pixels32 = store.width > 16;
  const int64_t chunk_bytes = 16 * plane_bytes;
  multiply_any([=](int64_t s) { return x + tap_off[s / chunks] + (s % chunks) * chunk_bytes; }, plane_bytes,
               wpack, taps * chunks, rows > 16, pixels32, acc);
  requantize_store(acc, rq, rows, pixels32, y, ldy, store);
}

void qconv_amx_release() { _tile_release(); }

void qconv_interleave_quad_amx(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                               int64_t n, uint8_t flip, uint8_t* dst) {
  // Output byte 4 p + j of a 64-byte vector is byte p of the 16 loaded from row j (at 16 j).
  alignas(64) static constexpr uint8_t kIdx[64] = {
      0,  16, 32, 48, 1,  17, 33, 49, 2,  18, 34, 50, 3,  19, 35, 51, 4,  20, 36, 52, 5,  21,
      37, 53, 6,  22, 38, 54, 7,  23, 39, 55, 8,  24, 40, 56, 9,  25, 41, 57, 10, 26, 42, 58,
      11, 27, 43, 59, 12, 28, 44, 60, 13, 29, 45, 61, 14, 30, 46, 62, 15, 31, 47, 63};
  const __m512i idx = _mm512_load_si512(kIdx), f = _mm512_set1_epi8(static_cast<char>(flip));
  for (int64_t p = 0; p < n; p += 16) {
    const int64_t len = n - p < 16 ? n - p : 16;
    const __mmask16 m = static_cast<__mmask16>((1u << len) - 1);
    __m512i v = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(m, r0 + p));
    v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, r1 + p), 1);
    v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, r2 + p), 2);
    v = _mm512_inserti32x4(v, _mm_maskz_loadu_epi8(m, r3 + p), 3);
    v = _mm512_xor_si512(_mm512_permutexvar_epi8(idx, v), f);
    _mm512_mask_storeu_epi8(dst + 4 * p, len == 16 ? ~__mmask64{0} : (__mmask64{1} << (4 * len)) - 1, v);
  }
}

}  // namespace verge
