#include "import/onnx/importer.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sys/stat.h>
#include <unistd.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "import/onnx/tensor_proto.h"
#include "import/onnx/upgrades.h"
#include "io/file.h"

namespace verge::onnx_io {
namespace fs = std::filesystem;

namespace {

Result<ir::ValueType> convert_type(const onnx::TypeProto& tp, std::string_view what) {
  ir::ValueType vt;
  if (tp.value_case() == onnx::TypeProto::VALUE_NOT_SET) return vt;  // untyped (allowed for value_info)
  if (!tp.has_tensor_type()) {
    const char* kind = tp.has_sequence_type() ? "a sequence" : tp.has_optional_type() ? "an optional" : tp.has_map_type() ? "a map" : "a non-tensor";
    return Status::unsupported(fmt::format("{} is {} type; only tensors are supported", what, kind));
  }
  const auto& tt = tp.tensor_type();
  if (tt.elem_type() == onnx::TensorProto::STRING)
    return Status::unsupported(fmt::format("{} has dtype string; string tensors are not supported", what));
  vt.dtype = dtype_from_onnx(tt.elem_type());
  if (tt.elem_type() != 0 && !dtype_supported(vt.dtype))
    return Status::unsupported(fmt::format("{} has unsupported element type {}", what, tt.elem_type()));
  if (tt.has_shape()) {
    vt.has_shape = true;
    for (const auto& d : tt.shape().dim()) {
      ir::Dim dim;
      if (d.has_dim_value()) {
        if (d.dim_value() < 0) return Status::invalid_model(fmt::format("{} has negative dimension {}", what, d.dim_value()));
        dim.value = d.dim_value();
      } else if (d.has_dim_param()) {
        dim.symbol = d.dim_param();
      }
      vt.dims.push_back(std::move(dim));
    }
  }
  return vt;
}

class Importer {
 public:
  Importer(const onnx::ModelProto& mp, std::string label, std::string base_dir, const ImportOptions& opts)
      : mp_(mp), label_(std::move(label)), base_dir_(std::move(base_dir)), opts_(opts) {}

  Result<ir::Model> run() {
    ir::Model m;
    m.source_path = label_;
    VERGE_RETURN_IF_ERROR(read_opsets(m));
    m.ir_version = mp_.ir_version();
    m.producer_name = mp_.producer_name();
    m.producer_version = mp_.producer_version();
    m.domain = mp_.domain();
    m.model_version = mp_.model_version();
    m.doc = mp_.doc_string();
    for (const auto& kv : mp_.metadata_props()) m.metadata.emplace_back(kv.key(), kv.value());
    if (!mp_.has_graph()) return Status::invalid_model("the model has no graph");
    Scope top{&m.graph, nullptr};
    VERGE_RETURN_IF_ERROR(import_graph(mp_.graph(), top));
    return m;
  }

 private:
  struct Scope {
    ir::Graph* g;
    Scope* parent;
  };

  Status read_opsets(ir::Model& m) {
    bool found = false;
    for (const auto& o : mp_.opset_import()) {
      const std::string& d = o.domain();
      if (d.empty() || d == "ai.onnx") {
        found = true;
        m.opset = o.version();
      } else {
        m.other_opsets.emplace_back(d, o.version());
      }
      opsets_[d == "ai.onnx" ? "" : d] = o.version();
    }
    if (!found) return Status::invalid_model("the model declares no ai.onnx opset (opset_import is missing)");
    if (m.opset > kMaxOpset)
      return Status::unsupported(
          fmt::format("ai.onnx opset {} is newer than Verge supports (opsets {}..{})", m.opset, kMinOpset, kMaxOpset));
    if (m.opset < kMinOpset) return Status::invalid_model(fmt::format("invalid ai.onnx opset {}", m.opset));
    return Status::ok();
  }

  // Finds `name` in scope or an enclosing one; creates outer-reference values along the chain.
  ir::ValueId resolve(const std::string& name, Scope& s) {
    ir::ValueId id = s.g->find(name);
    if (id != ir::kNoValue || !s.parent) return id;
    if (resolve(name, *s.parent) == ir::kNoValue) return ir::kNoValue;
    id = s.g->add_value(name);
    s.g->value(id).is_outer = true;
    return id;
  }

