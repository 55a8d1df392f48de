// KServe v2 (Open Inference Protocol) REST server and the Prometheus metrics endpoint, on cpp-httplib.
//
// Endpoints (docs/serving.md has the full list with examples):
//   GET  /v2/health/live | /v2/health/ready | /v2
//   GET  /v2/models/{m}[/versions/{v}] | .../ready
//   POST /v2/models/{m}[/versions/{v}]/infer        JSON tensors or the binary tensor data extension
//   POST /v2/repository/index | /v2/repository/models/{m}/load | .../unload
//   GET  /metrics                                   (the metrics listener only)
// Errors are {"error": "..."} with 400 (malformed request, wrong shape/dtype), 401 (bad/missing bearer
// token), 404 (unknown model/version/route), 413 (body over max_request_bytes), 503 (queue full).
//
// Security: loopback by default; TLS 1.2+ when a certificate and key are given, mutual TLS (clients
// must present a certificate signed by tls_client_ca) when a client CA is given; a bearer token, when
// set, is required on every endpoint except /v2/health/*. Bodies are limited to max_request_bytes and
// validated before any model sees them.
//
// Lifetime: the server borrows the repository, which must outlive it. start() serves on a background
// thread; stop() (or destruction) closes the listener and waits for it. Creating a server ignores
// SIGPIPE for the process (a peer closing a TLS connection must not kill the server).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "serve/repository.h"

namespace httplib {
class Server;
}

namespace verge::serve {

struct ListenOptions {
  std::string host = "127.0.0.1";
  int port = 0;                   // 0: any free port (see HttpServer::port())
  std::string tls_cert, tls_key;  // PEM files; both set = HTTPS
  std::string tls_client_ca;      // PEM file; set = clients must present a certificate
  std::string auth_token;         // non-empty: require "Authorization: Bearer <token>"
  size_t max_request_bytes = size_t{64} << 20;
  int handler_threads = 16;     // concurrent connections being served
  int io_timeout_seconds = 30;  // per read/write on a connection
};

class HttpServer {
 public:
  enum class Kind { kInference, kMetrics };
  // Binds the listening socket (so port() is known and errors surface here); serves after start().
  static Result<std::unique_ptr<HttpServer>> create(Kind kind, ModelRepository& repository,
                                                    const ListenOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_; }
  void start();
  void stop();

 private:
  HttpServer() = default;
  void add_inference_routes();
  void add_common_handlers();

  ModelRepository* repo_ = nullptr;
  ListenOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  bool tls_ = false;
};

// Prometheus text exposition (format 0.0.4) of every ready model's counters. Written here because
// Debian has no prometheus-cpp; metric names follow Triton's (nv_inference_*).
std::string prometheus_metrics(const ModelRepository& repository);

}  // namespace verge::serve
