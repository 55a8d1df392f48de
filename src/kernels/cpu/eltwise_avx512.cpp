// float32 elementwise microkernels, AVX-512: one pass, 4 vectors per iteration, masked tails.
#include "kernels/cpu/eltwise_avx512.h"

#include <immintrin.h>

#include "kernels/cpu/vecmath_avx512.h"

// GCC 12 warns about the intentionally undefined passthrough operand inside _mm512_max_ps/_mm512_min_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace verge {
namespace {

template <int Op>
inline __m512 binop(__m512 a, __m512 b) {
  if constexpr (Op == kBinAdd) return _mm512_add_ps(a, b);
  if constexpr (Op == kBinSub) return _mm512_sub_ps(a, b);
  if constexpr (Op == kBinMul) return _mm512_mul_ps(a, b);
  if constexpr (Op == kBinDiv) return _mm512_div_ps(a, b);
  if constexpr (Op == kBinMax) {
    // Reference: NaN if either is NaN, else (a < b ? b : a). max_ps(b, a) returns a when either is NaN.
    const __m512 r = _mm512_max_ps(b, a);
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), b);
  }
  if constexpr (Op == kBinMin) {
    const __m512 r = _mm512_min_ps(b, a);
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), b);
  }
}

// One row: y[j] = a[j * ACS] op b[j * BCS], j < n.
template <int Op, int ACS, int BCS>
inline void row(const float* a, const float* b, float* y, int64_t n) {
  const __m512 sa = ACS ? _mm512_setzero_ps() : _mm512_set1_ps(*a);
  const __m512 sb = BCS ? _mm512_setzero_ps() : _mm512_set1_ps(*b);
  auto lda = [&](int64_t j) { return ACS ? _mm512_loadu_ps(a + j) : sa; };
  auto ldb = [&](int64_t j) { return BCS ? _mm512_loadu_ps(b + j) : sb; };
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    const __m512 r0 = binop<Op>(lda(j), ldb(j));
    const __m512 r1 = binop<Op>(lda(j + 16), ldb(j + 16));
    const __m512 r2 = binop<Op>(lda(j + 32), ldb(j + 32));
    const __m512 r3 = binop<Op>(lda(j + 48), ldb(j + 48));
    _mm512_storeu_ps(y + j, r0);
    _mm512_storeu_ps(y + j + 16, r1);
    _mm512_storeu_ps(y + j + 32, r2);
    _mm512_storeu_ps(y + j + 48, r3);
  }
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(y + j, binop<Op>(lda(j), ldb(j)));
  if (j < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    // Masked-off lanes load 1 so that no lane computes 0/0 (exceptions are masked anyway).
    const __m512 one = _mm512_set1_ps(1.f);
    const __m512 va = ACS ? _mm512_mask_loadu_ps(one, m, a + j) : sa;
    const __m512 vb = BCS ? _mm512_mask_loadu_ps(one, m, b + j) : sb;
    _mm512_mask_storeu_ps(y + j, m, binop<Op>(va, vb));
  }
}

template <int Op, int ACS, int BCS>
void rows_of(const float* a, const float* b, float* y, int64_t rows, int64_t cols, int64_t a_rs, int64_t b_rs,
             int64_t y_rs) {
  if (cols == 16 && ACS && BCS && b_rs == 0) {
    // Blocked per-channel operand (x[N, Cb, H, W, 16] op g[N, Cb, 1, 1, 16]): one vector per pixel.
    const __m512 vb = _mm512_loadu_ps(b);
    int64_t i = 0;
    for (; i + 4 <= rows; i += 4) {
      const __m512 r0 = binop<Op>(_mm512_loadu_ps(a + i * a_rs), vb);
      const __m512 r1 = binop<Op>(_mm512_loadu_ps(a + (i + 1) * a_rs), vb);
      const __m512 r2 = binop<Op>(_mm512_loadu_ps(a + (i + 2) * a_rs), vb);
      const __m512 r3 = binop<Op>(_mm512_loadu_ps(a + (i + 3) * a_rs), vb);
      _mm512_storeu_ps(y + i * y_rs, r0);
      _mm512_storeu_ps(y + (i + 1) * y_rs, r1);
      _mm512_storeu_ps(y + (i + 2) * y_rs, r2);
      _mm512_storeu_ps(y + (i + 3) * y_rs, r3);
    }
    for (; i < rows; ++i) _mm512_storeu_ps(y + i * y_rs, binop<Op>(_mm512_loadu_ps(a + i * a_rs), vb));
    return;
  }
  if (cols == 16 && ACS && BCS && a_rs == 0) {
    const __m512 va = _mm512_loadu_ps(a);
    for (int64_t i = 0; i < rows; ++i)
      _mm512_storeu_ps(y + i * y_rs, binop<Op>(va, _mm512_loadu_ps(b + i * b_rs)));
    return;
  }
  for (int64_t i = 0; i < rows; ++i) row<Op, ACS, BCS>(a + i * a_rs, b + i * b_rs, y + i * y_rs, cols);
}

