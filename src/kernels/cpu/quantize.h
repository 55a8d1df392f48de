// Per-tensor QuantizeLinear microkernel (float32 -> uint8 / int8), bit-exact with ref/quant_math.h:
// q = round_half_even(x / scale) (IEEE float division), NaN -> 0, clamped to [qmin - zp, qmax - zp], + zp;
// stored as one byte (the caller's qmin / qmax make it uint8 or int8).
#pragma once

#include <cstdint>

namespace verge {

void quantize_f32_avx512(const float* x, int64_t n, float scale, int32_t zp, int32_t qmin, int32_t qmax,
                         uint8_t* y);

}  // namespace verge
