#include "serve/grpc_server.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>

#include <limits>

#include "io/file.h"
#include "serve/grpc_predict_v2.grpc.pb.h"

namespace verge::serve {
namespace {

grpc::Status to_grpc(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, st.message()};
    case StatusCode::kResourceExhausted:
      return {grpc::StatusCode::UNAVAILABLE, st.message()};
    case StatusCode::kInvalidArgument:
    case StatusCode::kUnsupported:
    case StatusCode::kOutOfRange:
    case StatusCode::kInvalidModel:
      return {grpc::StatusCode::INVALID_ARGUMENT, st.message()};
    default:
      return {grpc::StatusCode::INTERNAL, st.message()};
  }
}

Status bad(std::string m) { return Status::invalid_argument(std::move(m)); }

template <class T, class Field>
Status append_typed(const Field& values, std::string& out, const std::string& what) {
  out.reserve(values.size() * sizeof(T));
  for (const auto v : values) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      if (v < static_cast<decltype(v)>(std::numeric_limits<T>::min()) ||
          v > static_cast<decltype(v)>(std::numeric_limits<T>::max()))
        return bad(fmt::format("{}: value {} out of range", what, v));
    const T x = static_cast<T>(v);
    out.append(reinterpret_cast<const char*>(&x), sizeof(T));
  }
  return Status::ok();
}

Status typed_contents(const inference::InferTensorContents& c, DType dtype, std::string& out,
                      const std::string& what) {
  switch (dtype) {
    case DType::kBool:
      return append_typed<bool>(c.bool_contents(), out, what);
    case DType::kInt8:
      return append_typed<int8_t>(c.int_contents(), out, what);
    case DType::kInt16:
      return append_typed<int16_t>(c.int_contents(), out, what);
    case DType::kInt32:
      return append_typed<int32_t>(c.int_contents(), out, what);
    case DType::kInt64:
      return append_typed<int64_t>(c.int64_contents(), out, what);
    case DType::kUInt8:
      return append_typed<uint8_t>(c.uint_contents(), out, what);
    case DType::kUInt16:
      return append_typed<uint16_t>(c.uint_contents(), out, what);
    case DType::kUInt32:
      return append_typed<uint32_t>(c.uint_contents(), out, what);
    case DType::kUInt64:
      return append_typed<uint64_t>(c.uint64_contents(), out, what);
    case DType::kFloat32:
      return append_typed<float>(c.fp32_contents(), out, what);
    case DType::kFloat64:
      return append_typed<double>(c.fp64_contents(), out, what);
    default:
      return bad(
          fmt::format("{}: {} data must be sent in raw_input_contents", what, kserve_dtype_name(dtype)));
  }
}

Result<InferRequest> from_proto(const inference::ModelInferRequest& p) {
  InferRequest r;
  r.id = p.id();
  const bool raw = p.raw_input_contents_size() > 0;
  if (raw && p.raw_input_contents_size() != p.inputs_size())
    return bad(
        fmt::format("{} raw_input_contents for {} inputs", p.raw_input_contents_size(), p.inputs_size()));
  for (int i = 0; i < p.inputs_size(); ++i) {
    const auto& in = p.inputs(i);
    const std::string what = fmt::format("input '{}'", in.name());
    InferTensor t{in.name(), dtype_from_kserve(in.datatype()), {}, {}};
    if (t.dtype == DType::kUndefined)
      return bad(fmt::format("{}: unsupported datatype '{}'", what, in.datatype()));
    for (int64_t d : in.shape()) {
      if (d < 0 || d > (int64_t{1} << 40)) return bad(fmt::format("{}: shape must be non-negative", what));
      t.shape.push_back(d);
    }
    if (raw) {
      if (in.has_contents()) return bad(fmt::format("{}: has both contents and raw_input_contents", what));
      set_bytes(t, p.raw_input_contents(i));  // the request message outlives the inference
    } else {
      VERGE_RETURN_IF_ERROR(typed_contents(in.contents(), t.dtype, t.data, what));
    }
    r.inputs.push_back(std::move(t));
  }
  for (const auto& o : p.outputs()) r.outputs.push_back(o.name());
  return r;
}

void fill_metadata(
    const std::vector<IoInfo>& ios, int max_batch_size,
    google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>* out) {
  for (const IoInfo& io : ios) {
    auto* t = out->Add();
    t->set_name(io.name);
    t->set_datatype(std::string(kserve_dtype_name(io.dtype)));
    for (size_t d = 0; d < io.shape.size(); ++d)
      t->add_shape(d == 0 && max_batch_size > 0 ? -1 : io.shape[d]);
  }
}
}  // namespace

