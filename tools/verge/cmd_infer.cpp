#include <fmt/format.h>

#include <filesystem>

#include "commands.h"
#include "io/file.h"
#include "io/npy.h"
#include "serve/client.h"

namespace verge::cli {

Action add_infer(CLI::App& app) {
  struct Opts {
    std::string url = "http://127.0.0.1:8000", model, version, output_dir, ca_cert, client_cert, client_key,
                token_file;
    std::vector<std::string> inputs, outputs;
    bool binary = false;
    int timeout = 60;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* c =
      app.add_subcommand("infer", "Send .npy inputs to a KServe v2 REST server and write its outputs");
  c->add_option("model", o->model, "model name on the server")->required();
  c->add_option("--url", o->url, "server URL, http://HOST:PORT or https://HOST:PORT");
  c->add_option("--model-version", o->version, "model version (default: the served one)");
  c->add_option("--input,-i", o->inputs, "NAME=FILE (.npy or ONNX TensorProto .pb); repeat per input")
      ->required();
  c->add_option("--output", o->outputs, "ask only for these outputs (default: all)");
  c->add_option("--output-dir,-o", o->output_dir, "write each output to DIR/<name>.npy");
  c->add_flag("--binary", o->binary, "use the binary tensor data extension instead of JSON");
  c->add_option("--ca-cert", o->ca_cert, "PEM CA to verify an https server against");
  c->add_option("--client-cert", o->client_cert, "PEM client certificate (mutual TLS)");
  c->add_option("--client-key", o->client_key, "PEM key of --client-cert");
  c->add_option("--auth-token-file", o->token_file, "send 'Authorization: Bearer <token in this file>'");
  c->add_option("--timeout", o->timeout, "seconds per connect/read/write")->check(CLI::Range(1, 3600));
  return [o]() -> int {
    serve::ClientOptions co;
    co.url = o->url;
    co.ca_cert = o->ca_cert;
    co.client_cert = o->client_cert;
    co.client_key = o->client_key;
    co.timeout_seconds = o->timeout;
    co.binary_inputs = co.binary_outputs = o->binary;
    if (!o->token_file.empty()) {
      auto token = read_token_file(o->token_file);
      if (!token.is_ok()) return report_error(token.status());
      co.auth_token = *token;
    }
    serve::InferRequest request;
    request.outputs = o->outputs;
    for (const std::string& kv : o->inputs) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0)
        return report_error(Status::invalid_argument(fmt::format("--input '{}' must be NAME=FILE", kv)));
      auto t = read_tensor_file(kv.substr(eq + 1));
      if (!t.is_ok()) return report_error(t.status());
      request.inputs.push_back({kv.substr(0, eq), t->dtype(), t->shape(),
                                std::string(static_cast<const char*>(t->raw()), t->nbytes())});
    }
    auto client = serve::Client::create(co);
    if (!client.is_ok()) return report_error(client.status());
    auto response = (*client)->infer(o->model, request, o->version);
    if (!response.is_ok()) return report_error(response.status());
    if (!o->output_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(o->output_dir, ec);
      if (ec)
        return report_error(
            Status::io_error(fmt::format("cannot create '{}': {}", o->output_dir, ec.message())));
    }
    for (const serve::InferTensor& t : response->outputs) {
      fmt::print("{}: {}[{}]\n", t.name, dtype_name(t.dtype), shape_to_string(t.shape));
      if (o->output_dir.empty()) continue;
      const Tensor view = Tensor::wrap(t.dtype, t.shape, t.data.data());
      Status st = write_npy(
          view, (std::filesystem::path(o->output_dir) / (sanitize_file_name(t.name) + ".npy")).string());
      if (!st.is_ok()) return report_error(st);
    }
    return 0;
  };
}

}  // namespace verge::cli
