// verge.BlockedConv with group 1 on 2-D float32 NCHWc tensors: direct convolution (conv_direct.h).
// prepare packs the weights for the microkernel's output-channel group size and picks the tile width;
// run splits (image, group, output row, tile) tasks over the pool.
#include "kernels/cpu/conv_direct.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/memory.h"
#include "core/thread_pool.h"
#include "ir/conv_geometry.h"
#include "kernels/activation.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct IsaInfo {
  const char* name;
  int64_t block;
  int64_t max_groups;  // largest group_blocks
  int64_t (*max_tile)(int64_t);
  void (*run)(const ConvDirectArgs&, int64_t, int64_t);
};

const IsaInfo kAvx512{"conv_nchw16c_direct_avx512", 16, 3, conv_direct_avx512_max_tile, conv_direct_avx512};
const IsaInfo kAvx2{"conv_nchw8c_direct_avx2", 8, 2, conv_direct_avx2_max_tile, conv_direct_avx2};

class ConvDirect final : public Kernel {
 public:
  explicit ConvDirect(const IsaInfo& isa) : isa_(isa) {}

  Status prepare(PrepareContext& c) override {
    const int64_t B = isa_.block;
    const Shape& xs = c.shape(0);
    const Shape& ws = c.shape(1);
    const int64_t M = ws[0], C = ws[1], KH = ws[2], KW = ws[3];
    const int64_t in_spatial[2] = {xs[2], xs[3]};
    VERGE_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(c.node(), in_spatial, std::span(ws).subspan(2)));
    VERGE_ASSIGN_OR_RETURN(Activation act, parse_activation(c.node()));
    ConvDirectArgs& a = args_;
    a = ConvDirectArgs{};
    a.N = xs[0];
    a.C = C;
    a.Cb = xs[1];
    a.H = xs[2];
    a.W = xs[3];
    a.Mb = ceil_div(M, B);
    a.OH = g.out[0];
    a.OW = g.out[1];
    a.KH = KH;
    a.KW = KW;
    a.SH = g.strides[0];
    a.SW = g.strides[1];
    a.DH = g.dilations[0];
    a.DW = g.dilations[1];
    a.PT = g.pads_begin[0];
    a.PL = g.pads_begin[1];
    a.act = to_act_params(act);
    // A 1x1 stride-1 unpadded convolution is a product over all pixels: one long row.
    if (KH == 1 && KW == 1 && a.SH == 1 && a.SW == 1 && a.PT == 0 && a.PL == 0 && a.OH == a.H &&
        a.OW == a.W) {
      a.W = a.OW = a.H * a.W;
      a.H = a.OH = 1;
    }
    // AVX-512: a last block with at most 8 real channels runs on 256-bit vectors (half the FMA cost).
    a.half_last = B == 16 && (M % B) != 0 && (M % B) <= B / 2;
    const int64_t full = a.half_last ? a.Mb - 1 : a.Mb;  // blocks on full-width vectors
    // Group size: 2 blocks x up to 14 pixels; 3 blocks for narrow rows; 1 block when there is one.
    int64_t nb = std::clamp<int64_t>(full, 1, 2);
    if (isa_.max_groups >= 3 && a.OW < 12 && full >= 3) nb = 3;
    int64_t tmax = isa_.max_tile(nb);
    if (a.SW > 2) tmax = 1;  // the microkernels have wide tiles for strides 1 and 2
    a.group_blocks = nb;
    a.groups = ceil_div(full, nb) + (a.half_last ? 1 : 0);
    a.tiles = ceil_div(a.OW, tmax);
    a.tile_w = ceil_div(a.OW, a.tiles);
    a.block_stride = B * C * KH * KW;

