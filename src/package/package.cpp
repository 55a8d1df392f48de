// The package container (docs/packages.md):
//   "VERGEPKG" | u32le version=1 | u32le manifest_len | u32le signature_len (0 or 96)
//   | manifest (canonical JSON) | signature (32-byte signer key id, 64-byte Ed25519 signature)
//   | each file's stored bytes, in manifest order | end of file
#include "package/package.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "io/file.h"
#include "package/crypto.h"

namespace verge::package {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr char kMagic[8] = {'V', 'E', 'R', 'G', 'E', 'P', 'K', 'G'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 20;
constexpr size_t kSignatureBlock = 32 + crypto::kSignatureSize;
constexpr size_t kMaxManifest = size_t{16} << 20;
constexpr size_t kMaxFiles = 65536;
constexpr size_t kMaxPath = 1024;
constexpr uint64_t kMaxFileSize = uint64_t{1} << 40;
constexpr std::string_view kFormat = "verge-package";
constexpr std::string_view kCipher = "AES-256-GCM";

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}
std::string_view as_view(const crypto::Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// Relative, '/'-separated, no empty/'.'/'..' components, no backslashes or control characters.
Status check_path(std::string_view p) {
  auto bad = [&](std::string_view why) {
    return Status::invalid_argument(fmt::format("file path '{}' {}", p.substr(0, 200), why));
  };
  if (p.empty()) return bad("is empty");
  if (p.size() > kMaxPath) return bad(fmt::format("is longer than {} bytes", kMaxPath));
  if (p.front() == '/') return bad("is absolute");
  for (unsigned char c : p)
    if (c < 0x20 || c == 0x7f || c == '\\') return bad("contains a control character or backslash");
  size_t start = 0;
  while (start <= p.size()) {
    const size_t end = std::min(p.find('/', start), p.size());
    const std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("has an empty, '.' or '..' component");
    start = end + 1;
  }
  return Status::ok();
}

// AAD binding a file's ciphertext to its place in the manifest: path, NUL, raw plaintext SHA-256.
std::string file_aad(std::string_view path, const crypto::Digest& sha) {
  std::string aad(path);
  aad.push_back('\0');
  aad.append(as_view(sha));
  return aad;
}

struct Entry {
  std::string path;
  uint64_t size = 0, stored_size = 0;
  crypto::Digest sha256{}, stored_sha256{};
  std::array<unsigned char, crypto::kNonceSize> nonce{};
};

struct Manifest {
  bool encrypted = false;
  std::string key_id;
  std::vector<Entry> files;
};

// Parses and validates the (already signature-checked) manifest. Strict: exactly the known fields,
// canonical serialization, sorted unique valid paths, consistent sizes.
Result<Manifest> parse_manifest(std::string_view bytes) {
  auto corrupt = [](std::string m) { return Status::invalid_model("package manifest: " + m); };
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return corrupt("not valid JSON");
  if (!j.is_object()) return corrupt("not a JSON object");
  std::string canonical;
  try {
    canonical = j.dump();
  } catch (const json::exception&) {
    return corrupt("not valid UTF-8");
  }
  if (canonical != bytes) return corrupt("not in canonical form (sorted keys, no whitespace, no duplicates)");
  auto keys_are = [](const json& o, std::set<std::string> want) {
    std::set<std::string> have;
    for (auto it = o.begin(); it != o.end(); ++it) have.insert(it.key());
    return have == want;
  };
  if (!keys_are(j, {"encryption", "files", "format", "version"}))
    return corrupt("expected exactly the fields encryption, files, format, version");
  if (j["format"] != kFormat) return corrupt(fmt::format("format is not \"{}\"", kFormat));
  if (!j["version"].is_number_unsigned() || j["version"].get<uint64_t>() != kVersion)
    return corrupt(fmt::format("unsupported version (this build reads version {})", kVersion));
  Manifest m;
  const json& enc = j["encryption"];
  if (!enc.is_null()) {
    if (!enc.is_object() || !keys_are(enc, {"algorithm", "key_id"}) || enc["algorithm"] != kCipher ||
        !enc["key_id"].is_string())
      return corrupt(
          fmt::format("encryption must be null or {{\"algorithm\":\"{}\",\"key_id\":...}}", kCipher));
    m.encrypted = true;
    m.key_id = enc["key_id"].get<std::string>();
  }
  const json& files = j["files"];
  if (!files.is_array() || files.empty()) return corrupt("files must be a non-empty array");
  if (files.size() > kMaxFiles) return corrupt(fmt::format("more than {} files", kMaxFiles));
  for (const json& f : files) {
    Entry e;
    const size_t i = m.files.size();
    if (!f.is_object()) return corrupt(fmt::format("files[{}] is not an object", i));
    const bool fields_ok = m.encrypted ? keys_are(f, {"nonce", "path", "sha256", "size", "stored_sha256"})
                                       : keys_are(f, {"path", "sha256", "size"});
    if (!fields_ok) return corrupt(fmt::format("files[{}] has missing or unknown fields", i));
    if (!f["path"].is_string()) return corrupt(fmt::format("files[{}].path is not a string", i));
    e.path = f["path"].get<std::string>();
    Status ps = check_path(e.path);
    if (!ps.is_ok()) return corrupt(ps.message());
    if (!m.files.empty() && !(m.files.back().path < e.path))
      return corrupt(fmt::format("paths are not sorted and unique at '{}'", e.path));
    if (!f["size"].is_number_unsigned() || f["size"].get<uint64_t>() > kMaxFileSize)
      return corrupt(fmt::format("'{}': size is not an integer in [0, 2^40]", e.path));
    e.size = f["size"].get<uint64_t>();
    if (!f["sha256"].is_string() || !crypto::from_hex(f["sha256"].get<std::string>(), e.sha256.data(), 32))
      return corrupt(fmt::format("'{}': sha256 is not 64 lowercase hex digits", e.path));
    e.stored_size = e.size;
    e.stored_sha256 = e.sha256;
    if (m.encrypted) {
      e.stored_size = e.size + crypto::kTagSize;
      if (!f["stored_sha256"].is_string() ||
          !crypto::from_hex(f["stored_sha256"].get<std::string>(), e.stored_sha256.data(), 32))
        return corrupt(fmt::format("'{}': stored_sha256 is not 64 lowercase hex digits", e.path));
      if (!f["nonce"].is_string() ||
          !crypto::from_hex(f["nonce"].get<std::string>(), e.nonce.data(), e.nonce.size()))
        return corrupt(fmt::format("'{}': nonce is not {} lowercase hex digits", e.path, 2 * e.nonce.size()));
    }
    m.files.push_back(std::move(e));
  }
  return m;
}

std::string serialize_manifest(const Manifest& m) {
  json files = json::array();
  for (const Entry& e : m.files) {
    json f = {{"path", e.path}, {"size", e.size}, {"sha256", crypto::to_hex(e.sha256)}};
    if (m.encrypted) {
      f["stored_sha256"] = crypto::to_hex(e.stored_sha256);
      f["nonce"] = crypto::to_hex(e.nonce.data(), e.nonce.size());
    }
    files.push_back(std::move(f));
  }
  json enc = m.encrypted ? json{{"algorithm", kCipher}, {"key_id", m.key_id}} : json(nullptr);
  json j = {{"format", kFormat},
            {"version", kVersion},
            {"encryption", std::move(enc)},
            {"files", std::move(files)}};
  return j.dump();  // std::map-ordered keys, no whitespace: the canonical form parse_manifest demands
}

Status fail(PackageError* out, PackageError e, Status st) {
  if (out) *out = e;
  return st;
}
}  // namespace

std::string_view package_error_name(PackageError e) {
  switch (e) {
    case PackageError::kNone:
      return "none";
    case PackageError::kIo:
      return "io";
    case PackageError::kTruncated:
      return "truncated";
    case PackageError::kCorrupt:
      return "corrupt";
    case PackageError::kUnsigned:
      return "unsigned";
    case PackageError::kBadSignature:
      return "bad-signature";
    case PackageError::kUntrustedKey:
      return "untrusted-key";
    case PackageError::kTamperedFile:
      return "tampered-file";
    case PackageError::kMissingFile:
      return "missing-file";
    case PackageError::kExtraData:
      return "extra-data";
    case PackageError::kKeyRequired:
      return "key-required";
    case PackageError::kWrongKey:
      return "wrong-key";
    case PackageError::kBadKey:
      return "bad-key";
  }
  return "unknown";
}

const PackageFile* OpenedPackage::find(std::string_view path) const {
  for (const PackageFile& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

Result<std::string> build_package(std::vector<PackInput> inputs, const Ed25519Key* signer,
                                  const SymmetricKey* key) {
  if (inputs.empty()) return Status::invalid_argument("a package needs at least one file");
  if (inputs.size() > kMaxFiles)
    return Status::invalid_argument(fmt::format("more than {} files", kMaxFiles));
  if (signer && !signer->has_private()) return Status::invalid_argument("the signing key is a public key");
  if (key && key->bytes.size() != SymmetricKey::kSize)
    return Status::invalid_argument("the AES key is not 32 bytes");
  std::sort(inputs.begin(), inputs.end(),
            [](const PackInput& a, const PackInput& b) { return a.path < b.path; });
  Manifest m;
  m.encrypted = key != nullptr;
  if (key) m.key_id = key->key_id();
  std::vector<std::string> stored(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const PackInput& in = inputs[i];
    VERGE_RETURN_IF_ERROR(check_path(in.path));
    if (i > 0 && inputs[i - 1].path == in.path)
      return Status::invalid_argument(fmt::format("duplicate path '{}'", in.path));
    if (in.bytes.size() > kMaxFileSize)
      return Status::invalid_argument(fmt::format("'{}' is larger than 2^40 bytes", in.path));
    Entry e;
    e.path = in.path;
    e.size = in.bytes.size();
    e.sha256 = crypto::sha256(in.bytes);
    if (key) {
      VERGE_RETURN_IF_ERROR(crypto::random_bytes(e.nonce.data(), e.nonce.size()));
      std::string& ct = stored[i];
      ct.resize(in.bytes.size() + crypto::kTagSize);
      VERGE_RETURN_IF_ERROR(
          crypto::aes_gcm_encrypt(*key, e.nonce.data(), file_aad(e.path, e.sha256), in.bytes,
                                  reinterpret_cast<unsigned char*>(ct.data()),
                                  reinterpret_cast<unsigned char*>(ct.data()) + in.bytes.size()));
      e.stored_size = ct.size();
      e.stored_sha256 = crypto::sha256(ct);
    } else {
      e.stored_size = e.size;
      e.stored_sha256 = e.sha256;
    }
    m.files.push_back(std::move(e));
  }
  const std::string manifest = serialize_manifest(m);
  if (manifest.size() > kMaxManifest) return Status::invalid_argument("the manifest is larger than 16 MiB");
  std::string out(kMagic, sizeof kMagic);
  put_u32(out, kVersion);
  put_u32(out, static_cast<uint32_t>(manifest.size()));
  put_u32(out, signer ? static_cast<uint32_t>(kSignatureBlock) : 0);
  out += manifest;
  if (signer) {
    VERGE_ASSIGN_OR_RETURN(auto sig, crypto::sign(*signer, manifest));
    out.append(as_view(
        crypto::sha256(std::string_view(reinterpret_cast<const char*>(signer->raw_public().data()), 32))));
    out.append(reinterpret_cast<const char*>(sig.data()), sig.size());
  }
  for (size_t i = 0; i < inputs.size(); ++i) out += key ? stored[i] : inputs[i].bytes;
  return out;
}

Result<size_t> pack_directory(const std::string& model_dir, const std::string& output,
                              const Ed25519Key* signer, const SymmetricKey* key) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec))
    return Status::not_found(fmt::format("'{}' is not a directory", model_dir));
  const fs::path root = fs::canonical(model_dir, ec);
  const fs::path out_abs = fs::weakly_canonical(output, ec);
  const auto [r, o] = std::mismatch(root.begin(), root.end(), out_abs.begin(), out_abs.end());
  if (r == root.end())
    return Status::invalid_argument(fmt::format("the output '{}' must be outside '{}'", output, model_dir));
  std::vector<PackInput> files;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::directory_entry& e = *it;
    const std::string rel = e.path().lexically_relative(root).generic_string();
    if (e.is_symlink(ec))
      return Status::invalid_argument(
          fmt::format("'{}' is a symbolic link; packages hold regular files only", rel));
    if (e.is_directory(ec)) continue;
    if (!e.is_regular_file(ec))
      return Status::invalid_argument(fmt::format("'{}' is not a regular file", rel));
    VERGE_ASSIGN_OR_RETURN(std::string bytes, read_file(e.path().string()));
    files.push_back({rel, std::move(bytes)});
  }
  if (ec) return Status::io_error(fmt::format("cannot list '{}': {}", model_dir, ec.message()));
  if (files.empty()) return Status::invalid_argument(fmt::format("'{}' contains no files", model_dir));
  const size_t n = files.size();
  VERGE_ASSIGN_OR_RETURN(std::string pkg, build_package(std::move(files), signer, key));
  VERGE_RETURN_IF_ERROR(write_file(output, pkg));
  return n;
}

