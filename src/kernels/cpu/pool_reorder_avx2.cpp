// Blocked pooling and NCHW <-> NCHW8c reorders, AVX2 (see pool_reorder.h / pool_reorder_simd.h).
#include <immintrin.h>

#include "kernels/cpu/pool_reorder.h"

namespace verge {
namespace {

struct V256 {
  using Vec = __m256;
  static constexpr int kLanes = 8;
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec set1(float v) { return _mm256_set1_ps(v); }
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec merge(Vec v, const ConcatPart& part, Vec x) {
    const __m256 take = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(part.take)));
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(part.idx));
    return _mm256_blendv_ps(v, _mm256_permutevar8x32_ps(x, idx), take);
  }
  // 8 x 8 transpose: r[i][j] -> r[j][i].
  static void transpose(Vec* r) {
    __m256 t[8], s[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 2; ++g) {
      s[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
      s[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
      s[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
      s[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {
      r[c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x20);
      r[4 + c] = _mm256_permute2f128_ps(s[c], s[4 + c], 0x31);
    }
  }
};

}  // namespace
}  // namespace verge

#include "kernels/cpu/pool_reorder_simd.h"

namespace verge {

void pool_max_rows_avx2(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  pool_rows<V256, true>(g, x, y, oh0, oh1);
}
void pool_avg_rows_avx2(const PoolGeom& g, const float* x, float* y, int64_t oh0, int64_t oh1) {
  pool_rows<V256, false>(g, x, y, oh0, oh1);
}
void global_max_avx2(const float* x, float* y, int64_t planes, int64_t pixels) {
  global_pool<V256, true>(x, y, planes, pixels);
}
void global_avg_avx2(const float* x, float* y, int64_t planes, int64_t pixels) {
  global_pool<V256, false>(x, y, planes, pixels);
}
void to_blocked_avx2(const float* x, int64_t stride, int64_t channels, float* y, int64_t p0, int64_t p1) {
  to_blocked_impl<V256>(x, stride, channels, y, p0, p1);
}
void concat_lanes_avx2(const float* const* src, const ConcatPart* parts, int64_t nparts, float* dst,
                       int64_t pixels) {
  concat_lanes_impl<V256>(src, parts, nparts, dst, pixels);
}
void from_blocked_avx2(const float* x, float* y, int64_t stride, int64_t channels, int64_t p0, int64_t p1) {
  from_blocked_impl<V256>(x, y, stride, channels, p0, p1);
}

}  // namespace verge
