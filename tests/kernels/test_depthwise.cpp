// Depthwise verge.BlockedConv (group == C == M): the AVX-512 (NCHW16c) and AVX2 (NCHW8c) kernels against
// the reference on tile, tail and border shapes, every activation, with/without bias and Sum.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "ir/infer.h"
#include "ir/op_table.h"
#include "kernel_check.h"
#include "kernels/registry.h"
#include "runtime/exec_options.h"

namespace verge::test {
namespace {

struct Dw {
  int64_t n = 1, c = 16, h = 9, w = 9;
  int64_t kh = 3, kw = 3, s = 1, d = 1;
  std::vector<int64_t> pads = {1, 1, 1, 1};  // top, left, bottom, right
  bool bias = true, sum = false;
  std::string act;
  std::vector<float> params;
  std::string auto_pad;
  unsigned seed = 5;
};

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1) {
  return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

void check(const Dw& t, int64_t block) {
  std::mt19937 rng(t.seed);
  KernelCase kc("BlockedConv", "verge");
  kc.attr_int("block", block).attr_int("group", t.c).attr_ints("kernel_shape", {t.kh, t.kw});
  kc.attr_ints("strides", {t.s, t.s}).attr_ints("dilations", {t.d, t.d});
  int64_t oh = 0, ow = 0;
  if (t.auto_pad.empty()) {
    kc.attr_ints("pads", t.pads);
    oh = out_size(t.h, t.kh, t.s, t.d, t.pads[0], t.pads[2]);
    ow = out_size(t.w, t.kw, t.s, t.d, t.pads[1], t.pads[3]);
  } else {  // SAME_*
    kc.attr_string("auto_pad", t.auto_pad);
    oh = (t.h + t.s - 1) / t.s;
    ow = (t.w + t.s - 1) / t.s;
  }
  if (!t.act.empty()) {
    kc.attr_string("activation", t.act);
    if (!t.params.empty()) kc.attr_floats("activation_params", t.params);
  }
  kc.input(random_blocked(rng, t.n, t.c, t.h, t.w, block));
  kc.constant(random_tensor(rng, {t.c, 1, t.kh, t.kw}));
  if (t.bias)
    kc.constant(random_tensor(rng, {t.c}));
  else if (t.sum)
    kc.omitted();
  if (t.sum) kc.input(random_blocked(rng, t.n, t.c, oh, ow, block, -3.5f));
  kc.blocked_channels(0, t.c);
  const char* variant = block == 16 ? "conv_nchw16c_depthwise_avx512" : "conv_nchw8c_depthwise_avx2";
  const int ran = check_variants(kc, variant);
  if (cpu_has(block == 16 ? Isa::kAvx512 : Isa::kAvx2Fma)) {
    EXPECT_GT(ran, 0) << variant;
  }
}

void both(const Dw& t) {
  SCOPED_TRACE(testing::Message() << "c=" << t.c << " h=" << t.h << " w=" << t.w << " k=" << t.kh << "x"
                                  << t.kw << " s=" << t.s << " d=" << t.d << " act=" << t.act
                                  << " bias=" << t.bias << " sum=" << t.sum);
  check(t, 16);
  check(t, 8);
}

TEST(Depthwise, Kernel3x3Stride1ChannelTails) {
  for (int64_t c : {3, 16, 17, 40, 96})
    for (int64_t hw : {1, 2, 7, 13, 20}) {
      Dw t;
      t.c = c;
      t.h = hw;
      t.w = hw + 3;
      both(t);
    }
}

TEST(Depthwise, Kernel3x3Stride2) {
  for (int64_t c : {3, 17, 32})
    for (int64_t hw : {1, 2, 3, 8, 15, 28}) {
      Dw t;
      t.c = c;
      t.s = 2;
      t.h = hw;
      t.w = hw + 1;
      both(t);
      t.pads = {0, 0, 1, 1};  // TF-style asymmetric padding (EfficientNet exports)
      if (hw >= 2) both(t);
    }
}

TEST(Depthwise, Kernel5x5And7x7) {
  for (int64_t k : {5, 7})
    for (int64_t s : {1, 2})
      for (int64_t hw : {3, 7, 14, 19}) {
        Dw t;
        t.c = 40;
        t.kh = t.kw = k;
        t.s = s;
        t.h = t.w = hw;
        t.pads = {k / 2, k / 2, k / 2, k / 2};
        both(t);
      }
}

TEST(Depthwise, DilationAndAsymmetricPads) {
  for (int64_t d : {2, 3})
    for (int64_t s : {1, 2}) {
      Dw t;
      t.c = 24;
      t.d = d;
      t.s = s;
      t.h = 17;
      t.w = 23;
      t.pads = {d, d, d, d};
      both(t);
      t.pads = {0, 2, 3, 1};
      both(t);
    }
  Dw t;  // no padding at all, rectangular kernel
  t.c = 20;
  t.kh = 3;
  t.kw = 5;
  t.h = 11;
  t.w = 30;
  t.pads = {0, 0, 0, 0};
  both(t);
  t.kh = 1;
  t.kw = 1;
  both(t);
  t.kh = 5;
  t.kw = 2;
  t.s = 3;
  t.pads = {2, 1, 0, 2};
  both(t);
}

TEST(Depthwise, LargePadsOutputsOnlyBias) {
  Dw t;  // rows and columns whose whole window lies in the padding
  t.c = 19;
  t.h = 4;
  t.w = 5;
  t.pads = {3, 4, 2, 3};
  t.sum = true;
  both(t);
}

TEST(Depthwise, AutoPadSame) {
  for (const char* ap : {"SAME_UPPER", "SAME_LOWER"})
    for (int64_t s : {1, 2}) {
      Dw t;
      t.c = 33;
      t.kh = t.kw = 5;
      t.s = s;
      t.h = 14;
      t.w = 9;
      t.auto_pad = ap;
      both(t);
    }
}

TEST(Depthwise, EveryActivationWithAndWithoutBiasAndSum) {
  const std::vector<std::pair<std::string, std::vector<float>>> acts = {{"", {}},
                                                                        {"Relu", {}},
                                                                        {"Clip", {0.f, 0.5f}},
                                                                        {"LeakyRelu", {0.1f}},
                                                                        {"HardSigmoid", {0.2f, 0.5f}},
                                                                        {"HardSwish", {}},
                                                                        {"Sigmoid", {}},
                                                                        {"SiLU", {}},
                                                                        {"Tanh", {}}};
  for (const auto& [act, params] : acts)
    for (int variant = 0; variant < 4; ++variant) {
      Dw t;
      t.c = 40;
      t.h = 10;
      t.w = 21;
      t.s = 1 + variant % 2;
      t.act = act;
      t.params = params;
      t.bias = variant < 2;
      t.sum = variant % 2 == 0 || variant == 3;
      both(t);
    }
}

TEST(Depthwise, BatchAndWideRows) {
  Dw t;
  t.n = 2;
  t.c = 35;
  t.h = 6;
  t.w = 61;
  t.sum = true;
  t.act = "Clip";
  t.params = {0.f, 6.f};
  both(t);
  t.kh = t.kw = 5;
  t.pads = {2, 2, 2, 2};
  t.s = 2;
  both(t);
}

// MobileNet / EfficientNet layer shapes (smaller channel counts to keep the reference fast).
TEST(Depthwise, ModelShapes) {
  struct S {
    int64_t c, hw, k, s;
  };
  for (const S& m : {S{32, 112, 3, 1}, S{24, 56, 3, 2}, S{48, 14, 3, 1}, S{40, 28, 5, 2}, S{48, 14, 5, 1},
                     S{64, 7, 5, 1}, S{72, 7, 3, 1}}) {
    Dw t;
    t.c = m.c;
    t.h = t.w = m.hw;
    t.kh = t.kw = m.k;
    t.s = m.s;
    t.pads = {m.k / 2, m.k / 2, m.k / 2, m.k / 2};
    t.act = "Clip";
    t.params = {0.f, 6.f};
    both(t);
  }
}

TEST(Depthwise, RejectsGroupedAndRuntimeWeights) {
  std::mt19937 rng(3);
  {  // group 2 with 2 input channels per group: not depthwise
    KernelCase kc("BlockedConv", "verge");
    kc.attr_int("block", 16)
        .attr_int("group", 2)
        .attr_ints("kernel_shape", {3, 3})
        .attr_ints("pads", {1, 1, 1, 1});
    kc.input(random_blocked(rng, 1, 4, 5, 5, 16)).constant(random_tensor(rng, {2, 2, 3, 3}));
    kc.blocked_channels(0, 2);
    EXPECT_EQ(check_variants(kc, "conv_nchw16c_depthwise_avx512"), 0);
  }
  {  // runtime weights
    KernelCase kc("BlockedConv", "verge");
    kc.attr_int("block", 16).attr_int("group", 4).attr_ints("kernel_shape", {3, 3});
    kc.input(random_blocked(rng, 1, 4, 5, 5, 16)).input(random_tensor(rng, {4, 1, 3, 3}));
    kc.blocked_channels(0, 4);
    EXPECT_EQ(check_variants(kc, "conv_nchw16c_depthwise_avx512"), 0);
  }
}

// The kernel declares allow_in_place(3): the planner may give Y the memory of Sum. Run it that way.
TEST(Depthwise, SumMayShareTheOutputBuffer) {
  for (int64_t block : {16, 8}) {
    const char* name = block == 16 ? "conv_nchw16c_depthwise_avx512" : "conv_nchw8c_depthwise_avx2";
    if (!cpu_has(block == 16 ? Isa::kAvx512 : Isa::kAvx2Fma)) continue;
    const int64_t c = 21, h = 9, w = 13;
    std::mt19937 rng(21);
    ir::Graph g;
    ir::Node node;
    node.op = OpId::BlockedConv;
    node.op_type = "BlockedConv";
    node.domain = "verge";
    node.name = "dw";
    for (const char* v : {"x", "w", "b", "sum"}) node.inputs.push_back(g.add_value(v));
    node.outputs.push_back(g.add_value("y"));
    KernelCase attrs("BlockedConv", "verge");
    attrs.attr_int("block", block)
        .attr_int("group", c)
        .attr_ints("kernel_shape", {3, 3})
        .attr_ints("pads", {1, 1, 1, 1});
    attrs.attr_string("activation", "HardSwish");
    node.attrs = attrs.node.attrs;
    Tensor x = random_blocked(rng, 1, c, h, w, block), wt = random_tensor(rng, {c, 1, 3, 3}),
           b = random_tensor(rng, {c});
    Tensor sum = random_blocked(rng, 1, c, h, w, block);
    std::vector<TensorType> types = {{DType::kFloat32, x.shape()},
                                     {DType::kFloat32, wt.shape()},
                                     {DType::kFloat32, b.shape()},
                                     {DType::kFloat32, sum.shape()}};
    std::vector<const TensorType*> tp = {&types[0], &types[1], &types[2], &types[3]};
    std::vector<const Tensor*> consts = {nullptr, &wt, &b, nullptr};
    std::vector<TensorType> out(1);
    InferContext ic(g, node, tp, consts, out);
    ASSERT_TRUE(op_info(node.op).infer(ic).is_ok());
    ExecOptions eo;
    auto run = [&](Kernel& k, PrepareContext& pc, const Tensor* sum_in, Tensor* y) {
      EXPECT_TRUE(k.prepare(pc).is_ok());
      void* scratch = std::aligned_alloc(64, (pc.scratch_bytes() + 64) / 64 * 64);
      std::vector<const Tensor*> ins = {&x, &wt, &b, sum_in};
      std::vector<Tensor*> outs = {y};
      RunContext rc{ins, outs, scratch, nullptr, &eo};
      EXPECT_TRUE(k.run(rc).is_ok());
      std::free(scratch);
    };
    PrepareContext pc_ref(g, node, tp, consts, out, eo);
    Tensor expect = Tensor::allocate(DType::kFloat32, out[0].shape).value();
    run(*op_info(node.op).make_reference(node), pc_ref, &sum, &expect);
    const KernelVariant* v = nullptr;
    for (const KernelVariant& kv : kernel_variants())
      if (std::string(kv.name) == name) v = &kv;
    ASSERT_NE(v, nullptr);
    PrepareContext pc(g, node, tp, consts, out, eo);
    ASSERT_TRUE(v->accepts(pc));
    std::unique_ptr<Kernel> k = v->make(node);
    Tensor shared = sum.clone().value();
    run(*k, pc, &shared, &shared);
    EXPECT_EQ(pc.in_place_input(), 3);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < h * w; ++p) {
        const int64_t i = ((ch / block) * h * w + p) * block + ch % block;
        EXPECT_NEAR(shared.data<float>()[i], expect.data<float>()[i], 1e-4)
            << name << " channel " << ch << " pixel " << p;
      }
  }
}

}  // namespace
}  // namespace verge::test
