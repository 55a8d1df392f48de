// The KServe v2 REST server over real loopback sockets: JSON and binary inference equal in-process
// results, every malformed request gets its 4xx with a reason (and the server keeps serving),
// dynamic batching across concurrent clients, queue-full 503, repository extension, metrics, bearer
// token, TLS and mutual TLS.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "io/npy.h"
#include "serve/client.h"
#include "serve/grpc_predict_v2.grpc.pb.h"
#include "serve/http_server.h"
#include "serve/kserve_json.h"
#include "serve_fixture.h"

namespace verge::serve {
namespace {
using namespace std::chrono_literals;
using json = nlohmann::json;
using test::TempDir;

constexpr const char* kBatchingConfig =
    "max_batch_size: 8 dynamic_batching { max_queue_delay_microseconds: 20000 } instance_group [{ count: 2 "
    "}]";
constexpr const char* kSlowConfig =
    "max_batch_size: 8 dynamic_batching { max_queue_delay_microseconds: 1500000 "
    "default_queue_policy { max_queue_size: 1 } }";

// A repository with "fmnist" (batching) and "slow" (one queue slot, long batching delay), served on
// free loopback ports.
class ServeHttp : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(ListenOptions o) {
    server_.reset();
    metrics_.reset();
    repo_.reset();
    dir_ = std::make_unique<TempDir>("http");
    test::add_fmnist_model(dir_->path(), "fmnist", kBatchingConfig);
    test::add_fmnist_model(dir_->path(), "slow", kSlowConfig);
    auto repo = ModelRepository::open(dir_->str(), {.read_model = {}, .log = [](const std::string&) {}});
    ASSERT_TRUE(repo.is_ok());
    repo_ = std::move(repo).value();
    ASSERT_EQ(repo_->load_all(), 2u);
    o.max_request_bytes = kLimit;
    auto s = HttpServer::create(HttpServer::Kind::kInference, *repo_, o);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    server_ = std::move(s).value();
    server_->start();
    // The metrics listener gets the same TLS and token settings, as in `verge serve`.
    auto m = HttpServer::create(HttpServer::Kind::kMetrics, *repo_, o);
    ASSERT_TRUE(m.is_ok()) << m.status().to_string();
    metrics_ = std::move(m).value();
    metrics_->start();
  }

