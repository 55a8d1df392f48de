#include "op_test.h"

#include <onnx/onnx_pb.h>

#include "core/compare.h"
#include "import/onnx/importer.h"
#include "import/onnx/tensor_proto.h"
#include "runtime/session_impl.h"

namespace verge::test {

Tensor H(Shape s, std::vector<float> v) {
  Tensor t = Tensor::allocate(DType::kFloat16, std::move(s)).value();
  for (size_t i = 0; i < v.size(); ++i) t.data<float16_t>()[i] = float16_t(v[i]);
  return t;
}

std::string test_data(const std::string& relative) { return std::string(VERGE_TEST_DATA_DIR) + "/" + relative; }

OpTest::OpTest(std::string op_type, int opset, std::string domain)
    : op_type_(std::move(op_type)), domain_(std::move(domain)), opset_(opset) {}

OpTest& OpTest::input(std::string name, Tensor t) {
  inputs_.push_back({std::move(name), std::move(t), false});
  return *this;
}
OpTest& OpTest::constant_input(std::string name, Tensor t) {
  inputs_.push_back({std::move(name), std::move(t), true});
  return *this;
}
OpTest& OpTest::omitted_input() {
  inputs_.push_back({"", Tensor(), false});
  return *this;
}
OpTest& OpTest::attr(std::string name, int64_t v) {
  attrs_.push_back({std::move(name), v});
  return *this;
}
OpTest& OpTest::attr(std::string name, float v) {
  attrs_.push_back({std::move(name), v});
  return *this;
}
OpTest& OpTest::attr(std::string name, std::string v) {
  attrs_.push_back({std::move(name), std::move(v)});
  return *this;
}
OpTest& OpTest::attr(std::string name, std::vector<int64_t> v) {
  attrs_.push_back({std::move(name), std::move(v)});
  return *this;
}
OpTest& OpTest::attr(std::string name, std::vector<float> v) {
  attrs_.push_back({std::move(name), std::move(v)});
  return *this;
}
OpTest& OpTest::attr(std::string name, Tensor v) {
  attrs_.push_back({std::move(name), std::move(v)});
  return *this;
}
OpTest& OpTest::output(std::string name, Tensor expected) {
  outputs_.push_back({std::move(name), std::move(expected), false});
  return *this;
}
OpTest& OpTest::omitted_output() {
  outputs_.push_back({"", Tensor(), false});
  return *this;
}
OpTest& OpTest::tolerance(double rtol, double atol) {
  rtol_ = rtol;
  atol_ = atol;
  return *this;
}
OpTest& OpTest::skip_checker() {
  checker_ = false;
  return *this;
}

namespace {
void set_type(onnx::ValueInfoProto* vi, const std::string& name, const Tensor& t) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(t.dtype()));
  auto* shape = tt->mutable_shape();
  for (int64_t d : t.shape()) shape->add_dim()->set_dim_value(d);
}
}  // namespace

std::string OpTest::model_bytes() const {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain(domain_);
  os->set_version(opset_);
  auto* g = m.mutable_graph();
  g->set_name("op_test");
  auto* node = g->add_node();
  node->set_op_type(op_type_);
  node->set_name("node");
  if (!domain_.empty()) node->set_domain(domain_);
  for (const Io& in : inputs_) {
    node->add_input(in.name);
    if (in.name.empty()) continue;
    if (in.constant) onnx_io::tensor_to_proto(in.tensor, in.name, g->add_initializer());
    else set_type(g->add_input(), in.name, in.tensor);
  }
  for (const Io& out : outputs_) {
    node->add_output(out.name);
    if (!out.name.empty()) set_type(g->add_output(), out.name, out.tensor);
  }
  for (const Attr& a : attrs_) {
    auto* ap = node->add_attribute();
    ap->set_name(a.name);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, int64_t>) {
            ap->set_type(onnx::AttributeProto::INT);
            ap->set_i(v);
          } else if constexpr (std::is_same_v<V, float>) {
            ap->set_type(onnx::AttributeProto::FLOAT);
            ap->set_f(v);
          } else if constexpr (std::is_same_v<V, std::string>) {
            ap->set_type(onnx::AttributeProto::STRING);
            ap->set_s(v);
          } else if constexpr (std::is_same_v<V, std::vector<int64_t>>) {
            ap->set_type(onnx::AttributeProto::INTS);
            for (int64_t x : v) ap->add_ints(x);
          } else if constexpr (std::is_same_v<V, std::vector<float>>) {
            ap->set_type(onnx::AttributeProto::FLOATS);
            for (float x : v) ap->add_floats(x);
          } else {
            ap->set_type(onnx::AttributeProto::TENSOR);
            onnx_io::tensor_to_proto(v, "", ap->mutable_t());
          }
        },
        a.value);
  }
  return m.SerializeAsString();
}

