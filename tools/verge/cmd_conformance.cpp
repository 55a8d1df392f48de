#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "commands.h"
#include "core/compare.h"
#include "import/onnx/importer.h"
#include "import/onnx/tensor_proto.h"
#include "runtime/session_impl.h"

namespace verge::cli {
namespace fs = std::filesystem;

namespace {

Result<std::map<std::string, std::string>> read_exclusions(const std::string& path) {
  std::map<std::string, std::string> ex;
  std::ifstream f(path);
  if (!f) return Status::not_found(fmt::format("cannot open exclusion list '{}'", path));
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find_first_of(" \t");
    std::string name = line.substr(0, sp);
    std::string reason = sp == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", sp));
    if (reason.empty()) return Status::invalid_argument(fmt::format("{}: '{}' has no reason", path, name));
    ex[name] = reason;
  }
  return ex;
}

std::vector<fs::path> sorted_files(const fs::path& dir, std::string_view prefix) {
  std::vector<std::pair<int, fs::path>> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (!n.starts_with(prefix) || !n.ends_with(".pb")) continue;
    v.emplace_back(std::atoi(n.substr(prefix.size()).c_str()), e.path());
  }
  std::sort(v.begin(), v.end());
  std::vector<fs::path> r;
  for (auto& [k, p] : v) r.push_back(p);
  return r;
}

struct CaseResult {
  enum { kPass, kFail, kSkip } kind;
  std::string reason;
};

Result<std::vector<Tensor>> run_dataset(Session& s, const fs::path& ds) {
  std::vector<Tensor> inputs;
  for (const fs::path& p : sorted_files(ds, "input_")) {
    VERGE_ASSIGN_OR_RETURN(Tensor t, onnx_io::read_tensor_pb(p.string()));
    inputs.push_back(std::move(t));
  }
  VERGE_ASSIGN_OR_RETURN(std::span<const Tensor> out, s.run(inputs));
  std::vector<Tensor> copies;
  for (const Tensor& t : out) {
    VERGE_ASSIGN_OR_RETURN(Tensor c, t.clone());
    copies.push_back(std::move(c));
  }
  return copies;
}

CaseResult run_case(const fs::path& dir, const std::map<std::string, std::string>& exclusions,
                    const SessionOptions& so, bool roundtrip) {
  const std::string name = dir.filename().string();
  const auto excluded = exclusions.find(name);
  // Cases using operators outside Verge's op set are skipped; every other case must pass or be excluded.
  auto ops = onnx_io::list_operators((dir / "model.onnx").string());
  if (!ops.is_ok()) return {CaseResult::kFail, ops.status().to_string()};
  std::string unknown;
  for (const std::string& op : *ops) {
    const size_t dot = op.rfind('.');
    const std::string domain = dot == std::string::npos ? "" : op.substr(0, dot);
    if (!find_op(domain, dot == std::string::npos ? op : op.substr(dot + 1)))
      unknown += (unknown.empty() ? "" : ", ") + op;
  }
  if (!unknown.empty()) return {CaseResult::kSkip, "not in Verge's op set: " + unknown};
  if (excluded != exclusions.end()) return {CaseResult::kSkip, "excluded: " + excluded->second};
  auto model = onnx_io::load_model((dir / "model.onnx").string());
  if (!model.is_ok()) return {CaseResult::kFail, model.status().to_string()};
  std::string exported;
  if (roundtrip) {
    auto bytes = onnx_io::save_model_to_bytes(*model);
    if (!bytes.is_ok()) return {CaseResult::kFail, "export: " + bytes.status().to_string()};
    exported = std::move(bytes).value();
  }
  auto session = make_session(std::move(model).value(), so);
  if (!session.is_ok()) return {CaseResult::kFail, session.status().to_string()};
  std::unique_ptr<Session> session2;
  if (roundtrip) {
    auto reimported = onnx_io::load_model_from_bytes(exported, name + " (re-exported)", dir.string());
    if (!reimported.is_ok()) return {CaseResult::kFail, "re-import: " + reimported.status().to_string()};
    auto s2 = make_session(std::move(reimported).value(), so);
    if (!s2.is_ok()) return {CaseResult::kFail, "re-import: " + s2.status().to_string()};
    session2 = std::move(s2).value();
  }
  int datasets = 0;
  std::vector<fs::path> ds_dirs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().starts_with("test_data_set_")) ds_dirs.push_back(e.path());
  std::sort(ds_dirs.begin(), ds_dirs.end());
  for (const fs::path& ds : ds_dirs) {
    ++datasets;
    auto out = run_dataset(**session, ds);
    if (!out.is_ok()) return {CaseResult::kFail, fmt::format("{}: {}", ds.filename().string(), out.status().to_string())};
    const std::vector<fs::path> expected_files = sorted_files(ds, "output_");
    if (expected_files.size() != out->size())
      return {CaseResult::kFail, fmt::format("{} outputs, expected {}", out->size(), expected_files.size())};
    for (size_t k = 0; k < expected_files.size(); ++k) {
      auto expected = onnx_io::read_tensor_pb(expected_files[k].string());
      if (!expected.is_ok()) return {CaseResult::kFail, expected.status().to_string()};
      Comparison c = compare_tensors((*out)[k], *expected);
      if (!c.ok)
        return {CaseResult::kFail, fmt::format("{} output {} ('{}'): {}", ds.filename().string(), k,
                                               (*session)->outputs()[k].name, c.message)};
    }
    if (session2) {
      auto out2 = run_dataset(*session2, ds);
      if (!out2.is_ok()) return {CaseResult::kFail, "re-exported model: " + out2.status().to_string()};
      for (size_t k = 0; k < out->size(); ++k) {
        Comparison c = compare_tensors((*out2)[k], (*out)[k], 0.0, 0.0);
        if (!c.ok) return {CaseResult::kFail, fmt::format("re-exported model output {} differs: {}", k, c.message)};
      }
    }
  }
  if (datasets == 0) return {CaseResult::kFail, "no test_data_set_* directory"};
  return {CaseResult::kPass, ""};
}

}  // namespace

