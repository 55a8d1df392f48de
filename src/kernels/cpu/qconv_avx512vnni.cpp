// AVX512-VNNI int8 convolution microkernels (layouts and numerics in kernels/cpu/qconv.h).
#include <immintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/qconv.h"
#include "kernels/cpu/qconv_requant_avx512.h"

namespace verge {
namespace {

using namespace qsimd;

// acc += x . w (vpdpbusd) in place. GCC 12 allocates the intrinsic's tied accumulator in zmm0-15 and
// copies every accumulator there and back on each step (two register moves per vpdpbusd); the asm keeps
// each accumulator in its own register.
inline void dpbusd(__m512i& acc, __m512i x, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
}

inline __m512i broadcast_dword(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

inline __mmask64 low_bytes(int64_t count) {
  return count >= 64 ? ~__mmask64{0} : count <= 0 ? 0 : (__mmask64{1} << count) - 1;
}

inline void store16(uint8_t* y, __m128i v, int count) {
  if (count >= 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), v);
  else if (count > 0)
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << count) - 1), v);
}

// The tile for at most 16 pixels: one pixel vector, MR accumulators.
void qconv_tile16(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                  uint8_t* y, int64_t ldy, const QTileStore& store) {
  constexpr int MR = kQConvMr;
  __m512i acc[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r] = _mm512_set1_epi32(rq.comp[r]);
  for (int64_t k = 0; k < k4; ++k) {
    const __m512i x0 = _mm512_loadu_si512(col + k * 128);
    const int8_t* w = wpack + k * MR * 4;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) dpbusd(acc[r], x0, broadcast_dword(w + r * 4));
  }
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(rq.y_zp));
  const __m512 hi = requant_hi(rq.y_zp, rq.y_signed);
#pragma GCC unroll 2
  for (int r = 0; r < MR; r += 4) {
    if (r >= rows) break;
    const __m512i q = pack4(requant_f32(acc[r], _mm512_set1_ps(rq.scale[r]), hi),
                            requant_f32(acc[r + 1], _mm512_set1_ps(rq.scale[r + 1]), hi),
                            requant_f32(acc[r + 2], _mm512_set1_ps(rq.scale[r + 2]), hi),
                            requant_f32(acc[r + 3], _mm512_set1_ps(rq.scale[r + 3]), hi), zp16, rq.y_signed);
    store_rows4(y, ldy, r, rows, q, store);
  }
}

}  // namespace

void qconv_tile_avx512vnni(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                           uint8_t* y, int64_t ldy, const QTileStore& store) {
  if (store.width <= 16) return qconv_tile16(col, wpack, k4, rq, rows, y, ldy, store);
  constexpr int MR = kQConvMr;
  __m512i acc[MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_set1_epi32(rq.comp[r]);
  for (int64_t k = 0; k < k4; ++k) {
    const __m512i x0 = _mm512_loadu_si512(col + k * 128);
    const __m512i x1 = _mm512_loadu_si512(col + k * 128 + 64);
    const int8_t* w = wpack + k * MR * 4;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512i wr = broadcast_dword(w + r * 4);
      dpbusd(acc[r][0], x0, wr);
      dpbusd(acc[r][1], x1, wr);
    }
  }
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(rq.y_zp));
  const __m512 hi = requant_hi(rq.y_zp, rq.y_signed);
#pragma GCC unroll 4
  for (int r = 0; r < MR; r += 2) {
    if (r >= rows) break;
    const __m512 s0 = _mm512_set1_ps(rq.scale[r]), s1 = _mm512_set1_ps(rq.scale[r + 1]);
    const __m512i q =
        pack4(requant_f32(acc[r][0], s0, hi), requant_f32(acc[r][1], s0, hi),
              requant_f32(acc[r + 1][0], s1, hi), requant_f32(acc[r + 1][1], s1, hi), zp16, rq.y_signed);
    store_rows2(y, ldy, r, rows, q, store);
  }
}

