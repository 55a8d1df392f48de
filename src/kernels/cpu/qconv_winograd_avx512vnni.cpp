// int8 Winograd F(4x4, 3x3) microkernels (layouts in kernels/cpu/qconv.h, exactness in qconv_winograd.cpp).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/qconv.h"
#include "kernels/cpu/qconv_requant_avx512.h"

namespace verge {
namespace {

using namespace qsimd;

// acc += pairs of int16 products (vpdpwssd, wrapping); asm for the same register reason as dpbusd in
// qconv_avx512vnni.cpp.
inline void dpwssd(__m512i& acc, __m512i a, __m512i b) {
  asm("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
}

// 16 rows of 16 bytes -> 16 columns of 16 bytes (a[j] becomes column j).
inline void transpose16x16(__m128i a[16]) {
  __m128i b[16], c[16], d[16];
  for (int k = 0; k < 8; ++k) {
    b[2 * k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
    b[2 * k + 1] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
  }
  for (int g = 0; g < 4; ++g) {
    c[4 * g] = _mm_unpacklo_epi16(b[4 * g], b[4 * g + 2]);
    c[4 * g + 1] = _mm_unpackhi_epi16(b[4 * g], b[4 * g + 2]);
    c[4 * g + 2] = _mm_unpacklo_epi16(b[4 * g + 1], b[4 * g + 3]);
    c[4 * g + 3] = _mm_unpackhi_epi16(b[4 * g + 1], b[4 * g + 3]);
  }
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < 4; ++q) {
      d[8 * h + 2 * q] = _mm_unpacklo_epi32(c[8 * h + q], c[8 * h + 4 + q]);
      d[8 * h + 2 * q + 1] = _mm_unpackhi_epi32(c[8 * h + q], c[8 * h + 4 + q]);
    }
  for (int e = 0; e < 8; ++e) {
    a[2 * e] = _mm_unpacklo_epi64(d[e], d[8 + e]);
    a[2 * e + 1] = _mm_unpackhi_epi64(d[e], d[8 + e]);
  }
}

// r = B^T d on int16 lanes: r0 = 4(d0 - d2) + (d4 - d2), r1/r2 = (d4 - 4 d2) +/- (d3 - 4 d1),
// r3/r4 = (d4 - d2) +/- 2 (d3 - d1), r5 = 4(d1 - d3) + (d5 - d3).
inline void input_1d(const __m512i d[6], __m512i r[6]) {
  const __m512i s = _mm512_sub_epi16(d[4], d[2]);
  const __m512i p = _mm512_sub_epi16(d[4], _mm512_slli_epi16(d[2], 2));
  const __m512i q = _mm512_sub_epi16(d[3], _mm512_slli_epi16(d[1], 2));
  const __m512i u = _mm512_slli_epi16(_mm512_sub_epi16(d[3], d[1]), 1);
  r[0] = _mm512_add_epi16(_mm512_slli_epi16(_mm512_sub_epi16(d[0], d[2]), 2), s);
  r[1] = _mm512_add_epi16(p, q);
  r[2] = _mm512_sub_epi16(p, q);
  r[3] = _mm512_add_epi16(s, u);
  r[4] = _mm512_sub_epi16(s, u);
  r[5] = _mm512_add_epi16(_mm512_slli_epi16(_mm512_sub_epi16(d[1], d[3]), 2), _mm512_sub_epi16(d[5], d[3]));
}

// z = A'^T m on int32 lanes (wrapping): z0 = 6 m0 + 4(m1 + m2) + (m3 + m4), z1 = 4(m1 - m2) + 2(m3 - m4),
// z2 = 4(m1 + m2) + 4(m3 + m4), z3 = 4(m1 - m2) + 8(m3 - m4) + 24 m5.
inline void output_1d(const __m512i m[6], __m512i z[4]) {
  const __m512i s12 = _mm512_add_epi32(m[1], m[2]), d12 = _mm512_sub_epi32(m[1], m[2]);
  const __m512i s34 = _mm512_add_epi32(m[3], m[4]), d34 = _mm512_sub_epi32(m[3], m[4]);
  const __m512i m0x2 = _mm512_slli_epi32(m[0], 1), m5x8 = _mm512_slli_epi32(m[5], 3);
  z[0] = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(_mm512_add_epi32(m[0], s12), 2), m0x2), s34);
  z[1] = _mm512_add_epi32(_mm512_slli_epi32(d12, 2), _mm512_slli_epi32(d34, 1));
  z[2] = _mm512_slli_epi32(_mm512_add_epi32(s12, s34), 2);
  z[3] = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(d12, 2), _mm512_slli_epi32(d34, 3)),
                          _mm512_add_epi32(_mm512_slli_epi32(m5x8, 1), m5x8));
}