class GrpcService final : public inference::GRPCInferenceService::Service {
 public:
  GrpcService(ModelRepository& repo, std::string token) : repo_(repo), token_(std::move(token)) {}

  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*,
                          inference::ServerLiveResponse* r) override {
    r->set_live(true);
    return grpc::Status::OK;
  }
  grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse* r) override {
    r->set_ready(true);
    return grpc::Status::OK;
  }
  grpc::Status ModelReady(grpc::ServerContext* ctx, const inference::ModelReadyRequest* q,
                          inference::ModelReadyResponse* r) override {
    if (!authorized(ctx)) return unauthenticated();
    r->set_ready(repo_.get(q->name(), q->version()).is_ok());
    return grpc::Status::OK;
  }
  grpc::Status ServerMetadata(grpc::ServerContext* ctx, const inference::ServerMetadataRequest*,
                              inference::ServerMetadataResponse* r) override {
    if (!authorized(ctx)) return unauthenticated();
    r->set_name("verge");
    r->set_version("0.1.0");
    r->add_extensions("model_repository");
    return grpc::Status::OK;
  }
  grpc::Status ModelMetadata(grpc::ServerContext* ctx, const inference::ModelMetadataRequest* q,
                             inference::ModelMetadataResponse* r) override {
    if (!authorized(ctx)) return unauthenticated();
    auto m = repo_.get(q->name(), q->version());
    if (!m.is_ok()) return to_grpc(m.status());
    const Model& model = **m;
    r->set_name(model.name());
    r->add_versions(model.version());
    r->set_platform("onnxruntime_onnx");
    fill_metadata(model.inputs(), model.max_batch_size(), r->mutable_inputs());
    fill_metadata(model.outputs(), model.max_batch_size(), r->mutable_outputs());
    return grpc::Status::OK;
  }
  grpc::Status ModelInfer(grpc::ServerContext* ctx, const inference::ModelInferRequest* q,
                          inference::ModelInferResponse* r) override {
    if (!authorized(ctx)) return unauthenticated();
    auto m = repo_.get(q->model_name(), q->model_version());
    if (!m.is_ok()) return to_grpc(m.status());
    auto request = from_proto(*q);
    if (!request.is_ok()) {
      (*m)->stats().request_failure++;
      return to_grpc(request.status());
    }
    auto response = (*m)->infer(std::move(request).value());
    if (!response.is_ok()) return to_grpc(response.status());
    r->set_model_name(response->model_name);
    r->set_model_version(response->model_version);
    r->set_id(response->id);
    for (InferTensor& t : response->outputs) {
      auto* o = r->add_outputs();
      o->set_name(t.name);
      o->set_datatype(std::string(kserve_dtype_name(t.dtype)));
      for (int64_t d : t.shape) o->add_shape(d);
      *r->add_raw_output_contents() = std::move(t.data);
    }
    return grpc::Status::OK;
  }

 private:
  bool authorized(grpc::ServerContext* ctx) const {
    if (token_.empty()) return true;
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end()) return false;
    const std::string want = "Bearer " + token_;
    return it->second.size() == want.size() &&
           CRYPTO_memcmp(it->second.data(), want.data(), want.size()) == 0;
  }
  static grpc::Status unauthenticated() {
    return {grpc::StatusCode::UNAUTHENTICATED,
            "missing or invalid bearer token (metadata 'authorization: Bearer <token>')"};
  }

  ModelRepository& repo_;
  std::string token_;
};

Result<std::unique_ptr<GrpcServer>> GrpcServer::create(ModelRepository& repository,
                                                       const ListenOptions& options) {
  std::unique_ptr<GrpcServer> s(new GrpcServer());
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (options.tls_cert.empty() != options.tls_key.empty())
    return Status::invalid_argument("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
  if (!options.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    VERGE_ASSIGN_OR_RETURN(std::string cert, read_file(options.tls_cert, size_t{1} << 20));
    VERGE_ASSIGN_OR_RETURN(std::string key, read_file(options.tls_key, size_t{1} << 20));
    ssl.pem_key_cert_pairs.push_back({key, cert});
    if (!options.tls_client_ca.empty()) {
      VERGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, read_file(options.tls_client_ca, size_t{1} << 20));
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  }
  s->service_ = std::make_unique<GrpcService>(repository, options.auth_token);
  grpc::ServerBuilder builder;
  const std::string address =
      (options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host) + ":" +
      std::to_string(options.port);
  builder.AddListeningPort(address, creds, &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(options.max_request_bytes, INT32_MAX)));
  builder.SetMaxSendMessageSize(-1);
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0)
    return Status::io_error(
        fmt::format("cannot serve gRPC on {} (bad certificate/key or port in use)", address));
  return s;
}

GrpcServer::~GrpcServer() { stop(); }

void GrpcServer::stop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
    server_.reset();
  }
}

}  // namespace verge::serve
