// Core types: Status, dtypes and half-precision conversion, Tensor, shapes, npy/IDX I/O, thread pool.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/core_latency.h"
#include "core/memory.h"
#include "core/thread_pool.h"
#include "io/file.h"
#include "io/idx.h"
#include "io/npy.h"
#include "op_test.h"
#include "verge/tensor.h"

namespace verge {
namespace {

TEST(Core, StatusContextAndCodes) {
  Status s = Status::invalid_model("bad pads").with_context("node 'c1' (Conv)");
  EXPECT_EQ(s.code(), StatusCode::kInvalidModel);
  EXPECT_EQ(s.message(), "node 'c1' (Conv): bad pads");
  EXPECT_EQ(s.to_string(), "InvalidModel: node 'c1' (Conv): bad pads");
  EXPECT_TRUE(Status::ok().with_context("x").is_ok());
}

TEST(Core, Float16RoundTripsEveryValue) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = float16_t::to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float16_t::from_float(f), b) << "bits " << b;
  }
}

TEST(Core, Float16RoundsToNearestEven) {
  EXPECT_EQ(float(float16_t(1.0f + 1.0f / 2048)), 1.0f);                // halfway: even (down)
  EXPECT_EQ(float(float16_t(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);  // halfway: even (up)
  EXPECT_EQ(float(float16_t(65520.f)), INFINITY);                       // rounds past the max
  EXPECT_EQ(float(float16_t(65519.f)), 65504.f);
  EXPECT_EQ(float(float16_t(5.96046448e-08f)), 5.96046448e-08f);  // smallest subnormal
  EXPECT_EQ(float(float16_t(2.98e-08f)), 0.f);                    // below half of it
  EXPECT_TRUE(std::isnan(float(float16_t(NAN))));
}

TEST(Core, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(float(bfloat16_t(1.00390625f)), 1.0f);  // exactly halfway between 1 and 1.0078125 -> even
  EXPECT_EQ(float(bfloat16_t(1.01171875f)), 1.015625f);
  EXPECT_TRUE(std::isnan(float(bfloat16_t(NAN))));
}

TEST(Core, ParseShape) {
  EXPECT_EQ(*parse_shape("1x3x224x224"), (Shape{1, 3, 224, 224}));
  EXPECT_EQ(*parse_shape("2,5"), (Shape{2, 5}));
  EXPECT_FALSE(parse_shape("1x-3").is_ok());
  EXPECT_FALSE(parse_shape("abc").is_ok());
}

TEST(Core, AllocateRejectsOverflow) {
  auto t = Tensor::allocate(DType::kFloat32, {int64_t{1} << 40, int64_t{1} << 40});
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("too large"), std::string::npos);
}

TEST(Core, NpyRoundTrip) {
  const std::string path = (std::filesystem::temp_directory_path() / "verge_core_test.npy").string();
  for (const Tensor& t : {test::F({2, 3}, {1, 2, 3, 4, 5, 6}), test::I64({4}, {1, -2, 3, -4}),
                          test::B({}, {true}), test::H({2}, {0.5f, -2.f}), test::U8({0, 3}, {})}) {
    ASSERT_TRUE(write_npy(t, path).is_ok());
    auto r = read_npy(path);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    EXPECT_EQ(r->dtype(), t.dtype());
    EXPECT_EQ(r->shape(), t.shape());
    EXPECT_EQ(std::memcmp(r->raw(), t.raw(), t.nbytes()), 0);
  }
}

TEST(Core, NpyRejectsCorruptFiles) {
  std::string good = serialize_npy(test::F({2, 2}, {1, 2, 3, 4}));
  EXPECT_FALSE(parse_npy(good.substr(0, good.size() - 3), "x.npy").is_ok());  // truncated data
  EXPECT_FALSE(parse_npy("not numpy", "x.npy").is_ok());
  std::string bad_dtype = good;
  bad_dtype.replace(bad_dtype.find("<f4"), 3, "<c8");
  auto r = parse_npy(bad_dtype, "x.npy");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("unsupported .npy dtype '<c8'"), std::string::npos)
      << r.status().message();
}

TEST(Core, IdxDatasetLoads) {
  auto ds = load_idx_dataset(test::test_data("fmnist-sample"), "test");
  ASSERT_TRUE(ds.is_ok()) << ds.status().to_string();
  EXPECT_EQ(ds->images.shape(), (Shape{1000, 1, 28, 28}));
  EXPECT_EQ(ds->labels.size(), 1000u);
  EXPECT_EQ(ds->labels[0], 9);  // the first Fashion-MNIST test image is an ankle boot
  float mx = 0;
  for (float v : ds->images.values<float>()) mx = std::max(mx, v);
  EXPECT_LE(mx, 1.0f);
  EXPECT_GT(mx, 0.9f);
  EXPECT_FALSE(load_idx_dataset(test::test_data("fmnist-sample"), "train").is_ok());
}

TEST(Core, SanitizeFileName) { EXPECT_EQ(sanitize_file_name("out:0/logits v2"), "out_0_logits_v2"); }

