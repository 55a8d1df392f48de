// A fixed-size thread pool for data-parallel loops inside one op.
//
// - ThreadPool(n) runs loops on n threads in total: the calling thread plus n-1 workers (n = 1: no
//   workers, everything runs inline).
// - Idle workers spin for a short, bounded time after a loop (to catch the next op's loop cheaply) and
//   then sleep on a condition variable: an idle pool never busy-waits, which matters on 2-core devices
//   where a spinning pool starves every other process.
// - parallel_for is not reentrant: a call from inside a running loop body executes inline.
// - One loop at a time per pool (sessions run nodes sequentially); not for concurrent callers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/function_ref.h"

namespace verge {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls body(begin, end) over disjoint ranges covering [0, n), each at least `grain` long (except the
  // last), from up to num_threads() threads. Returns when every range is done.
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body);

 private:
  void worker_loop();
  void run_ranges();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_cv_;
  std::condition_variable done_cv_;
  bool stop_ = false;
  std::atomic<uint64_t> generation_{0};

  // The current loop (valid while pending_ > 0).
  FunctionRef<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 1;
  std::atomic<int64_t> next_{0};
  std::atomic<int> pending_{0};
};

// Splits [0, n) evenly over pool threads (or runs inline when pool is null / single-threaded).
void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body);

// Per-thread scratch for parallel_for bodies: a kernel sizes its scratch for one slot per pool thread
// (reset at prepare) and each running range holds a free slot while it runs:
//   parallel_for(pool, n, 1, [&](int64_t begin, int64_t end) {
//     const ScratchSlots::Claim slot(slots_);
//     char* mine = scratch + slot.index() * slot_bytes; ...
//   });
class ScratchSlots {
 public:
  void reset(int64_t count);  // `count` slots, all free
  int64_t count() const { return count_; }

  class Claim {
   public:
    explicit Claim(ScratchSlots& slots);  // waits for a free slot (at most `count` ranges run at once)
    ~Claim();
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    int64_t index() const { return index_; }

   private:
    ScratchSlots& slots_;
    int64_t index_ = 0;
  };

 private:
  std::unique_ptr<std::atomic<int>[]> busy_;
  int64_t count_ = 0;
};

}  // namespace verge
