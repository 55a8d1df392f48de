// KServe v2 gRPC server: inference.GRPCInferenceService (serve/grpc_predict_v2.proto) with ServerLive,
// ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer, over the same repository and
// batcher as the REST server.
//
// ModelInfer accepts typed `contents` or `raw_input_contents` (one per input; FP16/BF16 only raw) and
// always answers with `raw_output_contents`. Status codes: INVALID_ARGUMENT (malformed request, wrong
// shape/dtype), NOT_FOUND (unknown model/version), UNAVAILABLE (queue full), UNAUTHENTICATED (missing or
// wrong bearer token in the `authorization` metadata; ServerLive/ServerReady need none),
// RESOURCE_EXHAUSTED (message over max_request_bytes, from gRPC itself).
//
// TLS: with a certificate and key the port speaks TLS (gRPC's minimum is TLS 1.2); with a client CA,
// clients must present a certificate it signed. Lifetime: borrows the repository; serving starts in
// create() and stops in stop()/destruction.
#pragma once

#include <memory>

#include "serve/http_server.h"

namespace grpc {
class Server;
}

namespace verge::serve {

class GrpcService;

class GrpcServer {
 public:
  // Uses host, port (0 = any free port), tls_*, auth_token and max_request_bytes from `options`.
  static Result<std::unique_ptr<GrpcServer>> create(ModelRepository& repository,
                                                    const ListenOptions& options);
  ~GrpcServer();
  int port() const { return port_; }
  void stop();

 private:
  GrpcServer() = default;
  std::unique_ptr<GrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace verge::serve
