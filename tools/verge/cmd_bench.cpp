#include <fmt/format.h>
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "commands.h"
#include "core/core_latency.h"
#include "core/dispatch.h"
#include "verge/session.h"

namespace verge::cli {

namespace {
double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void fill_random(Tensor& t, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  dispatch_all(t.dtype(), [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if constexpr (std::is_same_v<T, bool>)
        p[i] = (rng() & 1) != 0;
      else if constexpr (kIsFloat<T>)
        p[i] = to_storage<T>(u(rng));
      else
        p[i] = static_cast<T>(rng() % 4);
    }
  });
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t idx = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
  return v[idx];
}
}  // namespace

Action add_bench(CLI::App& app) {
  struct Opts {
    std::string model;
    std::vector<std::string> shapes;
    int warmup = 5, runs = 20, gap_us = 0;
    RuntimeFlags runtime;
    bool json = false, profile = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c =
      app.add_subcommand("bench", "Measure latency on random inputs: median/p90/min, load time, peak RSS");
  c->add_option("model", o->model, "ONNX model file")->required();
  c->add_option("--warmup", o->warmup, "untimed runs first")->check(CLI::Range(0, 100000));
  c->add_option("--runs", o->runs, "timed runs")->check(CLI::Range(1, 1000000));
  c->add_option("--gap-us", o->gap_us,
                "sleep this long between timed runs (as a server idles between requests)")
      ->check(CLI::Range(0, 10000000));
  c->add_option("--shape", o->shapes,
                "NAME=1x3x224x224 for inputs with symbolic dims (default: symbolic dims = 1)");
  o->runtime.add_to(c);
  c->add_flag("--json", o->json, "print one JSON object as the last line");
  c->add_flag(
      "--profile", o->profile,
      "time every node and print the time per op type and kernel (with --json: every node in the JSON)");
  return [o]() -> int {
    const SessionOptions so = o->runtime.session_options();
    const auto t0 = std::chrono::steady_clock::now();
    auto session = Session::load(o->model, so);
    if (!session.is_ok()) return report_error(session.status());
    Session& s = **session;
    std::map<std::string, Shape> overrides;
    for (const std::string& kv : o->shapes) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos)
        return report_error(Status::invalid_argument(fmt::format("--shape '{}' must be NAME=DIMS", kv)));
      auto shape = parse_shape(kv.substr(eq + 1));
      if (!shape.is_ok()) return report_error(shape.status());
      overrides[kv.substr(0, eq)] = *shape;
    }
    std::mt19937 rng(42);
    std::vector<Tensor> inputs;
    for (const IoInfo& in : s.inputs()) {
      Shape shape;
      if (auto it = overrides.find(in.name); it != overrides.end()) {
        shape = it->second;
        overrides.erase(it);
      } else {
        if (!in.has_shape)
          return report_error(Status::invalid_argument(
              fmt::format("input '{}' has unknown rank; pass --shape {}=DIMS", in.name, in.name)));
        for (int64_t d : in.shape) shape.push_back(d < 0 ? 1 : d);
      }
      auto t = Tensor::allocate(in.dtype, shape);
      if (!t.is_ok()) return report_error(t.status());
      fill_random(*t, rng);
      inputs.push_back(std::move(t).value());
    }
    if (!overrides.empty())
      return report_error(Status::invalid_argument(
          fmt::format("the model has no input named '{}'", overrides.begin()->first)));
    std::vector<Shape> shapes;
    for (const Tensor& t : inputs) shapes.push_back(t.shape());
    if (Status st = s.prepare(shapes); !st.is_ok()) return report_error(st);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (int i = 0; i < o->warmup; ++i)
      if (auto r = s.run(inputs); !r.is_ok()) return report_error(r.status());
    if (o->profile) s.enable_profiling();
    // Multi-threaded latency depends on where the host placed the vCPUs (core/core_latency.h): record
    // the cross-CPU round trip just before and just after the timed runs.
    std::optional<CoreRoundTrip> rtt_before, rtt_after;
    if (o->runtime.threads >= 2) rtt_before = measure_core_round_trip();
    std::vector<double> ms;
    ms.reserve(static_cast<size_t>(o->runs));
    for (int i = 0; i < o->runs; ++i) {
      if (o->gap_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(o->gap_us));
      const auto a = std::chrono::steady_clock::now();
      auto r = s.run(inputs);
      const auto b = std::chrono::steady_clock::now();
      if (!r.is_ok()) return report_error(r.status());
      ms.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    }
    if (o->runtime.threads >= 2) rtt_after = measure_core_round_trip();
    const double median = percentile(ms, 0.5), p90 = percentile(ms, 0.9);
    const double mn = *std::min_element(ms.begin(), ms.end());
    const double rss = peak_rss_mb();
    const PlanInfo pi = s.plan_info();
    fmt::print("model      {}\nthreads    {}\nkernels    {}\nruns       {} (+{} warmup)\n", o->model,
               o->runtime.threads, o->runtime.kernels, o->runs, o->warmup);
    fmt::print("median     {:.3f} ms\np90        {:.3f} ms\nmin        {:.3f} ms\nload       {:.1f} ms\n",
               median, p90, mn, load_ms);
    fmt::print("arena      {:.2f} MiB (without reuse {:.2f} MiB)\npeak RSS   {:.1f} MiB\n",
               static_cast<double>(pi.arena_bytes) / 1048576.0,
               static_cast<double>(pi.naive_bytes) / 1048576.0, rss);
    if (pi.threads_used > 0 && o->runtime.threads > 1)
      fmt::print("threads    {} used (thread tuning: {} measured faster)\n", pi.threads_used,
                 pi.threads_used == 1 ? "the calling thread alone" : "all threads");
    if (rtt_before && rtt_after)
      fmt::print("core RTT   {:.0f} ns before, {:.0f} ns after (cpu{} <-> cpu{})\n", rtt_before->ns,
                 rtt_after->ns, rtt_before->cpu_a, rtt_before->cpu_b);
    if (o->profile) {
      std::map<std::pair<std::string, std::string>, std::pair<double, int>> by_op;
      double total = 0;
      for (const auto& t : s.profile()) {
        auto& e = by_op[{t.op, t.kernel}];
        e.first += t.seconds;
        ++e.second;
        total += t.seconds;
      }
      std::vector<std::pair<double, std::string>> rows;
      for (const auto& [k, v] : by_op)
        rows.emplace_back(v.first, fmt::format("{:<20} {:<34} {:>4} nodes", k.first, k.second, v.second));
      std::sort(rows.rbegin(), rows.rend());
      fmt::print("profile (per run; {} runs)\n", o->runs);
      for (const auto& [sec, label] : rows)
        fmt::print("  {} {:9.3f} ms {:5.1f}%\n", label, sec * 1e3 / o->runs,
                   100.0 * sec / std::max(total, 1e-12));
      auto nodes = s.profile();
      std::sort(nodes.begin(), nodes.end(),
                [](const auto& a, const auto& b) { return a.seconds > b.seconds; });
      nodes.resize(std::min<size_t>(nodes.size(), 12));
      fmt::print("slowest nodes\n");
      for (const auto& t : nodes)
        fmt::print("  {:<40} {:<20} {:9.3f} ms {:5.1f}%\n", t.node, t.op, t.seconds * 1e3 / o->runs,
                   100.0 * t.seconds / std::max(total, 1e-12));
    }
    if (o->json) {
      nlohmann::json j = {{"model", o->model},
                          {"median_ms", median},
                          {"p90_ms", p90},
                          {"min_ms", mn},
                          {"load_ms", load_ms},
                          {"peak_rss_mb", rss},
                          {"threads", o->runtime.threads},
                          {"runs", o->runs},
                          {"kernels", o->runtime.kernels},
                          {"opt_level", o->runtime.opt_level},
                          {"arena_bytes", pi.arena_bytes}};
      if (o->gap_us > 0) j["gap_us"] = o->gap_us;
      if (rtt_before && rtt_after) j["core_rtt_ns"] = {rtt_before->ns, rtt_after->ns};
      if (pi.threads_used > 0) j["threads_used"] = pi.threads_used;
      if (o->profile) {  // every node in execution order, mean ms per run
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& t : s.profile())
          nodes.push_back(
              {{"node", t.node}, {"op", t.op}, {"kernel", t.kernel}, {"ms", t.seconds * 1e3 / o->runs}});
        j["profile"] = nodes;
      }
      fmt::print("{}\n", j.dump());
    }
    return 0;
  };
}

}  // namespace verge::cli
