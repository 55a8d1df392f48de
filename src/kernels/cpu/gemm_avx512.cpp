// float32 GEMM microkernels, AVX-512: a 12x32 register tile (24 accumulators, A broadcast from its rows,
// B streamed from a packed 32-column panel) and, for single rows, a matrix-vector kernel that streams four
// packed panels at a time (8 independent accumulator chains).
#include <immintrin.h>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vecmath_avx512.h"

// GCC 12 warns about the intentionally undefined passthrough operand inside _mm512_max_ps/_mm512_min_ps.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace verge {
namespace {

constexpr int kNr = kGemmNrAvx512;

inline __mmask16 lane_mask(int64_t valid) {
  return valid >= 16  ? static_cast<__mmask16>(0xFFFF)
         : valid <= 0 ? 0
                      : static_cast<__mmask16>((1u << valid) - 1);
}

// Epilogue for one row of one panel: v0/v1 are the accumulators of columns col0..col0+31.
inline void store_row(__m512 v0, __m512 v1, float* yrow, int64_t row, int64_t col0, int64_t ncols,
                      const GemmEpilogue& ep) {
  const __m512 alpha = _mm512_set1_ps(ep.alpha);
  const __mmask16 k0 = lane_mask(ncols), k1 = lane_mask(ncols - 16);
  if (ep.bias) {
    v0 = _mm512_fmadd_ps(v0, alpha, _mm512_loadu_ps(ep.bias + col0));
    v1 = _mm512_fmadd_ps(v1, alpha, _mm512_loadu_ps(ep.bias + col0 + 16));
  } else {
    v0 = _mm512_mul_ps(v0, alpha);
    v1 = _mm512_mul_ps(v1, alpha);
  }
  if (ep.c) {
    const float* c = ep.c + row * ep.c_rs;
    const __m512 beta = _mm512_set1_ps(ep.beta);
    if (ep.c_cs) {
      v0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k0, c + col0), beta, v0);
      v1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k1, c + col0 + 16), beta, v1);
    } else {
      const __m512 cv = _mm512_mul_ps(_mm512_set1_ps(*c), beta);
      v0 = _mm512_add_ps(v0, cv);
      v1 = _mm512_add_ps(v1, cv);
    }
  }
  v0 = avx512::activate_ps(v0, ep.act);
  v1 = avx512::activate_ps(v1, ep.act);
  if (ncols >= 32) {
    _mm512_storeu_ps(yrow + col0, v0);
    _mm512_storeu_ps(yrow + col0 + 16, v1);
  } else {
    _mm512_mask_storeu_ps(yrow + col0, k0, v0);
    _mm512_mask_storeu_ps(yrow + col0 + 16, k1, v1);
  }
}

// MR rows x 32 columns over the whole K.
template <int MR>
void tile(const float* a, int64_t lda, const float* bp, int64_t k, float* y, int64_t ldy, int64_t row0,
          int64_t col0, int64_t ncols, const GemmEpilogue& ep) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  // Rows addressed from three bases and two strides (r*lda for r%4 in 0..3) to keep registers free.
  const float* a0 = a;
  const float* a4 = a + 4 * lda;
  const float* a8 = a + 8 * lda;
  const int64_t l1 = lda, l3 = 3 * lda;
  for (int64_t kk = 0; kk < k; ++kk) {
    const __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
    bp += kNr;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const float* base = r < 4 ? a0 : r < 8 ? a4 : a8;
      const int q = r % 4;
      const float* p = q == 0 ? base : q == 1 ? base + l1 : q == 2 ? base + 2 * l1 : base + l3;
      const __m512 av = _mm512_set1_ps(*p);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
    ++a0;
    ++a4;
    ++a8;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) store_row(c0[r], c1[r], y + (row0 + r) * ldy, row0 + r, col0, ncols, ep);
}

// One row against G panels at once: 2*G independent accumulator chains stream G panels. Every column
// still sums over k in order with one FMA per step, exactly like tile<MR>: a row's result does not
// depend on the batch size it came with.
template <int G>
void gemv(const float* a, const float* bp, int64_t k, float* y, int64_t row, int64_t col0, int64_t n,
          const GemmEpilogue& ep) {
  __m512 c0[G], c1[G];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) c0[g] = c1[g] = _mm512_setzero_ps();
  const int64_t ps = k * kNr;  // panel stride
  for (int64_t kk = 0; kk < k; ++kk, bp += kNr) {
    const __m512 x = _mm512_set1_ps(a[kk]);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      c0[g] = _mm512_fmadd_ps(x, _mm512_loadu_ps(bp + g * ps), c0[g]);
      c1[g] = _mm512_fmadd_ps(x, _mm512_loadu_ps(bp + g * ps + 16), c1[g]);
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

void gemm_f32_avx512(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y,
                     int64_t ldy, int64_t m0, int64_t m1, int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  for (int64_t i = m0; i < m1; i += kGemmMrAvx512) {
    const int64_t mr = m1 - i < kGemmMrAvx512 ? m1 - i : kGemmMrAvx512;
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
      case 6:
        panels<6>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 7:
        panels<7>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 8:
        panels<8>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 9:
        panels<9>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 10:
        panels<10>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      case 11:
        panels<11>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
      default:
        panels<12>(a, lda, bpack, k, n, y, ldy, i, p0, p1, ep);
        break;
    }
  }
}

}  // namespace verge