  std::string url() const {
    return (server_->tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(server_->port());
  }

  std::unique_ptr<httplib::Client> raw() {
    auto c = std::make_unique<httplib::Client>(url());
    c->set_connection_timeout(10, 0);
    c->set_read_timeout(30, 0);
    c->set_write_timeout(30, 0);
    return c;
  }

  std::unique_ptr<Client> client(ClientOptions o = {}, const HttpServer* target = nullptr) {
    if (!target) target = server_.get();
    o.url = (target->tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(target->port());
    o.timeout_seconds = 30;
    auto c = Client::create(o);
    EXPECT_TRUE(c.is_ok()) << c.status().to_string();
    return std::move(c).value();
  }

  std::string metrics_text() {
    httplib::Client c("127.0.0.1", metrics_->port());
    c.set_read_timeout(10, 0);
    auto r = c.Get("/metrics");
    EXPECT_TRUE(r && r->status == 200);
    return r ? r->body : "";
  }

  static constexpr size_t kLimit = 1 << 20;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<ModelRepository> repo_;
  std::unique_ptr<HttpServer> server_, metrics_;
};

uint64_t metric(const std::string& text, const std::string& name, const std::string& model) {
  std::smatch m;
  const std::regex re(name + "\\{model=\"" + model + "\",version=\"1\"\\} ([0-9]+)");
  return std::regex_search(text, m, re) ? std::stoull(m[1].str()) : ~uint64_t{0};
}

TEST_F(ServeHttp, HealthMetadataAndRepository) {
  auto c = raw();
  auto live = c->Get("/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(c->Get("/v2/health/ready")->status, 200);
  auto meta = c->Get("/v2");
  ASSERT_TRUE(meta && meta->status == 200);
  EXPECT_EQ(json::parse(meta->body)["extensions"],
            json::parse(R"(["binary_tensor_data","model_repository"])"));
  auto model = c->Get("/v2/models/fmnist");
  ASSERT_TRUE(model && model->status == 200) << (model ? model->body : "");
  const json mj = json::parse(model->body);
  EXPECT_EQ(mj["versions"], json::parse(R"(["1"])"));
  EXPECT_EQ(mj["inputs"][0], json::parse(R"({"name":"image","datatype":"FP32","shape":[-1,1,28,28]})"));
  EXPECT_EQ(mj["outputs"][0], json::parse(R"({"name":"logits","datatype":"FP32","shape":[-1,10]})"));
  EXPECT_EQ(c->Get("/v2/models/fmnist/versions/1")->status, 200);
  EXPECT_EQ(c->Get("/v2/models/fmnist/ready")->status, 200);
  EXPECT_EQ(c->Get("/v2/models/fmnist/versions/2/ready")->status, 404);
  EXPECT_EQ(c->Get("/v2/models/nope/ready")->status, 404);

  auto index = c->Post("/v2/repository/index", "{}", "application/json");
  ASSERT_TRUE(index && index->status == 200);
  EXPECT_EQ(json::parse(index->body)[0], json::parse(R"({"name":"fmnist","version":"1","state":"READY"})"));
  EXPECT_EQ(c->Post("/v2/repository/models/fmnist/unload", "", "application/json")->status, 200);
  auto gone = c->Get("/v2/models/fmnist");
  EXPECT_EQ(gone->status, 404);
  EXPECT_NE(gone->body.find("unknown model 'fmnist' (unloaded)"), std::string::npos) << gone->body;
  EXPECT_EQ(c->Post("/v2/repository/models/fmnist/load", "", "application/json")->status, 200);
  EXPECT_EQ(c->Get("/v2/models/fmnist/ready")->status, 200);
  EXPECT_EQ(c->Post("/v2/repository/models/nope/load", "", "application/json")->status, 404);
}

TEST_F(ServeHttp, JsonInferMatchesInProcessRun) {
  const std::vector<float> pixels = test::images(2, 11);
  const std::vector<float> want = test::reference_logits(pixels);
  json body{
      {"id", "req-1"},
      {"inputs", {{{"name", "image"}, {"datatype", "FP32"}, {"shape", {2, 1, 28, 28}}, {"data", pixels}}}}};
  auto r = raw()->Post("/v2/models/fmnist/infer", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["model_name"], "fmnist");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_EQ(j["id"], "req-1");
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["outputs"][0]["shape"], json::parse("[2,10]"));
  EXPECT_EQ(j["outputs"][0]["data"].get<std::vector<float>>(), want);
}

TEST_F(ServeHttp, BinaryInferMatchesInProcessRun) {
  const std::vector<float> pixels = test::images(3, 12);
  const std::vector<float> want = test::reference_logits(pixels);
  InferRequest req;
  req.inputs.push_back(test::image_tensor(pixels));
  for (bool binary_in : {true, false})
    for (bool binary_out : {true, false}) {
      auto c = client({.binary_inputs = binary_in, .binary_outputs = binary_out});
      auto r = c->infer("fmnist", req);
      ASSERT_TRUE(r.is_ok()) << r.status().to_string();
      ASSERT_EQ(r->outputs.size(), 1u);
      EXPECT_EQ(r->outputs[0].shape, (Shape{3, 10}));
      EXPECT_EQ(test::as_floats(r->outputs[0].data), want) << binary_in << binary_out;
    }
  // The raw wire format: JSON header, then the tensor bytes; binary output announced by its size.
  const json header{{"inputs",
                     {{{"name", "image"},
                       {"datatype", "FP32"},
                       {"shape", {3, 1, 28, 28}},
                       {"parameters", {{"binary_data_size", pixels.size() * 4}}}}}},
                    {"outputs", {{{"name", "logits"}, {"parameters", {{"binary_data", true}}}}}}};
  std::string body = header.dump();
  const size_t json_size = body.size();
  body.append(reinterpret_cast<const char*>(pixels.data()), pixels.size() * 4);
  auto r = raw()->Post("/v2/models/fmnist/versions/1/infer",
                       {{"Inference-Header-Content-Length", std::to_string(json_size)}}, body,
                       "application/octet-stream");
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  const size_t n = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  const json j = json::parse(r->body.substr(0, n));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 3 * 10 * 4);
  EXPECT_EQ(test::as_floats(r->body.substr(n)), want);
  // `curl --data-binary` labels the body application/x-www-form-urlencoded; it is still tensor data
  // (the body is 9 KiB, over httplib's 8 KiB form limit that used to answer 413).
  auto form =
      raw()->Post("/v2/models/fmnist/infer", {{"Inference-Header-Content-Length", std::to_string(json_size)}},
                  body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(form && form->status == 200) << (form ? form->body : "");
  EXPECT_EQ(test::as_floats(form->body.substr(n)), want);
}

TEST_F(ServeHttp, MalformedRequestsGetTheir4xxAndServerKeepsServing) {
  const std::vector<float> pixels = test::images(1, 13);
  auto tensor = [&](json shape, std::string dtype = "FP32") {
    return json{{"name", "image"}, {"datatype", dtype}, {"shape", shape}, {"data", pixels}};
  };
  const std::string pixel_bytes(reinterpret_cast<const char*>(pixels.data()), pixels.size() * 4);
  const json bin_header{{"inputs",
                         {{{"name", "image"},
                           {"datatype", "FP32"},
                           {"shape", {1, 1, 28, 28}},
                           {"parameters", {{"binary_data_size", 3136}}}}}}};
  struct Case {
    std::string name, path, body;
    httplib::Headers headers;
    int status;
    std::string reason;
  };
  const std::string hl = "Inference-Header-Content-Length";
  std::vector<Case> cases = {
      {"bad json", "/v2/models/fmnist/infer", "{\"inputs\": [", {}, 400, "malformed JSON"},
      {"not an object", "/v2/models/fmnist/infer", "[1,2]", {}, 400, "must be a JSON object"},
      {"no inputs", "/v2/models/fmnist/infer", "{}", {}, 400, "missing 'inputs'"},
      {"unknown model",
       "/v2/models/nope/infer",
       json{{"inputs", {tensor({1, 1, 28, 28})}}}.dump(),
       {},
       404,
       "unknown model 'nope'"},
      {"unknown version",
       "/v2/models/fmnist/versions/7/infer",
       json{{"inputs", {tensor({1, 1, 28, 28})}}}.dump(),
       {},
       404,
       "has no version '7'"},
      {"wrong shape",
       "/v2/models/fmnist/infer",
       json{{"inputs", {tensor({1, 1, 14, 56})}}}.dump(),
       {},
       400,
       "does not match the model's"},
      {"wrong rank",
       "/v2/models/fmnist/infer",
       json{{"inputs", {tensor({784})}}}.dump(),
       {},
       400,
       "has rank 1"},
      {"wrong dtype",
       "/v2/models/fmnist/infer",
       json{{"inputs", {tensor({1, 1, 28, 28}, "INT32")}}}.dump(),
       {},
       400,
       "inputs 'image': integer data must be integers"},
      {"dtype mismatch",
       "/v2/models/fmnist/infer",
       json{{"inputs",
             {{{"name", "image"}, {"datatype", "FP64"}, {"shape", {1, 1, 28, 28}}, {"data", pixels}}}}}
           .dump(),
       {},
       400,
       "datatype FP64 but the model expects FP32"},
      {"unknown dtype",
       "/v2/models/fmnist/infer",
       json{{"inputs", {tensor({1, 1, 28, 28}, "FP8")}}}.dump(),
       {},
       400,
       "unsupported datatype 'FP8'"},
      {"too few values",
       "/v2/models/fmnist/infer",
       json{{"inputs",
             {{{"name", "image"}, {"datatype", "FP32"}, {"shape", {1, 1, 28, 28}}, {"data", {1, 2}}}}}}
           .dump(),
       {},
       400,
       "8 bytes of data but shape 1x1x28x28 of FP32 needs 3136"},
      {"negative dim",
       "/v2/models/fmnist/infer",
       json{{"inputs", {tensor({1, -1, 28, 28})}}}.dump(),
       {},
       400,
       "shape must be an array of non-negative integers"},
      {"unknown input",
       "/v2/models/fmnist/infer",
       json{{"inputs", {{{"name", "x"}, {"datatype", "FP32"}, {"shape", {1}}, {"data", {1}}}}}}.dump(),
       {},
       400,
       "unknown input 'x'"},
      {"unknown output",
       "/v2/models/fmnist/infer",
       json{{"inputs", {tensor({1, 1, 28, 28})}}, {"outputs", {{{"name", "nope"}}}}}.dump(),
       {},
       400,
       "unknown output 'nope'"},
      {"oversized body",
       "/v2/models/fmnist/infer",
       std::string(kLimit + 1, ' '),
       {},
       413,
       "exceeds the limit of 1048576 bytes"},
      {"binary size beyond body",
       "/v2/models/fmnist/infer",
       bin_header.dump() + pixel_bytes.substr(0, 100),
       {{hl, std::to_string(bin_header.dump().size())}},
       400,
       "binary_data_size 3136 but only 100 binary bytes remain"},
      {"binary trailing bytes",
       "/v2/models/fmnist/infer",
       bin_header.dump() + pixel_bytes + "xx",
       {{hl, std::to_string(bin_header.dump().size())}},
       400,
       "2 trailing binary bytes"},
      {"header length beyond body",
       "/v2/models/fmnist/infer",
       bin_header.dump(),
       {{hl, "999999"}},
       400,
       "exceeds the body size"},
      {"header length not a number",
       "/v2/models/fmnist/infer",
       bin_header.dump(),
       {{hl, "-5"}},
       400,
       "must be a non-negative integer"},
      {"no route", "/v2/nothing", "{}", {}, 404, "no endpoint POST /v2/nothing"},
  };
  auto c = raw();
  for (const Case& k : cases) {
    auto r = c->Post(k.path.c_str(), k.headers, k.body, "application/json");
    ASSERT_TRUE(r) << k.name << ": " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, k.status) << k.name << ": " << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << k.name << ": " << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(k.reason), std::string::npos) << k.name << ": " << r->body;
    // After every bad request a good one still works (fresh connection: a 413 may close this one).
    InferRequest good;
    good.inputs.push_back(test::image_tensor(pixels));
    auto ok = client()->infer("fmnist", good);
    ASSERT_TRUE(ok.is_ok()) << "after " << k.name << ": " << ok.status().to_string();
    c = raw();
  }
  const std::string text = metrics_text();
  EXPECT_GE(metric(text, "nv_inference_request_failure", "fmnist"), 15u) << text;
}

// Concurrent clients over HTTP, batched by the server, each get exactly their unbatched answer.
TEST_F(ServeHttp, ConcurrentClientsAreBatchedWithIdenticalResults) {
  constexpr int kClients = 12;
  const std::vector<float> pixels = test::images(kClients, 21);
  const std::vector<float> want = test::reference_logits(pixels);
  const std::string before = metrics_text();
  std::vector<std::future<std::vector<float>>> futures;
  for (int i = 0; i < kClients; ++i)
    futures.push_back(std::async(std::launch::async, [&, i] {
      InferRequest r;
      r.inputs.push_back(test::image_tensor({pixels.begin() + i * 784, pixels.begin() + (i + 1) * 784}));
      auto out = client({.binary_inputs = (i % 2 == 0), .binary_outputs = (i % 3 == 0)})->infer("fmnist", r);
      EXPECT_TRUE(out.is_ok()) << out.status().to_string();
      return out.is_ok() ? test::as_floats(out->outputs[0].data) : std::vector<float>{};
    }));
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(futures[i].wait_for(60s), std::future_status::ready);
    EXPECT_EQ(futures[i].get(), std::vector<float>(want.begin() + i * 10, want.begin() + (i + 1) * 10));
  }
  const std::string after = metrics_text();
  EXPECT_EQ(metric(after, "nv_inference_request_success", "fmnist") -
                metric(before, "nv_inference_request_success", "fmnist"),
            uint64_t{kClients});
  EXPECT_EQ(metric(after, "nv_inference_count", "fmnist") - metric(before, "nv_inference_count", "fmnist"),
            uint64_t{kClients});
  EXPECT_LT(metric(after, "nv_inference_exec_count", "fmnist") -
                metric(before, "nv_inference_exec_count", "fmnist"),
            uint64_t{kClients});
  EXPECT_GT(metric(after, "nv_inference_compute_infer_duration_us", "fmnist"), 0u);
  EXPECT_NE(after.find("# TYPE nv_inference_count counter"), std::string::npos);
}

