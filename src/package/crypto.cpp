#include "package/crypto.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdlib>
#include <memory>

namespace verge::package::crypto {
namespace {
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// EVP_*Update take int lengths; feed large buffers in chunks.
constexpr size_t kChunk = size_t{1} << 30;
}  // namespace

Digest sha256(std::string_view data) {
  Digest d{};
  MdCtx ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (size_t at = 0; ok && at < data.size(); at += kChunk)
    ok = EVP_DigestUpdate(ctx.get(), data.data() + at, std::min(kChunk, data.size() - at)) == 1;
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), d.data(), &len) == 1 && len == d.size();
  if (!ok) std::abort();  // only on allocation failure inside OpenSSL; SHA-256 itself cannot fail
  return d;
}

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 15];
  }
  return s;
}

bool from_hex(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < n; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Status random_bytes(unsigned char* out, size_t n) {
  if (n > INT_MAX || RAND_bytes(out, static_cast<int>(n)) != 1)
    return Status::internal("OpenSSL RAND_bytes failed: " + openssl_error());
  return Status::ok();
}

Result<std::array<unsigned char, kSignatureSize>> sign(const Ed25519Key& key, std::string_view message) {
  std::array<unsigned char, kSignatureSize> sig{};
  MdCtx ctx(EVP_MD_CTX_new());
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.evp()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != sig.size())
    return Status::internal("Ed25519 signing failed: " + openssl_error());
  return sig;
}

bool verify(const Ed25519Key& key, std::string_view message, const unsigned char* signature) {
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.evp()) == 1 &&
      EVP_DigestVerify(ctx.get(), signature, kSignatureSize,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  return ok;
}

namespace {
// One AES-256-GCM pass; encrypt writes `tag`, decrypt checks it.
bool gcm(bool encrypt, const SymmetricKey& key, const unsigned char* nonce, std::string_view aad,
         std::string_view in, unsigned char* out, unsigned char* tag) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || key.bytes.size() != SymmetricKey::kSize || aad.size() > INT_MAX) return false;
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.bytes.data(), nonce, -1) != 1)
    return false;
  int len = 0;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) != 1)
    return false;
  for (size_t at = 0; at < in.size(); at += kChunk) {
    const size_t n = std::min(kChunk, in.size() - at);
    if (EVP_CipherUpdate(ctx.get(), out + at, &len, reinterpret_cast<const unsigned char*>(in.data()) + at,
                         static_cast<int>(n)) != 1 ||
        static_cast<size_t>(len) != n)
      return false;
  }
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag) != 1)
    return false;
  unsigned char final_block[16];
  if (EVP_CipherFinal_ex(ctx.get(), final_block, &len) != 1 || len != 0) return false;
  return !encrypt ||
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), tag) == 1;
}
}  // namespace

Status aes_gcm_encrypt(const SymmetricKey& key, const unsigned char* nonce, std::string_view aad,
                       std::string_view plaintext, unsigned char* out, unsigned char* tag) {
  if (!gcm(true, key, nonce, aad, plaintext, out, tag))
    return Status::internal("AES-256-GCM encryption failed: " + openssl_error());
  return Status::ok();
}

bool aes_gcm_decrypt(const SymmetricKey& key, const unsigned char* nonce, std::string_view aad,
                     std::string_view ciphertext, const unsigned char* tag, unsigned char* out) {
  const bool ok = gcm(false, key, nonce, aad, ciphertext, out, const_cast<unsigned char*>(tag));
  ERR_clear_error();
  if (!ok) OPENSSL_cleanse(out, ciphertext.size());
  return ok;
}

}  // namespace verge::package::crypto
