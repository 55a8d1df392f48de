// C++ client for a KServe v2 REST server (Verge's own or any Open Inference Protocol server), over
// HTTP or HTTPS with optional client certificate and bearer token.
//
//   auto c = verge::serve::Client::create({.url = "http://127.0.0.1:8000"});
//   verge::serve::InferRequest r;
//   r.inputs.push_back({"image", verge::DType::kFloat32, {1, 1, 28, 28}, bytes});
//   auto out = (*c)->infer("fmnist", r);   // Result<InferResponse>
//
// Errors: transport failures are kIoError naming the URL; server errors keep the server's message and
// map 400 -> kInvalidArgument, 404 -> kNotFound, 503 -> kResourceExhausted, anything else -> kInternal.
// Thread-safety: one Client per thread (it holds one keep-alive connection).
#pragma once

#include <memory>
#include <string>

#include "serve/infer_types.h"

namespace httplib {
class Client;
}

namespace verge::serve {

struct ClientOptions {
  std::string url = "http://127.0.0.1:8000";  // scheme://host:port
  std::string ca_cert;                        // PEM; set = verify the server's certificate against it
  std::string client_cert, client_key;        // PEM; mutual TLS
  std::string auth_token;                     // sent as "Authorization: Bearer <token>"
  int timeout_seconds = 60;
  bool binary_inputs = true;   // binary tensor data extension for inputs
  bool binary_outputs = true;  // ... and for outputs
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(const ClientOptions& options);
  ~Client();

  // GET `path`; returns the body of a 200 answer.
  Result<std::string> get(const std::string& path);
  // POST `path` with a JSON body; returns the body of a 200 answer.
  Result<std::string> post(const std::string& path, const std::string& json_body);
  Result<InferResponse> infer(const std::string& model, const InferRequest& request,
                              const std::string& version = "");

 private:
  Client() = default;
  ClientOptions options_;
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace verge::serve
