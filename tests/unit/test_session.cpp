// Session and planner behavior: plan caching, memory reuse, constant folding, dynamic shapes, no heap
// allocation in steady state, and clear errors for bad inputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>

#include "core/cpu_features.h"
#include "graph_builder.h"
#include "import/onnx/importer.h"
#include "io/idx.h"
#include "kernels/cpu/conv_winograd.h"
#include "op_test.h"
#include "runtime/session_impl.h"
#include "verge_cli.h"

// Counts heap allocations while g_count_allocations is set (this test binary's global operator new).
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<int64_t> g_allocations{0};
}  // namespace
void* operator new(size_t n) {
  if (g_count_allocations.load(std::memory_order_relaxed))
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  if (g_count_allocations.load(std::memory_order_relaxed))
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace verge {
namespace {

std::unique_ptr<Session> load_fmnist(SessionOptions so = {}) {
  auto s = Session::load(test::test_data("fmnist_cnn.onnx"), so);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

TEST(Session, DescribesInputsAndOutputs) {
  auto s = load_fmnist();
  ASSERT_TRUE(s);
  ASSERT_EQ(s->inputs().size(), 1u);
  EXPECT_EQ(s->inputs()[0].name, "image");
  EXPECT_EQ(s->inputs()[0].dtype, DType::kFloat32);
  EXPECT_EQ(s->inputs()[0].shape, (std::vector<int64_t>{-1, 1, 28, 28}));
  EXPECT_EQ(s->outputs()[0].name, "logits");
}

TEST(Session, SteadyStateRunDoesNotAllocate) {
  for (int threads : {1, 2}) {
    SessionOptions so;
    so.threads = threads;
    auto s = load_fmnist(so);
    ASSERT_TRUE(s);
    auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test", 8);
    ASSERT_TRUE(ds.is_ok());
    const std::vector<Tensor> x = {ds->images};  // the span overload: no copies of the input list
    ASSERT_TRUE(s->run(x).is_ok());              // plans on first use
    g_allocations = 0;
    g_count_allocations = true;
    bool ok = true;
    for (int i = 0; i < 3; ++i) ok = ok && s->run(x).is_ok();
    g_count_allocations = false;
    EXPECT_TRUE(ok);
    EXPECT_EQ(g_allocations.load(), 0)
        << "heap allocations in steady-state runs with " << threads << " threads";
  }
}

// With 2 threads the first thread_tuning_runs runs time the model on the calling thread alone and on
// both; afterwards the plan reports the choice. Every run's output is the same bit for bit; with tuning
// off the plan never reports one (it always uses every thread).
TEST(Session, ThreadTuningPicksAThreadCountAndKeepsResults) {
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test", 8);
  ASSERT_TRUE(ds.is_ok());
  const std::vector<Tensor> x = {ds->images};
  for (int runs : {0, 4}) {
    SessionOptions so;
    so.threads = 2;
    so.thread_tuning_runs = runs;
    auto s = load_fmnist(so);
    ASSERT_TRUE(s);
    std::vector<float> first;
    for (int i = 0; i < 6; ++i) {
      auto out = s->run(x);
      ASSERT_TRUE(out.is_ok()) << out.status().to_string();
      const Tensor& y = (*out)[0];
      std::vector<float> got(y.data<float>(), y.data<float>() + y.numel());
      if (i == 0) first = got;
      EXPECT_EQ(got, first) << "run " << i;
      const int used = s->plan_info().threads_used;
      if (runs == 0 || i < runs - 1)
        EXPECT_EQ(used, 0) << "run " << i;
      else
        EXPECT_TRUE(used == 1 || used == 2) << "run " << i << ": " << used;
    }
  }
}

TEST(Session, ArenaReusesMemoryAcrossLifetimes) {
  auto s = load_fmnist();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->prepare({{16, 1, 28, 28}}).is_ok());
  const PlanInfo info = s->plan_info();
  EXPECT_GT(info.arena_bytes, 0u);
  EXPECT_LT(info.arena_bytes, info.naive_bytes);  // a chain of ops reuses dead buffers
  EXPECT_EQ(info.dynamic_nodes, 0);
}

// Concat in place (runtime/plan.cpp): the inputs are computed straight into their slices of the output
// and the Concat runs nothing, unless an input is read after it, is a graph input, appears twice, or the
// slices are not contiguous. Every case gives the plain result.
TEST(Session, ConcatInPlaceOnlyWhereItIsSafe) {
  struct Case {
    const char* what;
    bool elided;
  };
  const Case cases[] = {{"two computed inputs", true},
                        {"an input read after the concat", false},
                        {"a graph input", false},
                        {"the same input twice", false},
                        {"slices not contiguous (axis 2)", false}};
  std::vector<float> xv(4 * 8 * 8);
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(static_cast<int>(i % 11) - 5) * 0.5f;
  const Tensor x = test::F({1, 4, 8, 8}, xv);
  auto relu = [](float v) { return v > 0 ? v : 0.f; };
  auto sigmoid = [](float v) { return 1.f / (1.f + std::exp(-v)); };
  for (int k = 0; k < 5; ++k) {
    test::GraphBuilder b;
    const std::string in = b.input("x", {1, 4, 8, 8});
    const std::string a = b.node("Relu", {in});
    const std::string s = b.node("Sigmoid", {in});
    const std::vector<std::string> parts = k == 2   ? std::vector{in, a}
                                           : k == 3 ? std::vector{a, a}
                                                    : std::vector{a, s};
    const int64_t axis = k == 4 ? 2 : 1;
    const std::string y = b.node("Concat", parts, {{"axis", axis}});
    b.output(y, axis == 1 ? std::vector<int64_t>{1, 8, 8, 8} : std::vector<int64_t>{1, 4, 16, 8});
    if (k == 1) b.output(b.node("Add", {a, a}), {1, 4, 8, 8});  // not in place: reads a twice
    SessionOptions so;
    so.optimization = OptLevel::kNone;
    auto sess = Session::load_from_memory(b.bytes(), so);
    ASSERT_TRUE(sess.is_ok()) << sess.status().to_string();
    auto out = (*sess)->run({x});
    ASSERT_TRUE(out.is_ok()) << out.status().to_string();
    const float* yd = (*out)[0].data<float>();
    for (int64_t c = 0; c < 4; ++c)  // part p of channel c holds element e of the part's tensor
      for (int64_t p = 0; p < 2; ++p)
        for (int64_t e = 0; e < 64; ++e) {
          const float v = xv[static_cast<size_t>(c * 64 + e)];
          const float want = parts[static_cast<size_t>(p)] == in  ? v
                             : parts[static_cast<size_t>(p)] == a ? relu(v)
                                                                  : sigmoid(v);
          const int64_t at = axis == 1 ? (p * 4 + c) * 64 + e : (c * 2 + p) * 64 + e;
          ASSERT_FLOAT_EQ(yd[at], want) << cases[k].what << " at " << at;
        }
    if (k == 1) {
      for (int64_t i = 0; i < 256; ++i)
        ASSERT_FLOAT_EQ((*out)[1].data<float>()[i], 2 * relu(xv[static_cast<size_t>(i)]));
    }
    bool elided = false;
    for (const auto& [node, kernel] : Session::Impl::of(**sess).current->kernel_choices())
      elided = elided || kernel == "in place";
    EXPECT_EQ(elided, cases[k].elided) << cases[k].what;
  }
}

TEST(Session, ReplansPerShapeAndCaches) {
  auto s = load_fmnist();
  ASSERT_TRUE(s);
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test", 4);
  ASSERT_TRUE(ds.is_ok());
  Tensor four = ds->images;
  Tensor one = four.reshaped({1, 1, 28, 28});
  auto a = s->run({four});
  ASSERT_TRUE(a.is_ok());
  std::vector<float> first_row((*a)[0].data<float>(), (*a)[0].data<float>() + 10);
  auto b = s->run({one});
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ((*b)[0].shape(), (Shape{1, 10}));
  for (int k = 0; k < 10; ++k) EXPECT_FLOAT_EQ((*b)[0].data<float>()[k], first_row[k]);
  ASSERT_TRUE(s->run({four}).is_ok());
}

// Runs 1 then 4 Fashion-MNIST sample images through `s`: the first plan packs at least `min_packs`
// tensors, the second packs nothing again and reuses every one of them, and gives the same logits.
void expect_second_batch_size_repacks_nothing(Session& s, size_t min_packs) {
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test", 4);
  ASSERT_TRUE(ds.is_ok());
  const Session::Impl& impl = Session::Impl::of(s);
  auto a = s.run({ds->images.reshaped({1, 1, 28, 28})});
  ASSERT_TRUE(a.is_ok());
  std::vector<float> alone((*a)[0].data<float>(), (*a)[0].data<float>() + 10);
  const size_t built = impl.packs->builds();
  EXPECT_GE(built, min_packs);
  EXPECT_EQ(impl.packs->reuses(), 0u);
  auto b = s.run({ds->images});
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(impl.plans.size(), 2u);
  EXPECT_EQ(impl.packs->builds(), built);
  EXPECT_EQ(impl.packs->reuses(), built);
  for (int k = 0; k < 10; ++k) EXPECT_FLOAT_EQ((*b)[0].data<float>()[k], alone[k]);
}

// Plans for different batch sizes must share packed weights (kernels/pack_cache.h): the second plan
// packs nothing again, and every packing kernel in it reuses the first plan's data. Winograd's mode is
// pinned because it may otherwise differ between batch sizes (a different layout is packed anew).
TEST(Session, PlansForDifferentBatchSizesSharePackedWeights) {
  if (!cpu_has(Isa::kAvx2Fma)) GTEST_SKIP() << "the packing kernels need AVX2";
  winograd_set_test_options({.accept_any_size = false, .mode = 0});
  auto s = load_fmnist();
  ASSERT_TRUE(s);
  expect_second_batch_size_repacks_nothing(*s, 2);  // at least a convolution and the classifier's Gemm
  winograd_set_test_options({});
}

// The same for an int8 model: the QLinearConv kernels (the VNNI or AVX2 tiles) pack once per session.
TEST(Session, Int8PlansForDifferentBatchSizesSharePackedWeights) {
  if (!cpu_has(Isa::kAvx2Fma)) GTEST_SKIP() << "the int8 tile kernels need AVX2";
  const std::string q =
      (std::filesystem::temp_directory_path() / ("verge_int8_pack_" + std::to_string(::getpid()) + ".onnx"))
          .string();
  auto [code, text] =
      test::verge_cli("quantize " + test::test_data("fmnist_cnn.onnx") + " -o " + q + " --calib " +
                      test::test_data("fmnist-sample") + " --calib-split test --calib-size 64");
  ASSERT_EQ(code, 0) << text;
  auto s = Session::load(q, {});
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  expect_second_batch_size_repacks_nothing(**s, 4);  // its four QLinearConv (two convolutions, two Gemms)
  std::filesystem::remove(q);
}

// The plans of a session share one arena sized by the largest; a plan built before the arena grew
// re-points its views and still computes the same result.
TEST(Session, PlansShareOneArena) {
  auto s = load_fmnist();
  ASSERT_TRUE(s);
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test", 4);
  ASSERT_TRUE(ds.is_ok());
  Tensor four = ds->images;
  Tensor one = four.reshaped({1, 1, 28, 28});
  auto a = s->run({one});
  ASSERT_TRUE(a.is_ok());
  std::vector<float> alone((*a)[0].data<float>(), (*a)[0].data<float>() + 10);
  const size_t small = s->plan_info().arena_bytes;
  ASSERT_TRUE(s->run({four}).is_ok());
  const size_t large = s->plan_info().arena_bytes;
  EXPECT_GT(large, small);
  EXPECT_EQ(Session::Impl::of(*s).arena.bytes, large);
  auto again = s->run({one});
  ASSERT_TRUE(again.is_ok());
  for (int k = 0; k < 10; ++k) EXPECT_FLOAT_EQ((*again)[0].data<float>()[k], alone[k]);
  const SharedArena& arena = Session::Impl::of(*s).arena;
  EXPECT_EQ(arena.bytes, large);
  const auto* base = static_cast<const char*>(arena.buffer.get());
  const auto* out = static_cast<const char*>((*again)[0].raw());
  EXPECT_TRUE(out >= base && out < base + large) << "the small plan's output is not in the shared arena";
}

TEST(Session, RejectsWrongInputs) {
  auto s = load_fmnist();
  ASSERT_TRUE(s);
  Tensor wrong_dtype = Tensor::allocate(DType::kFloat64, {1, 1, 28, 28}).value();
  auto r = s->run({wrong_dtype});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "input 'image' has dtype float64; the model expects float32");
  Tensor wrong_shape = Tensor::allocate(DType::kFloat32, {1, 1, 28, 27}).value();
  r = s->run({wrong_shape});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "input 'image' has shape 1x1x28x27; the model expects batchx1x28x28 (dimension 3 must be 28)");
  r = s->run({});
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "the model has 1 inputs; got 0");
}

TEST(Session, BoolInputsMustHoldZeroOrOne) {
  test::OpTest t("Not");
  t.input("X", test::B({2}, {true, false})).output("Y", test::B({2}, {false, true}));
  auto s = Session::load_from_memory(t.model_bytes());
  ASSERT_TRUE(s.is_ok());
  Tensor x = Tensor::allocate(DType::kBool, {2}).value();
  x.data<uint8_t>()[0] = 7;
  auto r = (*s)->run({x});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("bool but holds byte 7"), std::string::npos);
}

TEST(Session, DynamicShapeNodesRunAtRunTime) {
  // Reshape whose target shape is a runtime input: the plan defers it and runs it dynamically.
  test::OpTest("Reshape")
      .input("data", test::F({2, 3}, {1, 2, 3, 4, 5, 6}))
      .input("shape", test::I64({2}, {3, 2}))
      .output("reshaped", test::F({3, 2}, {1, 2, 3, 4, 5, 6}))
      .run();
}

TEST(Session, ThreadsMustBeInRange) {
  SessionOptions so;
  so.threads = 0;
  auto s = Session::load(test::test_data("fmnist_cnn.onnx"), so);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace verge
