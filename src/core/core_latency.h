// Cache-line round trip between two CPUs: how fast two threads of this process can hand data to each
// other. On a VM the answer can change while the process runs: the host may place the two vCPUs on
// cores that share an L3 (this project's machine: ~50 ns) or on different CCDs/sockets (~320 ns, and
// every byte one thread writes and the other reads crosses at a few GB/s). Multi-threaded latency
// depends on it, so `verge bench` records it around every multi-threaded measurement and the
// comparison scripts split results by it (docs/performance.md, "2-thread placement").
#pragma once

#include <optional>

namespace verge {

struct CoreRoundTrip {
  int cpu_a = -1, cpu_b = -1;  // the CPUs the two probe threads were pinned to
  double ns = 0;               // median over batches of one round trip (a -> b -> a), nanoseconds
};

// Spawns two short-lived threads pinned to the first two CPUs of this process's affinity mask and
// bounces one cache line between them `round_trips` times (~1 ms at 20000 when the CPUs are far).
// Leaves the caller's own affinity untouched. nullopt when the mask holds fewer than two CPUs or
// pinning is refused.
std::optional<CoreRoundTrip> measure_core_round_trip(int round_trips = 20000);

}  // namespace verge