template <int Op>
void dispatch_strides(const float* a, const float* b, float* y, int64_t rows, int64_t cols, int64_t a_rs,
                      int64_t b_rs, int64_t y_rs, int a_cs, int b_cs) {
  if (a_cs && b_cs)
    rows_of<Op, 1, 1>(a, b, y, rows, cols, a_rs, b_rs, y_rs);
  else if (a_cs)
    rows_of<Op, 1, 0>(a, b, y, rows, cols, a_rs, b_rs, y_rs);
  else if (b_cs)
    rows_of<Op, 0, 1>(a, b, y, rows, cols, a_rs, b_rs, y_rs);
  else
    rows_of<Op, 0, 0>(a, b, y, rows, cols, a_rs, b_rs, y_rs);
}

// Unary ops. NaN handling follows the reference kernels (see comments).
template <int Op>
inline __m512 unop(__m512 x, __m512 p0, __m512 p1) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
  if constexpr (Op == kUnRelu) return _mm512_max_ps(x, zero);                   // x > 0 ? x : 0 (NaN -> 0)
  if constexpr (Op == kUnClip) return _mm512_min_ps(p1, _mm512_max_ps(p0, x));  // NaN stays NaN
  if constexpr (Op == kUnLeakyRelu)
    return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, p0);
  if constexpr (Op == kUnSigmoid) {
    const __m512 r = avx512::sigmoid_ps(x);
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
  }
  if constexpr (Op == kUnHardSigmoid)  // max(0, min(1, a*x + b)): NaN -> 1 like the reference
    return _mm512_max_ps(_mm512_min_ps(_mm512_fmadd_ps(x, p0, p1), one), zero);
  if constexpr (Op == kUnHardSwish) {
    const __m512 g = _mm512_max_ps(
        _mm512_min_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.f / 6.f), _mm512_set1_ps(0.5f)), one), zero);
    return _mm512_mul_ps(x, g);
  }
  if constexpr (Op == kUnTanh) {
    const __m512 r = avx512::tanh_ps(x);
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
  }
}

template <int Op>
void unary_loop(float p0s, float p1s, const float* x, float* y, int64_t n) {
  const __m512 p0 = _mm512_set1_ps(p0s), p1 = _mm512_set1_ps(p1s);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512 r0 = unop<Op>(_mm512_loadu_ps(x + i), p0, p1);
    const __m512 r1 = unop<Op>(_mm512_loadu_ps(x + i + 16), p0, p1);
    const __m512 r2 = unop<Op>(_mm512_loadu_ps(x + i + 32), p0, p1);
    const __m512 r3 = unop<Op>(_mm512_loadu_ps(x + i + 48), p0, p1);
    _mm512_storeu_ps(y + i, r0);
    _mm512_storeu_ps(y + i + 16, r1);
    _mm512_storeu_ps(y + i + 32, r2);
    _mm512_storeu_ps(y + i + 48, r3);
  }
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, unop<Op>(_mm512_loadu_ps(x + i), p0, p1));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, unop<Op>(_mm512_maskz_loadu_ps(m, x + i), p0, p1));
  }
}

}  // namespace

void binary_f32_avx512(int op, const float* a, const float* b, float* y, int64_t rows, int64_t cols,
                       int64_t a_rs, int64_t b_rs, int64_t y_rs, int a_cs, int b_cs) {
  switch (op) {
    case kBinAdd:
      return dispatch_strides<kBinAdd>(a, b, y, rows, cols, a_rs, b_rs, y_rs, a_cs, b_cs);
    case kBinSub:
      return dispatch_strides<kBinSub>(a, b, y, rows, cols, a_rs, b_rs, y_rs, a_cs, b_cs);
    case kBinMul:
      return dispatch_strides<kBinMul>(a, b, y, rows, cols, a_rs, b_rs, y_rs, a_cs, b_cs);
    case kBinDiv:
      return dispatch_strides<kBinDiv>(a, b, y, rows, cols, a_rs, b_rs, y_rs, a_cs, b_cs);
    case kBinMax:
      return dispatch_strides<kBinMax>(a, b, y, rows, cols, a_rs, b_rs, y_rs, a_cs, b_cs);
    case kBinMin:
      return dispatch_strides<kBinMin>(a, b, y, rows, cols, a_rs, b_rs, y_rs, a_cs, b_cs);
  }
}

void unary_f32_avx512(int op, float p0, float p1, const float* x, float* y, int64_t n) {
  switch (op) {
    case kUnRelu:
      return unary_loop<kUnRelu>(p0, p1, x, y, n);
    case kUnClip:
      return unary_loop<kUnClip>(p0, p1, x, y, n);
    case kUnLeakyRelu:
      return unary_loop<kUnLeakyRelu>(p0, p1, x, y, n);
    case kUnSigmoid:
      return unary_loop<kUnSigmoid>(p0, p1, x, y, n);
    case kUnHardSigmoid:
      return unary_loop<kUnHardSigmoid>(p0, p1, x, y, n);
    case kUnHardSwish:
      return unary_loop<kUnHardSwish>(p0, p1, x, y, n);
    case kUnTanh:
      return unary_loop<kUnTanh>(p0, p1, x, y, n);
  }
}

}  // namespace verge
