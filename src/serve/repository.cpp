#include "serve/repository.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "io/file.h"

namespace verge::serve {
namespace fs = std::filesystem;

bool ModelRepository::valid_model_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Result<std::unique_ptr<ModelRepository>> ModelRepository::open(std::string root, RepositoryOptions options) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    return Status::not_found(fmt::format("model repository '{}' is not a directory", root));
  std::unique_ptr<ModelRepository> r(new ModelRepository());
  r->root_ = std::move(root);
  r->options_ = std::move(options);
  if (!r->options_.read_model)
    r->options_.read_model = [](const std::string& dir) {
      return read_file((fs::path(dir) / "model.onnx").string(), size_t{1} << 32);
    };
  if (!r->options_.log)
    r->options_.log = [](const std::string& m) { fmt::print(stderr, "verge serve: {}\n", m); };
  return r;
}

Result<std::shared_ptr<Model>> ModelRepository::load_from_disk(const std::string& name,
                                                               std::string* version) {
  const fs::path dir = fs::path(root_) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::not_found(fmt::format("no model directory '{}'", dir.string()));
  ModelConfig config;
  const fs::path config_path = dir / "config.pbtxt";
  if (fs::exists(config_path, ec)) {
    VERGE_ASSIGN_OR_RETURN(std::string text, read_file(config_path.string(), size_t{1} << 20));
    VERGE_ASSIGN_OR_RETURN(config, parse_model_config(text, config_path.string()));
    if (!config.name.empty() && config.name != name)
      return Status::invalid_argument(fmt::format("{}: name '{}' differs from the directory name '{}'",
                                                  config_path.string(), config.name, name));
  }
  int64_t best = -1;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string v = e.path().filename().string();
    if (!e.is_directory() || v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), ::isdigit))
      continue;
    if (const int64_t n = std::stoll(v); n > 0 && n > best) best = n;
  }
  if (best < 0)
    return Status::not_found(fmt::format("'{}' has no version directory (expected {}/<N>/model.onnx)",
                                         dir.string(), dir.string()));
  *version = std::to_string(best);
  VERGE_ASSIGN_OR_RETURN(std::string bytes, options_.read_model((dir / *version).string()));
  VERGE_ASSIGN_OR_RETURN(std::unique_ptr<Model> m, Model::create(name, *version, bytes, config));
  return std::shared_ptr<Model>(std::move(m));
}

size_t ModelRepository::load_all() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec))
    if (e.is_directory() && valid_model_name(e.path().filename().string()))
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  size_t loaded = 0;
  for (const auto& n : names) loaded += load(n).is_ok();
  return loaded;
}

Status ModelRepository::load(const std::string& name) {
  if (!valid_model_name(name))
    return Status::invalid_argument(fmt::format("invalid model name '{}' (allowed: [A-Za-z0-9._-])", name));
  std::lock_guard load_lock(load_mu_);
  std::string version;
  auto m = load_from_disk(name, &version);
  std::lock_guard lk(mu_);
  if (!m.is_ok()) {
    if (m.status().code() == StatusCode::kNotFound && !entries_.count(name)) return m.status();
    Entry& e = entries_[name];
    if (e.model) {  // a failed reload keeps the served version
      options_.log(fmt::format("failed to reload model '{}' (still serving version {}): {}", name, e.version,
                               m.status().to_string()));
      return m.status();
    }
    e.version = version;
    e.reason = m.status().message();
    options_.log(fmt::format("failed to load model '{}': {}", name, m.status().to_string()));
    return m.status();
  }
  options_.log(fmt::format("loaded model '{}' version {} ({} instance{}, max_batch_size {})", name, version,
                           (*m)->config().instance_count, (*m)->config().instance_count == 1 ? "" : "s",
                           (*m)->max_batch_size()));
  entries_[name] = Entry{std::move(m).value(), version, ""};
  return Status::ok();
}

Status ModelRepository::unload(const std::string& name) {
  std::lock_guard load_lock(load_mu_);
  std::shared_ptr<Model> old;
  {
    std::lock_guard lk(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end() || !it->second.model)
      return Status::not_found(fmt::format("model '{}' is not loaded", name));
    old = std::move(it->second.model);
    it->second.reason = "unloaded";
  }
  options_.log(fmt::format("unloaded model '{}'", name));
  return Status::ok();  // `old` dies here or with the last request holding it
}

std::vector<ModelIndexEntry> ModelRepository::index() const {
  std::map<std::string, ModelIndexEntry> all;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && valid_model_name(n)) all[n] = {n, "", "UNAVAILABLE", "not loaded"};
  }
  std::lock_guard lk(mu_);
  for (const auto& [n, e] : entries_)
    all[n] = {n, e.version, e.model ? "READY" : "UNAVAILABLE", e.model ? "" : e.reason};
  std::vector<ModelIndexEntry> out;
  for (auto& [n, e] : all) out.push_back(std::move(e));
  return out;
}

Result<std::shared_ptr<Model>> ModelRepository::get(const std::string& name,
                                                    const std::string& version) const {
  std::lock_guard lk(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.model)
    return Status::not_found(fmt::format("unknown model '{}'", name) +
                             (it == entries_.end() ? "" : fmt::format(" ({})", it->second.reason)));
  if (!version.empty() && version != it->second.version)
    return Status::not_found(fmt::format("model '{}' has no version '{}' (serving version {})", name, version,
                                         it->second.version));
  return it->second.model;
}

std::vector<std::shared_ptr<Model>> ModelRepository::ready_models() const {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<Model>> out;
  for (const auto& [n, e] : entries_)
    if (e.model) out.push_back(e.model);
  return out;
}

}  // namespace verge::serve