TEST_F(ServeHttp, FullQueueAnswers503) {
  const std::vector<float> pixels = test::images(1, 5);
  InferRequest r;
  r.inputs.push_back(test::image_tensor(pixels));
  auto first = std::async(std::launch::async, [&] { return client()->infer("slow", r); });
  auto model = repo_->get("slow").value();
  for (int i = 0; i < 2000 && model->stats().pending.load() == 0; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(model->stats().pending.load(), 1u);
  const json body{
      {"inputs", {{{"name", "image"}, {"datatype", "FP32"}, {"shape", {1, 1, 28, 28}}, {"data", pixels}}}}};
  auto second = raw()->Post("/v2/models/slow/infer", body.dump(), "application/json");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503);
  EXPECT_NE(second->body.find("request queue is full"), std::string::npos) << second->body;
  ASSERT_EQ(first.wait_for(30s), std::future_status::ready);
  auto ok = first.get();
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(test::as_floats(ok->outputs[0].data), test::reference_logits(pixels));
}

TEST_F(ServeHttp, BearerTokenGuardsEverythingButHealth) {
  start({.auth_token = "s3cret-token"});
  auto c = raw();
  EXPECT_EQ(c->Get("/v2/health/live")->status, 200);
  auto denied = c->Get("/v2/models/fmnist");
  EXPECT_EQ(denied->status, 401);
  EXPECT_NE(denied->body.find("bearer token"), std::string::npos);
  c->set_bearer_token_auth("wrong-token!");
  EXPECT_EQ(c->Get("/v2/models/fmnist")->status, 401);
  c->set_bearer_token_auth("s3cret-token");
  EXPECT_EQ(c->Get("/v2/models/fmnist")->status, 200);
  InferRequest r;
  r.inputs.push_back(test::image_tensor(test::images(1, 1)));
  EXPECT_EQ(client()->infer("fmnist", r).status().code(), StatusCode::kInternal);  // 401
  EXPECT_TRUE(client({.auth_token = "s3cret-token"})->infer("fmnist", r).is_ok());
  // The metrics listener needs the token too.
  EXPECT_FALSE(client({}, metrics_.get())->get("/metrics").is_ok());
  auto m = client({.auth_token = "s3cret-token"}, metrics_.get())->get("/metrics");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_NE(m->find("nv_inference_request_success{model=\"fmnist\",version=\"1\"} 1"), std::string::npos)
      << *m;
}

