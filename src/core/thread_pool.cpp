#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VERGE_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define VERGE_CPU_RELAX() asm volatile("yield")
#else
#define VERGE_CPU_RELAX() ((void)0)
#endif

namespace verge {
namespace {
thread_local bool t_inside_pool_loop = false;
thread_local int t_thread_index = 0;  // within a running loop: 0 the caller, 1.. the workers
// Bounded spin before sleeping: long enough to bridge consecutive ops, short enough not to starve.
constexpr auto kSpinTime = std::chrono::microseconds(50);
}  // namespace

ThreadPool::ThreadPool(int num_threads)
    : blocks_(std::make_unique<Block[]>(static_cast<size_t>(std::max(num_threads, 1)))) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

namespace {
constexpr uint64_t pack_range(int64_t front, int64_t back) {
  return (static_cast<uint64_t>(front) << 32) | static_cast<uint64_t>(back);
}
}  // namespace

void ThreadPool::run_ranges(int index) {
  const bool was_inside = t_inside_pool_loop;
  const int was_index = t_thread_index;
  t_inside_pool_loop = true;
  t_thread_index = index;
  const int threads = num_threads();
  // The own block from the front, then the others' from the back.
  for (int k = 0; k < threads; ++k) {
    const bool own = k == 0;
    std::atomic<uint64_t>& range = blocks_[(index + k) % threads].range;
    for (;;) {
      uint64_t cur = range.load(std::memory_order_relaxed);
      int64_t front = static_cast<int64_t>(cur >> 32), back = static_cast<int64_t>(cur & 0xffffffffu);
      if (front >= back) break;
      const int64_t chunk = own ? front : back - 1;
      if (!range.compare_exchange_weak(cur, own ? pack_range(front + 1, back) : pack_range(front, back - 1),
                                       std::memory_order_relaxed))
        continue;
      (*body_)(chunk * chunk_, std::min(n_, (chunk + 1) * chunk_));
    }
  }
  t_inside_pool_loop = was_inside;
  t_thread_index = was_index;
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    while (generation_.load(std::memory_order_acquire) == seen &&
           (hot_.load(std::memory_order_relaxed) > 0 || std::chrono::steady_clock::now() < spin_until))
      VERGE_CPU_RELAX();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      wake_cv_.wait(lk, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    run_ranges(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (workers_.empty() || t_inside_pool_loop || n <= grain) {
    body(0, n);
    return;
  }
  const int64_t threads = num_threads();
  // About 4 ranges per thread for load balance, never below the grain.
  chunk_ = std::max(grain, (n + threads * 4 - 1) / (threads * 4));
  body_ = &body;
  n_ = n;
  const int64_t chunks = (n + chunk_ - 1) / chunk_;  // at most 4 per thread + 1
  for (int64_t t = 0; t < threads; ++t)
    blocks_[t].range.store(pack_range(chunks * t / threads, chunks * (t + 1) / threads),
                           std::memory_order_relaxed);
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  run_ranges(0);
  const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
  while (pending_.load(std::memory_order_acquire) != 0 &&
         (hot_.load(std::memory_order_relaxed) > 0 || std::chrono::steady_clock::now() < spin_until))
    VERGE_CPU_RELAX();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  body_ = nullptr;
}

ThreadPool::Hot::Hot(ThreadPool* pool) : pool_(pool) {
  if (pool_ != nullptr) pool_->hot_.fetch_add(1, std::memory_order_relaxed);
}

ThreadPool::Hot::~Hot() {
  if (pool_ != nullptr) pool_->hot_.fetch_sub(1, std::memory_order_relaxed);
}

void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body) {
  if (pool == nullptr) {
    if (n > 0) body(0, n);
    return;
  }
  pool->parallel_for(n, grain, body);
}

int ThreadPool::thread_index() { return t_thread_index; }

}  // namespace verge
