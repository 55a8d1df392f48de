#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "commands.h"
#include "io/file.h"
#include "io/npy.h"
#include "package/package.h"
#include "verge/session.h"

namespace verge::cli {

namespace {
std::string summarize(const Tensor& t) {
  std::string s = fmt::format("{}[{}]", dtype_name(t.dtype()), shape_to_string(t.shape()));
  if (t.numel() == 0) return s + " (empty)";
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t argmax = 0, nan = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = t.get_as_double(i);
    if (std::isnan(v)) {
      ++nan;
      continue;
    }
    if (v > hi) {
      hi = v;
      argmax = i;
    }
    lo = std::min(lo, v);
    sum += v;
  }
  s += fmt::format(" min={:.6g} max={:.6g} mean={:.6g} argmax={}", lo, hi, sum / static_cast<double>(t.numel()), argmax);
  if (nan) s += fmt::format(" nan={}", nan);
  return s;
}

// `verge run --package`: verify and (if encrypted) decrypt in memory, then load from the bytes.
template <class Opts>
Result<std::unique_ptr<Session>> load_from_package(const Opts& o, const SessionOptions& so) {
  if (o.trusted_keys.empty()) return Status::invalid_argument("--package needs --trusted-keys DIR");
  std::optional<package::SymmetricKey> key;
  if (!o.decrypt.empty()) {
    VERGE_ASSIGN_OR_RETURN(key, package::load_symmetric_key(o.decrypt));
  }
  VERGE_ASSIGN_OR_RETURN(package::OpenedPackage pkg, package::open_package(o.package, o.trusted_keys, key));
  const std::string name = o.model.empty() ? "model.onnx" : o.model;
  const package::PackageFile* f = pkg.find(name);
  if (!f) return Status::not_found(fmt::format("package '{}' has no file '{}'", o.package, name));
  return Session::load_from_memory(f->bytes.view(), so);
}
}  // namespace

Action add_run(CLI::App& app) {
  struct Opts {
    std::string model, output_dir, package, trusted_keys, decrypt;
    std::vector<std::string> inputs;
    RuntimeFlags runtime;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("run", "Run a model on .npy / .pb inputs and write its outputs as .npy");
  c->add_option("model", o->model,
                "ONNX model file (or the file's path inside --package; default model.onnx)");
  c->add_option("--package", o->package,
                "load the model from a signed package (docs/packages.md), in memory");
  c->add_option("--trusted-keys", o->trusted_keys, "with --package: directory of trusted *.pub keys");
  c->add_option("--decrypt", o->decrypt, "with --package: AES-256 key file of an encrypted package");
  c->add_option("--input,-i", o->inputs, "NAME=FILE (.npy or ONNX TensorProto .pb); repeat per input");
  c->add_option("--output-dir,-o", o->output_dir, "write each output to DIR/<name>.npy");
  o->runtime.add_to(c);
  return [o]() -> int {
    const SessionOptions so = o->runtime.session_options();
    if (o->model.empty() && o->package.empty())
      return report_error(Status::invalid_argument("give a MODEL file or --package PKG"));
    auto session = o->package.empty() ? Session::load(o->model, so) : load_from_package(*o, so);
    if (!session.is_ok()) return report_error(session.status());
    Session& s = **session;
    std::map<std::string, std::string> given;
    for (const std::string& kv : o->inputs) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return report_error(Status::invalid_argument(fmt::format("--input '{}' must be NAME=FILE", kv)));
      given[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    std::vector<Tensor> tensors;
    for (const IoInfo& in : s.inputs()) {
      auto it = given.find(in.name);
      if (it == given.end()) {
        std::string names;
        for (const IoInfo& x : s.inputs()) names += (names.empty() ? "" : ", ") + x.name;
        return report_error(Status::invalid_argument(fmt::format("missing --input for '{}' (model inputs: {})", in.name, names)));
      }
      auto t = read_tensor_file(it->second);
      if (!t.is_ok()) return report_error(t.status());
      tensors.push_back(std::move(t).value());
      given.erase(it);
    }
    if (!given.empty())
      return report_error(Status::invalid_argument(fmt::format("the model has no input named '{}'", given.begin()->first)));
    auto out = s.run(tensors);
    if (!out.is_ok()) return report_error(out.status());
    if (!o->output_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(o->output_dir, ec);
      if (ec) return report_error(Status::io_error(fmt::format("cannot create '{}': {}", o->output_dir, ec.message())));
    }
    for (size_t k = 0; k < out->size(); ++k) {
      const Tensor& t = (*out)[k];
      const std::string& name = s.outputs()[k].name;
      fmt::print("{}: {}\n", name, summarize(t));
      if (!o->output_dir.empty()) {
        Status st = write_npy(t, (std::filesystem::path(o->output_dir) / (sanitize_file_name(name) + ".npy")).string());
        if (!st.is_ok()) return report_error(st);
      }
    }
    return 0;
  };
}

}  // namespace verge::cli
