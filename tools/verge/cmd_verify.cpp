#include <fmt/format.h>

#include "commands.h"
#include "package/package.h"

namespace verge::cli {

Action add_verify(CLI::App& app) {
  struct Opts {
    std::string package, trusted_keys, decrypt;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c =
      app.add_subcommand("verify", "Check a model package's signature and every file's digest, offline");
  c->add_option("package", o->package, "package file")->required();
  c->add_option("--trusted-keys", o->trusted_keys, "directory of trusted Ed25519 public keys (*.pub)")
      ->required();
  c->add_option("--decrypt", o->decrypt,
                "AES-256 key file: also decrypt (in memory) and check the plaintext");
  return [o]() -> int {
    std::optional<package::SymmetricKey> key;
    if (!o->decrypt.empty()) {
      auto k = package::load_symmetric_key(o->decrypt);
      if (!k.is_ok()) return report_error(k.status());
      key.emplace(std::move(k).value());
    }
    auto pkg = package::open_package(o->package, o->trusted_keys, key, nullptr, {.contents = false});
    if (!pkg.is_ok()) return report_error(pkg.status());
    fmt::print("OK: {} is signed by trusted key {} ({})\n", o->package, pkg->signer_name,
               pkg->signer_fingerprint);
    for (const package::PackageFile& f : pkg->files) fmt::print("  {:>12}  {}\n", f.size, f.path);
    if (!pkg->encrypted)
      fmt::print("{} file(s), not encrypted, every SHA-256 matches\n", pkg->files.size());
    else if (pkg->contents_checked)
      fmt::print("{} file(s), encrypted; decrypted in memory, every SHA-256 matches\n", pkg->files.size());
    else
      fmt::print("{} file(s), encrypted; ciphertext digests match (contents not decrypted: no --decrypt)\n",
                 pkg->files.size());
    return 0;
  };
}

}  // namespace verge::cli
