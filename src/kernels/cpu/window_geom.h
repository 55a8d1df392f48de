// 2-D sliding-window geometry shared by the blocked depthwise-convolution and pooling microkernels
// (plain data: safe to include from ISA files). window_geom_2d() fills it from a ConvGeometry in the
// generic code (kernels/cpu/window_geom_build.h).
#pragma once

#include <cstdint>

namespace verge {

struct WindowGeom {
  int64_t h = 0, w = 0;    // input spatial size
  int64_t oh = 0, ow = 0;  // output spatial size
  int64_t kh = 0, kw = 0, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
  int64_t ow_lo = 0, ow_hi = 0;  // output columns [ow_lo, ow_hi) read every kw tap inside the input
};

}  // namespace verge
