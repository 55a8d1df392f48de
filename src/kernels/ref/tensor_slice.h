// Slice geometry shared by Slice's shape inference (ir/infer_tensor.cpp) and its reference kernel
// (kernels/ref/tensor.cpp), so both resolve starts/ends/steps identically.
#pragma once

#include <cstdint>

namespace verge {

// One sliced axis, resolved: elements start, start + step, ... (count of them).
struct SliceAxis {
  int64_t start = 0;
  int64_t step = 1;
  int64_t count = 0;
};

// ONNX Slice-13 rules for one axis of size `dim` (step != 0): negative start/end count from the end, then
// start/end are clamped to [0, dim] (step > 0) or [0, dim-1] / [-1, dim-1] (step < 0). INT64_MAX/INT64_MIN
// sentinels need no special case. No intermediate overflows; when count <= 1 the step is reported as 1 (it
// is never applied), so callers may multiply it by a stride without overflow.
inline SliceAxis resolve_slice(int64_t start, int64_t end, int64_t step, int64_t dim) {
  if (start < 0) start += dim;  // start >= INT64_MIN, dim >= 0: no overflow
  if (end < 0) end += dim;
  auto clamp = [](int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); };
  SliceAxis r;
  if (dim <= 0) return r;
  if (step > 0) {
    start = clamp(start, 0, dim);
    end = clamp(end, 0, dim);
    const int64_t span = end - start;  // in [-dim, dim]
    r.count = span <= 0 ? 0 : span / step + (span % step != 0 ? 1 : 0);
  } else {
    start = clamp(start, 0, dim - 1);
    end = clamp(end, -1, dim - 1);
    const int64_t span = start - end;  // in [-dim, dim]
    // -step may overflow for INT64_MIN; any step <= -span yields one element.
    if (span <= 0)
      r.count = 0;
    else if (step <= -span)
      r.count = 1;
    else
      r.count = span / -step + (span % -step != 0 ? 1 : 0);
  }
  r.start = r.count > 0 ? start : 0;
  r.step = r.count > 1 ? step : 1;
  return r;
}

}  // namespace verge
