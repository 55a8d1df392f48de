#include "serve/client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "serve/kserve_json.h"

namespace verge::serve {
namespace {
Status from_http(const httplib::Result& r, const std::string& what) {
  if (!r) return Status::io_error(fmt::format("{}: {}", what, httplib::to_string(r.error())));
  if (r->status == 200) return Status::ok();
  std::string msg = r->body;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
    msg = j["error"].get<std::string>();
  msg = fmt::format("{}: HTTP {}: {}", what, r->status, msg);
  switch (r->status) {
    case 400:
      return Status::invalid_argument(msg);
    case 404:
      return Status::not_found(msg);
    case 503:
      return Status(StatusCode::kResourceExhausted, msg);
    default:
      return Status::internal(msg);
  }
}
}  // namespace

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(const ClientOptions& options) {
  std::unique_ptr<Client> c(new Client());
  c->options_ = options;
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0)
    return Status::invalid_argument(fmt::format("URL '{}' must start with http:// or https://", options.url));
  if (options.client_cert.empty() != options.client_key.empty())
    return Status::invalid_argument("a client certificate needs its key (and the other way round)");
  std::string url = options.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  c->http_ = options.client_cert.empty()
                 ? std::make_unique<httplib::Client>(url)
                 : std::make_unique<httplib::Client>(url, options.client_cert, options.client_key);
  if (!c->http_->is_valid()) return Status::invalid_argument(fmt::format("cannot use URL '{}'", options.url));
  if (!options.ca_cert.empty()) {
    c->http_->set_ca_cert_path(options.ca_cert.c_str());
    c->http_->enable_server_certificate_verification(true);
  } else {
    c->http_->enable_server_certificate_verification(false);
  }
  c->http_->set_connection_timeout(options.timeout_seconds, 0);
  c->http_->set_read_timeout(options.timeout_seconds, 0);
  c->http_->set_write_timeout(options.timeout_seconds, 0);
  c->http_->set_keep_alive(true);
  c->http_->set_tcp_nodelay(true);  // see http_server.cpp: avoids Nagle/delayed-ACK stalls on keep-alive
  if (!options.auth_token.empty()) c->http_->set_bearer_token_auth(options.auth_token.c_str());
  return c;
}

Result<std::string> Client::get(const std::string& path) {
  auto r = http_->Get(path.c_str());
  VERGE_RETURN_IF_ERROR(from_http(r, fmt::format("GET {}{}", options_.url, path)));
  return r->body;
}

Result<std::string> Client::post(const std::string& path, const std::string& json_body) {
  auto r = http_->Post(path.c_str(), json_body, "application/json");
  VERGE_RETURN_IF_ERROR(from_http(r, fmt::format("POST {}{}", options_.url, path)));
  return r->body;
}

Result<InferResponse> Client::infer(const std::string& model, const InferRequest& request,
                                    const std::string& version) {
  const std::string path = "/v2/models/" + model + (version.empty() ? "" : "/versions/" + version) + "/infer";
  HttpBody body = encode_infer_request(request, options_.binary_inputs, options_.binary_outputs);
  httplib::Headers headers;
  if (body.header_length)
    headers.emplace(std::string(kHeaderLengthField), std::to_string(*body.header_length));
  auto r = http_->Post(path.c_str(), headers, body.body,
                       body.header_length ? "application/octet-stream" : "application/json");
  VERGE_RETURN_IF_ERROR(from_http(r, fmt::format("POST {}{}", options_.url, path)));
  std::optional<size_t> header_length;
  if (r->has_header(std::string(kHeaderLengthField))) {
    header_length = parse_header_length(r->get_header_value(std::string(kHeaderLengthField)));
    if (!header_length)
      return Status::invalid_argument("server sent a malformed Inference-Header-Content-Length");
  }
  return parse_infer_response(r->body, header_length);
}

}  // namespace verge::serve
