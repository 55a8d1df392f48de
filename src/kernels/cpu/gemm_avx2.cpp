// float32 GEMM microkernels, AVX2 + FMA: a 6x16 register tile (12 accumulators) over packed 16-column
// panels and a matrix-vector kernel for single rows (four panels at a time).
#include <immintrin.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vecmath_avx2.h"

namespace verge {
namespace {

constexpr int kNr = kGemmNrAvx2;

inline __m256i lane_mask(int64_t valid) {
  const int v = valid > 8 ? 8 : valid < 0 ? 0 : static_cast<int>(valid);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline void store_row(__m256 v0, __m256 v1, float* yrow, int64_t row, int64_t col0, int64_t ncols,
                      const GemmEpilogue& ep) {
  const __m256 alpha = _mm256_set1_ps(ep.alpha);
  if (ep.bias) {
    v0 = _mm256_fmadd_ps(v0, alpha, _mm256_loadu_ps(ep.bias + col0));
    v1 = _mm256_fmadd_ps(v1, alpha, _mm256_loadu_ps(ep.bias + col0 + 8));
  } else {
    v0 = _mm256_mul_ps(v0, alpha);
    v1 = _mm256_mul_ps(v1, alpha);
  }
  const __m256i k0 = lane_mask(ncols), k1 = lane_mask(ncols - 8);
  if (ep.c) {
    const float* c = ep.c + row * ep.c_rs;
    const __m256 beta = _mm256_set1_ps(ep.beta);
    if (ep.c_cs) {
      v0 = _mm256_fmadd_ps(_mm256_maskload_ps(c + col0, k0), beta, v0);
      v1 = _mm256_fmadd_ps(_mm256_maskload_ps(c + col0 + 8, k1), beta, v1);
    } else {
      const __m256 cv = _mm256_mul_ps(_mm256_set1_ps(*c), beta);
      v0 = _mm256_add_ps(v0, cv);
      v1 = _mm256_add_ps(v1, cv);
    }
  }
  v0 = avx2::activate_ps(v0, ep.act);
  v1 = avx2::activate_ps(v1, ep.act);
  if (ncols >= 16) {
    _mm256_storeu_ps(yrow + col0, v0);
    _mm256_storeu_ps(yrow + col0 + 8, v1);
  } else {
    _mm256_maskstore_ps(yrow + col0, k0, v0);
    _mm256_maskstore_ps(yrow + col0 + 8, k1, v1);
  }
}

template <int MR>
void tile(const float* a, int64_t lda, const float* bp, int64_t k, float* y, int64_t ldy, int64_t row0,
          int64_t col0, int64_t ncols, const GemmEpilogue& ep) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm256_setzero_ps();
  const float* a0 = a;
  const float* a3 = a + 3 * lda;
  const int64_t l1 = lda;
  for (int64_t kk = 0; kk < k; ++kk) {
    const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
    bp += kNr;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const float* base = r < 3 ? a0 : a3;
      const int q = r % 3;
      const float* p = q == 0 ? base : q == 1 ? base + l1 : base + 2 * l1;
      const __m256 av = _mm256_broadcast_ss(p);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
    ++a0;
    ++a3;
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) store_row(c0[r], c1[r], y + (row0 + r) * ldy, row0 + r, col0, ncols, ep);
}

// One row against G panels at once (2*G chains); same per-column summation order as tile<MR>.
template <int G>
void gemv(const float* a, const float* bp, int64_t k, float* y, int64_t row, int64_t col0, int64_t n,
          const GemmEpilogue& ep) {
  __m256 c0[G], c1[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) c0[g] = c1[g] = _mm256_setzero_ps();
  const int64_t ps = k * kNr;
  for (int64_t kk = 0; kk < k; ++kk, bp += kNr) {
    const __m256 x = _mm256_broadcast_ss(a + kk);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      c0[g] = _mm256_fmadd_ps(x, _mm256_loadu_ps(bp + g * ps), c0[g]);
      c1[g] = _mm256_fmadd_ps(x, _mm256_loadu_ps(bp + g * ps + 8), c1[g]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) store_row(c0[g], c1[g], y, row, col0 + g * kNr, n - col0 - g * kNr, ep);
}

void gemv_panels(const float* a, const float* bpack, int64_t k, int64_t n, float* y, int64_t row, int64_t p0,
                 int64_t p1, const GemmEpilogue& ep) {
  int64_t p = p0;
  for (; p + 4 <= p1; p += 4) gemv<4>(a, bpack + p * k * kNr, k, y, row, p * kNr, n, ep);
  switch (p1 - p) {
    case 3:
      gemv<3>(a, bpack + p * k * kNr, k, y, row, p * kNr, n, ep);
      break;
    case 2:
      gemv<2>(a, bpack + p * k * kNr, k, y, row, p * kNr, n, ep);
      break;
    case 1:
      gemv<1>(a, bpack + p * k * kNr, k, y, row, p * kNr, n, ep);
      break;
    default:
      break;
  }
}

template <int MR>
void panels(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y, int64_t ldy,
            int64_t m0, int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t col0 = p * kNr;
    tile<MR>(a + m0 * lda, lda, bpack + p * k * kNr, k, y, ldy, m0, col0, n - col0, ep);
  }
}

}  // namespace

void gemm_f32_avx2(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y,
                   int64_t ldy, int64_t m0, int64_t m1, int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  for (int64_t i = m0; i < m1; i += kGemmMrAvx2) {
    const int64_t mr = m1 - i < kGemmMrAvx2 ? m1 - i : kGemmMrAvx2;
    switch (mr) {
      case 1:
        gemv_panels(a + i * lda, bpack, k, n, y + i * ldy, i, p0, p1, ep);
        break;
      case 2:
        panels<2>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 3:
        panels<3>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 4:
        panels<4>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 5:
        panels<5>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      default:
        panels<6>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
    }
  }
}

}  // namespace verge