  Status import_graph(const onnx::GraphProto& gp, Scope& scope) {
    ir::Graph& g = *scope.g;
    g.name = gp.name();
    g.doc = gp.doc_string();
    std::string where = scope.parent ? fmt::format("subgraph '{}'", gp.name()) : std::string();
    auto ctx = [&](const std::string& s) { return where.empty() ? s : where + ": " + s; };

    for (const auto& init : gp.initializer()) {
      if (init.name().empty()) return Status::invalid_model(ctx("an initializer has no name"));
      if (g.find(init.name()) != ir::kNoValue)
        return Status::invalid_model(ctx(fmt::format("initializer '{}' is defined twice", init.name())));
      VERGE_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(init, base_dir_, ctx(fmt::format("initializer '{}'", init.name()))));
      g.add_constant(init.name(), std::move(t));
      // The proto is ours and no longer needed for this tensor: free its copy of the weights now, so
      // import peaks at one copy of the weights instead of two.
      std::string().swap(*const_cast<onnx::TensorProto&>(init).mutable_raw_data());
    }
    if (gp.sparse_initializer_size() > 0)
      return Status::unsupported(ctx("sparse initializers are not supported"));
    for (const auto& in : gp.input()) {
      const std::string what = ctx(fmt::format("graph input '{}'", in.name()));
      VERGE_ASSIGN_OR_RETURN(ir::ValueType vt, convert_type(in.type(), what));
      ir::ValueId id = g.find(in.name());
      if (id != ir::kNoValue) {
        if (g.value(id).constant) continue;  // IR < 4 lists initializers as inputs: they stay constants
        return Status::invalid_model(fmt::format("{} is declared twice", what));
      }
      if (in.name().empty()) return Status::invalid_model(ctx("a graph input has no name"));
      if (vt.dtype == DType::kUndefined) return Status::invalid_model(fmt::format("{} has no tensor type", what));
      id = g.add_value(in.name());
      g.value(id).type = std::move(vt);
      g.inputs.push_back(id);
    }
    // All node outputs first, so subgraphs can resolve outer names whatever the node order.
    for (int k = 0; k < gp.node_size(); ++k) {
      for (const auto& out : gp.node(k).output()) {
        if (out.empty()) continue;
        if (g.find(out) != ir::kNoValue)
          return Status::invalid_model(ctx(fmt::format("value '{}' is produced twice ({}{})", out,
                                                       gp.node(k).name().empty() ? "node #" + std::to_string(k) : "node '" + gp.node(k).name() + "'",
                                                       ", or shadows an input/initializer")));
        g.add_value(out);
      }
    }
    for (int k = 0; k < gp.node_size(); ++k) {
      const onnx::NodeProto& np = gp.node(k);
      ir::Node node;
      VERGE_RETURN_IF_ERROR(import_node(np, scope, node).with_context(ctx(node_label(np, k))));
      g.add_node(std::move(node));
    }
    for (const auto& vi : gp.value_info()) {
      ir::ValueId id = g.find(vi.name());
      if (id == ir::kNoValue) continue;  // value_info for a value that does not exist: harmless, dropped
      auto vt = convert_type(vi.type(), ctx(fmt::format("value_info '{}'", vi.name())));
      if (!vt.is_ok()) continue;  // annotations only; unsupported ones are ignored
      if (g.value(id).type.dtype == DType::kUndefined) g.value(id).type = std::move(vt).value();
      g.value_infos.push_back(id);
    }
    for (const auto& out : gp.output()) {
      const std::string what = ctx(fmt::format("graph output '{}'", out.name()));
      ir::ValueId id = resolve(out.name(), scope);
      if (id == ir::kNoValue)
        return Status::invalid_model(fmt::format("{} is not produced by any node, initializer or input", what));
      VERGE_ASSIGN_OR_RETURN(ir::ValueType vt, convert_type(out.type(), what));
      if (vt.dtype != DType::kUndefined) g.value(id).type = std::move(vt);
      g.outputs.push_back(id);
    }
    VERGE_RETURN_IF_ERROR(upgrade_graph(g).with_context(where));
    VERGE_RETURN_IF_ERROR(g.topological_sort().with_context(where));
    return Status::ok();
  }

  static std::string node_label(const onnx::NodeProto& np, int k) {
    return np.name().empty() ? fmt::format("node #{} ({})", k, np.op_type())
                             : fmt::format("node '{}' ({})", np.name(), np.op_type());
  }

