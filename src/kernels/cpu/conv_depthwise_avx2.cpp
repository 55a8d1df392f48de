// Depthwise convolution, NCHW8c, AVX2 + FMA (see conv_depthwise.h / conv_depthwise_simd.h).
#include <immintrin.h>

#include "kernels/cpu/vecmath_avx2.h"

namespace verge {
namespace {

struct V256 {
  using Vec = __m256;
  static constexpr int kLanes = 8;
  static constexpr int kRegs = 16;
  static constexpr int kTile = 8;  // 16 ymm registers: 8 accumulators + up to 5 weights + input
  static Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec min(Vec a, Vec b) { return _mm256_min_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec set1(float v) { return _mm256_set1_ps(v); }
  static Vec activate(Vec v, const ActParams& p) { return avx2::activate_ps(v, p); }
};

}  // namespace
}  // namespace verge

#include "kernels/cpu/conv_depthwise_simd.h"

namespace verge {

void dw_rows_avx2(const DwGeom& g, const DwPlane& p, int64_t oh0, int64_t oh1) {
  dw_rows<V256>(g, p, oh0, oh1);
}

}  // namespace verge
