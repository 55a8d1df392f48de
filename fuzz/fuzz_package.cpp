// libFuzzer target over the package reader (src/package). The input is a package; when its header
// names a signature block, the harness re-signs the manifest with a trusted key so the fuzzer reaches
// the manifest parser and the per-file checks, not only the signature check. Any crash or sanitizer
// report is a bug: malformed packages must produce a Status.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "package/crypto.h"
#include "package/package.h"

namespace {
struct Keys {
  std::vector<verge::package::Ed25519Key> trusted;
  verge::package::SymmetricKey aes{verge::package::SecureBytes(32)};
  Keys() {
    trusted.emplace_back(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), true, "fuzz.pub");
    for (size_t i = 0; i < 32; ++i) aes.bytes.data()[i] = static_cast<unsigned char>(i);
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace verge::package;
  static Keys keys;
  std::string pkg(reinterpret_cast<const char*>(data), size);
  if (pkg.size() >= 20) {
    uint32_t m = 0, s = 0;
    for (int i = 0; i < 4; ++i) m |= uint32_t{static_cast<unsigned char>(pkg[12 + i])} << (8 * i);
    for (int i = 0; i < 4; ++i) s |= uint32_t{static_cast<unsigned char>(pkg[16 + i])} << (8 * i);
    if (s == 96 && m <= pkg.size() - 20 && pkg.size() - 20 - m >= 96) {
      const auto sig = crypto::sign(keys.trusted[0], std::string_view(pkg).substr(20, m));
      const std::string fp = keys.trusted[0].fingerprint();
      unsigned char id[32];
      if (sig.is_ok() && crypto::from_hex(std::string_view(fp).substr(7), id, 32)) {
        pkg.replace(20 + m, 32, reinterpret_cast<const char*>(id), 32);
        pkg.replace(20 + m + 32, 64, reinterpret_cast<const char*>(sig->data()), 64);
      }
    }
  }
  PackageError e;
  auto r = open_package_bytes(pkg, keys.trusted, &keys.aes, &e);
  (void)r;
  return 0;
}
