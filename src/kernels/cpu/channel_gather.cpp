// verge.ChannelGather with AVX-512 lane permutes: entries are precomputed at prepare from `sources`.
#include "kernels/cpu/channel_gather.h"

#include <map>

#include "core/thread_pool.h"
#include "kernels/kernel.h"

namespace verge {
namespace {

class ChannelGatherAvx512 final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const std::vector<int64_t> src = c.node().get_ints("sources");
    const int64_t out_channels = static_cast<int64_t>(src.size() / 2);
    out_blocks_ = (out_channels + 15) / 16;
    in_blocks_.clear();
    for (size_t i = 0; i < c.num_inputs(); ++i) in_blocks_.push_back(c.shape(i)[1]);
    entries_.clear();
    begin_.assign(1, 0);
    for (int64_t ob = 0; ob < out_blocks_; ++ob) {
      std::map<std::pair<int32_t, int32_t>, GatherEntry> by_source;  // (input, block) -> entry
      for (int64_t lane = 0; lane < 16; ++lane) {
        const int64_t oc = ob * 16 + lane;
        if (oc >= out_channels) break;
        const auto input = static_cast<int32_t>(src[static_cast<size_t>(2 * oc)]);
        const int64_t ch = src[static_cast<size_t>(2 * oc + 1)];
        GatherEntry& e = by_source[{input, static_cast<int32_t>(ch / 16)}];
        e.input = input;
        e.src_block = static_cast<int32_t>(ch / 16);
        e.idx[lane] = static_cast<int32_t>(ch % 16);
        e.mask = static_cast<uint16_t>(e.mask | (1u << lane));
      }
      for (auto& [key, e] : by_source) entries_.push_back(e);
      begin_.push_back(static_cast<int32_t>(entries_.size()));
    }
    inputs_.assign(c.num_inputs(), nullptr);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    for (size_t i = 0; i < inputs_.size(); ++i) inputs_[i] = c.input(i).data<float>();
    const Tensor& y = c.output(0);
    const int64_t n = y.dim(0), pixels = y.numel() / (n * out_blocks_ * 16);
    float* out = c.output(0).data<float>();
    parallel_for(c.pool, n * out_blocks_, std::max<int64_t>(1, 4096 / std::max<int64_t>(pixels, 1)), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t)
        channel_gather_avx512(inputs_.data(), in_blocks_.data(), out, out_blocks_, pixels, entries_.data(), begin_.data(),
                              t / out_blocks_, t % out_blocks_, t % out_blocks_ + 1);
    });
    return Status::ok();
  }
  const char* name() const override { return "channel_gather_avx512"; }

 private:
  int64_t out_blocks_ = 0;
  std::vector<int64_t> in_blocks_;
  std::vector<GatherEntry> entries_;
  std::vector<int32_t> begin_;
  std::vector<const float*> inputs_;
};

}  // namespace

bool accepts_channel_gather_avx512(const PrepareContext& c) {
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.shape(i).back() != 16) return false;
  return true;
}

std::unique_ptr<Kernel> make_channel_gather_avx512(const ir::Node&) { return std::make_unique<ChannelGatherAvx512>(); }

}  // namespace verge