namespace {

// P pixels x 64 channels: 4P accumulators, 4 weight vectors and one broadcast live at once (P = 6: 29
// registers); each weight vector loaded serves P pixels.
template <int P>
void lanes_pixels(const uint8_t* col, const int8_t* wpack, int64_t k4, const int32_t* comp,
                  const float* scale, int32_t y_zp, bool y_signed, const int* px, const int64_t* out,
                  int channels, uint8_t* y, int64_t plane) {
  __m512i acc[P][4];
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i)
    for (int b = 0; b < 4; ++b) acc[i][b] = _mm512_loadu_si512(comp + 16 * b);
  const uint8_t* c[P];
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i) c[i] = col + 4 * px[i];
  const int8_t* w = wpack;
  const int64_t wb = k4 * 64;  // bytes between the packed blocks of 16 channels
  for (int64_t q = 0; q < k4; ++q, w += 64) {
    const __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + wb);
    const __m512i w2 = _mm512_loadu_si512(w + 2 * wb), w3 = _mm512_loadu_si512(w + 3 * wb);
#pragma GCC unroll 6
    for (int i = 0; i < P; ++i) {
      const __m512i x = broadcast_dword(reinterpret_cast<const int8_t*>(c[i] + q * 128));
      dpbusd(acc[i][0], x, w0), dpbusd(acc[i][1], x, w1), dpbusd(acc[i][2], x, w2), dpbusd(acc[i][3], x, w3);
    }
  }
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(y_zp));
  const __m512 hi = requant_hi(y_zp, y_signed);
  const __m512 s0 = _mm512_loadu_ps(scale), s1 = _mm512_loadu_ps(scale + 16);
  const __m512 s2 = _mm512_loadu_ps(scale + 32), s3 = _mm512_loadu_ps(scale + 48);
  alignas(64) uint8_t bytes[64];
#pragma GCC unroll 6
  for (int i = 0; i < P; ++i) {
    _mm512_store_si512(bytes,
                       pack4(requant_f32(acc[i][0], s0, hi), requant_f32(acc[i][1], s1, hi),
                             requant_f32(acc[i][2], s2, hi), requant_f32(acc[i][3], s3, hi), zp16, y_signed));
    uint8_t* dst = y + out[i];
    for (int m = 0; m < channels; ++m) dst[m * plane] = bytes[m];
  }
}

}  // namespace

void qconv_lanes_avx512vnni(const uint8_t* col, const int8_t* wpack, int64_t k4, const int32_t* comp,
                            const float* scale, int32_t y_zp, bool y_signed, const int* px,
                            const int64_t* out, int pixels, int channels, uint8_t* y, int64_t plane) {
  using Fn = decltype(&lanes_pixels<1>);
  static constexpr Fn kByPixels[kQLanesPixels] = {lanes_pixels<1>, lanes_pixels<2>, lanes_pixels<3>,
                                                  lanes_pixels<4>, lanes_pixels<5>, lanes_pixels<6>};
  kByPixels[pixels - 1](col, wpack, k4, comp, scale, y_zp, y_signed, px, out, channels, y, plane);
}

void qgemv_avx512vnni(const uint8_t* x4, const int8_t* wpack, int64_t k4, int64_t m, const int32_t* comp,
                      const float* scale, int32_t y_zp, bool y_signed, uint8_t* y) {
  const __m512 hi = requant_hi(y_zp, y_signed);
  const __m512i lo = _mm512_set1_epi32((y_signed ? -128 : 0) - y_zp), zp = _mm512_set1_epi32(y_zp);
  const int64_t blocks = (m + 15) / 16;
  for (int64_t b0 = 0; b0 < blocks; b0 += 4) {  // four independent accumulator chains
    const int nb = static_cast<int>(blocks - b0 < 4 ? blocks - b0 : 4);
    __m512i acc[4];
    for (int i = 0; i < nb; ++i) {
      const int64_t m0 = (b0 + i) * 16;
      acc[i] = _mm512_maskz_loadu_epi32(static_cast<__mmask16>(low_bytes(m - m0) & 0xFFFF), comp + m0);
    }
    for (int64_t q = 0; q < k4; ++q) {
      int32_t xd;
      __builtin_memcpy(&xd, x4 + 4 * q, sizeof(xd));
      const __m512i xv = _mm512_set1_epi32(xd);
      for (int i = 0; i < nb; ++i)
        acc[i] = _mm512_dpbusd_epi32(acc[i], xv, _mm512_loadu_si512(wpack + ((b0 + i) * k4 + q) * 64));
    }
    for (int i = 0; i < nb; ++i) {
      const int64_t m0 = (b0 + i) * 16;
      const auto mask = static_cast<__mmask16>(low_bytes(m - m0) & 0xFFFF);
      const __m512 s = _mm512_maskz_loadu_ps(mask, scale + m0);
      const __m512i r = _mm512_add_epi32(_mm512_max_epi32(requant_f32(acc[i], s, hi), lo), zp);
      _mm_mask_storeu_epi8(y + m0, mask, _mm512_cvtepi32_epi8(r));
    }
  }
}