// The smaps entry (VMA) holding address p: its "THPeligible" flag, or -1 if not found.
int thp_eligible(const void* p) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  const auto a = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  while (std::getline(f, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find('-'))
      inside = lo <= a && a < hi;
    else if (inside && line.rfind("THPeligible:", 0) == 0)
      return std::atoi(line.c_str() + 12);
  }
  return -1;
}

TEST(Memory, LargeBuffersAreHugePageAlignedAndAdvised) {
  void* small = allocate_aligned(1000);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  void* zero = allocate_aligned(0);
  ASSERT_NE(zero, nullptr);
  EXPECT_NE(zero, small);
  const size_t big_bytes = 3 * kHugePageBytes + 123;
  void* big = allocate_aligned(big_bytes);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % kHugePageBytes, 0u);
  std::memset(big, 1, big_bytes);
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(mode, modes);
  if (modes.find("[never]") == std::string::npos && !modes.empty()) {  // THP available: the advice took
    EXPECT_EQ(thp_eligible(big), 1) << modes;
  }
  LargeVector<float> v(kHugePageBytes, 2.f);  // 8 MiB through the allocator
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kHugePageBytes, 0u);
  EXPECT_EQ(v.back(), 2.f);
  free_aligned(small);
  free_aligned(zero);
  free_aligned(big);
}

TEST(CoreLatency, MeasuresTwoDistinctCpusAndNeedsTwo) {
  cpu_set_t mask;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  if (CPU_COUNT(&mask) >= 2) {
    auto rtt = measure_core_round_trip(2000);
    ASSERT_TRUE(rtt.has_value());
    EXPECT_NE(rtt->cpu_a, rtt->cpu_b);
    EXPECT_TRUE(CPU_ISSET(rtt->cpu_a, &mask) && CPU_ISSET(rtt->cpu_b, &mask));
    EXPECT_GT(rtt->ns, 0.0);
  }
  // A thread confined to one CPU has no pair to measure (and must not spin two threads on one CPU).
  std::optional<CoreRoundTrip> single;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) {
        CPU_SET(c, &one);
        break;
      }
    ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(one), &one), 0);
    single = measure_core_round_trip(2000);
  });
  t.join();
  EXPECT_FALSE(single.has_value());
}

TEST(ThreadPool, CoversRangeExactlyOnce) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 1000, 100003}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, NestedLoopRunsInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.parallel_for(10, 1, [&](int64_t b2, int64_t e2) { sum += (e2 - b2); });
  });
  EXPECT_EQ(sum.load(), 80);
}

// Ranges running at the same time have different thread indexes in [0, threads) (kernels index their
// per-thread scratch with it); outside a loop the index is 0.
TEST(ThreadPool, ThreadIndexIsUniqueAmongRunningRanges) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> busy(static_cast<size_t>(threads));
    std::atomic<int> bad{0};
    for (int rep = 0; rep < 50; ++rep)
      pool.parallel_for(64, 1, [&](int64_t, int64_t) {
        const int t = ThreadPool::thread_index();
        if (t < 0 || t >= threads || busy[static_cast<size_t>(t)].fetch_add(1) != 0) bad.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        busy[static_cast<size_t>(t)].fetch_sub(1);
      });
    EXPECT_EQ(bad.load(), 0) << threads << " threads";
    EXPECT_EQ(ThreadPool::thread_index(), 0);
  }
}

// Each thread starts on its own block: the first range thread t runs begins at t * n / threads (in
// chunks), so consecutive loops over the same spatial order give thread t the same part.
TEST(ThreadPool, ThreadsStartOnTheirOwnBlock) {
  ThreadPool pool(2);
  std::atomic<int64_t> first[2] = {-1, -1};
  pool.parallel_for(800, 1, [&](int64_t b, int64_t) {
    int64_t none = -1;
    first[ThreadPool::thread_index()].compare_exchange_strong(none, b);
  });
  EXPECT_EQ(first[0].load(), 0);
  // The worker may wake after the caller finished its block and took the worker's from the back; when
  // it did run a range of its own, the first one was the front of its block.
  if (first[1].load() >= 0) EXPECT_EQ(first[1].load(), 400);
}

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// An idle pool must sleep, not spin: over 300 ms of idleness its 3 workers may burn only a sliver of CPU
// (a spinning pool would burn ~900 ms here).
TEST(ThreadPool, IdlePoolDoesNotBurnCpu) {
  ThreadPool pool(4);
  pool.parallel_for(1000, 1, [](int64_t, int64_t) {});
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = process_cpu_seconds() - before;
  EXPECT_LT(used, 0.05) << "idle pool used " << used << " s of CPU in 0.3 s";
}

// A Hot scope keeps the workers spinning only while it lives: after it ends the pool sleeps again.
TEST(ThreadPool, PoolSleepsAgainAfterHotScope) {
  ThreadPool pool(2);
  {
    const ThreadPool::Hot hot(&pool);
    pool.parallel_for(1000, 1, [](int64_t, int64_t) {});
    const double before = process_cpu_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_GT(process_cpu_seconds() - before, 0.02) << "the worker should spin while hot";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = process_cpu_seconds() - before;
  EXPECT_LT(used, 0.05) << "pool used " << used << " s of CPU in 0.3 s after its Hot scope ended";
}

}  // namespace
}  // namespace verge
