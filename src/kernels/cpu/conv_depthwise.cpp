// Depthwise verge.BlockedConv (group == C_in == M, 2-D) on NCHW16c (AVX-512) and NCHW8c (AVX2): weight
// packing, geometry and threading. The microkernels are in conv_depthwise_avx512.cpp / _avx2.cpp.
#include "kernels/cpu/conv_depthwise.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/memory.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/activation.h"
#include "kernels/cpu/window_geom_build.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

using DwRowsFn = void (*)(const DwGeom&, const DwPlane&, int64_t, int64_t);

bool accepts_depthwise(const PrepareContext& c, int64_t block) {
  const ir::Node& n = c.node();
  if (!c.has_input(0) || !c.has_input(1)) return false;
  const Shape& x = c.shape(0);
  if (c.dtype(0) != DType::kFloat32 || x.size() != 5 || x.back() != block) return false;
  if (n.get_int("block", 0) != block) return false;
  const Tensor* w = c.constant(1);
  if (!w || w->dtype() != DType::kFloat32 || w->rank() != 4) return false;
  const int64_t group = n.get_int("group", 1);
  if (w->dim(1) != 1 || w->dim(0) != group || (group + block - 1) / block != x[1]) return false;
  if (c.has_input(2)) {
    const Tensor* b = c.constant(2);
    if (!b || b->dtype() != DType::kFloat32 || b->numel() != group) return false;
  }
  if (c.has_input(3) && (c.dtype(3) != DType::kFloat32 || c.shape(3) != c.output(0).shape)) return false;
  const Shape ws = w->shape();
  if (!conv_geometry(n, std::span<const int64_t>(x).subspan(2, 2), std::span<const int64_t>(ws).subspan(2))
           .is_ok())
    return false;
  return parse_activation(n).is_ok();
}

class DepthwiseConv final : public Kernel {
 public:
  DepthwiseConv(int64_t block, DwRowsFn rows, const char* name) : block_(block), rows_(rows), name_(name) {}

  Status prepare(PrepareContext& c) override {
    const Shape& x = c.shape(0);
    const Tensor& w = *c.constant(1);
    const Shape ws = w.shape();
    VERGE_ASSIGN_OR_RETURN(ConvGeometry cg, conv_geometry(c.node(), std::span<const int64_t>(x).subspan(2, 2),
                                                          std::span<const int64_t>(ws).subspan(2)));
    VERGE_ASSIGN_OR_RETURN(Activation act, parse_activation(c.node()));
    const int64_t b = block_;
    channels_ = ws[0];
    n_ = x[0];
    cb_ = x[1];
    g_ = DwGeom{};
    set_window_geom(g_, cg, x[2], x[3]);
    g_.act = to_act_params(act);

    // Weights [C, 1, kh, kw] -> [Cb][kh][kw][b]; bias -> [Cb][b]; zero padding lanes.
    const int64_t taps = g_.kh * g_.kw;
    w_.assign(static_cast<size_t>(cb_ * taps * b), 0.f);
    bias_.assign(static_cast<size_t>(cb_ * b), 0.f);
    const float* wsrc = w.data<float>();
    for (int64_t ch = 0; ch < channels_; ++ch)
      for (int64_t t = 0; t < taps; ++t) w_.data()[((ch / b) * taps + t) * b + ch % b] = wsrc[ch * taps + t];
    if (c.has_input(2)) {
      const float* bsrc = c.constant(2)->data<float>();
      for (int64_t ch = 0; ch < channels_; ++ch) bias_.data()[ch] = bsrc[ch];
    }
    if (c.has_input(3)) c.allow_in_place(3);  // each output pixel reads its own Sum pixel before writing
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    const int64_t b = block_;
    const float* x = c.input(0).data<float>();
    const float* sum = c.has_input(3) ? c.input(3).data<float>() : nullptr;
    float* y = c.output(0).data<float>();
    const int64_t oh = g_.oh, in_plane = g_.h * g_.w * b, out_plane = g_.oh * g_.ow * b, taps = g_.kh * g_.kw;
    const float* wp = w_.data();
    const float* bp = bias_.data();
    // Tasks are output rows of (image, channel block) planes; a range of consecutive rows reuses the
    // input rows they share through the cache.
    const int64_t grain = std::max<int64_t>(1, 256 / std::max<int64_t>(1, g_.ow));
    parallel_for(c.pool, n_ * cb_ * oh, grain, [&](int64_t begin, int64_t end) {
      while (begin < end) {
        const int64_t plane = begin / oh, r0 = begin % oh, r1 = std::min(oh, r0 + (end - begin));
        const int64_t blk = plane % cb_;
        DwPlane p;
        p.x = x + plane * in_plane;
        p.w = wp + blk * taps * b;
        p.bias = bp + blk * b;
        p.sum = sum ? sum + plane * out_plane : nullptr;
        p.y = y + plane * out_plane;
        rows_(g_, p, r0, r1);
        begin += r1 - r0;
      }
    });
    return Status::ok();
  }
  const char* name() const override { return name_; }

 private:
  int64_t block_;
  DwRowsFn rows_;
  const char* name_;
  DwGeom g_;
  int64_t channels_ = 0, n_ = 0, cb_ = 0;
  LargeVector<float> w_, bias_;  // 64-byte aligned (core/memory.h)
};

}  // namespace

bool accepts_conv_depthwise_avx512(const PrepareContext& c) { return accepts_depthwise(c, 16); }
std::unique_ptr<Kernel> make_conv_depthwise_avx512(const ir::Node&) {
  return std::make_unique<DepthwiseConv>(16, &dw_rows_avx512, "conv_nchw16c_depthwise_avx512");
}
bool accepts_conv_depthwise_avx2(const PrepareContext& c) { return accepts_depthwise(c, 8); }
std::unique_ptr<Kernel> make_conv_depthwise_avx2(const ir::Node&) {
  return std::make_unique<DepthwiseConv>(8, &dw_rows_avx2, "conv_nchw8c_depthwise_avx2");
}

}  // namespace verge
