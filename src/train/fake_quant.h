// Fake quantization for quantization-aware training (QAT), with exactly the arithmetic of the
// post-training quantizer (src/quantize) and the runtime's Q/DQ kernels (kernels/ref/quant_math.h).
//
// Activations: the training graph keeps QuantizeLinear -> DequantizeLinear pairs (per-tensor scale and
// zero point, uint8 or int8), the training table's rows for these two ops:
//   QuantizeLinear    forward  q = saturate(round_half_even(float(x / scale)) + zp), held as T
//                     backward straight-through estimator: dx = dq / scale where round(x/scale) + zp lies
//                              inside the integer range, 0 where it was clipped
//   DequantizeLinear  forward  y = float(q - zp) * scale (one float multiply); the input may be a constant
//                     backward dq = dy * scale
// so DequantizeLinear(QuantizeLinear(x)) passes the gradient unchanged inside the clipping range.
// Per-axis scales are refused (Unsupported): activations are quantized per tensor.
//
// Weights: int8 symmetric per output channel (or per tensor), recomputed from the current float weights:
//   s_c = int8_symmetric_params(max |w| over channel c).scale;  w -> float(clamp(nearbyint(w/s_c),
//   -127, 127)) * s_c  — the values `verge quantize` stores (as int8 + scale) for these weights.
// Biases: int32 with scale s_x * s_c (s_x: the input activation's scale):  b -> float(nearbyint(
//   double(b*beta) / s)) * s / beta. Their straight-through gradient is the identity (the symmetric
//   absmax scale never clips a weight).
#pragma once

#include <span>
#include <vector>

#include "train/grad_ops.h"

namespace verge::train {

template <class T>
Status quantize_linear_forward(OpCtx<T>& c);
template <class T>
void quantize_linear_backward(OpCtx<T>& c);
template <class T>
Status dequantize_linear_forward(OpCtx<T>& c);
template <class T>
void dequantize_linear_backward(OpCtx<T>& c);

// Fake-quantizes `w` (shape `shape`) in place per channel along `axis` (-1: per tensor); returns the
// scales (one per channel).
std::vector<float> fake_quantize_weight(std::span<float> w, const Shape& shape, int axis);
// Fake-quantizes bias `b` in place with scales input_scale * weight_scales[c] (one weight scale: per
// tensor) as the quantizer's int32 bias, for a node that multiplies the bias by `beta`.
void fake_quantize_bias(std::span<float> b, float input_scale, std::span<const float> weight_scales,
                        float beta = 1.0f);

}  // namespace verge::train
