#include "core/core_latency.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace verge {

namespace {
bool pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}
}  // namespace

std::optional<CoreRoundTrip> measure_core_round_trip(int round_trips) {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof(mask), &mask) != 0) return std::nullopt;
  int cpus[2], found = 0;
  for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
    if (CPU_ISSET(c, &mask)) cpus[found++] = c;
  if (found < 2 || round_trips < 1) return std::nullopt;

  constexpr int kBatches = 16;
  const int per_batch = std::max(1, round_trips / kBatches);
  alignas(64) std::atomic<int> ball{0};
  std::atomic<int> pinned{0}, failed{0};  // both threads pin first; neither spins unless both succeeded
  auto pin_and_wait = [&](int cpu) {
    (pin_to(cpu) ? pinned : failed).fetch_add(1);
    while (pinned.load() + failed.load() < 2) std::this_thread::yield();
    return failed.load() == 0;
  };
  std::vector<double> batch_ns;
  std::thread responder([&] {
    if (!pin_and_wait(cpus[1])) return;
    for (int i = 0; i < kBatches * per_batch; ++i) {  // answers every odd value with the next even one
      int v;
      while (((v = ball.load(std::memory_order_acquire)) & 1) == 0) {
      }
      ball.store(v + 1, std::memory_order_release);
    }
  });
  std::thread initiator([&] {
    if (!pin_and_wait(cpus[0])) return;
    int v = 0;
    for (int b = 0; b < kBatches; ++b) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < per_batch; ++i) {
        ball.store(v + 1, std::memory_order_release);
        while (ball.load(std::memory_order_acquire) != v + 2) {
        }
        v += 2;
      }
      const auto t1 = std::chrono::steady_clock::now();
      batch_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / per_batch);
    }
  });
  initiator.join();
  responder.join();
  if (failed.load() != 0) return std::nullopt;
  std::nth_element(batch_ns.begin(), batch_ns.begin() + kBatches / 2, batch_ns.end());
  return CoreRoundTrip{cpus[0], cpus[1], batch_ns[kBatches / 2]};
}

}  // namespace verge
