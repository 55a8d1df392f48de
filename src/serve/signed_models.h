// `verge serve --require-signed`: a RepositoryOptions::read_model that loads a model version only from a
// signed package (docs/packages.md). DIR/<model>/<version>/model.vpkg must verify against the trusted
// public keys (every *.pub of --trusted-keys, loaded once at start) and contain `model.onnx`; an
// encrypted package is decrypted in memory with the --decrypt-key key. A version without model.vpkg
// (a bare model.onnx is ignored), an unsigned, untrusted, tampered, truncated or undecryptable package
// makes that model UNAVAILABLE with the package check's reason; every other model keeps serving.
//
// The returned bytes are the plaintext model: the repository parses them into a Session and drops them
// (not zeroed; the package's own buffers are).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "verge/status.h"

namespace verge::serve {

using ModelReader = std::function<Result<std::string>(const std::string& version_dir)>;

// Fails when the key directory has no valid *.pub or the key file is not a 32-byte AES-256 key.
Result<ModelReader> signed_model_reader(const std::string& trusted_keys_dir,
                                        const std::optional<std::string>& decrypt_key_file);

}  // namespace verge::serve
