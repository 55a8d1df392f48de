// verge.BlockedPool (AVX-512 / AVX2) and the layout kernels verge.ToBlocked / FromBlocked / BlockedConcat
// against their reference kernels: channel tails, odd spatial sizes, pads, ceil_mode, dilation, batch.
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernel_check.h"

namespace verge::test {
namespace {

const char* pool_variant(int64_t block) { return block == 16 ? "pool_nchw16c_avx512" : "pool_nchw8c_avx2"; }
Isa pool_isa(int64_t block) { return block == 16 ? Isa::kAvx512 : Isa::kAvx2Fma; }

struct Pool {
  std::string mode = "max";
  int64_t n = 1, c = 16, h = 9, w = 9;
  std::vector<int64_t> kernel = {3, 3}, strides = {2, 2}, pads = {1, 1, 1, 1}, dil = {1, 1};
  int64_t ceil_mode = 0, include_pad = 0;
  bool global = false;
};

void check(const Pool& t, int64_t block) {
  SCOPED_TRACE(testing::Message() << t.mode << " c=" << t.c << " " << t.h << "x" << t.w
                                  << " k=" << t.kernel[0] << "x" << t.kernel[1] << " s=" << t.strides[0]
                                  << " ceil=" << t.ceil_mode << " include_pad=" << t.include_pad
                                  << " global=" << t.global << " b=" << block);
  std::mt19937 rng(9);
  KernelCase kc("BlockedPool", "verge");
  kc.attr_int("block", block).attr_string("mode", t.mode).attr_int("global", t.global ? 1 : 0);
  if (!t.global) {
    kc.attr_ints("kernel_shape", t.kernel).attr_ints("strides", t.strides).attr_ints("pads", t.pads);
    kc.attr_ints("dilations", t.dil)
        .attr_int("ceil_mode", t.ceil_mode)
        .attr_int("count_include_pad", t.include_pad);
  }
  kc.input(random_blocked(rng, t.n, t.c, t.h, t.w, block)).blocked_channels(0, t.c);
  const int ran = check_variants(kc, pool_variant(block));
  if (cpu_has(pool_isa(block))) {
    EXPECT_GT(ran, 0);
  }
}

void both(const Pool& t) {
  check(t, 16);
  check(t, 8);
}

TEST(PoolReorder, MaxPool3x3Stride2Pad1) {  // ResNet-18 / ShuffleNetV2 stem
  for (int64_t c : {3, 16, 17, 40})
    for (int64_t hw : {1, 2, 8, 13, 24}) {
      Pool t;
      t.c = c;
      t.h = hw;
      t.w = hw + 1;
      both(t);
    }
}

TEST(PoolReorder, MaxPoolCeilMode) {  // SqueezeNet: 3x3 / 2, no padding, ceil_mode
  for (int64_t hw : {3, 4, 13, 27, 28}) {
    Pool t;
    t.c = 24;
    t.h = hw;
    t.w = hw + 2;
    t.pads = {0, 0, 0, 0};
    t.ceil_mode = 1;
    both(t);
    t.mode = "average";
    both(t);
    t.include_pad = 1;
    both(t);
  }
}

TEST(PoolReorder, AveragePoolPadsAndIncludePad) {
  for (int64_t include : {0, 1})
    for (int64_t s : {1, 2, 3}) {
      Pool t;
      t.mode = "average";
      t.c = 19;
      t.h = 11;
      t.w = 14;
      t.kernel = {3, 5};
      t.strides = {s, s};
      t.pads = {1, 2, 2, 1};
      t.include_pad = include;
      both(t);
      t.ceil_mode = 1;
      both(t);
    }
}

TEST(PoolReorder, KernelSizesDilationAndBatch) {
  for (const char* mode : {"max", "average"})
    for (int64_t k : {1, 2, 4, 7}) {
      Pool t;
      t.mode = mode;
      t.n = 2;
      t.c = 33;
      t.h = 15;
      t.w = 10;
      t.kernel = {k, k};
      t.strides = {1, 2};
      t.pads = {k / 2, 0, 0, k / 2};
      both(t);
      t.dil = {2, 2};
      t.pads = {k - 1, k - 1, k - 1, k - 1};
      t.h = t.w = 3 * k + 2;
      both(t);
    }
}

TEST(PoolReorder, GlobalPools) {
  for (const char* mode : {"max", "average"})
    for (int64_t hw : {1, 3, 7, 13, 14}) {
      Pool t;
      t.mode = mode;
      t.global = true;
      t.n = 2;
      t.c = 40;
      t.h = hw;
      t.w = hw + 1;
      both(t);
      t.c = 1280;
      t.n = 1;
      t.h = t.w = 7;
      both(t);
    }
}

TEST(PoolReorder, RejectsEmptyWindows) {
  std::mt19937 rng(1);
  KernelCase kc("BlockedPool", "verge");  // pads >= kernel: the first window lies in the padding
  kc.attr_int("block", 16).attr_string("mode", "max").attr_int("global", 0).attr_ints("kernel_shape", {2, 2});
  kc.attr_ints("pads", {2, 2, 2, 2}).input(random_blocked(rng, 1, 16, 4, 4, 16)).blocked_channels(0, 16);
  EXPECT_EQ(check_variants(kc, "pool_nchw16c_avx512"), 0);
}

// ---------------------------------------------------------------------------------------------------

void check_reorder(int64_t n, int64_t c, Shape spatial, int64_t block) {
  SCOPED_TRACE(testing::Message() << "n=" << n << " c=" << c << " spatial rank " << spatial.size()
                                  << " b=" << block);
  std::mt19937 rng(4);
  {
    KernelCase kc("ToBlocked", "verge");
    Shape s = {n, c};
    s.insert(s.end(), spatial.begin(), spatial.end());
    kc.attr_int("block", block).input(random_tensor(rng, s)).blocked_channels(0, c).tolerance(0, 0);
    EXPECT_GT(check_variants(kc, "to_blocked_fast"), 0);
  }
  {
    KernelCase kc("FromBlocked", "verge");
    Shape s = {n, (c + block - 1) / block};
    s.insert(s.end(), spatial.begin(), spatial.end());
    s.push_back(block);
    Tensor x = random_tensor(rng, s);
    kc.attr_int("channels", c).input(std::move(x)).tolerance(0, 0);
    EXPECT_GT(check_variants(kc, "from_blocked_fast"), 0);
  }
}

TEST(PoolReorder, ToAndFromBlocked) {
  for (int64_t block : {16, 8, 4})
    for (int64_t c : {1, 3, 16, 17, 40})
      for (const Shape& sp : {Shape{7, 9}, Shape{16, 16}, Shape{1, 1}, Shape{33, 65}, Shape{224, 224}}) {
        if (sp[0] == 224 && c > 3) continue;
        check_reorder(1, c, sp, block);
      }
  check_reorder(2, 20, {5, 3}, 16);
  check_reorder(2, 20, {37}, 8);       // rank 3
  check_reorder(1, 9, {3, 4, 5}, 16);  // rank 5
  check_reorder(1, 4, {70, 70}, 16);   // several pixel chunks
}

void check_concat(std::vector<int64_t> channels, int64_t block, int64_t n = 1, int64_t h = 5, int64_t w = 7) {
  SCOPED_TRACE(testing::Message() << "concat of " << channels.size() << " inputs, first " << channels[0]
                                  << " b=" << block);
  std::mt19937 rng(8);
  KernelCase kc("BlockedConcat", "verge");
  kc.attr_int("block", block).attr_ints("channels", channels);
  int64_t total = 0;
  for (int64_t c : channels) {
    kc.input(random_blocked(rng, n, c, h, w, block));
    total += c;
  }
  kc.blocked_channels(0, total).tolerance(0, 0);
  EXPECT_GT(check_variants(kc, "concat_nchwc_fast"), 0);
}

TEST(PoolReorder, BlockedConcat) {
  for (int64_t b : {16, 8, 4}) {  // 16 / 8: vector lane merges; 4: portable
    check_concat({64, 64}, b, 1, 55, 55);  // SqueezeNet fire: whole blocks
    check_concat({16, 16, 32}, b, 2);
    check_concat({3, 5}, b);
    check_concat({16, 3, 20}, b);
    check_concat({17, 15}, b);
    check_concat({32, 7}, b);
    check_concat({7, 32}, b);
    check_concat({58, 58}, b, 1, 28, 28);  // ShuffleNet halves
    check_concat({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, b);
    check_concat({40}, b);
  }
}

}  // namespace
}  // namespace verge::test