__attribute__((target("avx512vbmi"))) void qconv_gather32_avx512vbmi(const uint8_t* src, const uint8_t* idx,
                                                                     uint8_t* dst) {
  const __m512i v = _mm512_permutex2var_epi8(_mm512_loadu_si512(src), _mm512_loadu_si512(idx),
                                             _mm512_loadu_si512(src + 64));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_castsi512_si256(v));
}

void qconv_even_bytes_avx512vnni(const uint8_t* src, uint8_t* dst) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_cvtepi16_epi8(_mm512_loadu_si512(src)));
}

void qconv_split_columns_avx512vnni(const uint8_t* src, int64_t n, uint8_t* even, uint8_t* odd) {
  for (int64_t i = 0; i < n; i += 64) {
    const int64_t len = n - i < 64 ? n - i : 64;
    const __m512i v = _mm512_maskz_loadu_epi8(low_bytes(len), src + i);
    _mm256_mask_storeu_epi8(even + i / 2, static_cast<__mmask32>(low_bytes((len + 1) / 2)),
                            _mm512_cvtepi16_epi8(v));
    _mm256_mask_storeu_epi8(odd + i / 2, static_cast<__mmask32>(low_bytes(len / 2)),
                            _mm512_cvtepi16_epi8(_mm512_srli_epi16(v, 8)));
  }
}

void qconv_interleave4_avx512vnni(const uint8_t* r0, const uint8_t* r1, const uint8_t* r2, const uint8_t* r3,
                                  uint8_t flip, uint8_t* dst) {
  const __m128i f = _mm_set1_epi8(static_cast<char>(flip));
  for (int h = 0; h < 2; ++h) {
    const __m128i a0 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 16 * h)), f);
    const __m128i a1 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + 16 * h)), f);
    const __m128i a2 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r2 + 16 * h)), f);
    const __m128i a3 = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r3 + 16 * h)), f);
    const __m128i t0 = _mm_unpacklo_epi8(a0, a1), t1 = _mm_unpackhi_epi8(a0, a1);
    const __m128i u0 = _mm_unpacklo_epi8(a2, a3), u1 = _mm_unpackhi_epi8(a2, a3);
    __m128i* d = reinterpret_cast<__m128i*>(dst + 64 * h);
    _mm_storeu_si128(d + 0, _mm_unpacklo_epi16(t0, u0));
    _mm_storeu_si128(d + 1, _mm_unpackhi_epi16(t0, u0));
    _mm_storeu_si128(d + 2, _mm_unpacklo_epi16(t1, u1));
    _mm_storeu_si128(d + 3, _mm_unpackhi_epi16(t1, u1));
  }
}

