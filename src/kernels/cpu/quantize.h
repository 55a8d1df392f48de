// Per-tensor QuantizeLinear microkernel (float32 -> uint8 / int8), bit-exact with ref/quant_math.h:
// q = round_half_even(x / scale) (IEEE float division), NaN -> 0, clamped to [qmin - zp, qmax - zp], + zp;
// stored as one byte (the caller's qmin / qmax make it uint8 or int8).
#pragma once

#include <cstdint>

namespace verge {

void quantize_f32_avx512(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax,
                         uint8_t* y);
void quantize_f32_avx2(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax,
                       uint8_t* y);

// verge.QAdd / QMul over n elements (same numerics as their reference: dequantize each operand as
// float(x - zp) * scale, add or multiply in float32, optional Relu, then quantize as above).
struct QBinaryParams {
  bool a_signed = false, b_signed = false, mul = false, relu = false;
  bool b_broadcast = false;  // b points to one value used for all n elements
  float a_scale = 1, b_scale = 1, y_scale = 1;
  int32_t a_zp = 0, b_zp = 0, y_zp = 0, qmin = 0, qmax = 255;
};
void qbinary_avx512(const uint8_t* a, const uint8_t* b, int64_t n, const QBinaryParams& p, uint8_t* y);
void qbinary_avx2(const uint8_t* a, const uint8_t* b, int64_t n, const QBinaryParams& p, uint8_t* y);

// verge.QLut: y[i] = table[x[i]] for n bytes (256-byte table). Needs AVX512-VBMI: the table sits in four
// registers, two vpermt2b look up the low and high halves and the byte's top bit picks one.
void qlut_avx512vbmi(const uint8_t* x, int64_t n, const uint8_t* table, uint8_t* y);

// Max-pooling of int8 / uint8 rows (AVX-512BW), exact like every max. Column pass: cm[i] = max(cm[i],
// row[i]) for i < n. Window pass: y[o] = max over j < k of cm[o * stride + j] for o < n, stride 1 or 2;
// reads cm up to index (n - 1) * stride + k + 127 (callers keep that much readable slack).
void max_bytes_avx512(uint8_t* cm, const uint8_t* row, int64_t n, bool is_signed);
void max_windows_avx512(const uint8_t* cm, int64_t n, int k, int stride, bool is_signed, uint8_t* y);

// Exact sum of n int8 / uint8 values (verge.QGlobalAveragePool), AVX-512BW sum of absolute differences.
int64_t sum_bytes_avx512(const uint8_t* x, int64_t n, bool is_signed);

}  // namespace verge
