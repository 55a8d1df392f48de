#include "graph_builder.h"

#include "import/onnx/tensor_proto.h"

namespace verge::test {

GraphBuilder::GraphBuilder(int opset) {
  m_.set_ir_version(8);
  auto* os = m_.add_opset_import();
  os->set_version(opset);
  m_.mutable_graph()->set_name("test");
}

std::string GraphBuilder::input(const std::string& name, const std::vector<int64_t>& dims, DType dtype) {
  auto* in = m_.mutable_graph()->add_input();
  in->set_name(name);
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(dtype));
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] >= 0) shape->add_dim()->set_dim_value(dims[i]);
    else shape->add_dim()->set_dim_param(i == 0 ? "batch" : "d" + std::to_string(i));
  }
  return name;
}

std::string GraphBuilder::constant(const std::string& name, const Tensor& t) {
  onnx_io::tensor_to_proto(t, name, m_.mutable_graph()->add_initializer());
  return name;
}

std::string GraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                               const std::vector<std::pair<std::string, AttrValue>>& attrs, int n_outputs) {
  auto* n = m_.mutable_graph()->add_node();
  n->set_op_type(op);
  const std::string out = op + "_" + std::to_string(counter_++);
  n->set_name(out);
  for (const auto& in : inputs) n->add_input(in);
  for (int k = 0; k < n_outputs; ++k) n->add_output(k == 0 ? out : out + "_" + std::to_string(k));
  for (const auto& [name, value] : attrs) {
    auto* a = n->add_attribute();
    a->set_name(name);
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, int64_t>) {
            a->set_type(onnx::AttributeProto::INT);
            a->set_i(v);
          } else if constexpr (std::is_same_v<V, float>) {
            a->set_type(onnx::AttributeProto::FLOAT);
            a->set_f(v);
          } else if constexpr (std::is_same_v<V, std::string>) {
            a->set_type(onnx::AttributeProto::STRING);
            a->set_s(v);
          } else if constexpr (std::is_same_v<V, std::vector<int64_t>>) {
            a->set_type(onnx::AttributeProto::INTS);
            for (auto x : v) a->add_ints(x);
          } else {
            a->set_type(onnx::AttributeProto::FLOATS);
            for (auto x : v) a->add_floats(x);
          }
        },
        value);
  }
  return out;
}

void GraphBuilder::output(const std::string& name, const std::vector<int64_t>& dims, DType dtype) {
  auto* o = m_.mutable_graph()->add_output();
  o->set_name(name);
  auto* tt = o->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(dtype));
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] >= 0) shape->add_dim()->set_dim_value(dims[i]);
    else shape->add_dim()->set_dim_param("o" + std::to_string(i));
  }
}

std::string GraphBuilder::bytes() const { return m_.SerializeAsString(); }

}  // namespace verge::test
