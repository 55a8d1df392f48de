// Key generation and loading (Ed25519 PEM, raw AES-256 keys), SecureBytes.
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "io/file.h"
#include "package/crypto.h"
#include "package/package.h"

namespace verge::package {
namespace fs = std::filesystem;

// ---- SecureBytes ------------------------------------------------------------------------------------
SecureBytes::SecureBytes(size_t size) : data_(size ? new unsigned char[size] : nullptr), size_(size) {}
SecureBytes::~SecureBytes() { release(); }
SecureBytes::SecureBytes(SecureBytes&& o) noexcept : data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}
SecureBytes& SecureBytes::operator=(SecureBytes&& o) noexcept {
  if (this != &o) {
    release();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}
void SecureBytes::release() {
  if (data_) OPENSSL_cleanse(data_, size_);
  delete[] data_;
  data_ = nullptr;
  size_ = 0;
}

std::string SymmetricKey::key_id() const {
  std::string labelled("verge-package-key-id");
  labelled.push_back('\0');
  labelled.append(bytes.view());
  const crypto::Digest d = crypto::sha256(labelled);
  OPENSSL_cleanse(labelled.data(), labelled.size());
  return "sha256:" + crypto::to_hex(d);
}

// ---- Ed25519Key -------------------------------------------------------------------------------------
Ed25519Key::Ed25519Key(evp_pkey_st* pkey, bool has_private, std::string name)
    : pkey_(pkey), has_private_(has_private), name_(std::move(name)) {
  size_t len = raw_public_.size();
  if (EVP_PKEY_get_raw_public_key(pkey_, raw_public_.data(), &len) != 1 || len != raw_public_.size())
    raw_public_.fill(0);  // unreachable for a key EVP_PKEY_is_a(..., "ED25519") accepted
}
Ed25519Key::~Ed25519Key() { EVP_PKEY_free(pkey_); }
Ed25519Key::Ed25519Key(Ed25519Key&& o) noexcept
    : pkey_(std::exchange(o.pkey_, nullptr)),
      has_private_(o.has_private_),
      raw_public_(o.raw_public_),
      name_(std::move(o.name_)) {}
Ed25519Key& Ed25519Key::operator=(Ed25519Key&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(pkey_);
    pkey_ = std::exchange(o.pkey_, nullptr);
    has_private_ = o.has_private_;
    raw_public_ = o.raw_public_;
    name_ = std::move(o.name_);
  }
  return *this;
}
std::string Ed25519Key::fingerprint() const {
  return "sha256:" + crypto::to_hex(crypto::sha256(std::string_view(
                         reinterpret_cast<const char*>(raw_public_.data()), raw_public_.size())));
}

namespace {
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// Never prompt for a passphrase (encrypted PEM keys are rejected instead).
int no_passphrase(char*, int, int, void*) { return 0; }

// Creates `path` exclusively with `mode` and writes `bytes`; removes it again on failure.
Status write_new_file(const std::string& path, std::string_view bytes, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return Status::invalid_argument(fmt::format("'{}' already exists; refusing to overwrite", path));
    return Status::io_error(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::io_error(fmt::format("writing '{}' failed", path));
  }
  return Status::ok();
}

Result<Ed25519Key> parse_pem_key(std::string_view pem, bool is_private, const std::string& path,
                                 std::string name) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr)
                              : PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr);
  if (!pkey)
    return Status::invalid_argument(fmt::format("'{}' is not a PEM {} key ({})", path,
                                                is_private ? "private" : "public", crypto::openssl_error()));
  if (EVP_PKEY_is_a(pkey, "ED25519") != 1) {
    EVP_PKEY_free(pkey);
    return Status::invalid_argument(fmt::format("'{}' is not an Ed25519 key", path));
  }
  return Ed25519Key(pkey, is_private, std::move(name));
}

