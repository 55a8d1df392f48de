// Depthwise 2-D convolution microkernels on blocked (NCHWc) tensors: verge.BlockedConv with
// group == C_in == M. Every vector holds `b` channels of one pixel (b = 16 for AVX-512, 8 for AVX2), so
// the convolution is purely vertical SIMD: acc[ow] += x[ih][iw] * w[kh][kw].
//
// The generic code (conv_depthwise.cpp) packs the weights per channel block as [KH][KW][b] (zero lanes
// beyond the real channels) and the bias as [b], then calls dw_rows_* for ranges of output rows of one
// (image, channel block) plane. Interior columns (every kw tap inside the input) run register tiles of
// several output pixels; the few border columns and rows run a per-pixel path with clipped tap ranges.
#pragma once

#include <cstdint>

#include "kernels/cpu/act_params.h"
#include "kernels/cpu/window_geom.h"

namespace verge {

struct DwGeom : WindowGeom {
  ActParams act;  // fused activation (after bias and Sum)
};

struct DwPlane {
  const float* x = nullptr;     // input plane [h][w][b]
  const float* w = nullptr;     // packed weights of the block [kh][kw][b]
  const float* bias = nullptr;  // [b] (zeros when the node has no bias)
  const float* sum = nullptr;   // plane [oh][ow][b] added before the activation, or nullptr
  float* y = nullptr;           // output plane [oh][ow][b]
};

// Output rows [oh0, oh1) of one plane.
void dw_rows_avx512(const DwGeom& g, const DwPlane& p, int64_t oh0, int64_t oh1);  // b = 16
void dw_rows_avx2(const DwGeom& g, const DwPlane& p, int64_t oh0, int64_t oh1);    // b = 8

}  // namespace verge
