// float32 GEMM microkernels (AVX-512, AVX2) over weights packed at prepare by kernels/cpu/gemm.cpp.
//
// Packed B: ceil(N / NR) panels of NR columns; panel p stores, for every k, the NR values
// B(k, p*NR .. p*NR+NR-1) contiguously (columns >= N are zero). A is row-major (row stride lda).
// The kernels compute Y[i, j] = act(alpha * sum_k A[i, k] B[k, j] + bias[j] + beta * C(i, j)) for rows
// [m0, m1) and panels [p0, p1), Y row-major with row stride ldy.
#pragma once

#include <cstdint>

#include "kernels/cpu/act_params.h"

namespace verge {

struct GemmEpilogue {
  float alpha = 1.f;
  const float* bias = nullptr;  // per column, padded to a multiple of NR, beta already applied; or nullptr
  const float* c = nullptr;  // general C (or nullptr): element (i, j) at c[i * c_rs + j * c_cs], c_cs 0 or 1
  int64_t c_rs = 0, c_cs = 0;
  float beta = 0.f;
  ActParams act;
};

constexpr int kGemmMrAvx512 = 12, kGemmNrAvx512 = 32;
constexpr int kGemmMrAvx2 = 6, kGemmNrAvx2 = 16;

void gemm_f32_avx512(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y,
                     int64_t ldy, int64_t m0, int64_t m1, int64_t p0, int64_t p1, const GemmEpilogue& ep);
void gemm_f32_avx2(const float* a, int64_t lda, const float* bpack, int64_t k, int64_t n, float* y,
                   int64_t ldy, int64_t m0, int64_t m1, int64_t p0, int64_t p1, const GemmEpilogue& ep);

}  // namespace verge
