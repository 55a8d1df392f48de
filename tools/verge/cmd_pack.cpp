#include <fmt/format.h>

#include "commands.h"
#include "package/package.h"

namespace verge::cli {

Action add_pack(CLI::App& app) {
  struct Opts {
    std::string model_dir, output, sign, encrypt;
    bool unsigned_ = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c =
      app.add_subcommand("pack", "Pack a model directory into a signed (optionally encrypted) package");
  c->add_option("model_dir", o->model_dir, "directory holding the model files")->required();
  c->add_option("--output,-o", o->output, "package file to write")->required();
  c->add_option("--sign", o->sign, "Ed25519 private key (PEM) to sign the manifest with");
  c->add_option("--encrypt", o->encrypt, "AES-256 key file: encrypt every file with AES-256-GCM");
  c->add_flag("--unsigned", o->unsigned_,
              "write an unsigned package (it will fail verification; for testing)");
  return [o]() -> int {
    if (o->sign.empty() == !o->unsigned_)
      return report_error(Status::invalid_argument("give exactly one of --sign KEY.priv or --unsigned"));
    std::optional<package::Ed25519Key> signer;
    if (!o->sign.empty()) {
      auto k = package::load_private_key(o->sign);
      if (!k.is_ok()) return report_error(k.status());
      signer.emplace(std::move(k).value());
    }
    std::optional<package::SymmetricKey> key;
    if (!o->encrypt.empty()) {
      auto k = package::load_symmetric_key(o->encrypt);
      if (!k.is_ok()) return report_error(k.status());
      key.emplace(std::move(k).value());
    }
    auto n =
        package::pack_directory(o->model_dir, o->output, signer ? &*signer : nullptr, key ? &*key : nullptr);
    if (!n.is_ok()) return report_error(n.status());
    fmt::print("packed {} file(s) into {}{}{}\n", *n, o->output,
               signer ? fmt::format(", signed by {}", signer->fingerprint()) : ", UNSIGNED",
               key ? ", encrypted (AES-256-GCM)" : "");
    return 0;
  };
}

}  // namespace verge::cli
