#include "serve/signed_models.h"

#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "io/file.h"
#include "package/package.h"

namespace verge::serve {

namespace fs = std::filesystem;

Result<ModelReader> signed_model_reader(const std::string& trusted_keys_dir,
                                        const std::optional<std::string>& decrypt_key_file) {
  struct Keys {
    std::vector<package::Ed25519Key> trusted;
    std::optional<package::SymmetricKey> key;
  };
  auto keys = std::make_shared<Keys>();
  VERGE_ASSIGN_OR_RETURN(keys->trusted, package::load_trusted_keys(trusted_keys_dir));
  if (decrypt_key_file) {
    VERGE_ASSIGN_OR_RETURN(package::SymmetricKey k, package::load_symmetric_key(*decrypt_key_file));
    keys->key.emplace(std::move(k));
  }
  return ModelReader([keys](const std::string& version_dir) -> Result<std::string> {
    const std::string path = (fs::path(version_dir) / "model.vpkg").string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      return Status::invalid_argument(
          fmt::format("refused: {} is missing (--require-signed serves only signed packages)", path));
    VERGE_ASSIGN_OR_RETURN(std::string bytes, read_file(path, size_t{1} << 32));
    package::PackageError why = package::PackageError::kNone;
    auto opened = package::open_package_bytes(bytes, keys->trusted, keys->key ? &*keys->key : nullptr, &why);
    if (!opened.is_ok())
      return Status::invalid_argument(fmt::format(
          "refused package {} ({}): {}", path, package::package_error_name(why), opened.status().message()));
    const package::PackageFile* onnx = opened->find("model.onnx");
    if (!onnx) return Status::invalid_argument(fmt::format("refused package {}: it has no model.onnx", path));
    return std::string(onnx->bytes.view());
  });
}

}  // namespace verge::serve
