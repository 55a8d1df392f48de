// AVX-512 QuantizeLinear (kernels/cpu/quantize.h).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/quantize.h"

namespace verge {

namespace {
// The low bytes of 4 x 16 int32 lanes (each in the byte range), in order, as one 64-byte vector.
inline __m512i bytes64(const __m512i q[4]) {
  __m512i r = _mm512_castsi128_si512(_mm512_cvtepi32_epi8(q[0]));
  r = _mm512_inserti32x4(r, _mm512_cvtepi32_epi8(q[1]), 1);
  r = _mm512_inserti32x4(r, _mm512_cvtepi32_epi8(q[2]), 2);
  return _mm512_inserti32x4(r, _mm512_cvtepi32_epi8(q[3]), 3);
}
}  // namespace

void quantize_f32_avx512(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax,
                         uint8_t* y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(qmin - zp)),
               hi = _mm512_set1_ps(static_cast<float>(qmax - zp));
  const __m512i z = _mm512_set1_epi32(zp);
  auto quantize16 = [&](__m512 v) {  // round(v / scale) + zp, clamped, in int32 lanes
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_mask_mov_ps(q, _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), _mm512_setzero_ps());  // NaN -> 0
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(q, lo), hi)), z);
  };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {  // one 64-byte store (a masked vpmovdb store per 16 was the bottleneck)
    __m512i q[4];
    for (int k = 0; k < 4; ++k) q[k] = quantize16(_mm512_loadu_ps(x + i + 16 * k));
    _mm512_storeu_si512(y + i, bytes64(q));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(quantize16(_mm512_maskz_loadu_ps(m, x + i))));
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
  const __m128i b_all = _mm_set1_epi8(static_cast<char>(b[0]));  // b broadcast: its one byte everywhere
  // 16 results in int32 lanes from 16 bytes of a and of b.
  auto binary16 = [&](__m128i a16, __m128i b16) {
    const __m512 fa = dequantize16(a16, p.a_signed, az, as);
    const __m512 fb = dequantize16(b16, p.b_signed, bz, bs);
    __m512 v = p.mul ? _mm512_mul_ps(fa, fb) : _mm512_add_ps(fa, fb);
    if (p.relu) v = _mm512_max_ps(v, _mm512_setzero_ps());  // NaN -> 0 (second operand)
    __m512 q = _mm512_roundscale_ps(_mm512_div_ps(v, ys), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    q = _mm512_mask_mov_ps(q, _mm512_cmp_ps_mask(q, q, _CMP_UNORD_Q), _mm512_setzero_ps());
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(q, lo), hi)), yz);
  };
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {  // one 64-byte store (a masked vpmovdb store per 16 was the bottleneck)
    __m512i q[4];
    for (int k = 0; k < 4; ++k) {
      const int64_t at = i + 16 * k;
      q[k] = binary16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + at)),
                      p.b_broadcast ? b_all : _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + at)));
    }
    _mm512_storeu_si512(y + i, bytes64(q));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m128i b16 = p.b_broadcast ? b_all : _mm_maskz_loadu_epi8(m, b + i);
    _mm_mask_storeu_epi8(y + i, m, _mm512_cvtepi32_epi8(binary16(_mm_maskz_loadu_epi8(m, a + i), b16)));
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

// The bytes of a 64-byte load at input column c of a w-wide row that lie inside the row.
inline __mmask64 inside(int64_t c, int64_t w) {
  const int64_t lo = c < 0 ? -c : 0, hi = w - c;
  if (hi <= lo) return 0;
  return first(hi) & ~first(lo);
}

// Needed lanes of a load: for a chunk of n outputs, the first load (a) serves outputs [0, 64 / stride) and
// the second (b, stride 2 only) outputs [32, 64); lane l of a load at column c reads column c + l and
// output o needs byte (o * stride) % 64 of its load.
template <bool S>
void maxpool_plane(const uint8_t* x, const MaxPoolPlane& g, const uint8_t* begin, const uint8_t* end,
                   uint8_t* y) {
  const __m512i lowest = _mm512_set1_epi8(S ? -128 : 0);
  // Per window column j and load (a, b): the bytes inside the row, and whether every byte an output needs
  // is inside (then a plain load serves: the other lanes may read neighbouring rows, never used — masked
  // loads cost about twice as much here).
  __mmask64 mask[2][64];
  bool plain[2][64];
  for (int64_t o = 0; o < g.ow; o += 64) {
    const int64_t n = std::min<int64_t>(64, g.ow - o), c0 = o * g.sw - g.pw;
    const int64_t na = g.sw == 2 ? std::min<int64_t>(n, 32) : n, nb = n - na;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ca = c0 + j, cb = c0 + j + 64;
      mask[0][j] = inside(ca, g.w), mask[1][j] = inside(cb, g.w);
      plain[0][j] = ca >= 0 && ca + (na - 1) * g.sw < g.w;
      plain[1][j] = nb == 0 || (cb >= 0 && cb + (nb - 1) * g.sw < g.w);
    }
    bool all_plain = true;
    for (int64_t j = 0; j < g.kw; ++j) all_plain = all_plain && plain[0][j] && plain[1][j];
    const __mmask64 store = first(n);
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const int64_t iy0 = std::max<int64_t>(0, oy * g.sh - g.ph),
                    iy1 = std::min(g.h, oy * g.sh - g.ph + g.kh);
      __m512i a = lowest, b = lowest;  // stride 2: a holds input columns 2o + [0, 64), b the next 64
      for (int64_t iy = iy0; iy < iy1; ++iy) {
        // The address is formed as an integer (c0 may be negative): masked-off bytes are never accessed.
        const uintptr_t row = reinterpret_cast<uintptr_t>(x + iy * g.w) + static_cast<uintptr_t>(c0);
        const bool readable =
            row >= reinterpret_cast<uintptr_t>(begin) && row + 128 + g.kw <= reinterpret_cast<uintptr_t>(end);
        if (readable && all_plain) {
          for (int64_t j = 0; j < g.kw; ++j) {
            a = max8<S>(a, _mm512_loadu_si512(reinterpret_cast<const void*>(row + j)));
            if (nb > 0) b = max8<S>(b, _mm512_loadu_si512(reinterpret_cast<const void*>(row + j + 64)));
          }
          continue;
        }
        for (int64_t j = 0; j < g.kw; ++j) {
          const auto* pa = reinterpret_cast<const void*>(row + j);
          a = max8<S>(a, plain[0][j] && readable ? _mm512_loadu_si512(pa)
                                                 : _mm512_mask_loadu_epi8(lowest, mask[0][j], pa));
          if (nb > 0) {
            const auto* pb = reinterpret_cast<const void*>(row + j + 64);
            b = max8<S>(b, plain[1][j] && readable ? _mm512_loadu_si512(pb)
                                                   : _mm512_mask_loadu_epi8(lowest, mask[1][j], pb));
          }
        }
      }
      if (g.sw == 2)
        a = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi16_epi8(a)), _mm512_cvtepi16_epi8(b), 1);
      _mm512_mask_storeu_epi8(y + oy * g.ow + o, store, a);
    }
  }
}
}  // namespace

void maxpool_plane_avx512(const uint8_t* x, const MaxPoolPlane& g, bool is_signed, const uint8_t* begin,
                          const uint8_t* end, uint8_t* y) {
  is_signed ? maxpool_plane<true>(x, g, begin, end, y) : maxpool_plane<false>(x, g, begin, end, y);
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