Result<OpenedPackage> open_package_bytes(std::string_view pkg, const std::vector<Ed25519Key>& trusted,
                                         const SymmetricKey* key, PackageError* error, OpenOptions options) {
  if (error) *error = PackageError::kNone;
  auto bad = [&](PackageError e, std::string m) {
    return fail(error, e, Status::invalid_model(fmt::format("package {}: {}", package_error_name(e), m)));
  };
  // 1. Container lengths, before anything is interpreted.
  if (pkg.size() < kHeaderSize)
    return bad(PackageError::kTruncated,
               fmt::format("{} bytes is shorter than the {}-byte header", pkg.size(), kHeaderSize));
  if (std::memcmp(pkg.data(), kMagic, sizeof kMagic) != 0)
    return bad(PackageError::kCorrupt, "not a Verge package (bad magic)");
  const uint32_t version = get_u32(pkg, 8), manifest_len = get_u32(pkg, 12), sig_len = get_u32(pkg, 16);
  if (version != kVersion)
    return bad(PackageError::kCorrupt,
               fmt::format("container version {} (this build reads version {})", version, kVersion));
  if (manifest_len == 0 || manifest_len > kMaxManifest)
    return bad(PackageError::kCorrupt,
               fmt::format("manifest length {} is outside [1, {}]", manifest_len, kMaxManifest));
  if (sig_len != 0 && sig_len != kSignatureBlock)
    return bad(PackageError::kCorrupt,
               fmt::format("signature length {} (expected 0 or {})", sig_len, kSignatureBlock));
  if (pkg.size() - kHeaderSize < manifest_len)
    return bad(PackageError::kTruncated, fmt::format("ends inside the manifest ({} of {} bytes)",
                                                     pkg.size() - kHeaderSize, manifest_len));
  const std::string_view manifest = pkg.substr(kHeaderSize, manifest_len);
  const size_t sig_at = kHeaderSize + manifest_len;
  if (pkg.size() - sig_at < sig_len)
    return bad(PackageError::kTruncated,
               fmt::format("ends inside the signature ({} of {} bytes)", pkg.size() - sig_at, sig_len));
  // 2. Signature over the exact manifest bytes, by the trusted key the signature block names.
  if (sig_len == 0) return bad(PackageError::kUnsigned, "the package is not signed");
  const auto* key_id = reinterpret_cast<const unsigned char*>(pkg.data() + sig_at);
  const auto* signature = key_id + 32;
  const std::string signer_fp = "sha256:" + crypto::to_hex(key_id, 32);
  const Ed25519Key* signer = nullptr;
  for (const Ed25519Key& k : trusted)
    if (k.fingerprint() == signer_fp) signer = &k;
  if (!signer)
    return bad(
        PackageError::kUntrustedKey,
        fmt::format("signed by key {}, which is not among the {} trusted key(s)", signer_fp, trusted.size()));
  if (!crypto::verify(*signer, manifest, signature))
    return bad(
        PackageError::kBadSignature,
        fmt::format(
            "the signature does not verify with trusted key {} ({}): the manifest or signature was altered",
            signer->name(), signer_fp));
  // 3. The signed manifest.
  auto parsed = parse_manifest(manifest);
  if (!parsed.is_ok()) return bad(PackageError::kCorrupt, parsed.status().message());
  const Manifest& m = *parsed;
  // 4. Every file's extent, then its stored digest.
  size_t at = sig_at + sig_len;
  std::vector<std::string_view> stored;
  for (const Entry& e : m.files) {
    if (pkg.size() - at < e.stored_size) {
      if (pkg.size() == at)
        return bad(PackageError::kMissingFile,
                   fmt::format("'{}' is missing: the package ends where it should start", e.path));
      return bad(PackageError::kMissingFile, fmt::format("'{}' is truncated: {} of {} stored bytes present",
                                                         e.path, pkg.size() - at, e.stored_size));
    }
    stored.push_back(pkg.substr(at, e.stored_size));
    at += e.stored_size;
  }
  if (at != pkg.size())
    return bad(PackageError::kExtraData,
               fmt::format("{} bytes after the last listed file (a file added without re-signing?)",
                           pkg.size() - at));
  for (size_t i = 0; i < m.files.size(); ++i)
    if (crypto::sha256(stored[i]) != m.files[i].stored_sha256)
      return bad(PackageError::kTamperedFile,
                 fmt::format("'{}' does not match its SHA-256 in the signed manifest", m.files[i].path));
  // 5. Contents: copy or decrypt into zeroed-on-free buffers, checking the plaintext digests.
  OpenedPackage out;
  out.signer_name = signer->name();
  out.signer_fingerprint = signer_fp;
  out.encrypted = m.encrypted;
  const bool read_contents = options.contents || (m.encrypted && key);
  out.contents_checked = !m.encrypted || read_contents;
  if (m.encrypted && options.contents && !key)
    return bad(PackageError::kKeyRequired, "the package is encrypted; a decryption key is needed");
  if (m.encrypted && key && key->key_id() != m.key_id)
    return bad(PackageError::kWrongKey,
               fmt::format("the decryption key (id {}) is not the key the package was encrypted with ({})",
                           key->key_id(), m.key_id));
  for (size_t i = 0; i < m.files.size(); ++i) {
    const Entry& e = m.files[i];
    PackageFile f;
    f.path = e.path;
    f.size = e.size;
    f.sha256 = e.sha256;
    if (read_contents) {
      SecureBytes bytes(e.size);
      if (m.encrypted) {
        const auto* ct = reinterpret_cast<const unsigned char*>(stored[i].data());
        if (!crypto::aes_gcm_decrypt(*key, e.nonce.data(), file_aad(e.path, e.sha256),
                                     stored[i].substr(0, e.size), ct + e.size, bytes.data()))
          return bad(PackageError::kWrongKey,
                     fmt::format("'{}' does not decrypt with this key (authentication failed)", e.path));
        if (crypto::sha256(bytes.view()) != e.sha256)
          return bad(PackageError::kTamperedFile,
                     fmt::format("'{}' decrypts to bytes that do not match its SHA-256", e.path));
      } else if (e.size) {
        std::memcpy(bytes.data(), stored[i].data(), e.size);
      }
      if (options.contents) f.bytes = std::move(bytes);
    }
    out.files.push_back(std::move(f));
  }
  return out;
}

Result<OpenedPackage> open_package(const std::string& path, const std::string& trusted_keys_dir,
                                   const std::optional<SymmetricKey>& key, PackageError* error,
                                   OpenOptions options) {
  auto trusted = load_trusted_keys(trusted_keys_dir);
  if (!trusted.is_ok()) {
    const bool missing =
        trusted.status().code() == StatusCode::kNotFound || trusted.status().code() == StatusCode::kIoError;
    return fail(error, missing ? PackageError::kIo : PackageError::kBadKey, trusted.status());
  }
  auto bytes = read_file(path);
  if (!bytes.is_ok()) return fail(error, PackageError::kIo, bytes.status());
  return open_package_bytes(*bytes, *trusted, key ? &*key : nullptr, error, options);
}

}  // namespace verge::package
