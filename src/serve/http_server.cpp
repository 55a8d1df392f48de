#include "serve/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "serve/buffered_http.h"
#include "serve/kserve_json.h"

namespace verge::serve {
namespace {
using json = nlohmann::json;

int http_status(const Status& st) {
  switch (st.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kResourceExhausted:
      return 503;
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnsupported:
    case StatusCode::kOutOfRange:
    case StatusCode::kInvalidModel:
      return 400;
    default:
      return 500;
  }
}

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(error_json(message), "application/json");
}

void send_error(httplib::Response& res, const Status& st) { send_error(res, http_status(st), st.message()); }

std::string openssl_error() {
  char buf[256] = "unknown error";
  if (unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

json io_json(const std::vector<IoInfo>& ios, int max_batch_size) {
  json a = json::array();
  for (const IoInfo& io : ios) {
    json shape = json::array();
    for (size_t d = 0; d < io.shape.size(); ++d)
      shape.push_back(d == 0 && max_batch_size > 0 ? -1 : io.shape[d]);
    a.push_back(
        {{"name", io.name}, {"datatype", std::string(kserve_dtype_name(io.dtype))}, {"shape", shape}});
  }
  return a;
}

std::string match(const httplib::Request& req, size_t i) {
  return i < req.matches.size() ? req.matches[i].str() : std::string();
}

// Accepts exactly "Bearer <token>"; constant-time comparison.
bool authorized(const httplib::Request& req, const std::string& token) {
  const std::string got = req.get_header_value("Authorization");
  const std::string want = "Bearer " + token;
  return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}
}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(Kind kind, ModelRepository& repository,
                                                       const ListenOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->repo_ = &repository;
  s->options_ = options;
  if (options.tls_cert.empty() != options.tls_key.empty())
    return Status::invalid_argument("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  if (!options.tls_client_ca.empty() && options.tls_cert.empty())
    return Status::invalid_argument("--tls-client-ca needs --tls-cert and --tls-key");
  if (!options.tls_cert.empty()) {
    std::string error;
    auto setup = [&](SSL_CTX& ctx) {
      auto fail = [&](std::string what) {
        error = fmt::format("{}: {}", what, openssl_error());
        return false;
      };
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      SSL_CTX_set_options(&ctx,
                          SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
      if (SSL_CTX_use_certificate_chain_file(&ctx, options.tls_cert.c_str()) != 1)
        return fail(fmt::format("TLS certificate '{}'", options.tls_cert));
      if (SSL_CTX_use_PrivateKey_file(&ctx, options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1)
        return fail(fmt::format("TLS key '{}'", options.tls_key));
      if (SSL_CTX_check_private_key(&ctx) != 1) return fail("TLS key does not match the certificate");
      if (!options.tls_client_ca.empty()) {
        if (SSL_CTX_load_verify_locations(&ctx, options.tls_client_ca.c_str(), nullptr) != 1)
          return fail(fmt::format("TLS client CA '{}'", options.tls_client_ca));
        if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.tls_client_ca.c_str()))
          SSL_CTX_set_client_CA_list(&ctx, names);
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      }
      return true;
    };
    auto ssl = std::make_unique<httplib::SSLServer>(setup);
    if (!ssl->is_valid()) return Status::invalid_argument(error.empty() ? "TLS setup failed" : error);
    s->server_ = std::move(ssl);
    s->tls_ = true;
  } else {
    s->server_ = std::make_unique<BufferedServer>();
  }
  httplib::Server& srv = *s->server_;
  const int threads = std::max(1, options.handler_threads);
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  srv.set_payload_max_length(options.max_request_bytes);
  srv.set_read_timeout(options.io_timeout_seconds, 0);
  srv.set_write_timeout(options.io_timeout_seconds, 0);
  srv.set_keep_alive_max_count(1000);
  // Without TCP_NODELAY a keep-alive connection stalls ~40 ms per response (Nagle + delayed ACK: httplib
  // writes the headers and the body in separate sends).
  srv.set_tcp_nodelay(true);
  s->add_common_handlers();
  if (kind == Kind::kInference) {
    s->add_inference_routes();
  } else {
    srv.Get("/metrics", [r = s->repo_](const httplib::Request&, httplib::Response& res) {
      res.set_content(prometheus_metrics(*r), "text/plain; version=0.0.4");
    });
  }
  const int port = options.port == 0                              ? srv.bind_to_any_port(options.host)
                   : srv.bind_to_port(options.host, options.port) ? options.port
                                                                  : -1;
  if (port <= 0)
    return Status::io_error(
        fmt::format("cannot listen on {}:{} ({})", options.host, options.port, std::strerror(errno)));
  s->port_ = port;
  return s;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the accept loop runs would be lost; wait until it is running.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void HttpServer::add_common_handlers() {
  httplib::Server& srv = *server_;
  srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options_.auth_token.empty() || req.path.rfind("/v2/health/", 0) == 0 ||
        authorized(req, options_.auth_token))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "missing or invalid bearer token (send 'Authorization: Bearer <token>')");
    return httplib::Server::HandlerResponse::Handled;
  });
  srv.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413)
      send_error(res, 413,
                 fmt::format("request body exceeds the limit of {} bytes", options_.max_request_bytes));
    else if (res.status == 404)
      send_error(res, 404, fmt::format("no endpoint {} {}", req.method, req.path));
    else if (res.status == 400)
      send_error(res, 400, "malformed HTTP request (a POST needs a body or Content-Length: 0)");
    else
      send_error(res, res.status, fmt::format("HTTP error {}", res.status));
  });
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, what);
  });
}