TEST_F(ServeHttp, TlsHandshakes) {
  test::TestPki pki;
  if (!pki.ok()) GTEST_SKIP() << "openssl CLI not available";
  start({.tls_cert = pki("server.pem"), .tls_key = pki("server.key")});
  ASSERT_TRUE(server_->tls());
  EXPECT_TRUE(client({.ca_cert = pki("ca.pem")})->get("/v2/health/ready").is_ok());
  auto wrong_ca = client({.ca_cert = pki("other.pem")})->get("/v2/health/ready");
  EXPECT_EQ(wrong_ca.status().code(), StatusCode::kIoError) << wrong_ca.status().to_string();
  // Plain HTTP against the TLS port fails too.
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(5, 0);
  auto pr = plain.Get("/v2/health/ready");
  EXPECT_TRUE(!pr || pr->status != 200);
  // The metrics listener is TLS as well: verified with the right CA, refused with the wrong one.
  ASSERT_TRUE(metrics_->tls());
  auto m = client({.ca_cert = pki("ca.pem")}, metrics_.get())->get("/metrics");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_NE(m->find("nv_inference_count"), std::string::npos);
  EXPECT_FALSE(client({.ca_cert = pki("other.pem")}, metrics_.get())->get("/metrics").is_ok());

  InferRequest r;
  r.inputs.push_back(test::image_tensor(test::images(1, 2)));
  start({.tls_cert = pki("server.pem"), .tls_key = pki("server.key"), .tls_client_ca = pki("ca.pem")});
  auto no_cert = client({.ca_cert = pki("ca.pem")})->get("/v2/health/ready");
  EXPECT_EQ(no_cert.status().code(), StatusCode::kIoError) << no_cert.status().to_string();
  auto mtls =
      client({.ca_cert = pki("ca.pem"), .client_cert = pki("client.pem"), .client_key = pki("client.key")})
          ->infer("fmnist", r);
  ASSERT_TRUE(mtls.is_ok()) << mtls.status().to_string();
  EXPECT_EQ(test::as_floats(mtls->outputs[0].data), test::reference_logits(test::images(1, 2)));
  // A client certificate from another CA is refused.
  auto self_signed =
      client({.ca_cert = pki("ca.pem"), .client_cert = pki("other.pem"), .client_key = pki("other.key")})
          ->get("/v2/health/ready");
  EXPECT_FALSE(self_signed.is_ok());
}

