// Blocked pooling and NCHW <-> NCHW16c reorders, AVX-512 (see pool_reorder.h / pool_reorder_simd.h).
// GCC 12 reports several AVX-512 intrinsics (their _mm512_undefined_ps) as "may be used uninitialized";
// the diagnostic is attributed to the intrinsics header, so silence it there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "kernels/cpu/pool_reorder.h"

namespace verge {
namespace {

struct V512 {
  using Vec = __m512;
  static constexpr int kLanes = 16;
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec set1(float v) { return _mm512_set1_ps(v); }
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec merge(Vec v, const ConcatPart& part, Vec x) {
    const __m512i take = _mm512_loadu_si512(part.take);
    const __mmask16 m = _mm512_test_epi32_mask(take, take);
    return _mm512_mask_permutexvar_ps(v, m, _mm512_loadu_si512(part.idx), x);
  }
  // 16 x 16 transpose: r[i][j] -> r[j][i].
  static void transpose(Vec* r) {
    __m512 a[16], b[16];
    for (int i = 0; i < 8; ++i) {
      a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // b[4g + c], 128-bit lane L: rows 4g..4g+3 of column 4L + c.
    for (int g = 0; g < 4; ++g) {
      const __m512d a0 = _mm512_castps_pd(a[4 * g]), a1 = _mm512_castps_pd(a[4 * g + 1]);
      const __m512d a2 = _mm512_castps_pd(a[4 * g + 2]), a3 = _mm512_castps_pd(a[4 * g + 3]);
      b[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
      b[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
      b[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
      b[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    for (int c = 0; c < 4; ++c) {
      const __m512 e = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x44),
                   f = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xEE);
      const __m512 g = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x44),
                   h = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xEE);
      r[c] = _mm512_shuffle_f32x4(e, g, 0x88);
      r[4 + c] = _mm512_shuffle_f32x4(e, g, 0xDD);
      r[8 + c] = _mm512_shuffle_f32x4(f, h, 0x88);
      r[12 + c] = _mm512_shuffle_f32x4(f, h, 0xDD);
    }
  }
};

}  // namespace
}  // namespace verge

#include "kernels/cpu/pool_reorder_simd.h"

namespace verge {

void pool_max_rows_avx512(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  pool_rows<V512, true>(g, x, y, oh0, oh1);
}
void pool_avg_rows_avx512(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  pool_rows<V512, false>(g, x, y, oh0, oh1);
}
void global_max_avx512(const float* x, float* y, int64_t planes, int64_t pixels) {
  global_pool<V512, true>(x, y, planes, pixels);
}
void global_avg_avx512(const float* x, float* y, int64_t planes, int64_t pixels) {
  global_pool<V512, false>(x, y, planes, pixels);
}
void to_blocked_avx512(const float* x, int64_t stride, int64_t channels, float* y, int64_t p0, int64_t p1) {
  to_blocked_impl<V512>(x, stride, channels, y, p0, p1);
}
void from_blocked_avx512(const float* x, float* y, int64_t stride, int64_t channels, int64_t p0, int64_t p1) {
  from_blocked_impl<V512>(x, y, stride, channels, p0, p1);
}

void concat_lanes_avx512(const float* const* src, const ConcatPart* parts, int64_t nparts, float* dst,
                         int64_t pixels) {
  concat_lanes_impl<V512>(src, parts, nparts, dst, pixels);
}

}  // namespace verge
