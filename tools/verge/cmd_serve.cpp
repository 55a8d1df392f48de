#include <fmt/format.h>

#include <csignal>

#include "commands.h"
#include "io/file.h"
#include "serve/grpc_server.h"
#include "serve/http_server.h"
#include "serve/repository.h"
#include "serve/signed_models.h"

namespace verge::cli {

Result<std::string> read_token_file(const std::string& path) {
  VERGE_ASSIGN_OR_RETURN(std::string token, read_file(path, 4096));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front())))
    token.erase(token.begin());
  if (token.empty()) return Status::invalid_argument(fmt::format("auth token file '{}' is empty", path));
  return token;
}

Action add_serve(CLI::App& app) {
  struct Opts {
    std::string repository, host = "127.0.0.1", tls_cert, tls_key, tls_client_ca, token_file, trusted_keys,
                            decrypt_key;
    bool require_signed = false;
    int http_port = 8000, grpc_port = 8001, metrics_port = 8002, threads = 16;
    size_t max_request_bytes = size_t{64} << 20;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c = app.add_subcommand("serve", "Serve a model repository over KServe v2 REST (docs/serving.md)");
  c->add_option("--model-repository", o->repository,
                "DIR/<model>/<version>/model.onnx [+ DIR/<model>/config.pbtxt]")
      ->required();
  c->add_option("--host", o->host, "address to listen on (default loopback only; 0.0.0.0 = every interface)");
  c->add_option("--http-port", o->http_port, "KServe v2 REST port")->check(CLI::Range(0, 65535));
  c->add_option("--grpc-port", o->grpc_port, "KServe v2 gRPC port (-1 = off)")->check(CLI::Range(-1, 65535));
  c->add_option("--metrics-port", o->metrics_port, "Prometheus /metrics port (-1 = off)")
      ->check(CLI::Range(-1, 65535));
  c->add_option("--tls-cert", o->tls_cert, "PEM certificate (chain): serve HTTPS (TLS 1.2+)");
  c->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  c->add_option("--tls-client-ca", o->tls_client_ca,
                "PEM CA: require client certificates signed by it (mutual TLS)");
  c->add_option("--auth-token-file", o->token_file, "require 'Authorization: Bearer <token in this file>'");
  c->add_option("--max-request-bytes", o->max_request_bytes, "largest accepted request body (413 above)");
  c->add_option("--http-threads", o->threads, "connections served concurrently")->check(CLI::Range(1, 1024));
  c->add_flag("--require-signed", o->require_signed,
              "serve only DIR/<model>/<version>/model.vpkg packages signed by a --trusted-keys key");
  c->add_option("--trusted-keys", o->trusted_keys,
                "directory of trusted Ed25519 *.pub keys (--require-signed)");
  c->add_option("--decrypt-key", o->decrypt_key,
                "AES-256 key file for encrypted packages (--require-signed)");
  return [o]() -> int {
    // Block the stop signals before any thread starts so only sigwait below receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    serve::ListenOptions listen;
    listen.host = o->host;
    listen.tls_cert = o->tls_cert;
    listen.tls_key = o->tls_key;
    listen.tls_client_ca = o->tls_client_ca;
    listen.max_request_bytes = o->max_request_bytes;
    listen.handler_threads = o->threads;
    if (!o->token_file.empty()) {
      auto token = read_token_file(o->token_file);
      if (!token.is_ok()) return report_error(token.status());
      listen.auth_token = *token;
    }
    serve::RepositoryOptions repo_options;
    if (o->require_signed) {
      if (o->trusted_keys.empty())
        return report_error(Status::invalid_argument("--require-signed needs --trusted-keys DIR"));
      auto reader = serve::signed_model_reader(
          o->trusted_keys,
          o->decrypt_key.empty() ? std::nullopt : std::optional<std::string>(o->decrypt_key));
      if (!reader.is_ok()) return report_error(reader.status());
      repo_options.read_model = std::move(reader).value();
    } else if (!o->trusted_keys.empty() || !o->decrypt_key.empty()) {
      return report_error(Status::invalid_argument("--trusted-keys / --decrypt-key need --require-signed"));
    }
    auto repo = serve::ModelRepository::open(o->repository, std::move(repo_options));
    if (!repo.is_ok()) return report_error(repo.status());
    const size_t loaded = (*repo)->load_all();
    fmt::print(stderr, "verge serve: {} model(s) ready from {}\n", loaded, o->repository);

    listen.port = o->http_port;
    auto http = serve::HttpServer::create(serve::HttpServer::Kind::kInference, **repo, listen);
    if (!http.is_ok()) return report_error(http.status());
    (*http)->start();
    fmt::print(stderr, "verge serve: KServe v2 REST on {}://{}:{}{}\n", (*http)->tls() ? "https" : "http",
               o->host, (*http)->port(),
               listen.tls_client_ca.empty() ? "" : " (client certificates required)");
    std::unique_ptr<serve::HttpServer> metrics;
    if (o->metrics_port >= 0) {
      listen.port = o->metrics_port;
      auto m = serve::HttpServer::create(serve::HttpServer::Kind::kMetrics, **repo, listen);
      if (!m.is_ok()) return report_error(m.status());
      metrics = std::move(m).value();
      metrics->start();
      fmt::print(stderr, "verge serve: metrics on {}://{}:{}/metrics\n", metrics->tls() ? "https" : "http",
                 o->host, metrics->port());
    }
    std::unique_ptr<serve::GrpcServer> grpc;
    if (o->grpc_port >= 0) {
      listen.port = o->grpc_port;
      auto g = serve::GrpcServer::create(**repo, listen);
      if (!g.is_ok()) return report_error(g.status());
      grpc = std::move(g).value();
      fmt::print(stderr, "verge serve: KServe v2 gRPC on {}:{}{}\n", o->host, grpc->port(),
                 listen.tls_cert.empty() ? "" : " (TLS)");
    }
    int sig = 0;
    sigwait(&stop_signals, &sig);
    fmt::print(stderr, "verge serve: {} received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    if (grpc) grpc->stop();
    if (metrics) metrics->stop();
    (*http)->stop();
    return 0;
  };
}

}  // namespace verge::cli
