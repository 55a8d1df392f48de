// A fixed-size thread pool for data-parallel loops inside one op.
//
// - ThreadPool(n) runs loops on n threads in total: the calling thread plus n-1 workers (n = 1: no
//   workers, everything runs inline).
// - Idle workers spin for a short, bounded time after a loop (to catch the next op's loop cheaply) and
//   then sleep on a condition variable: an idle pool never busy-waits, which matters on 2-core devices
//   where a spinning pool starves every other process.
// - While a ThreadPool::Hot scope is alive (a session holds one for the length of a run), idle workers
//   and the waiting caller spin without that bound: between two nodes a worker can sit idle for longer
//   than the bounded spin (a serial node, an unbalanced tail) and a sleeping worker costs a wake-up
//   (measured on the 2-vCPU VM: an empty loop costs ~19 us from sleep, ~1.4 us from a spin). The pool
//   goes back to sleeping once the run ends (ORT's EnableSpinning / DisableSpinning around Run does the
//   same).
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
  // Thread t owns the t-th contiguous block of [0, n) and runs it front to back in chunks; a thread
  // whose block is done takes chunks from the back of the others' blocks. So a kernel that orders its
  // work spatially has each thread work on the same part of a tensor in consecutive nodes, while a slower
  // thread still gets less work (resnet18 int8 at 2 threads on 2 vCPUs that share no cache: 1-6% faster
  // than chunks handed out first-come, about the size of this VM's run-to-run noise).
  void parallel_for(int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body);

  // Inside a parallel_for body: the running thread's index in [0, num_threads()) (0 is the caller);
  // outside any loop: 0. Kernels index per-thread scratch with it ("slot = thread"): a thread reuses the
  // same scratch in every loop, so it stays in that core's cache (slots claimed first-free moved between
  // the 2 vCPUs here, and every write to a slot the other core had used paid a cross-core transfer).
  static int thread_index();

  // Keeps the pool spinning while alive (nests; a null pool is allowed and does nothing).
  class Hot {
   public:
    explicit Hot(ThreadPool* pool);
    ~Hot();
    Hot(const Hot&) = delete;
    Hot& operator=(const Hot&) = delete;

   private:
    ThreadPool* pool_;
  };

 private:
  void worker_loop(int index);
  void run_ranges(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_cv_;
  std::condition_variable done_cv_;
  bool stop_ = false;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> hot_{0};  // live Hot scopes

  // The current loop (valid while pending_ > 0).
  FunctionRef<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 1;
  struct alignas(64) Block {
    std::atomic<uint64_t> range{0};  // (front << 32) | back of the block's items not yet taken
  };
  std::unique_ptr<Block[]> blocks_;  // one per thread
  std::atomic<int> pending_{0};
};

// Splits [0, n) evenly over pool threads (or runs inline when pool is null / single-threaded).
void parallel_for(ThreadPool* pool, int64_t n, int64_t grain, FunctionRef<void(int64_t, int64_t)> body);

}  // namespace verge
