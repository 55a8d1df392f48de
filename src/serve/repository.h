// Model repository in Triton's layout:
//
//   DIR/<model>/config.pbtxt          optional (serve/model_config.h)
//   DIR/<model>/<version>/model.onnx  <version> is a positive integer; the highest one is served
//
// Model names are directory names restricted to [A-Za-z0-9._-] (never "." or ".."), so a name taken
// from a URL can never escape DIR.
//
// Model bytes are read through RepositoryOptions::read_model — the single hook where a package verifier
// (signed / encrypted packages, `--require-signed`) plugs in: it receives the version directory and
// returns the plaintext ONNX bytes or an error that makes the model UNAVAILABLE with that reason, while
// every other model keeps serving.
//
// Thread-safety: all methods may be called concurrently. Loads and unloads are serialized; get() never
// waits for a load. A Model stays alive while any request holds its shared_ptr, so unloading never
// cuts off requests in flight.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serve/model.h"

namespace verge::serve {

struct RepositoryOptions {
  // Returns the ONNX bytes of DIR/<model>/<version>/; default: reads model.onnx (at most 4 GiB).
  std::function<Result<std::string>(const std::string& version_dir)> read_model;
  // Messages about loads/unloads/failures ("loaded model 'x' version 3 (2 instances)"); default: stderr.
  std::function<void(const std::string&)> log;
};

struct ModelIndexEntry {
  std::string name, version;
  std::string state;   // "READY", "UNAVAILABLE" (failed to load or unloaded)
  std::string reason;  // why UNAVAILABLE
};

class ModelRepository {
 public:
  // Fails if `root` is not a readable directory. Loads nothing yet.
  static Result<std::unique_ptr<ModelRepository>> open(std::string root, RepositoryOptions options = {});

  // Loads every model in the directory. A model that fails is recorded UNAVAILABLE (see index()) and
  // logged; the others load. Returns the number loaded.
  size_t load_all();
  // (Re)loads one model from disk; on success replaces the served version atomically, on failure a
  // model already being served keeps serving its current version.
  Status load(const std::string& name);
  // Stops serving the model (requests already queued finish). NotFound if it is not loaded.
  Status unload(const std::string& name);

  // Every model directory on disk plus every model ever loaded, sorted by name.
  std::vector<ModelIndexEntry> index() const;
  // The ready model; `version` "" means the served version. NotFound names what is missing.
  Result<std::shared_ptr<Model>> get(const std::string& name, const std::string& version = "") const;
  std::vector<std::shared_ptr<Model>> ready_models() const;
  const std::string& root() const { return root_; }

  static bool valid_model_name(std::string_view name);

 private:
  ModelRepository() = default;
  struct Entry {
    std::shared_ptr<Model> model;
    std::string version, reason;
  };
  Result<std::shared_ptr<Model>> load_from_disk(const std::string& name, std::string* version);

  std::string root_;
  RepositoryOptions options_;
  mutable std::mutex mu_;  // guards entries_
  std::mutex load_mu_;     // serializes load/unload
  std::map<std::string, Entry> entries_;
};

}  // namespace verge::serve
