// 4-D Resize with scales or sizes known at prepare and N, C unscaled (the image-resize and FPN/YOLO-upsample
// case): float32 nearest and linear, and 8-bit nearest (the int8 graph's upsample: nearest selects bytes,
// so it runs on the quantized tensor exactly). prepare maps every output row and column to its input taps
// once (kernels/ref/resize_taps.h, the reference kernel's own geometry); run is then a gather (nearest;
// an output row whose source row repeats is a copy of the previous one) or a separable 2x2 blend in float
// (linear; the reference accumulates in double). Zero-weight taps are skipped as in the reference, so an
// infinite neighbour does not turn into NaN.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/thread_pool.h"
#include "kernels/kernel.h"
#include "kernels/ref/resize_taps.h"

namespace verge {
namespace {

using ref::ResizeAxis;
using ref::ResizeParams;

struct AxisTable {
  std::vector<int64_t> i0, i1;  // input index of the first / second tap (i1 = i0 when there is one tap)
  std::vector<float> w0, w1;    // weights (w1 = 0 when there is one tap)
};

// Scale geometry of axis d from constant scales or sizes; false when neither is known at prepare.
bool axis_geometry(const PrepareContext& c, int d, int64_t in, int64_t out, ResizeAxis& g) {
  g = ResizeAxis{};
  g.in = in;
  const Tensor* scales = c.constant(ref::kResizeScales);
  if (c.has_input(ref::kResizeScales) && shape_numel(c.shape(ref::kResizeScales)) > 0) {
    if (!scales) return false;
    g.scale = scales->get_as_double(d);
    g.length_resized = g.scale * static_cast<double>(in);
    return true;
  }
  if (!c.has_input(ref::kResizeSizes) || !c.constant(ref::kResizeSizes)) return false;
  g.scale = static_cast<double>(out) / static_cast<double>(in);
  g.length_resized = static_cast<double>(out);
  return true;
}

template <class T>
class Resize2d final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_RETURN_IF_ERROR(ref::parse_resize_params(c.node(), p_));
    const Shape& in = c.shape(0);
    const Shape& out = c.output(0).shape;
    h_ = in[2];
    w_ = in[3];
    oh_ = out[2];
    ow_ = out[3];
    planes_ = out[0] * out[1];
    for (int d = 2; d < 4; ++d) {
      ResizeAxis g;
      if (!axis_geometry(c, d, in[static_cast<size_t>(d)], out[static_cast<size_t>(d)], g))
        return c.invalid("Resize: scales/sizes are not constant");
      AxisTable& t = d == 2 ? rows_ : cols_;
      const int64_t n = out[static_cast<size_t>(d)];
      t.i0.resize(static_cast<size_t>(n));
      t.i1.resize(static_cast<size_t>(n));
      t.w0.resize(static_cast<size_t>(n));
      t.w1.resize(static_cast<size_t>(n));
      for (int64_t o = 0; o < n; ++o) {
        const ref::ResizeTaps taps = ref::resize_taps(p_, g, o);
        const auto k = static_cast<size_t>(o);
        t.i0[k] = taps.idx[0];
        t.w0[k] = static_cast<float>(taps.w[0]);
        t.i1[k] = taps.n > 1 ? taps.idx[1] : taps.idx[0];
        t.w1[k] = taps.n > 1 ? static_cast<float>(taps.w[1]) : 0.f;
      }
    }
    nearest_ = p_.mode == ref::ResizeMode::kNearest;
    grain_ = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, ow_));
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const T* x = c.input(0).data<T>();
    T* y = c.output(0).data<T>();
    if (c.output(0).numel() == 0) return Status::ok();
    parallel_for(c.pool, planes_ * oh_, grain_, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t plane = r / oh_, oh = r % oh_;
        const T* src = x + plane * h_ * w_;
        T* dst = y + r * ow_;
        const auto k = static_cast<size_t>(oh);
        if (nearest_) {
          if (oh > 0 && r > begin && rows_.i0[k] == rows_.i0[k - 1]) {
            std::memcpy(dst, dst - ow_, static_cast<size_t>(ow_) * sizeof(T));
            continue;
          }
          const T* row = src + rows_.i0[k] * w_;
          for (int64_t o = 0; o < ow_; ++o) dst[o] = row[cols_.i0[static_cast<size_t>(o)]];
        } else if constexpr (std::is_same_v<T, float>) {
          const float* r0 = src + rows_.i0[k] * w_;
          const float* r1 = src + rows_.i1[k] * w_;
          const float a = rows_.w0[k], b = rows_.w1[k];
          for (int64_t o = 0; o < ow_; ++o) {
            const auto j = static_cast<size_t>(o);
            const int64_t c0 = cols_.i0[j], c1 = cols_.i1[j];
            const float u = cols_.w0[j], v = cols_.w1[j];
            const float top = v != 0 ? u * r0[c0] + v * r0[c1] : u * r0[c0];
            const float bottom = v != 0 ? u * r1[c0] + v * r1[c1] : u * r1[c0];
            dst[o] = b != 0 ? a * top + b * bottom : a * top;
          }
        }
      }
    });
    return Status::ok();
  }
  const char* name() const override { return std::is_same_v<T, float> ? "resize_f32_2d" : "resize_8bit_2d"; }

 private:
  ResizeParams p_;
  AxisTable rows_, cols_;
  int64_t h_ = 0, w_ = 0, oh_ = 0, ow_ = 0, planes_ = 0, grain_ = 1;
  bool nearest_ = true;
};

// N, C unscaled, constant scales or sizes, no cubic or tf_crop_and_resize, a 4-D input of `type` (other
// than float32: nearest only, as linear would round differently from the float QDQ graph).
bool accepts_resize_2d(const PrepareContext& c, DType type) {
  ResizeParams p;
  if (!ref::parse_resize_params(c.node(), p).is_ok() || p.upsample) return false;
  if (p.mode == ref::ResizeMode::kCubic || p.coord == ref::ResizeCoord::kTfCropAndResize) return false;
  if (c.dtype(0) != type || c.shape(0).size() != 4 || !c.has_output(0)) return false;
  if (type != DType::kFloat32 && p.mode != ref::ResizeMode::kNearest) return false;
  const Shape& in = c.shape(0);
  const Shape& out = c.output(0).shape;
  if (out.size() != 4 || out[0] != in[0] || out[1] != in[1]) return false;
  for (int64_t d : in)
    if (d <= 0) return false;
  for (int d = 0; d < 4; ++d) {
    ResizeAxis g;
    if (!axis_geometry(c, d, in[static_cast<size_t>(d)], out[static_cast<size_t>(d)], g)) return false;
    if (d < 2 && g.scale != 1) return false;
  }
  return true;
}

}  // namespace

bool accepts_resize_f32_2d(const PrepareContext& c) { return accepts_resize_2d(c, DType::kFloat32); }
std::unique_ptr<Kernel> make_resize_f32_2d(const ir::Node&) { return std::make_unique<Resize2d<float>>(); }
bool accepts_resize_8bit_2d(const PrepareContext& c) {
  return accepts_resize_2d(c, DType::kUInt8) || accepts_resize_2d(c, DType::kInt8);
}
std::unique_ptr<Kernel> make_resize_8bit_2d(const ir::Node&) { return std::make_unique<Resize2d<uint8_t>>(); }

}  // namespace verge
