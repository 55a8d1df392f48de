#include <fmt/format.h>
#include <sched.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/core_latency.h"
#include "core/cpu_features.h"

namespace verge::cli {

Action add_sysinfo(CLI::App& app) {
  struct Opts {
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand(
      "sysinfo",
      "What this machine gives Verge: CPU, the kernel ISA it will pick, usable CPUs, and the "
      "cross-CPU round trip that multi-threaded latency depends on");
  c->add_flag("--json", o->json, "print one JSON object as the last line");
  return [o]() -> int {
    const CpuFeatures& f = cpu_features();
    cpu_set_t mask;
    const int cpus = sched_getaffinity(0, sizeof(mask), &mask) == 0 ? CPU_COUNT(&mask) : 0;
    const auto rtt = measure_core_round_trip();
    fmt::print(
        "cpu        {}\nkernels    {} (avx2 {}, avx512 {}, vnni {}, bf16 {}, amx-int8 {})\nusable     {} "
        "CPUs\n",
        f.brand, isa_name(best_isa()), f.avx2, f.avx512f, f.avx512_vnni, f.avx512_bf16, f.amx_int8, cpus);
    if (rtt) fmt::print("core RTT   {:.0f} ns (cpu{} <-> cpu{})\n", rtt->ns, rtt->cpu_a, rtt->cpu_b);
    if (o->json) {
      nlohmann::json j = {{"cpu", f.brand},
                          {"isa", isa_name(best_isa())},
                          {"avx512_vnni", f.avx512_vnni},
                          {"avx512_bf16", f.avx512_bf16},
                          {"amx_int8", f.amx_int8},
                          {"cpus", cpus}};
      if (rtt) j["core_rtt_ns"] = rtt->ns;
      fmt::print("{}\n", j.dump());
    }
    return 0;
  };
}

}  // namespace verge::cli