namespace {
Result<std::vector<Tensor>> run_once(const std::string& bytes, std::span<const Tensor> feeds, SessionOptions so,
                                     bool checker, bool roundtrip) {
  onnx_io::ImportOptions io;
  io.run_checker = checker;
  VERGE_ASSIGN_OR_RETURN(ir::Model model, onnx_io::load_model_from_bytes(bytes, "op_test.onnx", ".", io));
  if (roundtrip) {
    VERGE_ASSIGN_OR_RETURN(std::string again, onnx_io::save_model_to_bytes(model));
    VERGE_ASSIGN_OR_RETURN(model, onnx_io::load_model_from_bytes(again, "op_test_roundtrip.onnx", ".", io));
  }
  VERGE_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, make_session(std::move(model), so));
  VERGE_ASSIGN_OR_RETURN(std::span<const Tensor> out, s->run(feeds));
  std::vector<Tensor> copies;
  for (const Tensor& t : out) {
    VERGE_ASSIGN_OR_RETURN(Tensor c, t.clone());
    copies.push_back(std::move(c));
  }
  // A second run on the same plan must give the same answer (kernels must not keep state across runs).
  VERGE_ASSIGN_OR_RETURN(std::span<const Tensor> out2, s->run(feeds));
  for (size_t k = 0; k < out2.size(); ++k) {
    Comparison c = compare_tensors(out2[k], copies[k], 0, 0);
    if (!c.ok) return Status::internal("second run differs from the first: " + c.message);
  }
  return copies;
}
}  // namespace

void OpTest::run() {
  const std::string bytes = model_bytes();
  std::vector<Tensor> feeds;
  for (const Io& in : inputs_)
    if (!in.name.empty() && !in.constant) feeds.push_back(in.tensor);
  struct Config {
    const char* name;
    bool reference;
    int threads;
    bool roundtrip;
  };
  const Config configs[] = {{"reference kernels", true, 1, false},
                            {"best kernels", false, 1, false},
                            {"best kernels, 2 threads", false, 2, false},
                            {"after export/import", true, 1, true}};
  for (const Config& cfg : configs) {
    SessionOptions so;
    so.reference_kernels = cfg.reference;
    so.threads = cfg.threads;
    auto out = run_once(bytes, feeds, so, checker_, cfg.roundtrip);
    ASSERT_TRUE(out.is_ok()) << op_type_ << " (" << cfg.name << "): " << out.status().to_string();
    size_t k = 0;
    for (const Io& expected : outputs_) {
      if (expected.name.empty()) continue;
      ASSERT_LT(k, out->size());
      Comparison c = compare_tensors((*out)[k], expected.tensor, rtol_, atol_);
      EXPECT_TRUE(c.ok) << op_type_ << " (" << cfg.name << ") output '" << expected.name << "': " << c.message;
      ++k;
    }
  }
}

Status OpTest::run_expect_error() {
  const std::string bytes = model_bytes();
  std::vector<Tensor> feeds;
  for (const Io& in : inputs_)
    if (!in.name.empty() && !in.constant) feeds.push_back(in.tensor);
  auto out = run_once(bytes, feeds, SessionOptions{}, checker_, false);
  EXPECT_FALSE(out.is_ok()) << op_type_ << ": expected an error";
  return out.is_ok() ? Status::ok() : out.status();
}

}  // namespace verge::test
