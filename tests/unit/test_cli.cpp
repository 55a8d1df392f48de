// The `verge` command-line contracts other tools rely on (inspect --json, run, bench --json,
// conformance output, errors), exercised on the built binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "io/npy.h"
#include "op_test.h"

namespace verge {
namespace {
namespace fs = std::filesystem;

struct Output {
  int code;
  std::string out;
};

Output verge_cli(const std::string& args) {
  const std::string cmd = std::string(VERGE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Output r{-1, ""};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

const std::string kModel = test::test_data("fmnist_cnn.onnx");

TEST(Cli, InspectJson) {
  Output r = verge_cli("inspect --json " + kModel);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(last_line(r.out));
  EXPECT_EQ(j["inputs"][0]["name"], "image");
  EXPECT_EQ(j["inputs"][0]["dtype"], "float32");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json::parse(R"(["batch",1,28,28])"));
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["ops"]["Conv"], 2);
  EXPECT_EQ(j["ops"]["Gemm"], 2);
  // 32*1*9+32 + 64*32*9+64 + 1600*128+128 + 128*10+10
  EXPECT_EQ(j["parameters"], 225034);
  EXPECT_EQ(j["parameter_bytes"], 225034 * 4);
  // conv1 26*26*32*9 + conv2 11*11*64*288 + fc1 1600*128 + fc2 128*10 (batch 1)
  EXPECT_EQ(j["macs"], 194688 + 2230272 + 204800 + 1280);
}

TEST(Cli, RunWritesOutputsAndSummaries) {
  const fs::path dir = fs::temp_directory_path() / ("verge_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string in = (dir / "x.npy").string();
  ASSERT_TRUE(write_npy(Tensor::allocate(DType::kFloat32, {2, 1, 28, 28}).value(), in).is_ok());
  Output r = verge_cli("run " + kModel + " --input image=" + in + " --output-dir " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("logits: float32[2x10] min=", 0), 0u) << r.out;
  auto y = read_npy((dir / "out" / "logits.npy").string());
  ASSERT_TRUE(y.is_ok()) << y.status().to_string();
  EXPECT_EQ(y->shape(), (Shape{2, 10}));
  fs::remove_all(dir);
}

TEST(Cli, RunReportsMissingAndUnknownInputs) {
  Output r = verge_cli("run " + kModel);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("missing --input for 'image' (model inputs: image)"), std::string::npos) << r.out;
  r = verge_cli("run " + kModel + " --input image=/nonexistent.npy");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("/nonexistent.npy"), std::string::npos) << r.out;
}

TEST(Cli, BenchJsonLastLine) {
  Output r = verge_cli("bench " + kModel + " --warmup 1 --runs 3 --json --shape image=1x1x28x28");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(last_line(r.out));
  for (const char* key : {"median_ms", "p90_ms", "min_ms", "load_ms", "peak_rss_mb", "threads", "runs"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["runs"], 3);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["median_ms"].get<double>(), 0.0);
}

TEST(Cli, TwoThreadBenchAndSysinfoReportCoreRoundTrip) {
  Output r = verge_cli("bench " + kModel + " --warmup 1 --runs 3 --threads 2 --json --shape image=1x1x28x28");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(last_line(r.out));
  if (std::thread::hardware_concurrency() >= 2) {  // the probe needs two usable CPUs
    ASSERT_TRUE(j.contains("core_rtt_ns")) << r.out;
    ASSERT_EQ(j["core_rtt_ns"].size(), 2u);
    EXPECT_GT(j["core_rtt_ns"][0].get<double>(), 0.0);
  }
  Output s = verge_cli("sysinfo --json");
  ASSERT_EQ(s.code, 0) << s.out;
  auto k = nlohmann::json::parse(last_line(s.out));
  for (const char* key : {"cpu", "isa", "cpus", "amx_int8"}) EXPECT_TRUE(k.contains(key)) << key;
  EXPECT_GE(k["cpus"].get<int>(), 1);
  // Capped below AMX: no AMX kernels (and no request for tile data).
  ::setenv("VERGE_MAX_ISA", "avx512vnni", 1);
  Output capped = verge_cli("sysinfo --json");
  ::unsetenv("VERGE_MAX_ISA");
  ASSERT_EQ(capped.code, 0) << capped.out;
  auto kc = nlohmann::json::parse(last_line(capped.out));
  EXPECT_FALSE(kc["amx_int8"].get<bool>());
  EXPECT_NE(kc["isa"].get<std::string>(), "amx-int8");
}

TEST(Cli, ConformanceOutputFormat) {
  const std::string node = "/usr/share/libonnx-testdata/data/node/";
  Output r = verge_cli("conformance " + node + "test_relu " + node + "test_add_bcast " + node +
                       "test_lstm_defaults");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("PASS test_relu\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SKIP test_lstm_defaults: not in Verge's op set: LSTM"), std::string::npos) << r.out;
  EXPECT_EQ(last_line(r.out), "2 passed, 0 failed, 1 skipped");
}

TEST(Cli, CorruptModelIsOneClearError) {
  const fs::path bad = fs::temp_directory_path() / ("verge_bad_" + std::to_string(::getpid()) + ".onnx");
  { std::ofstream(bad) << "this is not an onnx model"; }
  Output r = verge_cli("inspect " + bad.string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "error: InvalidModel: " + bad.string() +
                       ": not a valid ONNX model (protobuf parsing failed: truncated or corrupt file)\n");
  fs::remove(bad);
}

}  // namespace
}  // namespace verge