namespace {

// vpermt2b indices: output byte 4p + j of pixels 0-15 (table 0) and 16-31 (table 1) is byte p (16 + p) of
// row j, rows 0-1 in the first source and rows 2-3 in the second (index bit 6).
alignas(64) constexpr auto kPanelRowsIdx = [] {
  std::array<std::array<uint8_t, 64>, 2> t{};
  for (int h = 0; h < 2; ++h)
    for (int p = 0; p < 16; ++p)
      for (int j = 0; j < 4; ++j)
        t[h][p * 4 + j] = static_cast<uint8_t>((j >= 2) * 64 + (j % 2) * 32 + h * 16 + p);
  return t;
}();
// Even bytes of two 64-byte sources: byte i is source byte 2i (2i - 64 of the second for i >= 32).
alignas(64) constexpr auto kEvenBytesIdx = [] {
  std::array<uint8_t, 64> t{};
  for (int i = 0; i < 64; ++i) t[i] = static_cast<uint8_t>(2 * i);
  return t;
}();

// Rows r0..r3 (32 bytes each) xor f, interleaved into 128 bytes: vpermt2b with idx0 / idx1.
__attribute__((target("avx512vbmi"))) inline void interleave4_vbmi(const uint8_t* r0, const uint8_t* r1,
                                                                   const uint8_t* r2, const uint8_t* r3,
                                                                   __m512i f, __m512i idx0, __m512i idx1,
                                                                   uint8_t* dst) {
  const __m512i a = _mm512_xor_si512(
      _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0))),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1)), 1),
      f);
  const __m512i b = _mm512_xor_si512(
      _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r2))),
                         _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r3)), 1),
      f);
  _mm512_storeu_si512(dst, _mm512_permutex2var_epi8(a, idx0, b));
  _mm512_storeu_si512(dst + 64, _mm512_permutex2var_epi8(a, idx1, b));
}

// The same from the even bytes of 64 at each row: [evens of r0 | evens of r1] by one vpermt2b (idx_even).
__attribute__((target("avx512vbmi"))) inline void interleave4_even_vbmi(const uint8_t* r0, const uint8_t* r1,
                                                                        const uint8_t* r2, const uint8_t* r3,
                                                                        __m512i f, __m512i idx_even,
                                                                        __m512i idx0, __m512i idx1,
                                                                        uint8_t* dst) {
  const __m512i a =
      _mm512_xor_si512(_mm512_permutex2var_epi8(_mm512_loadu_si512(r0), idx_even, _mm512_loadu_si512(r1)), f);
  const __m512i b =
      _mm512_xor_si512(_mm512_permutex2var_epi8(_mm512_loadu_si512(r2), idx_even, _mm512_loadu_si512(r3)), f);
  _mm512_storeu_si512(dst, _mm512_permutex2var_epi8(a, idx0, b));
  _mm512_storeu_si512(dst + 64, _mm512_permutex2var_epi8(a, idx1, b));
}

}  // namespace

__attribute__((target("avx512vbmi"))) void qconv_panel_rows_avx512vbmi(const uint8_t* base,
                                                                       const int64_t* koff, int64_t k_count,
                                                                       int64_t k4, const uint8_t* pad,
                                                                       uint8_t flip, bool even,
                                                                       uint8_t* panel) {
  const __m512i idx0 = _mm512_load_si512(kPanelRowsIdx[0].data()),
                idx1 = _mm512_load_si512(kPanelRowsIdx[1].data());
  const __m512i idx_even = _mm512_load_si512(kEvenBytesIdx.data());
  const __m512i f = _mm512_set1_epi8(static_cast<char>(flip));
  const int64_t full = k_count / 4 < k4 ? k_count / 4 : k4;
  for (int64_t q = 0; q < k4; ++q, koff += 4, panel += 128) {
    const uint8_t* r[4];
    for (int64_t j = 0; j < 4; ++j) r[j] = q < full || 4 * q + j < k_count ? base + koff[j] : pad;
    if (even)
      interleave4_even_vbmi(r[0], r[1], r[2], r[3], f, idx_even, idx0, idx1, panel);
    else
      interleave4_vbmi(r[0], r[1], r[2], r[3], f, idx0, idx1, panel);
  }
}

}  // namespace verge