void HttpServer::add_inference_routes() {
  httplib::Server& srv = *server_;
  ModelRepository* repo = repo_;
  srv.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"live", true}});
  });
  srv.Get("/v2/health/ready", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"ready", true}});
  });
  srv.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200,
              {{"name", "verge"},
               {"version", "0.1.0"},
               {"extensions", {"binary_tensor_data", "model_repository"}}});
  });
  srv.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/ready)",
          [repo](const httplib::Request& req, httplib::Response& res) {
            auto m = repo->get(match(req, 1), match(req, 2));
            if (!m.is_ok()) return send_error(res, m.status());
            send_json(res, 200, {{"name", (*m)->name()}, {"version", (*m)->version()}, {"ready", true}});
          });
  srv.Get(R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)",
          [repo](const httplib::Request& req, httplib::Response& res) {
            auto m = repo->get(match(req, 1), match(req, 2));
            if (!m.is_ok()) return send_error(res, m.status());
            const Model& model = **m;
            send_json(res, 200,
                      {{"name", model.name()},
                       {"versions", {model.version()}},
                       {"platform", "onnxruntime_onnx"},
                       {"inputs", io_json(model.inputs(), model.max_batch_size())},
                       {"outputs", io_json(model.outputs(), model.max_batch_size())}});
          });
  // The body is read through a ContentReader so that any Content-Type works (curl --data-binary sends
  // application/x-www-form-urlencoded, which httplib would otherwise parse as a form capped at 8 KiB).
  srv.Post(
      R"(/v2/models/([^/]+)(?:/versions/([^/]+))?/infer)",
      [this, repo](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
        auto m = repo->get(match(req, 1), match(req, 2));
        if (!m.is_ok()) return send_error(res, m.status());
        if (req.is_multipart_form_data()) {
          (*m)->stats().request_failure++;
          return send_error(res, 400,
                            "multipart/form-data bodies are not accepted; send JSON or binary tensor data");
        }
        std::optional<size_t> header_length;
        if (req.has_header(std::string(kHeaderLengthField))) {
          header_length = parse_header_length(req.get_header_value(std::string(kHeaderLengthField)));
          if (!header_length) {
            (*m)->stats().request_failure++;
            return send_error(res, 400, fmt::format("{} must be a non-negative integer", kHeaderLengthField));
          }
        }
        // Reserved from Content-Length (bounded by the limit): no regrowth copies, and the JSON is preceded
        // by `pad` spaces so that the binary tensor data after it starts 64-byte aligned and the model can
        // read it in place (parse_infer_request borrows it).
        std::string request_body;
        size_t pad = 0;
        if (req.has_header("Content-Length")) {
          const uint64_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
          if (length <= options_.max_request_bytes) {
            request_body.reserve(length + 64);
            const auto start = reinterpret_cast<uintptr_t>(request_body.data()) + header_length.value_or(0);
            pad = (64 - start % 64) % 64;
            request_body.assign(pad, ' ');
          }
        }
        const bool complete = read([&](const char* data, size_t size) {
          request_body.append(data, size);
          return true;
        });
        if (!complete) {
          (*m)->stats().request_failure++;
          if (res.status == 413)
            return send_error(
                res, 413,
                fmt::format("request body exceeds the limit of {} bytes", options_.max_request_bytes));
          return send_error(res, 400, "could not read the request body");
        }
        auto parsed =
            parse_infer_request(std::string_view(request_body).substr(pad), header_length, /*borrow=*/true);
        if (!parsed.is_ok()) {
          (*m)->stats().request_failure++;
          return send_error(res, parsed.status());
        }
        InferRequest request;
        request.id = parsed->request.id;
        request.outputs = parsed->request.outputs;
        request.inputs = std::move(parsed->request.inputs);
        auto response = (*m)->infer(std::move(request));
        if (!response.is_ok()) return send_error(res, response.status());
        HttpBody body = encode_infer_response(*response, *parsed);
        res.status = 200;
        if (body.header_length) {
          res.set_header(std::string(kHeaderLengthField), std::to_string(*body.header_length));
          res.set_content(std::move(body.body), "application/octet-stream");
        } else {
          res.set_content(std::move(body.body), "application/json");
        }
      });
  srv.Post("/v2/repository/index", [repo](const httplib::Request&, httplib::Response& res) {
    json a = json::array();
    for (const ModelIndexEntry& e : repo->index()) {
      json o{{"name", e.name}, {"state", e.state}};
      if (!e.version.empty()) o["version"] = e.version;
      if (!e.reason.empty()) o["reason"] = e.reason;
      a.push_back(std::move(o));
    }
    send_json(res, 200, a);
  });
  srv.Post(R"(/v2/repository/models/([^/]+)/(load|unload))",
           [repo](const httplib::Request& req, httplib::Response& res) {
             const std::string name = match(req, 1);
             Status st = match(req, 2) == "load" ? repo->load(name) : repo->unload(name);
             if (!st.is_ok()) return send_error(res, st);
             send_json(res, 200, json::object());
           });
}

