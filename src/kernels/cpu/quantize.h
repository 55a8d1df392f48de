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

// Max-pooling of one int8 / uint8 plane (AVX-512BW), exact like every max: y[oy][ox] = max of x over the
// window at (oy * sh - ph, ox * sw - pw), clipped to the plane (the type's minimum where nothing is
// inside). Stride sw is 1 or 2. Per 64 outputs of a row, every window row and column is one load straight
// from the input, kept in registers: a plain load where every byte an output uses is inside the row and
// the 64 + 64 + kw bytes from the row's first window column lie in [begin, end) (the readable input),
// else a masked one (bytes outside the row read as the minimum).
struct MaxPoolPlane {
  int64_t h = 0, w = 0, kh = 0, kw = 0, sh = 1, sw = 1, ph = 0, pw = 0, oh = 0, ow = 0;
};
void maxpool_plane_avx512(const uint8_t* x, const MaxPoolPlane& g, bool is_signed, const uint8_t* begin,
                          const uint8_t* end, uint8_t* y);

// Exact sum of n int8 / uint8 values (verge.QGlobalAveragePool), AVX-512BW sum of absolute differences.
int64_t sum_bytes_avx512(const uint8_t* x, int64_t n, bool is_signed);

}  // namespace verge