namespace verge {
namespace {

// Byte-permute indices of chunk c (taps 4c .. 4c + 3 of a kernel row) for G channels per vector: lane l
// is pixel p = l % (16 / G) of channel l / (16 / G) (bit 6 selects the second load), byte j reads
// p * S + 4c + j (taps past K read p * S and meet a zero weight).
template <int K, int S, int G>
struct QDwIndex {
  static constexpr int C = (K + 3) / 4;
  alignas(64) uint8_t bytes[C][64] = {};
  constexpr QDwIndex() {
    for (int c = 0; c < C; ++c)
      for (int l = 0; l < 16; ++l)
        for (int j = 0; j < 4; ++j) {
          const int p = l % (16 / G), tap = 4 * c + j < K ? 4 * c + j : 0;
          bytes[c][4 * l + j] = static_cast<uint8_t>(p * S + tap + (l / (16 / G)) * 64);
        }
  }
};
template <int K, int S, int G>
constexpr QDwIndex<K, S, G> kQDwIndex{};

template <int K, int S, int G>
__attribute__((target("avx512vbmi"))) void qdw(const QDwChannel* ch, const QDwGeometry& g, int32_t y_zp,
                                               bool y_signed) {
  constexpr int R = kQDwRows;     // output rows per pass: every input row is permuted once for all of them
  constexpr int C = (K + 3) / 4;  // 4-tap chunks per kernel row
  constexpr __mmask16 kSecond = G == 2 ? 0xFF00 : 0;
  __m512i wv[K][C], idx[C];
  for (int i = 0; i < K; ++i)
    for (int c = 0; c < C; ++c)
      wv[i][c] = _mm512_mask_blend_epi32(kSecond, _mm512_set1_epi32(ch[0].w[i * C + c]),
                                         _mm512_set1_epi32(ch[G - 1].w[i * C + c]));
  for (int c = 0; c < C; ++c) idx[c] = _mm512_load_si512(kQDwIndex<K, S, G>.bytes[c]);
  const __m512i vcomp =
      _mm512_mask_blend_epi32(kSecond, _mm512_set1_epi32(ch[0].comp), _mm512_set1_epi32(ch[G - 1].comp));
  const __m512 scale =
      _mm512_mask_blend_ps(kSecond, _mm512_set1_ps(ch[0].scale), _mm512_set1_ps(ch[G - 1].scale));
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(y_zp));
  const __m512i fill = _mm512_set1_epi8(static_cast<char>(g.x_zp)),
                flip = _mm512_set1_epi8(static_cast<char>(g.flip));
  const __m512i fill_flipped = _mm512_xor_si512(fill, flip);
  const int64_t oh = g.oh, ow = g.ow, h = g.h, w = g.w;
  for (int64_t ox = 0; ox < ow; ox += 16 / G) {
    // Input columns ox * S - pw + b, b < 64: the in-plane ones are loaded, the rest are the zero point.
    const int64_t col0 = ox * S - g.pw;
    const int64_t lo = col0 < 0 ? -col0 : 0, hi = w - col0 < 64 ? w - col0 : 64;
    const __mmask64 m = hi > lo ? low_bytes(hi) & ~low_bytes(lo) : 0;
    const int left = static_cast<int>(ow - ox < 16 / G ? ow - ox : 16 / G);
    for (int64_t oy = 0; oy < oh; oy += R) {
      const int rows = static_cast<int>(oh - oy < R ? oh - oy : R);
      __m512i acc[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[r] = vcomp;
      const int64_t iy0 = oy * S - g.ph;
#pragma GCC unroll 20
      for (int ir = 0; ir < (R - 1) * S + K; ++ir) {
        const int64_t iy = iy0 + ir;
        __m512i a = fill_flipped, b = fill_flipped;
        if (static_cast<uint64_t>(iy) < static_cast<uint64_t>(h)) {
          a = _mm512_xor_si512(_mm512_mask_loadu_epi8(fill, m, ch[0].in + iy * w + col0), flip);
          if (G == 2)
            b = _mm512_xor_si512(_mm512_mask_loadu_epi8(fill, m, ch[G - 1].in + iy * w + col0), flip);
        }
#pragma GCC unroll 2
        for (int c = 0; c < C; ++c) {
          const __m512i v =
              G == 2 ? _mm512_permutex2var_epi8(a, idx[c], b) : _mm512_permutexvar_epi8(idx[c], a);
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) {
            const int i = ir - r * S;
            if (i >= 0 && i < K) acc[r] = _mm512_dpbusd_epi32(acc[r], v, wv[i][c]);
          }
        }
      }
#pragma GCC unroll 2
      for (int r0 = 0; r0 < R; r0 += 4) {
        if (r0 >= rows) break;
        const __m512i q =
            pack4(requant_f32(acc[r0], scale), requant_f32(acc[r0 + 1], scale),
                  requant_f32(acc[r0 + 2], scale), requant_f32(acc[r0 + 3], scale), zp16, y_signed);
        const __m128i part[4] = {_mm512_castsi512_si128(q), _mm512_extracti32x4_epi32(q, 1),
                                 _mm512_extracti32x4_epi32(q, 2), _mm512_extracti32x4_epi32(q, 3)};
        for (int r = 0; r < 4 && r0 + r < rows; ++r) {
          const int64_t at = (oy + r0 + r) * ow + ox;
          store16(ch[0].y + at, part[r], left);
          if (G == 2) store16(ch[1].y + at, _mm_srli_si128(part[r], 8), left);
        }
      }
    }
  }
}

}  // namespace