// Y from Z = 576 Y mod 2^32 when |Y| < 2^25: Z / 64 = 9 Y mod 2^26, times 9^-1 (mod 2^32), sign-extended
// from 26 bits.
inline __m512i recover(__m512i z) {
  const __m512i inv9 = _mm512_set1_epi32(0x38E38E39);
  const __m512i t = _mm512_mullo_epi32(_mm512_srai_epi32(z, 6), inv9);
  return _mm512_srai_epi32(_mm512_slli_epi32(t, 6), 6);
}

template <int T>
void gemm_tiles(const int16_t* v, int64_t cp, const int16_t* u, int64_t pairs, int32_t* m) {
  __m512i acc[T][4];
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t) acc[t][0] = acc[t][1] = acc[t][2] = acc[t][3] = _mm512_setzero_si512();
  for (int64_t p = 0; p < pairs; ++p, u += 128) {
    const __m512i u0 = _mm512_loadu_si512(u), u1 = _mm512_loadu_si512(u + 32);
    const __m512i u2 = _mm512_loadu_si512(u + 64), u3 = _mm512_loadu_si512(u + 96);
#pragma GCC unroll 6
    for (int t = 0; t < T; ++t) {
      int32_t pair;
      std::memcpy(&pair, v + t * cp + 2 * p, sizeof(pair));
      const __m512i b = _mm512_set1_epi32(pair);
      dpwssd(acc[t][0], b, u0), dpwssd(acc[t][1], b, u1), dpwssd(acc[t][2], b, u2), dpwssd(acc[t][3], b, u3);
    }
  }
#pragma GCC unroll 6
  for (int t = 0; t < T; ++t)
    for (int q = 0; q < 4; ++q) _mm512_storeu_si512(m + t * 64 + q * 16, acc[t][q]);
}

}  // namespace

void qwino_transpose_avx512vnni(const uint8_t* x, int64_t plane, int64_t channels, int64_t rows, int64_t w,
                                uint8_t flip, uint8_t x_zp, int16_t* xt, int64_t wp, int64_t cp) {
  const __m128i flipv = _mm_set1_epi8(static_cast<char>(flip)), zpv = _mm_set1_epi8(static_cast<char>(x_zp));
  const __m256i zp16 = _mm256_set1_epi16(x_zp);
  for (int64_t c0 = 0; c0 < cp; c0 += 16)
    for (int64_t iy = 0; iy < rows; ++iy)
      for (int64_t x0 = 0; x0 < w; x0 += 16) {
        const int n = static_cast<int>(w - x0 < 16 ? w - x0 : 16);
        const auto mask = static_cast<__mmask16>((1u << n) - 1);
        __m128i a[16];
        for (int i = 0; i < 16; ++i)
          a[i] = c0 + i < channels
                     ? _mm_xor_si128(_mm_maskz_loadu_epi8(mask, x + (c0 + i) * plane + iy * w + x0), flipv)
                     : zpv;  // channels past C: d = 0
        transpose16x16(a);
        int16_t* dst = xt + (iy * wp + x0) * cp + c0;
        for (int j = 0; j < n; ++j)
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j * cp),
                              _mm256_sub_epi16(_mm256_cvtepu8_epi16(a[j]), zp16));
      }
}

void qwino_input_avx512vnni(const int16_t* xt, int64_t wp, int64_t cp, const int64_t* origin, int tiles,
                            int16_t* v, int64_t tb) {
  for (int t = 0; t < tiles; ++t)
    for (int64_t c0 = 0; c0 < cp; c0 += 32) {
      const int16_t* base = xt + origin[t] + c0;
      __m512i rows[6][6];  // rows[k][j]: B^T applied down column j
      for (int j = 0; j < 6; ++j) {
        __m512i d[6], r[6];
        for (int i = 0; i < 6; ++i) d[i] = _mm512_loadu_si512(base + (i * wp + j) * cp);
        input_1d(d, r);
        for (int k = 0; k < 6; ++k) rows[k][j] = r[k];
      }
      for (int k = 0; k < 6; ++k) {
        __m512i r[6];
        input_1d(rows[k], r);
        for (int l = 0; l < 6; ++l) _mm512_storeu_si512(v + ((6 * k + l) * tb + t) * cp + c0, r[l]);
      }
    }
}