TEST(ServeHttpSetup, BadTlsFilesAreClearErrors) {
  TempDir dir("tlsbad");
  auto repo = ModelRepository::open(dir.str(), {.read_model = {}, .log = [](const std::string&) {}});
  ASSERT_TRUE(repo.is_ok());
  auto s = HttpServer::create(HttpServer::Kind::kInference, **repo,
                              {.tls_cert = (dir.path() / "missing.pem").string(), .tls_key = "x.key"});
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.status().message().find("missing.pem"), std::string::npos) << s.status().message();
  auto k = HttpServer::create(HttpServer::Kind::kInference, **repo, {.tls_cert = "a.pem"});
  EXPECT_NE(k.status().message().find("needs both"), std::string::npos);
}

}  // namespace
}  // namespace verge::serve

namespace verge::serve {
namespace {

std::string shell(const std::string& cmd, int* code = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (code) *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// `verge serve` as a process (port 0, address read from its log) and `verge infer` against it, JSON and
// binary, give the in-process logits bit for bit.
TEST(ServeCli, ServeAndInferCommands) {
  TempDir dir("cli");
  test::add_fmnist_model(dir.path() / "repo", "fmnist", "max_batch_size: 4");
  const std::vector<float> pixels = test::images(2, 31);
  const std::string x = (dir.path() / "x.npy").string();
  ASSERT_TRUE(write_npy(Tensor::wrap(DType::kFloat32, {2, 1, 28, 28}, pixels.data()), x).is_ok());
  const std::string log = (dir.path() / "serve.log").string();
  const std::string pid =
      shell(std::string(VERGE_BIN) + " serve --model-repository " + (dir.path() / "repo").string() +
            " --http-port 0 --grpc-port 0 --metrics-port -1 >" + log + " 2>&1 & echo $!");
  struct KillOnExit {
    std::string pid;
    ~KillOnExit() { shell("kill " + pid); }
  } guard{pid};
  std::smatch m;
  std::string text;
  const std::regex listening("REST on http://127\\.0\\.0\\.1:([0-9]+)");
  const std::regex grpc_listening("gRPC on 127\\.0\\.0\\.1:([0-9]+)");
  // Wait for both lines: the server prints them one after the other.
  for (int i = 0;
       i < 1000 && !(std::regex_search(text, m, listening) && std::regex_search(text, grpc_listening)); ++i) {
    std::this_thread::sleep_for(10ms);
    text = read_file(log).is_ok() ? read_file(log).value() : "";
  }
  ASSERT_TRUE(std::regex_search(text, m, listening)) << text;
  const std::string url = "http://127.0.0.1:" + m[1].str();
  // The gRPC listener is up too.
  std::smatch g;
  ASSERT_TRUE(std::regex_search(text, g, grpc_listening)) << text;
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + g[1].str(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub->ServerLive(&ctx, {}, &live).ok());
  EXPECT_TRUE(live.live());
  const std::vector<float> want = test::reference_logits(pixels);
  for (const char* mode : {"", " --binary"}) {
    const std::string out = (dir.path() / (std::string("out") + mode)).string();
    int code = -1;
    const std::string said =
        shell(std::string(VERGE_BIN) + " infer fmnist --url " + url + " --input image=" + x +
                  " --output-dir '" + out + "'" + mode + " --timeout 30",
              &code);
    ASSERT_EQ(code, 0) << said;
    EXPECT_EQ(said, "logits: float32[2x10]\n");
    auto y = read_npy(out + "/logits.npy");
    ASSERT_TRUE(y.is_ok()) << y.status().to_string();
    EXPECT_EQ(std::vector<float>(y->values<float>().begin(), y->values<float>().end()), want);
  }
  int code = -1;
  const std::string err = shell(
      std::string(VERGE_BIN) + " infer nope --url " + url + " --input image=" + x + " --timeout 30", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(err.find("HTTP 404: unknown model 'nope'"), std::string::npos) << err;
}

}  // namespace
}  // namespace verge::serve
