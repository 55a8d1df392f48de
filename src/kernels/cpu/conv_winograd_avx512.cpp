// Winograd F(4x4, 3x3) microkernels, AVX-512, block 16 (conv_winograd_simd.h, conv_winograd.h).
#include <immintrin.h>

#include "kernels/cpu/vecmath_avx512.h"

namespace verge {
namespace {

using Vec = __m512;
constexpr int kB = 16;
constexpr int kCols = 4;        // GEMM register block: 6 tiles x 4 output blocks (24 accumulators)
constexpr int kFusedTiles = 4;  // tiles per fused_row call (6 x 4 accumulators)
static inline Vec v_add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
static inline Vec v_sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
static inline Vec v_mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
static inline Vec v_fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline Vec v_fnmadd(Vec a, Vec b, Vec c) { return _mm512_fnmadd_ps(a, b, c); }
static inline Vec v_loadu(const float* p) { return _mm512_loadu_ps(p); }
static inline void v_storeu(float* p, Vec v) { _mm512_storeu_ps(p, v); }
static inline void v_store(float* p, Vec v) { _mm512_store_ps(p, v); }
static inline Vec v_set1(float v) { return _mm512_set1_ps(v); }
static inline Vec v_setzero() { return _mm512_setzero_ps(); }
static inline Vec v_activate(Vec v, const ActParams& p) { return avx512::activate_ps(v, p); }

}  // namespace
}  // namespace verge

#define VERGE_WINOGRAD_FN(stage) winograd_f43_##stage##_avx512
#include "kernels/cpu/conv_winograd_simd.h"