void qwino_gemm_avx512vnni(const int16_t* v, int64_t tb, int tiles, int64_t cp, const int16_t* u,
                           int32_t* m) {
  const int64_t pairs = cp / 2;
  for (int xi = 0; xi < 36; ++xi) {
    const int16_t* ux = u + xi * pairs * 128;
    for (int t0 = 0; t0 < tiles; t0 += kQWinoTiles) {
      const int16_t* vt = v + (xi * tb + t0) * cp;
      int32_t* mt = m + (xi * tb + t0) * 64;
      switch (tiles - t0 < kQWinoTiles ? tiles - t0 : kQWinoTiles) {
        case 1:
          gemm_tiles<1>(vt, cp, ux, pairs, mt);
          break;
        case 2:
          gemm_tiles<2>(vt, cp, ux, pairs, mt);
          break;
        case 3:
          gemm_tiles<3>(vt, cp, ux, pairs, mt);
          break;
        case 4:
          gemm_tiles<4>(vt, cp, ux, pairs, mt);
          break;
        case 5:
          gemm_tiles<5>(vt, cp, ux, pairs, mt);
          break;
        default:
          gemm_tiles<6>(vt, cp, ux, pairs, mt);
          break;
      }
    }
  }
}

__attribute__((target("avx512vbmi"))) void qwino_output_avx512vbmi(const int32_t* m, int64_t tb,
                                                                   const int64_t* tile_oy,
                                                                   const int64_t* tile_ox, int tiles,
                                                                   const QWinoOutput& o) {
  // pack4_lanes of pixels b = 0..3 puts channel o, pixel b at byte (o / 4) * 16 + b * 4 + o % 4; gather
  // each channel's four pixels into its dword.
  alignas(64) uint8_t idx_bytes[64];
  for (int ch = 0; ch < 16; ++ch)
    for (int b = 0; b < 4; ++b) idx_bytes[ch * 4 + b] = static_cast<uint8_t>((ch / 4) * 16 + b * 4 + ch % 4);
  const __m512i idx = _mm512_load_si512(idx_bytes);
  const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(o.y_zp));
  const __m512 hi = requant_hi(o.y_zp, o.y_signed);
  alignas(64) uint32_t rows[16];
  for (int t = 0; t < tiles; ++t) {
    const int64_t oy = tile_oy[t], ox = tile_ox[t];
    const int cols = static_cast<int>(o.ow - ox < 4 ? o.ow - ox : 4);
    for (int q = 0; q * 16 < o.channels; ++q) {
      __m512i s[4][6];
      for (int l = 0; l < 6; ++l) {
        __m512i col[6], z[4];
        for (int k = 0; k < 6; ++k) col[k] = _mm512_loadu_si512(m + ((6 * k + l) * tb + t) * 64 + q * 16);
        output_1d(col, z);
        for (int a = 0; a < 4; ++a) s[a][l] = z[a];
      }
      const __m512i comp = _mm512_loadu_si512(o.comp + q * 16);
      const __m512 scale = _mm512_loadu_ps(o.scale + q * 16);
      const int channels = o.channels - q * 16 < 16 ? o.channels - q * 16 : 16;
      for (int a = 0; a < 4 && oy + a < o.oh; ++a) {
        __m512i z[4], p[4];
        output_1d(s[a], z);
        for (int b = 0; b < 4; ++b) p[b] = requant_f32(_mm512_add_epi32(recover(z[b]), comp), scale, hi);
        _mm512_store_si512(
            rows, _mm512_permutexvar_epi8(idx, pack4_lanes(p[0], p[1], p[2], p[3], zp16, o.y_signed)));
        uint8_t* dst = o.y + (q * 16) * o.plane + (oy + a) * o.ow + ox;
        if (cols == 4)
          for (int ch = 0; ch < channels; ++ch) std::memcpy(dst + ch * o.plane, &rows[ch], 4);
        else
          for (int ch = 0; ch < channels; ++ch)
            std::memcpy(dst + ch * o.plane, &rows[ch], static_cast<size_t>(cols));
      }
    }
  }
}

}  // namespace verge
