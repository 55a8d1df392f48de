// float32 elementwise microkernels (AVX-512). Plain pointers and sizes; the Kernel classes that reduce
// every broadcast pattern to these calls live in kernels/cpu/eltwise.cpp.
#pragma once

#include <cstdint>

namespace verge {

// Binary operators (values are part of the interface between eltwise.cpp and eltwise_avx512.cpp).
enum BinaryF32Op : int { kBinAdd = 0, kBinSub, kBinMul, kBinDiv, kBinMax, kBinMin };

// y[i * y_rs + j] = a[i * a_rs + j * a_cs] op b[i * b_rs + j * b_cs] for i < rows, j < cols, with
// a_cs, b_cs in {0, 1} (0 = the operand is broadcast along the row). Max/Min propagate NaN; Div is IEEE.
// Element (i, j) is read before it is written, so y may alias an operand with the same strides.
void binary_f32_avx512(int op, const float* a, const float* b, float* y, int64_t rows, int64_t cols,
                       int64_t a_rs, int64_t b_rs, int64_t y_rs, int a_cs, int b_cs);

// Unary operators; p0/p1 are Clip's min/max, LeakyRelu's alpha, HardSigmoid's alpha/beta.
enum UnaryF32Op : int {
  kUnRelu = 0,
  kUnClip,
  kUnLeakyRelu,
  kUnSigmoid,
  kUnHardSigmoid,
  kUnHardSwish,
  kUnTanh
};

// y[i] = op(x[i]) for i < n (y may equal x). NaN inputs give the reference kernels' results.
void unary_f32_avx512(int op, float p0, float p1, const float* x, float* y, int64_t n);

}  // namespace verge
