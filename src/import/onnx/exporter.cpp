#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "import/onnx/importer.h"
#include "import/onnx/tensor_proto.h"
#include "io/file.h"

namespace verge::onnx_io {
namespace {

void export_type(const ir::ValueType& vt, onnx::TypeProto* tp) {
  auto* tt = tp->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(vt.dtype));
  if (!vt.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const ir::Dim& d : vt.dims) {
    auto* dim = shape->add_dim();
    if (d.is_fixed()) dim->set_dim_value(d.value);
    else if (!d.symbol.empty()) dim->set_dim_param(d.symbol);
  }
}

void export_value_info(const ir::Value& v, onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  if (v.type.dtype != DType::kUndefined) export_type(v.type, vi->mutable_type());
}

void export_graph(const ir::Graph& g, onnx::GraphProto* gp);

void export_attribute(const ir::Attribute& a, onnx::AttributeProto* ap) {
  using AP = onnx::AttributeProto;
  ap->set_name(a.name);
  switch (a.type) {
    case ir::AttrType::kFloat: ap->set_type(AP::FLOAT); ap->set_f(a.f); break;
    case ir::AttrType::kInt: ap->set_type(AP::INT); ap->set_i(a.i); break;
    case ir::AttrType::kString: ap->set_type(AP::STRING); ap->set_s(a.s); break;
    case ir::AttrType::kFloats:
      ap->set_type(AP::FLOATS);
      for (float f : a.floats) ap->add_floats(f);
      break;
    case ir::AttrType::kInts:
      ap->set_type(AP::INTS);
      for (int64_t i : a.ints) ap->add_ints(i);
      break;
    case ir::AttrType::kStrings:
      ap->set_type(AP::STRINGS);
      for (const auto& s : a.strings) ap->add_strings(s);
      break;
    case ir::AttrType::kTensor: ap->set_type(AP::TENSOR); tensor_to_proto(a.t, "", ap->mutable_t()); break;
    case ir::AttrType::kTensors:
      ap->set_type(AP::TENSORS);
      for (const auto& t : a.tensors) tensor_to_proto(t, "", ap->add_tensors());
      break;
    case ir::AttrType::kGraph: ap->set_type(AP::GRAPH); export_graph(*a.g, ap->mutable_g()); break;
    case ir::AttrType::kGraphs:
      ap->set_type(AP::GRAPHS);
      for (const auto& sg : a.graphs) export_graph(*sg, ap->add_graphs());
      break;
  }
}

void export_graph(const ir::Graph& g, onnx::GraphProto* gp) {
  gp->set_name(g.name.empty() ? "graph" : g.name);
  if (!g.doc.empty()) gp->set_doc_string(g.doc);
  for (const ir::Value& v : g.values)
    if (v.constant && !v.is_outer) tensor_to_proto(*v.constant, v.name, gp->add_initializer());
  for (ir::ValueId id : g.inputs) export_value_info(g.value(id), gp->add_input());
  for (ir::ValueId id : g.outputs) export_value_info(g.value(id), gp->add_output());
  for (ir::ValueId id : g.value_infos) {
    const ir::Value& v = g.value(id);
    if (v.type.dtype != DType::kUndefined && !v.constant) export_value_info(v, gp->add_value_info());
  }
  for (const ir::Node& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_op_type(n.op_type.empty() ? std::string(op_name(n.op)) : n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    if (!n.name.empty()) np->set_name(n.name);
    for (ir::ValueId in : n.inputs) np->add_input(in == ir::kNoValue ? "" : g.value(in).name);
    for (ir::ValueId out : n.outputs) np->add_output(out == ir::kNoValue ? "" : g.value(out).name);
    for (const ir::Attribute& a : n.attrs) export_attribute(a, np->add_attribute());
  }
}

}  // namespace

Result<std::string> save_model_to_bytes(const ir::Model& m) {
  onnx::ModelProto mp;
  mp.set_ir_version(8);
  mp.set_producer_name(m.producer_name.empty() ? "verge" : m.producer_name);
  if (!m.producer_version.empty()) mp.set_producer_version(m.producer_version);
  if (!m.domain.empty()) mp.set_domain(m.domain);
  if (m.model_version) mp.set_model_version(m.model_version);
  if (!m.doc.empty()) mp.set_doc_string(m.doc);
  for (const auto& [k, v] : m.metadata) {
    auto* p = mp.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  auto* op = mp.add_opset_import();
  op->set_domain("");
  op->set_version(kMaxOpset);
  for (const auto& [d, v] : m.other_opsets) {
    auto* o = mp.add_opset_import();
    o->set_domain(d);
    o->set_version(v);
  }
  export_graph(m.graph, mp.mutable_graph());
  std::string bytes;
  if (!mp.SerializeToString(&bytes))
    return Status::invalid_argument("the model is too large to serialize as one protobuf (over 2 GiB)");
  return bytes;
}

Status save_model(const ir::Model& m, const std::string& path) {
  VERGE_ASSIGN_OR_RETURN(std::string bytes, save_model_to_bytes(m));
  return write_file(path, bytes);
}

}  // namespace verge::onnx_io