Action add_conformance(CLI::App& app) {
  struct Opts {
    std::vector<std::string> dirs;
    std::string exclude;
    bool roundtrip = false, quiet = false;
    RuntimeFlags runtime;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("conformance", "Run ONNX backend test cases (model.onnx + test_data_set_*/)");
  c->add_option("dirs", o->dirs, "case directories, or directories containing case directories")->required();
  c->add_option("--exclude", o->exclude, "exclusion list: one 'case_name reason' per line");
  o->runtime.add_to(c);
  c->add_flag("--roundtrip", o->roundtrip, "also export each model, re-import it and require identical outputs");
  c->add_flag("--quiet,-q", o->quiet, "print only FAIL lines and the summary");
  return [o]() -> int {
    std::map<std::string, std::string> exclusions;
    if (!o->exclude.empty()) {
      auto ex = read_exclusions(o->exclude);
      if (!ex.is_ok()) return report_error(ex.status());
      exclusions = std::move(ex).value();
    }
    std::vector<fs::path> cases;
    for (const std::string& d : o->dirs) {
      const fs::path p(d);
      if (fs::exists(p / "model.onnx")) {
        cases.push_back(p);
        continue;
      }
      if (!fs::is_directory(p)) return report_error(Status::not_found(fmt::format("'{}' is not a directory", d)));
      std::vector<fs::path> sub;
      for (const auto& e : fs::directory_iterator(p))
        if (fs::exists(e.path() / "model.onnx")) sub.push_back(e.path());
      std::sort(sub.begin(), sub.end());
      cases.insert(cases.end(), sub.begin(), sub.end());
    }
    int pass = 0, fail = 0, skip = 0;
    for (const fs::path& dir : cases) {
      CaseResult r = run_case(dir, exclusions, o->runtime.session_options(), o->roundtrip);
      const std::string name = dir.filename().string();
      switch (r.kind) {
        case CaseResult::kPass:
          ++pass;
          if (!o->quiet) fmt::print("PASS {}\n", name);
          break;
        case CaseResult::kFail:
          ++fail;
          fmt::print("FAIL {}: {}\n", name, r.reason);
          break;
        case CaseResult::kSkip:
          ++skip;
          if (!o->quiet) fmt::print("SKIP {}: {}\n", name, r.reason);
          break;
      }
      std::fflush(stdout);
    }
    fmt::print("{} passed, {} failed, {} skipped\n", pass, fail, skip);
    return fail == 0 ? 0 : 1;
  };
}

}  // namespace verge::cli
