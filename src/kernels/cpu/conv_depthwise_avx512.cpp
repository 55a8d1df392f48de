// Depthwise convolution, NCHW16c, AVX-512 (see conv_depthwise.h / conv_depthwise_simd.h).
// GCC 12 reports _mm512_{min,max}_ps (used by vecmath_avx512.h) as "may be used uninitialized" (its
// _mm512_undefined_ps); the diagnostic is attributed to the intrinsics header, so silence it there.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "kernels/cpu/vecmath_avx512.h"

namespace verge {
namespace {

struct V512 {
  using Vec = __m512;
  static constexpr int kLanes = 16;
  static constexpr int kRegs = 32;
  static constexpr int kTile = 8;
  static Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec min(Vec a, Vec b) { return _mm512_min_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec set1(float v) { return _mm512_set1_ps(v); }
  static Vec activate(Vec v, const ActParams& p) { return avx512::activate_ps(v, p); }
};

}  // namespace
}  // namespace verge

#include "kernels/cpu/conv_depthwise_simd.h"

namespace verge {

void dw_rows_avx512(const DwGeom& g, const DwPlane& p, int64_t oh0, int64_t oh1) {
  dw_rows<V512>(g, p, oh0, oh1);
}

}  // namespace verge