  Status import_node(const onnx::NodeProto& np, Scope& scope, ir::Node& node) {
    ir::Graph& g = *scope.g;
    node.op_type = np.op_type();
    node.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    node.name = np.name();
    auto op_it = opsets_.find(node.domain);
    if (op_it == opsets_.end())
      return Status::invalid_model(fmt::format("domain '{}' has no opset_import", node.domain));
    const int opset = static_cast<int>(op_it->second);
    auto op = find_op(node.domain, node.op_type);
    if (!op) {
      if (!opts_.allow_unknown_ops)
        return Status::unsupported(fmt::format("operator '{}{}{}' is not supported by Verge", node.domain,
                                               node.domain.empty() ? "" : ".", node.op_type));
      node.op = OpId::kUnknown;
    } else {
      node.op = *op;
      const OpInfo& info = op_info(*op);
      if (node.domain.empty()) {
        const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type, opset, "");
        if (!schema)
          return Status::invalid_model(fmt::format("operator '{}' does not exist in ai.onnx opset {}", node.op_type, opset));
        node.since_version = schema->since_version();
        if (schema->Deprecated() || node.since_version < info.min_opset || node.since_version > info.max_opset)
          return Status::unsupported(fmt::format(
              "'{}' version {} (opset {}) is not supported; Verge implements versions {}..{} of this operator",
              node.op_type, node.since_version, opset, info.min_opset, info.max_opset));
      } else {
        node.since_version = opset;
      }
    }
    for (const auto& in : np.input()) {
      if (in.empty()) {
        node.inputs.push_back(ir::kNoValue);
        continue;
      }
      ir::ValueId id = resolve(in, scope);
      if (id == ir::kNoValue)
        return Status::invalid_model(fmt::format("input '{}' is not produced by any node, initializer or graph input", in));
      node.inputs.push_back(id);
    }
    while (!node.inputs.empty() && node.inputs.back() == ir::kNoValue) node.inputs.pop_back();
    for (const auto& out : np.output()) node.outputs.push_back(out.empty() ? ir::kNoValue : g.find(out));
    std::set<std::string> seen;
    for (const auto& ap : np.attribute()) {
      if (!seen.insert(ap.name()).second) return Status::invalid_model(fmt::format("attribute '{}' is given twice", ap.name()));
      ir::Attribute a;
      VERGE_RETURN_IF_ERROR(import_attribute(ap, scope, a).with_context(fmt::format("attribute '{}'", ap.name())));
      node.attrs.push_back(std::move(a));
    }
    // Outer-scope values read by subgraphs become implicit inputs (ordered, unique).
    std::set<std::string> outer_names;
    for (const auto& a : node.attrs) {
      std::vector<const ir::Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& sg : a.graphs) subs.push_back(sg.get());
      for (const ir::Graph* sg : subs)
        for (const ir::Value& v : sg->values)
          if (v.is_outer) outer_names.insert(v.name);
    }
    for (const auto& n : outer_names) node.implicit_inputs.push_back(resolve(n, scope));
    return Status::ok();
  }

  Status import_attribute(const onnx::AttributeProto& ap, Scope& scope, ir::Attribute& a) {
    a.name = ap.name();
    if (!ap.ref_attr_name().empty()) return Status::invalid_model("attribute references are only valid inside functions");
    using AP = onnx::AttributeProto;
    AP::AttributeType t = ap.type();
    if (t == AP::UNDEFINED) {  // very old models: infer from the field that is set
      if (ap.has_f()) t = AP::FLOAT;
      else if (ap.has_i()) t = AP::INT;
      else if (ap.has_s()) t = AP::STRING;
      else if (ap.has_t()) t = AP::TENSOR;
      else if (ap.has_g()) t = AP::GRAPH;
      else if (ap.floats_size()) t = AP::FLOATS;
      else if (ap.ints_size()) t = AP::INTS;
      else if (ap.strings_size()) t = AP::STRINGS;
      else return Status::invalid_model("attribute has no type and no value");
    }
    switch (t) {
      case AP::FLOAT: a.type = ir::AttrType::kFloat; a.f = ap.f(); break;
      case AP::INT: a.type = ir::AttrType::kInt; a.i = ap.i(); break;
      case AP::STRING: a.type = ir::AttrType::kString; a.s = ap.s(); break;
      case AP::FLOATS: a.type = ir::AttrType::kFloats; a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
      case AP::INTS: a.type = ir::AttrType::kInts; a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
      case AP::STRINGS: a.type = ir::AttrType::kStrings; a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
      case AP::TENSOR: {
        a.type = ir::AttrType::kTensor;
        VERGE_ASSIGN_OR_RETURN(a.t, tensor_from_proto(ap.t(), base_dir_, "tensor value"));
        break;
      }
      case AP::TENSORS:
        a.type = ir::AttrType::kTensors;
        for (const auto& tp : ap.tensors()) {
          VERGE_ASSIGN_OR_RETURN(Tensor x, tensor_from_proto(tp, base_dir_, "tensor value"));
          a.tensors.push_back(std::move(x));
        }
        break;
      case AP::GRAPH: {
        a.type = ir::AttrType::kGraph;
        a.g = std::make_shared<ir::Graph>();
        Scope sub{a.g.get(), &scope};
        VERGE_RETURN_IF_ERROR(import_graph(ap.g(), sub));
        break;
      }
      case AP::GRAPHS:
        a.type = ir::AttrType::kGraphs;
        for (const auto& gp : ap.graphs()) {
          auto sg = std::make_shared<ir::Graph>();
          Scope sub{sg.get(), &scope};
          VERGE_RETURN_IF_ERROR(import_graph(gp, sub));
          a.graphs.push_back(std::move(sg));
        }
        break;
      case AP::SPARSE_TENSOR:
      case AP::SPARSE_TENSORS: return Status::unsupported("sparse tensor attributes are not supported");
      case AP::TYPE_PROTO:
      case AP::TYPE_PROTOS: return Status::unsupported("type attributes are not supported");
      default:
        return Status::unsupported(fmt::format("attribute type {} is not supported", static_cast<int>(t)));
    }
    return Status::ok();
  }

  const onnx::ModelProto& mp_;
  std::string label_;
  std::string base_dir_;
  ImportOptions opts_;
  std::map<std::string, int64_t> opsets_;
};