Result<Ed25519Key> load_key(const std::string& path, bool is_private) {
  VERGE_ASSIGN_OR_RETURN(std::string pem, read_file(path, 64 * 1024));
  auto key = parse_pem_key(pem, is_private, path, fs::path(path).filename().string());
  OPENSSL_cleanse(pem.data(), pem.size());
  return key;
}
}  // namespace

Result<std::string> generate_signing_key(const std::string& prefix) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!raw) return Status::internal("Ed25519 key generation failed: " + crypto::openssl_error());
  Ed25519Key key(raw, true, prefix);
  Bio priv(BIO_new(BIO_s_secmem())), pub(BIO_new(BIO_s_mem()));
  if (!priv || !pub ||
      PEM_write_bio_PrivateKey(priv.get(), key.evp(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key.evp()) != 1)
    return Status::internal("PEM encoding failed: " + crypto::openssl_error());
  char* data = nullptr;
  const long priv_len = BIO_get_mem_data(priv.get(), &data);
  const std::string_view priv_pem(data, static_cast<size_t>(priv_len));
  const long pub_len = BIO_get_mem_data(pub.get(), &data);
  const std::string_view pub_pem(data, static_cast<size_t>(pub_len));
  const std::string priv_path = prefix + ".priv", pub_path = prefix + ".pub";
  std::error_code ec;
  if (fs::exists(pub_path, ec))
    return Status::invalid_argument(fmt::format("'{}' already exists; refusing to overwrite", pub_path));
  VERGE_RETURN_IF_ERROR(write_new_file(priv_path, priv_pem, 0600));
  Status st = write_new_file(pub_path, pub_pem, 0644);
  if (!st.is_ok()) {
    ::unlink(priv_path.c_str());
    return st;
  }
  return key.fingerprint();
}

Status generate_symmetric_key(const std::string& path) {
  SecureBytes key(SymmetricKey::kSize);
  if (RAND_priv_bytes(key.data(), static_cast<int>(key.size())) != 1)
    return Status::internal("RAND_priv_bytes failed: " + crypto::openssl_error());
  return write_new_file(path, key.view(), 0600);
}

Result<Ed25519Key> load_private_key(const std::string& pem_path) { return load_key(pem_path, true); }
Result<Ed25519Key> load_public_key(const std::string& pem_path) { return load_key(pem_path, false); }

Result<std::vector<Ed25519Key>> load_trusted_keys(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::not_found(fmt::format("trusted-keys directory '{}' does not exist", dir));
  std::vector<std::string> paths;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".pub" && e.is_regular_file(ec)) paths.push_back(e.path().string());
  if (ec) return Status::io_error(fmt::format("cannot list '{}': {}", dir, ec.message()));
  if (paths.empty())
    return Status::not_found(fmt::format("no *.pub keys in trusted-keys directory '{}'", dir));
  std::sort(paths.begin(), paths.end());
  std::vector<Ed25519Key> keys;
  for (const std::string& p : paths) {
    VERGE_ASSIGN_OR_RETURN(Ed25519Key k, load_public_key(p));
    keys.push_back(std::move(k));
  }
  return keys;
}

Result<SymmetricKey> load_symmetric_key(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return Status::not_found(fmt::format("cannot read key '{}': {}", path, ec.message()));
  if (size != SymmetricKey::kSize)
    return Status::invalid_argument(fmt::format(
        "'{}' is {} bytes; an AES-256 key file holds exactly {} bytes", path, size, SymmetricKey::kSize));
  VERGE_ASSIGN_OR_RETURN(std::string raw, read_file(path, SymmetricKey::kSize));
  SymmetricKey key{SecureBytes(raw.size())};
  std::memcpy(key.bytes.data(), raw.data(), raw.size());
  OPENSSL_cleanse(raw.data(), raw.size());
  if (key.bytes.size() != SymmetricKey::kSize)
    return Status::invalid_argument(fmt::format("'{}' changed while being read", path));
  return key;
}

}  // namespace verge::package
