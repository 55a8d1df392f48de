// Builds a WindowGeom (window_geom.h) from a 2-D ConvGeometry. Generic code only.
#pragma once

#include <algorithm>

#include "ir/conv_geometry.h"
#include "kernels/cpu/window_geom.h"

namespace verge {

// Input spatial size h x w; cg has two spatial dims.
inline void set_window_geom(WindowGeom& g, const ConvGeometry& cg, int64_t h, int64_t w) {
  g.h = h;
  g.w = w;
  g.oh = cg.out[0];
  g.ow = cg.out[1];
  g.kh = cg.kernel[0];
  g.kw = cg.kernel[1];
  g.sh = cg.strides[0];
  g.sw = cg.strides[1];
  g.dh = cg.dilations[0];
  g.dw = cg.dilations[1];
  g.pt = cg.pads_begin[0];
  g.pl = cg.pads_begin[1];
  // Interior columns: ow * sw - pl >= 0 and ow * sw - pl + (kw - 1) * dw <= w - 1.
  g.ow_lo = std::min(g.ow, (g.pl + g.sw - 1) / g.sw);
  const int64_t last = g.w - 1 - (g.kw - 1) * g.dw + g.pl;
  g.ow_hi = last < 0 ? g.ow_lo : std::max(g.ow_lo, std::min(g.ow, last / g.sw + 1));
}

}  // namespace verge
