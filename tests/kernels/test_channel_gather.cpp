// verge.ChannelGather: the AVX-512 lane-permute kernel against the reference.
#include "core/cpu_features.h"
#include "kernel_check.h"

namespace verge::test {
namespace {

void check(std::vector<int64_t> in_channels, std::vector<int64_t> sources, int64_t h, int64_t w, int64_t n = 1) {
  std::mt19937 rng(11);
  KernelCase kc("ChannelGather", "verge");
  kc.attr_int("block", 16).attr_ints("sources", sources);
  for (int64_t c : in_channels) kc.input(random_blocked(rng, n, c, h, w, 16));
  kc.blocked_channels(0, static_cast<int64_t>(sources.size() / 2)).tolerance(0, 0);
  const int ran = check_variants(kc, "channel_gather_avx512");
  if (cpu_has(Isa::kAvx512)) {
    EXPECT_GT(ran, 0);
  }
}

TEST(ChannelGather, ShuffleOfTwoOddHalves) {
  // ShuffleNet: 58 = 29 + 29 channels interleaved.
  std::vector<int64_t> src;
  for (int64_t j = 0; j < 58; ++j) src.insert(src.end(), {j % 2, j / 2});
  check({29, 29}, src, 7, 5);
}

TEST(ChannelGather, SliceAcrossBlocks) {
  std::vector<int64_t> src;
  for (int64_t j = 13; j < 50; ++j) src.insert(src.end(), {0, j});
  check({60}, src, 3, 3, 2);
}

TEST(ChannelGather, ReversedAndRepeated) {
  std::vector<int64_t> src;
  for (int64_t j = 20; j-- > 0;) src.insert(src.end(), {j % 3 == 0 ? 1 : 0, j});
  src.insert(src.end(), {0, 0, 0, 0});
  check({20, 21}, src, 1, 1);
}

}  // namespace
}  // namespace verge::test
