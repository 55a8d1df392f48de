// Softmax / LogSoftmax microkernels (softmax_avx512.h).
#include "kernels/cpu/softmax_avx512.h"

#include <immintrin.h>

#include "kernels/cpu/vecmath_avx512.h"

namespace verge {

static inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

void softmax_rows_avx512(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    __m512 vmax = neg_inf;
    for (int64_t i = 0; i < n; i += 16)
      vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(neg_inf, tail_mask(n - i), x + i));
    const float m = _mm512_reduce_max_ps(vmax);
    const __m512 vm = _mm512_set1_ps(m);
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 k = tail_mask(n - i);
      const __m512 e = avx512::exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm));
      vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(k, e));
      if (!log) _mm512_mask_storeu_ps(y + i, k, e);
    }
    const float s = _mm512_reduce_add_ps(vsum);
    if (log) {
      const __m512 log_sum = _mm512_set1_ps(__builtin_logf(s));  // (x - max) - log(sum): no cancellation
      for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k,
                              _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vm), log_sum));
      }
    } else {
      const __m512 inv = _mm512_set1_ps(1.f / s);
      for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + i), inv));
      }
    }
  }
}

void softmax_strided_avx512(const float* x, float* y, int64_t n, int64_t inner, int64_t i0, int64_t i1,
                            bool log) {
  const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
  for (int64_t i = i0; i < i1; i += 16) {
    const __mmask16 k = tail_mask(i1 - i);
    __m512 vm = neg_inf;
    for (int64_t j = 0; j < n; ++j)
      vm = _mm512_max_ps(vm, _mm512_mask_loadu_ps(neg_inf, k, x + j * inner + i));
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; ++j) {
      const __m512 e = avx512::exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j * inner + i), vm));
      vsum = _mm512_add_ps(vsum, e);
      if (!log) _mm512_mask_storeu_ps(y + j * inner + i, k, e);
    }
    if (log) {
      alignas(64) float s[16];
      _mm512_store_ps(s, vsum);
      for (float& v : s) v = __builtin_logf(v);
      const __m512 log_sum = _mm512_load_ps(s);
      for (int64_t j = 0; j < n; ++j)
        _mm512_mask_storeu_ps(
            y + j * inner + i, k,
            _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j * inner + i), vm), log_sum));
    } else {
      const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.f), vsum);
      for (int64_t j = 0; j < n; ++j)
        _mm512_mask_storeu_ps(y + j * inner + i, k,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(k, y + j * inner + i), inv));
    }
  }
}

}  // namespace verge
