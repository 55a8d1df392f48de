// Signed (and optionally encrypted) model packages: one file holding a model directory, verifiable
// offline. The format, threat model and commands are described in docs/packages.md.
//
//   auto key = verge::package::load_symmetric_key("model.key");           // only for encrypted packages
//   verge::package::PackageError why;
//   auto pkg = verge::package::open_package("resnet.vpkg", "/etc/verge/trusted", std::move(*key), &why);
//   if (!pkg.is_ok()) { log(pkg.status().to_string()); return; }            // `why` says which check failed
//   const verge::package::PackageFile* onnx = pkg->find("model.onnx");
//   auto session = verge::Session::load_from_memory(onnx->bytes.view());
//
// Trust boundary: everything in a package file is untrusted. open_package checks, in this order, the
// container lengths, the Ed25519 signature over the exact manifest bytes against the trusted public
// keys, the manifest's structure, and every file's SHA-256 (of the stored bytes and, after decryption,
// of the plaintext). Nothing is returned unless every check passes. Malformed input of any shape is
// rejected with a Status naming the problem; it never crashes or reads out of bounds.
//
// Cryptography is OpenSSL 3 (EVP): Ed25519 signatures, SHA-256, AES-256-GCM, RAND_bytes.
//
// Memory: decrypted plaintext exists only in SecureBytes buffers owned by the returned OpenedPackage;
// it is never written to disk, and each buffer is zeroed (OPENSSL_cleanse) when destroyed. Copies the
// caller makes (e.g. the protobuf a Session parses from the bytes) are outside that guarantee.
//
// Thread-safety: all functions are reentrant; objects are not synchronized (one owner at a time).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "verge/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace verge::package {

// Which check rejected a package (the Status message carries the details).
enum class PackageError : unsigned char {
  kNone = 0,
  kIo,            // the package or a key file cannot be read
  kTruncated,     // the package ends inside its header, manifest or signature
  kCorrupt,       // wrong magic/version, impossible lengths, malformed or non-canonical manifest
  kUnsigned,      // the package carries no signature
  kBadSignature,  // the signature does not verify (manifest or signature altered)
  kUntrustedKey,  // signed, but by no key in the trusted-keys directory
  kTamperedFile,  // a file's bytes do not match the SHA-256 the signed manifest records
  kMissingFile,   // the package ends before a file the manifest lists (file removed or truncated)
  kExtraData,     // bytes after the last listed file (a file added without re-signing)
  kKeyRequired,   // the package is encrypted and no decryption key was given
  kWrongKey,      // the decryption key is not the one the package was encrypted with
  kBadKey,        // a key file is malformed (not Ed25519 PEM / not 32 bytes)
};
std::string_view package_error_name(PackageError e);

// A heap buffer that is zeroed with OPENSSL_cleanse before it is freed. Move-only.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size);
  ~SecureBytes();
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  unsigned char* data() { return data_; }
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  void release();
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

// A 32-byte AES-256-GCM key (zeroed on destruction).
struct SymmetricKey {
  static constexpr size_t kSize = 32;
  SecureBytes bytes;
  // "sha256:<hex>" of a labelled hash of the key: identifies the key without revealing it.
  std::string key_id() const;
};

// An Ed25519 key loaded from PEM (public, or private with its public half). Owns an OpenSSL EVP_PKEY,
// freed on destruction. Move-only.
class Ed25519Key {
 public:
  // Takes ownership of `pkey`, which must be an Ed25519 key.
  Ed25519Key(evp_pkey_st* pkey, bool has_private, std::string name);
  ~Ed25519Key();
  Ed25519Key(Ed25519Key&& other) noexcept;
  Ed25519Key& operator=(Ed25519Key&& other) noexcept;
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  evp_pkey_st* evp() const { return pkey_; }  // borrowed
  bool has_private() const { return has_private_; }
  // The raw 32-byte public key and its "sha256:<hex>" fingerprint (the package's signer key id).
  const std::array<unsigned char, 32>& raw_public() const { return raw_public_; }
  std::string fingerprint() const;
  // Where the key came from (the file name for keys loaded from a directory).
  const std::string& name() const { return name_; }

 private:
  evp_pkey_st* pkey_ = nullptr;
  bool has_private_ = false;
  std::array<unsigned char, 32> raw_public_{};
  std::string name_;
};

// ---- keys -------------------------------------------------------------------------------------------
// Writes `<prefix>.priv` (PKCS#8 PEM, mode 0600) and `<prefix>.pub` (SubjectPublicKeyInfo PEM).
// Refuses to overwrite existing files. Returns the new key's fingerprint.
Result<std::string> generate_signing_key(const std::string& prefix);
// Writes 32 random bytes (RAND_priv_bytes) to `path` with mode 0600; refuses to overwrite.
Status generate_symmetric_key(const std::string& path);

Result<Ed25519Key> load_private_key(const std::string& pem_path);
Result<Ed25519Key> load_public_key(const std::string& pem_path);
// Every `*.pub` in `dir` (sorted by name). Fails if the directory has none or one of them is malformed.
Result<std::vector<Ed25519Key>> load_trusted_keys(const std::string& dir);
// The file must hold exactly 32 bytes.
Result<SymmetricKey> load_symmetric_key(const std::string& path);

// ---- writing ----------------------------------------------------------------------------------------
struct PackInput {
  std::string path;  // relative, '/'-separated (validated: no absolute paths, no '.', '..' or empty parts)
  std::string bytes;
};
// Builds package bytes from in-memory files (any order; sorted here). `signer` may be null (unsigned
// package; such a package never passes open_package). `key` non-null encrypts every file.
Result<std::string> build_package(std::vector<PackInput> files, const Ed25519Key* signer,
                                  const SymmetricKey* key);
// Reads every regular file under `model_dir` (symlinks and special files are refused) and writes the
// package to `output` via a temporary file renamed into place. Returns the number of files packed.
Result<size_t> pack_directory(const std::string& model_dir, const std::string& output,
                              const Ed25519Key* signer, const SymmetricKey* key);

// ---- reading ----------------------------------------------------------------------------------------
struct PackageFile {
  std::string path;
  uint64_t size = 0;
  std::array<unsigned char, 32> sha256{};  // of the plaintext
  SecureBytes bytes;                       // plaintext; empty when opened with contents = false
};

struct OpenedPackage {
  std::string signer_name;         // file name of the trusted key that verified the signature
  std::string signer_fingerprint;  // "sha256:<hex>" of its raw public key
  bool encrypted = false;
  bool contents_checked = false;   // false only for an encrypted package verified without its key
  std::vector<PackageFile> files;  // sorted by path
  const PackageFile* find(std::string_view path) const;
};

struct OpenOptions {
  // Decrypt (encrypted packages) and return every file's bytes. false = verify only: for an
  // encrypted package without a key, only the stored (ciphertext) digests are checked.
  bool contents = true;
};

// Verifies package bytes already in memory against `trusted` keys. `key` is required to read an
// encrypted package's contents (kKeyRequired otherwise). On failure `*error` (if given) says which check
// rejected it; on success it is kNone.
Result<OpenedPackage> open_package_bytes(std::string_view package, const std::vector<Ed25519Key>& trusted,
                                         const SymmetricKey* key, PackageError* error = nullptr,
                                         OpenOptions options = {});
// Reads `path`, loads every *.pub in `trusted_keys_dir`, and calls open_package_bytes.
Result<OpenedPackage> open_package(const std::string& path, const std::string& trusted_keys_dir,
                                   const std::optional<SymmetricKey>& key = std::nullopt,
                                   PackageError* error = nullptr, OpenOptions options = {});

}  // namespace verge::package
