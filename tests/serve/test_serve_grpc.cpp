// The KServe v2 gRPC service over real loopback sockets, driven by a client stub generated from
// serve/grpc_predict_v2.proto: metadata, raw and typed inference equal to in-process runs, error codes,
// bearer token, TLS and mutual TLS.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>

#include "serve/grpc_predict_v2.grpc.pb.h"
#include "serve/grpc_server.h"
#include "serve_fixture.h"

namespace verge::serve {
namespace {
using test::TempDir;

class ServeGrpc : public ::testing::Test {
 protected:
  void SetUp() override {
    test::add_fmnist_model(dir_.path(), "fmnist",
                           "max_batch_size: 8 dynamic_batching { max_queue_delay_microseconds: 2000 }");
    auto repo = ModelRepository::open(dir_.str(), {.read_model = {}, .log = [](const std::string&) {}});
    ASSERT_TRUE(repo.is_ok());
    repo_ = std::move(repo).value();
    ASSERT_EQ(repo_->load_all(), 1u);
  }

  void start(ListenOptions o = {}) {
    server_.reset();
    auto s = GrpcServer::create(*repo_, o);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    server_ = std::move(s).value();
  }

  std::unique_ptr<inference::GRPCInferenceService::Stub> stub(
      std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials()) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return inference::GRPCInferenceService::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server_->port()), creds, args));
  }

  static std::unique_ptr<grpc::ClientContext> context(const std::string& token = "") {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
    return c;
  }

  static inference::ModelInferRequest image_request(const std::vector<float>& pixels, bool raw) {
    inference::ModelInferRequest q;
    q.set_model_name("fmnist");
    q.set_id("g1");
    auto* in = q.add_inputs();
    in->set_name("image");
    in->set_datatype("FP32");
    for (int64_t d : {static_cast<int64_t>(pixels.size() / 784), int64_t{1}, int64_t{28}, int64_t{28}})
      in->add_shape(d);
    if (raw)
      q.add_raw_input_contents(std::string(reinterpret_cast<const char*>(pixels.data()), pixels.size() * 4));
    else
      for (float v : pixels) in->mutable_contents()->add_fp32_contents(v);
    return q;
  }

  TempDir dir_{"grpc"};
  std::unique_ptr<ModelRepository> repo_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(ServeGrpc, MetadataAndInferMatchInProcessRun) {
  start();
  auto s = stub();
  inference::ServerLiveResponse live;
  ASSERT_TRUE(s->ServerLive(context().get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(s->ServerReady(context().get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ServerMetadataResponse sm;
  ASSERT_TRUE(s->ServerMetadata(context().get(), {}, &sm).ok());
  EXPECT_EQ(sm.name(), "verge");
  inference::ModelReadyRequest mrq;
  mrq.set_name("fmnist");
  inference::ModelReadyResponse mr;
  ASSERT_TRUE(s->ModelReady(context().get(), mrq, &mr).ok());
  EXPECT_TRUE(mr.ready());
  mrq.set_name("nope");
  ASSERT_TRUE(s->ModelReady(context().get(), mrq, &mr).ok());
  EXPECT_FALSE(mr.ready());
  inference::ModelMetadataRequest mq;
  mq.set_name("fmnist");
  inference::ModelMetadataResponse md;
  ASSERT_TRUE(s->ModelMetadata(context().get(), mq, &md).ok());
  EXPECT_EQ(md.versions(0), "1");
  ASSERT_EQ(md.inputs_size(), 1);
  EXPECT_EQ(md.inputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(md.inputs(0).shape().begin(), md.inputs(0).shape().end()),
            (std::vector<int64_t>{-1, 1, 28, 28}));

  const std::vector<float> pixels = test::images(3, 41);
  const std::vector<float> want = test::reference_logits(pixels);
  for (bool raw : {true, false}) {
    inference::ModelInferResponse r;
    grpc::Status st = s->ModelInfer(context().get(), image_request(pixels, raw), &r);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(r.model_name(), "fmnist");
    EXPECT_EQ(r.id(), "g1");
    ASSERT_EQ(r.outputs_size(), 1);
    EXPECT_EQ(r.outputs(0).name(), "logits");
    EXPECT_EQ(r.outputs(0).datatype(), "FP32");
    ASSERT_EQ(r.raw_output_contents_size(), 1);
    EXPECT_EQ(test::as_floats(r.raw_output_contents(0)), want) << "raw=" << raw;
  }
}

TEST_F(ServeGrpc, ErrorsCarryCodesAndReasons) {
  start({.max_request_bytes = 1 << 16});
  auto s = stub();
  const std::vector<float> pixels = test::images(1, 42);
  struct Case {
    const char* name;
    std::function<void(inference::ModelInferRequest&)> edit;
    grpc::StatusCode code;
    const char* reason;
  } cases[] = {
      {"unknown model", [](auto& q) { q.set_model_name("nope"); }, grpc::StatusCode::NOT_FOUND,
       "unknown model 'nope'"},
      {"wrong shape", [](auto& q) { q.mutable_inputs(0)->set_shape(2, 2); },
       grpc::StatusCode::INVALID_ARGUMENT, "does not match the model's"},
      {"wrong dtype", [](auto& q) { q.mutable_inputs(0)->set_datatype("INT64"); },
       grpc::StatusCode::INVALID_ARGUMENT, "datatype INT64 but the model expects FP32"},
      {"raw count", [](auto& q) { q.add_raw_input_contents("x"); }, grpc::StatusCode::INVALID_ARGUMENT,
       "2 raw_input_contents for 1 inputs"},
      {"short raw", [](auto& q) { q.mutable_raw_input_contents(0)->resize(10); },
       grpc::StatusCode::INVALID_ARGUMENT, "10 bytes of data"},
      {"too large", [](auto& q) { q.mutable_raw_input_contents(0)->resize(1 << 17); },
       grpc::StatusCode::RESOURCE_EXHAUSTED, ""},
  };
  for (const Case& c : cases) {
    auto q = image_request(pixels, true);
    c.edit(q);
    inference::ModelInferResponse r;
    grpc::Status st = s->ModelInfer(context().get(), q, &r);
    EXPECT_EQ(st.error_code(), c.code) << c.name << ": " << st.error_message();
    EXPECT_NE(st.error_message().find(c.reason), std::string::npos) << c.name << ": " << st.error_message();
    inference::ModelInferResponse ok;
    EXPECT_TRUE(s->ModelInfer(context().get(), image_request(pixels, true), &ok).ok()) << "after " << c.name;
  }
}

TEST_F(ServeGrpc, BearerToken) {
  start({.auth_token = "tok"});
  auto s = stub();
  inference::ServerLiveResponse live;
  EXPECT_TRUE(s->ServerLive(context().get(), {}, &live).ok());
  inference::ModelInferResponse r;
  const auto q = image_request(test::images(1, 1), true);
  EXPECT_EQ(s->ModelInfer(context().get(), q, &r).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s->ModelInfer(context("bad").get(), q, &r).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(s->ModelInfer(context("tok").get(), q, &r).ok());
}

TEST_F(ServeGrpc, TlsAndMutualTls) {
  test::TestPki pki;
  if (!pki.ok()) GTEST_SKIP() << "openssl CLI not available";
  auto pem = [&](const std::string& f) { return read_file(pki(f)).value(); };
  const auto q = image_request(test::images(1, 3), true);
  inference::ModelInferResponse r;

  start({.tls_cert = pki("server.pem"), .tls_key = pki("server.key")});
  EXPECT_TRUE(
      stub(grpc::SslCredentials({.pem_root_certs = pem("ca.pem")}))->ModelInfer(context().get(), q, &r).ok());
  EXPECT_EQ(stub(grpc::SslCredentials({.pem_root_certs = pem("other.pem")}))
                ->ModelInfer(context().get(), q, &r)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(stub()->ModelInfer(context().get(), q, &r).error_code(),
            grpc::StatusCode::UNAVAILABLE);  // plaintext

  start({.tls_cert = pki("server.pem"), .tls_key = pki("server.key"), .tls_client_ca = pki("ca.pem")});
  EXPECT_EQ(stub(grpc::SslCredentials({.pem_root_certs = pem("ca.pem")}))
                ->ModelInfer(context().get(), q, &r)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
  grpc::Status st = stub(grpc::SslCredentials({.pem_root_certs = pem("ca.pem"),
                                               .pem_private_key = pem("client.key"),
                                               .pem_cert_chain = pem("client.pem")}))
                        ->ModelInfer(context().get(), q, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(test::as_floats(r.raw_output_contents(0)), test::reference_logits(test::images(1, 3)));
}

}  // namespace
}  // namespace verge::serve