// External-data locations are checked before anything touches the file system (the ONNX checker
// probes them): only relative paths inside the model's directory.
Status check_external_locations(const onnx::GraphProto& g) {
  auto check = [](const onnx::TensorProto& t) -> Status {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) return Status::ok();
    for (const auto& kv : t.external_data()) {
      if (kv.key() != "location") continue;
      const fs::path rel(kv.value());
      bool escapes = kv.value().empty() || rel.is_absolute() || rel.has_root_name();
      for (const auto& part : rel) escapes = escapes || part == "..";
      if (escapes)
        return Status::invalid_model(fmt::format(
            "tensor '{}': external data location '{}' must be a relative path inside the model directory", t.name(), kv.value()));
    }
    return Status::ok();
  };
  for (const auto& t : g.initializer()) VERGE_RETURN_IF_ERROR(check(t));
  for (const auto& n : g.node())
    for (const auto& a : n.attribute()) {
      if (a.has_t()) VERGE_RETURN_IF_ERROR(check(a.t()));
      for (const auto& t : a.tensors()) VERGE_RETURN_IF_ERROR(check(t));
      if (a.has_g()) VERGE_RETURN_IF_ERROR(check_external_locations(a.g()));
      for (const auto& sg : a.graphs()) VERGE_RETURN_IF_ERROR(check_external_locations(sg));
    }
  return Status::ok();
}

// onnx::checker::check_model(ModelProto) with the model's directory set, so external data resolves
// against it rather than the working directory.
void run_onnx_checker(const onnx::ModelProto& mp, const std::string& base_dir) {
  namespace ck = onnx::checker;
  if (!mp.ir_version()) throw ck::ValidationError("The model does not have an ir_version set properly.");
  if (mp.ir_version() > onnx::IR_VERSION) throw ck::ValidationError("Your model ir_version is higher than the checker's.");
  ck::CheckerContext ctx;
  ctx.set_ir_version(static_cast<int>(mp.ir_version()));
  std::unordered_map<std::string, int> opsets;
  for (const auto& o : mp.opset_import()) opsets[o.domain()] = static_cast<int>(o.version());
  if (opsets.empty()) throw ck::ValidationError("model with IR version >= 3 must specify opset_import for ONNX");
  ctx.set_opset_imports(opsets);
  ctx.set_model_dir(base_dir);
  ck::LexicalScopeContext lex;
  ck::check_graph(mp.graph(), ctx, lex);
  if (ctx.get_ir_version() >= 8) ck::check_model_local_functions(mp, ctx, lex);
}

