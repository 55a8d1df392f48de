// Thin wrappers over OpenSSL 3 EVP used by the package format (internal to src/package).
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "package/package.h"

namespace verge::package::crypto {

using Digest = std::array<unsigned char, 32>;

Digest sha256(std::string_view data);
std::string to_hex(const unsigned char* data, size_t size);
inline std::string to_hex(const Digest& d) { return to_hex(d.data(), d.size()); }
// Parses exactly 2*N lowercase hex digits; false on any other input.
bool from_hex(std::string_view hex, unsigned char* out, size_t n);

// The latest OpenSSL error as text ("" if none); clears the error queue.
std::string openssl_error();

Status random_bytes(unsigned char* out, size_t n);

// Ed25519 over `message`; the signature is 64 bytes.
constexpr size_t kSignatureSize = 64;
Result<std::array<unsigned char, kSignatureSize>> sign(const Ed25519Key& key, std::string_view message);
bool verify(const Ed25519Key& key, std::string_view message, const unsigned char* signature);

// AES-256-GCM with a 96-bit nonce and 128-bit tag. `out` holds size() bytes of ciphertext/plaintext;
// the tag travels separately.
constexpr size_t kNonceSize = 12, kTagSize = 16;
Status aes_gcm_encrypt(const SymmetricKey& key, const unsigned char* nonce, std::string_view aad,
                       std::string_view plaintext, unsigned char* out, unsigned char* tag);
// false when authentication fails (wrong key, altered ciphertext/nonce/aad/tag); `out` is zeroed then.
bool aes_gcm_decrypt(const SymmetricKey& key, const unsigned char* nonce, std::string_view aad,
                     std::string_view ciphertext, const unsigned char* tag, unsigned char* out);

}  // namespace verge::package::crypto
