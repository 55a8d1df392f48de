#include <fmt/format.h>

#include "commands.h"
#include "package/package.h"

namespace verge::cli {

Action add_keygen(CLI::App& app) {
  struct Opts {
    std::string output;
    bool symmetric = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand(
      "keygen", "Create an Ed25519 signing key pair (or an AES-256 key) for model packages");
  c->add_option("--output,-o", o->output,
                "NAME: writes NAME.priv and NAME.pub (with --symmetric: the key file NAME)")
      ->required();
  c->add_flag("--symmetric", o->symmetric,
              "write 32 random bytes for AES-256-GCM package encryption instead");
  return [o]() -> int {
    if (o->symmetric) {
      Status st = package::generate_symmetric_key(o->output);
      if (!st.is_ok()) return report_error(st);
      fmt::print("wrote AES-256 key {} (mode 0600; keep it secret)\n", o->output);
      return 0;
    }
    auto fp = package::generate_signing_key(o->output);
    if (!fp.is_ok()) return report_error(fp.status());
    fmt::print("wrote {0}.priv (mode 0600; keep it secret) and {0}.pub\nfingerprint {1}\n", o->output, *fp);
    return 0;
  };
}

}  // namespace verge::cli
