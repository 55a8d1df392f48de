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
// tmm6 + b the panel rows of pixel half b. acc[r * 32 + p]: channel r, pixel p.
template <bool kRows32, bool kPixels32>
void multiply(const uint8_t* col, const int8_t* wpack, int64_t chunks, int32_t* acc) {
  _tile_zero(0);
  if (kPixels32) _tile_zero(1);
  if (kRows32) _tile_zero(2);
  if (kRows32 && kPixels32) _tile_zero(3);
  for (int64_t c = 0; c < chunks; ++c) {
    const uint8_t* b = col + c * 16 * 128;
    const int8_t* a = wpack + c * kQConvMrAmx * 64;
    _tile_loadd(6, b, 128);
    if (kPixels32) _tile_loadd(7, b + 64, 128);
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

inline __m512i load_acc(const int32_t* acc, int32_t comp) {
  return _mm512_add_epi32(_mm512_loadu_si512(acc), _mm512_set1_epi32(comp));
}

}  // namespace

void qconv_tile_amx(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                    uint8_t* y, int64_t ldy, const QTileStore& store) {
  static constexpr TileConfig kConfig;
  _tile_loadconfig(&kConfig);
  alignas(64) int32_t acc[kQConvMrAmx * 32];
  const int64_t chunks = k4 / 16;
  const bool pixels32 = store.width > 16, rows32 = rows > 16;
  if (rows32)
    pixels32 ? multiply<true, true>(col, wpack, chunks, acc) : multiply<true, false>(col, wpack, chunks, acc);
  else
    pixels32 ? multiply<false, true>(col, wpack, chunks, acc)
             : multiply<false, false>(col, wpack, chunks, acc);
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
      store_runs(y + r * ldy, _mm512_castsi512_si256(q), store);
      if (r + 1 < rows) store_runs(y + (r + 1) * ldy, _mm512_extracti64x4_epi64(q, 1), store);
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
    store_runs(y + r * ldy, _mm512_castsi512_si128(q), store);
    if (r + 1 < rows) store_runs(y + (r + 1) * ldy, _mm512_extracti32x4_epi32(q, 1), store);
    if (r + 2 < rows) store_runs(y + (r + 2) * ldy, _mm512_extracti32x4_epi32(q, 2), store);
    if (r + 3 < rows) store_runs(y + (r + 3) * ldy, _mm512_extracti32x4_epi32(q, 3), store);
  }
}

}  // namespace verge
