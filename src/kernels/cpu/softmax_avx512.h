// float32 Softmax / LogSoftmax microkernels (AVX-512) along one axis of a tensor viewed as
// [outer, n, inner]. Each computes max, then sum of exp(x - max) in float32, then y = e / sum or
// y = x - max - log(sum). exp has relative error < 2e-7 (vecmath_avx512.h); the reference kernel
// accumulates in double. The Kernel class (softmax.cpp) splits the work across threads.
#pragma once

#include <cstdint>

namespace verge {

// Rows [0, rows) of n contiguous elements each (inner == 1), row stride n. y may equal x.
void softmax_rows_avx512(const float* x, float* y, int64_t rows, int64_t n, bool log);

// One outer slice [n, inner]: lanes [i0, i1) of the inner axis, vectorized across inner. y may equal x.
void softmax_strided_avx512(const float* x, float* y, int64_t n, int64_t inner, int64_t i0, int64_t i1,
                            bool log);

}  // namespace verge
