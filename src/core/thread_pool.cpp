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
// Bounded spin before sleeping: long enough to bridge consecutive ops, short enough not to starve.
constexpr auto kSpinTime = std::chrono::microseconds(50);
}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_ranges() {
  const bool was_inside = t_inside_pool_loop;
  t_inside_pool_loop = true;
  for (;;) {
    const int64_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (begin >= n_) break;
    (*body_)(begin, std::min(n_, begin + chunk_));
  }
  t_inside_pool_loop = was_inside;
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    while (generation_.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < spin_until)
      VERGE_CPU_RELAX();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lk(mu_);
      wake_cv_.wait(lk, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
      if (stop_) return;
    }
    seen = generation_.load(std::memory_order_acquire);
    run_ranges();
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
  next_.store(0, std::memory_order_relaxed);
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_cv_.notify_all();
  run_ranges();
  const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
  while (pending_.load(std::memory_order_acquire) != 0 && std::chrono::steady_clock::now() < spin_until)
    VERGE_CPU_RELAX();
  if (pending_.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  body_ = nullptr;
}

void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body) {
  if (pool == nullptr) {
    if (n > 0) body(0, n);
    return;
  }
  pool->parallel_for(n, grain, body);
}

void ScratchSlots::reset(int64_t count) {
  count_ = count;
  busy_ = std::make_unique<std::atomic<int>[]>(static_cast<size_t>(count));
  for (int64_t s = 0; s < count; ++s) busy_[s].store(0, std::memory_order_relaxed);
}

ScratchSlots::Claim::Claim(ScratchSlots& slots) : slots_(slots) {
  for (;;)
    for (int64_t s = 0; s < slots.count_; ++s)
      if (slots.busy_[s].load(std::memory_order_relaxed) == 0 &&
          slots.busy_[s].exchange(1, std::memory_order_acquire) == 0) {
        index_ = s;
        return;
      }
}

ScratchSlots::Claim::~Claim() { slots_.busy_[index_].store(0, std::memory_order_release); }

}  // namespace verge