std::string prometheus_metrics(const ModelRepository& repository) {
  struct Family {
    const char* name;
    const char* help;
    const char* type;
    std::atomic<uint64_t> ModelStats::*field;
  };
  static const Family kFamilies[] = {
      {"nv_inference_request_success", "Number of successful inference requests, all batch sizes", "counter",
       &ModelStats::request_success},
      {"nv_inference_request_failure", "Number of failed inference requests, all batch sizes", "counter",
       &ModelStats::request_failure},
      {"nv_inference_count", "Number of inferences performed (a batch of n counts n)", "counter",
       &ModelStats::inference_count},
      {"nv_inference_exec_count", "Number of model executions performed (one per batch)", "counter",
       &ModelStats::execution_count},
      {"nv_inference_request_duration_us", "Cumulative inference request duration in microseconds", "counter",
       &ModelStats::request_duration_us},
      {"nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds", "counter",
       &ModelStats::queue_duration_us},
      {"nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds",
       "counter", &ModelStats::compute_input_duration_us},
      {"nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds",
       "counter", &ModelStats::compute_infer_duration_us},
      {"nv_inference_compute_output_duration_us",
       "Cumulative inference compute output duration in microseconds", "counter",
       &ModelStats::compute_output_duration_us},
      {"nv_inference_pending_request_count", "Instantaneous number of pending requests awaiting execution",
       "gauge", &ModelStats::pending},
  };
  const auto models = repository.ready_models();
  std::string out;
  for (const Family& f : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& m : models)
      out += fmt::format("{}{{model=\"{}\",version=\"{}\"}} {}\n", f.name, m->name(), m->version(),
                         (m->stats().*f.field).load());
  }
  return out;
}

}  // namespace verge::serve