    // Pack weights: group by group, [icb][kh][kw][ic][nbg][B]; bias [Mb * B]. The layout depends on the
    // group size (from the output width), not on the batch: shared by the session's plans.
    const float* w = c.constant(1)->data<float>();
    packed_ = c.shared_constant<LargeVector<float>>(
        isa_.name, fmt::format("nb{} g{} h{} cb{}", nb, a.groups, a.half_last, a.Cb), {1}, [&] {
          LargeVector<float> packed(static_cast<size_t>(a.Mb * a.block_stride), 0.f);
          for (int64_t gi = 0; gi < a.groups; ++gi) {
            int64_t ob0 = 0, nbg = 0;
            conv_direct_group(a, gi, &ob0, &nbg);
            float* dst = packed.data() + ob0 * a.block_stride;
            for (int64_t icb = 0; icb < a.Cb; ++icb) {
              const int64_t icr = std::min(B, C - icb * B);
              for (int64_t kh = 0; kh < KH; ++kh)
                for (int64_t kw = 0; kw < KW; ++kw)
                  for (int64_t ic = 0; ic < icr; ++ic)
                    for (int64_t b = 0; b < nbg; ++b)
                      for (int64_t l = 0; l < B; ++l, ++dst) {
                        const int64_t m = (ob0 + b) * B + l, ci = icb * B + ic;
                        if (m < M) *dst = w[((m * C + ci) * KH + kh) * KW + kw];
                      }
            }
          }
          return packed;
        });
    bias_.assign(static_cast<size_t>(a.Mb * B), 0.f);
    if (c.has_input(2)) {
      const float* bv = c.constant(2)->data<float>();
      std::copy(bv, bv + M, bias_.begin());
    }
    // Ranges of at least ~8K vector FMAs (a few microseconds): tiny convolutions (squeeze-excitation)
    // stay on one thread instead of paying for a wake-up.
    const int64_t task_fmas = std::max<int64_t>(1, C * KH * KW * nb * a.tile_w);
    grain_ = std::max<int64_t>(1, ceil_div(8192, task_fmas));
    a.w = packed_->data();
    a.bias = bias_.data();
    if (c.has_input(3)) c.allow_in_place(3);  // each output vector is written after its Sum vector is read
    return Status::ok();
  }

  Status run(const RunContext& c) override {
    ConvDirectArgs a = args_;
    a.x = c.input(0).data<float>();
    a.sum = c.has_input(3) ? c.input(3).data<float>() : nullptr;
    a.y = c.output(0).data<float>();
    const auto run = isa_.run;
    parallel_for(c.pool, conv_direct_tasks(a), grain_, [&](int64_t b, int64_t e) { run(a, b, e); });
    return Status::ok();
  }

  const char* name() const override { return isa_.name; }

 private:
  const IsaInfo& isa_;
  ConvDirectArgs args_;
  int64_t grain_ = 1;
  std::shared_ptr<const LargeVector<float>> packed_;
  std::vector<float> bias_;
};

bool accepts(const PrepareContext& c, int64_t block) {
  const ir::Node& n = c.node();
  if (n.get_int("group", 1) != 1 || n.get_int("block", 0) != block) return false;
  if (!c.has_input(0) || !c.has_input(1) || c.dtype(0) != DType::kFloat32 || c.dtype(1) != DType::kFloat32)
    return false;
  if (c.shape(0).size() != 5 || c.shape(1).size() != 4) return false;
  const Tensor* w = c.constant(1);
  if (!w || w->dtype() != DType::kFloat32) return false;
  if (c.has_input(2) && (!c.constant(2) || c.dtype(2) != DType::kFloat32)) return false;
  if (c.has_input(3) && c.dtype(3) != DType::kFloat32) return false;
  if (!c.has_output(0) || c.output(0).shape.size() != 5) return false;
  for (int64_t d : c.output(0).shape)
    if (d <= 0) return false;
  return true;
}

}  // namespace

bool accepts_conv_direct_avx512(const PrepareContext& c) { return accepts(c, 16); }
std::unique_ptr<Kernel> make_conv_direct_avx512(const ir::Node&) {
  return std::make_unique<ConvDirect>(kAvx512);
}
bool accepts_conv_direct_avx2(const PrepareContext& c) { return accepts(c, 8); }
std::unique_ptr<Kernel> make_conv_direct_avx2(const ir::Node&) { return std::make_unique<ConvDirect>(kAvx2); }

}  // namespace verge