Result<ir::Model> import_proto(const onnx::ModelProto& mp, const std::string& label, const std::string& base_dir,
                               const ImportOptions& options) {
  VERGE_RETURN_IF_ERROR(check_external_locations(mp.graph()).with_context(label));
  if (options.run_checker) {
    try {
      run_onnx_checker(mp, base_dir);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      // The checker's messages end with a context dump; the first line says what is wrong.
      if (auto nl = msg.find("\n\n"); nl != std::string::npos) msg.resize(nl);
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      return Status::invalid_model(fmt::format("{}: ONNX checker: {}", label, msg));
    }
  }
  Importer imp(mp, label, base_dir, options);
  auto r = imp.run();
  if (!r.is_ok()) return r.status().with_context(label);
  return r;
}

}  // namespace

namespace {
// Parses a ModelProto from a stream with the limits untrusted files need.
Status parse_model(google::protobuf::io::ZeroCopyInputStream* raw, const std::string& label, onnx::ModelProto* mp) {
  google::protobuf::io::CodedInputStream in(raw);
  in.SetTotalBytesLimit(std::numeric_limits<int>::max());
  in.SetRecursionLimit(64);
  if (!mp->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return Status::invalid_model(fmt::format("{}: not a valid ONNX model (protobuf parsing failed: truncated or corrupt file)", label));
  return Status::ok();
}

// Opens `path` as a protobuf stream (no copy of the file in memory). Size limits and clear errors.
Status parse_model_file(const std::string& path, onnx::ModelProto* mp) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::invalid_argument(fmt::format("'{}' is a directory, not a model file", path));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::not_found(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  struct stat st {};
  ::fstat(fd, &st);
  Status status;
  if (st.st_size == 0) {
    status = Status::invalid_model(fmt::format("{}: the file is empty", path));
  } else if (st.st_size > std::numeric_limits<int>::max()) {
    status = Status::unsupported(fmt::format("{}: models over 2 GiB must keep weights in external data files", path));
  } else {
    google::protobuf::io::FileInputStream file(fd);
    status = parse_model(&file, path, mp);
  }
  ::close(fd);
  return status;
}
}  // namespace

Result<ir::Model> load_model_from_bytes(std::string_view bytes, const std::string& label, const std::string& base_dir,
                                        const ImportOptions& options) {
  if (bytes.empty()) return Status::invalid_model(fmt::format("{}: the file is empty", label));
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return Status::unsupported(fmt::format("{}: models over 2 GiB must keep weights in external data files", label));
  onnx::ModelProto mp;
  google::protobuf::io::ArrayInputStream array(bytes.data(), static_cast<int>(bytes.size()));
  VERGE_RETURN_IF_ERROR(parse_model(&array, label, &mp));
  return import_proto(mp, label, base_dir, options);
}

namespace {
void collect_ops(const onnx::GraphProto& g, std::set<std::string>& out) {
  for (const auto& n : g.node()) {
    const std::string d = n.domain() == "ai.onnx" ? "" : n.domain();
    out.insert(d.empty() ? n.op_type() : d + "." + n.op_type());
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_ops(a.g(), out);
      for (const auto& sg : a.graphs()) collect_ops(sg, out);
    }
  }
}
}  // namespace

Result<std::vector<std::string>> list_operators(const std::string& path) {
  onnx::ModelProto mp;
  VERGE_RETURN_IF_ERROR(parse_model_file(path, &mp));
  std::set<std::string> ops;
  collect_ops(mp.graph(), ops);
  return std::vector<std::string>(ops.begin(), ops.end());
}

Result<ir::Model> load_model(const std::string& path, const ImportOptions& options) {
  onnx::ModelProto mp;
  VERGE_RETURN_IF_ERROR(parse_model_file(path, &mp));
  const std::string dir = fs::path(path).parent_path().string();
  return import_proto(mp, path, dir.empty() ? "." : dir, options);
}

}  // namespace verge::onnx_io
