// Winograd F(4x4, 3x3) microkernels, AVX2, block 8 (conv_winograd_simd.h, conv_winograd.h).
#include <immintrin.h>

#include "kernels/cpu/vecmath_avx2.h"

namespace verge {
namespace {

using Vec = __m256;
constexpr int kB = 8;
constexpr int kCols = 2;        // GEMM register block: 6 tiles x 2 output blocks (12 accumulators)
constexpr int kFusedTiles = 2;  // tiles per fused_row call (6 x 2 accumulators)
static inline Vec v_add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
static inline Vec v_sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
static inline Vec v_mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
static inline Vec v_fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline Vec v_fnmadd(Vec a, Vec b, Vec c) { return _mm256_fnmadd_ps(a, b, c); }
static inline Vec v_loadu(const float* p) { return _mm256_loadu_ps(p); }
static inline void v_storeu(float* p, Vec v) { _mm256_storeu_ps(p, v); }
static inline void v_store(float* p, Vec v) { _mm256_store_ps(p, v); }
static inline Vec v_set1(float v) { return _mm256_set1_ps(v); }
static inline Vec v_setzero() { return _mm256_setzero_ps(); }
static inline Vec v_activate(Vec v, const ActParams& p) { return avx2::activate_ps(v, p); }

}  // namespace
}  // namespace verge

#define VERGE_WINOGRAD_FN(stage) winograd_f43_##stage##_avx2
#include "kernels/cpu/conv_winograd_simd.h"