void qdw_avx512vbmi(const QDwChannel* ch, int g, const QDwGeometry& geom, int32_t y_zp, bool y_signed) {
  const int key = (geom.k == 5) * 4 + (geom.stride == 2) * 2 + (g == 2);
  switch (key) {
    case 0:
      return qdw<3, 1, 1>(ch, geom, y_zp, y_signed);
    case 1:
      return qdw<3, 1, 2>(ch, geom, y_zp, y_signed);
    case 2:
      return qdw<3, 2, 1>(ch, geom, y_zp, y_signed);
    case 3:
      return qdw<3, 2, 2>(ch, geom, y_zp, y_signed);
    case 4:
      return qdw<5, 1, 1>(ch, geom, y_zp, y_signed);
    case 5:
      return qdw<5, 1, 2>(ch, geom, y_zp, y_signed);
    case 6:
      return qdw<5, 2, 1>(ch, geom, y_zp, y_signed);
    default:
      return qdw<5, 2, 2>(ch, geom, y_zp, y_signed);
  }
}

namespace {

template <class Requant>
void requant_loop(const int32_t* acc, int64_t n, int32_t y_zp, bool y_signed, uint8_t* y, Requant rq) {
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(y_zp));
  for (int64_t i = 0; i < n; i += 64) {
    const __m512i* a = reinterpret_cast<const __m512i*>(acc + i);
    _mm512_storeu_si512(
        y + i, pack4(rq(_mm512_loadu_si512(a)), rq(_mm512_loadu_si512(a + 1)), rq(_mm512_loadu_si512(a + 2)),
                     rq(_mm512_loadu_si512(a + 3)), zp16, y_signed));
  }
}

}  // namespace

void qrequant_f32_avx512vnni(const int32_t* acc, int64_t n, float scale, int32_t y_zp, bool y_signed,
                             uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale), hi = requant_hi(y_zp, y_signed);
  requant_loop(acc, n, y_zp, y_signed, y, [&](__m512i a) { return requant_f32(a, s, hi); });
}

void qrequant_fixed_avx512vnni(const int32_t* acc, int64_t n, int32_t mult, int32_t shift, int32_t y_zp,
                               bool y_signed, uint8_t* y) {
  // (acc * mult + 2^(shift-1)) >> shift on even and odd lanes (vpmuldq), shift >= 31: fits in int32.
  const __m512i m = _mm512_set1_epi64(mult), rnd = _mm512_set1_epi64(int64_t{1} << (shift - 1));
  const __m128i cnt = _mm_cvtsi32_si128(shift);
  requant_loop(acc, n, y_zp, y_signed, y, [&](__m512i a) {
    const __m512i even = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, m), rnd), cnt);
    const __m512i odd =
        _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), m), rnd), cnt);
    return _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
  });
}

void qrequant_double_avx512vnni(const int32_t* acc, int64_t n, double mult, int32_t y_zp, bool y_signed,
                                uint8_t* y) {
  const int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512d m = _mm512_set1_pd(mult);
  const __m512d hi = _mm512_set1_pd(static_cast<double>((y_signed ? 127 : 255) - y_zp));
  requant_loop(acc, n, y_zp, y_signed, y, [&](__m512i a) {
    const __m512d lo_v = _mm512_min_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(a)), m), hi);
    const __m512d hi_v =
        _mm512_min_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1)), m), hi);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvt_roundpd_epi32(lo_v, rn)),
                              _mm512_cvt_roundpd_epi32(hi_v, rn), 1);
  });
}

}  // namespace verge
