// AVX512-VNNI int8 convolution microkernels (layouts and numerics in kernels/cpu/qconv.h).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/qconv.h"

namespace verge {
namespace {

inline __m512i broadcast_dword(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}

// 16 int32 accumulators -> 16 requantized bytes. v = double(acc) * mult is clamped above to qmax - zp
// and converted with round-half-even (vcvtpd2dq {rn-sae}); a v below -2^31 converts to INT_MIN, which the
// integer clamp below takes to qmin like every other value below the range.
inline __m128i requantize16(__m512i acc, __m512d mult, __m512d hi, __m512i zp, __m512i qmin, __m512i qmax) {
  const int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512d a = _mm512_min_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(acc)), mult), hi);
  const __m512d b =
      _mm512_min_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(acc, 1)), mult), hi);
  __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvt_roundpd_epi32(a, rn)),
                                 _mm512_cvt_roundpd_epi32(b, rn), 1);
  q = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(q, zp), qmin), qmax);
  __m128i bytes = _mm512_cvtepi32_epi8(q);
  __asm__("" : "+x"(bytes));  // keep vpmovdb in a register: its masked-store form is slow on Zen 4
  return bytes;
}

inline void store16(uint8_t* y, __m128i v, int count) {
  if (count >= 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y), v);
  else if (count > 0)
    _mm_mask_storeu_epi8(y, static_cast<__mmask16>((1u << count) - 1), v);
}

}  // namespace

void qconv_tile_avx512vnni(const uint8_t* col, const int8_t* wpack, int64_t k4, const QRequant& rq, int rows,
                           uint8_t* y, int64_t ldy, int pixels) {
  constexpr int MR = kQConvMr;
  __m512i acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_set1_epi32(rq.comp[r]);
  for (int64_t k = 0; k < k4; ++k) {
    const __m512i x0 = _mm512_loadu_si512(col + k * 128);
    const __m512i x1 = _mm512_loadu_si512(col + k * 128 + 64);
    const int8_t* w = wpack + k * MR * 4;
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m512i wr = broadcast_dword(w + r * 4);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wr);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wr);
    }
  }
  const __m512i zp = _mm512_set1_epi32(rq.y_zp), qmin = _mm512_set1_epi32(rq.qmin),
                qmax = _mm512_set1_epi32(rq.qmax);
  const __m512d hi = _mm512_set1_pd(static_cast<double>(rq.qmax - rq.y_zp));
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    const __m512d mult = _mm512_set1_pd(rq.mult[r]);
    store16(y + r * ldy, requantize16(acc[r][0], mult, hi, zp, qmin, qmax), pixels);
    store16(y + r * ldy + 16, requantize16(acc[r][1], mult, hi, zp, qmin, qmax), pixels - 16);
  }
}

void qconv_even_bytes_avx512vnni(const uint8_t* src, uint8_t* dst) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm512_cvtepi16_epi8(_mm512_loadu_si512(src)));
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

}  // namespace verge

namespace verge {
namespace {

template <int S>
void qdw3x3(const uint8_t* in, int64_t wp, const int8_t* w9, int32_t comp, double mult_d, int32_t y_zp,
            int32_t qmin, int32_t qmax, uint8_t* y, int64_t oh, int64_t ow) {
  constexpr int R = 4;  // output rows per pass; every input row is shuffled once and used by each of them
  __m512i wr[3];
  for (int i = 0; i < 3; ++i) {
    const uint32_t packed = static_cast<uint8_t>(w9[3 * i]) |
                            static_cast<uint32_t>(static_cast<uint8_t>(w9[3 * i + 1])) << 8 |
                            static_cast<uint32_t>(static_cast<uint8_t>(w9[3 * i + 2])) << 16;
    wr[i] = _mm512_set1_epi32(static_cast<int32_t>(packed));
  }
  const __m512i idx = S == 1 ? _mm512_setr_epi32(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6)
                             : _mm512_setr_epi32(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9);
  const __m128i lane = S == 1 ? _mm_setr_epi8(0, 1, 2, -128, 1, 2, 3, -128, 2, 3, 4, -128, 3, 4, 5, -128)
                              : _mm_setr_epi8(0, 1, 2, -128, 2, 3, 4, -128, 4, 5, 6, -128, 6, 7, 8, -128);
  const __m512i shuf = _mm512_broadcast_i32x4(lane);
  const __m512i vcomp = _mm512_set1_epi32(comp);
  const __m512i zp = _mm512_set1_epi32(y_zp), vqmin = _mm512_set1_epi32(qmin),
                vqmax = _mm512_set1_epi32(qmax);
  const __m512d mult = _mm512_set1_pd(mult_d);
  const __m512d hi = _mm512_set1_pd(static_cast<double>(qmax - y_zp));
  for (int64_t oy = 0; oy < oh; oy += R) {
    const int rows = static_cast<int>(oh - oy < R ? oh - oy : R);
    for (int64_t ox = 0; ox < ow; ox += 16) {
      __m512i acc[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r] = vcomp;
      const uint8_t* src = in + oy * S * wp + ox * S;
#pragma GCC unroll 12
      for (int ir = 0; ir < (R - 1) * S + 3; ++ir) {
        const __m512i v =
            _mm512_shuffle_epi8(_mm512_permutexvar_epi32(idx, _mm512_loadu_si512(src + ir * wp)), shuf);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const int i = ir - r * S;
          if (i >= 0 && i < 3) acc[r] = _mm512_dpbusd_epi32(acc[r], v, wr[i]);
        }
      }
      const int left = static_cast<int>(ow - ox < 16 ? ow - ox : 16);
      for (int r = 0; r < rows; ++r)
        store16(y + (oy + r) * ow + ox, requantize16(acc[r], mult, hi, zp, vqmin, vqmax), left);
    }
  }
}

}  // namespace

void qdw3x3_avx512vnni(const uint8_t* in, int64_t wp, int stride, const int8_t* w9, int32_t comp, double mult,
                       int32_t y_zp, int32_t qmin, int32_t qmax, uint8_t* y, int64_t oh, int64_t ow) {
  if (stride == 1)
    qdw3x3<1>(in, wp, w9, comp, mult, y_zp, qmin, qmax, y, oh, ow);
  else
    qdw3x3<2>(in, wp, w9, comp, mult, y_zp, qmin, qmax, y, oh, ow);
}

}  // namespace verge
