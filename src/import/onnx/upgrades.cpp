// Rewrites nodes imported from older ONNX schema versions into the opset-17 form the IR uses.
// One table: op_type -> rewrite function. Nodes whose op has no row are already in canonical form.
#include "import/onnx/upgrades.h"

#include <fmt/format.h>

#include <string_view>

namespace verge::onnx_io {
namespace {

struct Rewrite {
  ir::Graph& g;
  ir::Node& n;
  std::vector<ir::Node>& added;  // new nodes, appended after the pass (then sorted topologically)

  int since() const { return n.since_version; }

  ir::ValueId add_const(std::string_view hint, Tensor t) {
    return g.add_constant(fmt::format("{}_{}", n.name.empty() ? n.op_type : n.name, hint), std::move(t));
  }
  ir::ValueId add_value(std::string_view hint) {
    return g.add_value(fmt::format("{}_{}", n.name.empty() ? n.op_type : n.name, hint), true);
  }
  void set_input(size_t i, ir::ValueId v) {
    if (n.inputs.size() <= i) n.inputs.resize(i + 1, ir::kNoValue);
    n.inputs[i] = v;
  }
  // Moves an ints attribute (if present) into input i as an int64 constant.
  void ints_attr_to_input(std::string_view attr, size_t i) {
    const ir::Attribute* a = n.attr(attr);
    if (!a) return;
    std::vector<int64_t> v = a->ints;
    n.remove_attr(attr);
    set_input(i, add_const(attr, Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v)));
  }
  // Moves a float attribute (if present) into input i as a float32 scalar constant.
  void float_attr_to_input(std::string_view attr, size_t i) {
    const ir::Attribute* a = n.attr(attr);
    if (!a) return;
    float v = a->f;
    n.remove_attr(attr);
    set_input(i, add_const(attr, Tensor::scalar<float>(v)));
  }
  int known_rank(ir::ValueId v) const {
    const ir::Value& val = g.value(v);
    if (val.constant) return val.constant->rank();
    return val.type.has_shape ? static_cast<int>(val.type.dims.size()) : -1;
  }
};

using RewriteFn = Status (*)(Rewrite&);

Status upgrade_slice(Rewrite& r) {  // v1: starts/ends/axes attributes
  if (r.since() >= 10) return Status::ok();
  r.ints_attr_to_input("starts", 1);
  r.ints_attr_to_input("ends", 2);
  r.ints_attr_to_input("axes", 3);
  return Status::ok();
}

Status upgrade_pad(Rewrite& r) {  // v2: pads/value attributes
  if (r.since() >= 11) return Status::ok();
  r.ints_attr_to_input("pads", 1);
  r.float_attr_to_input("value", 2);
  return Status::ok();
}

Status upgrade_clip(Rewrite& r) {  // v6: min/max attributes
  if (r.since() >= 11) return Status::ok();
  const float lo = r.n.get_float("min", -3.402823466e+38f);
  const float hi = r.n.get_float("max", 3.402823466e+38f);
  r.n.remove_attr("min");
  r.n.remove_attr("max");
  r.set_input(1, r.add_const("min", Tensor::scalar<float>(lo)));
  r.set_input(2, r.add_const("max", Tensor::scalar<float>(hi)));
  return Status::ok();
}

Status upgrade_axes_input(Rewrite& r) {  // Squeeze/Unsqueeze/ReduceSum before v13: axes attribute
  if (r.since() >= 13) return Status::ok();
  r.ints_attr_to_input("axes", 1);
  return Status::ok();
}

Status upgrade_split(Rewrite& r) {  // before v13: split attribute
  if (r.since() >= 13) return Status::ok();
  r.ints_attr_to_input("split", 1);
  return Status::ok();
}

Status upgrade_topk(Rewrite& r) {  // v1: k attribute
  if (r.since() >= 10) return Status::ok();
  const int64_t k = r.n.get_int("k", -1);
  r.n.remove_attr("k");
  r.set_input(1, r.add_const("k", Tensor::from_vector<int64_t>({1}, {k})));
  return Status::ok();
}

Status upgrade_dropout(Rewrite& r) {  // before v12: ratio attribute; v7-10 is_test gone
  if (r.since() >= 12) return Status::ok();
  r.float_attr_to_input("ratio", 1);
  return Status::ok();
}

Status upgrade_batch_norm(Rewrite& r) {
  if (r.since() >= 9) return Status::ok();
  if (r.n.get_int("spatial", 1) != 1)
    return Status::unsupported("BatchNormalization with spatial=0 (per-element statistics) is not supported");
  r.n.remove_attr("spatial");
  return Status::ok();
}

Status upgrade_gemm(Rewrite& r) {  // v6: `broadcast` attribute; C always broadcasts from v7 on
  if (r.since() < 7) r.n.remove_attr("broadcast");
  return Status::ok();
}

// Upsample (v7: scales attribute, v9: scales input) and Resize-10 -> Resize-13 with
// coordinate_transformation_mode=asymmetric, which is how both defined output coordinates. Their nearest
// mode floors the source coordinate on upsampled axes and rounds it up on downsampled ones (as ONNX's
// Resize-10 tests and ONNX Runtime do). With constant scales that is nearest_mode floor / ceil, and two
// chained Resize nodes when some axes grow and others shrink (nearest is separable per axis). With
// run-time scales it stays floor: exact for upsampling, the only thing Upsample allows.
Status upgrade_upsample(Rewrite& r) {
  ir::Node& n = r.n;
  if (n.op == OpId::Resize && r.since() >= 11) return Status::ok();
  const std::string mode = n.get_string("mode", "nearest");
  ir::ValueId scales = n.input(1);
  if (n.op == OpId::Upsample && r.since() < 9) {
    const ir::Attribute* a = n.attr("scales");
    if (!a) return Status::invalid_model("Upsample-7 requires the 'scales' attribute");
    scales = r.add_const("scales", Tensor::from_vector<float>({static_cast<int64_t>(a->floats.size())}, a->floats));
  }
  auto make_resize = [&](ir::Node& node, ir::ValueId x, ir::ValueId sc, const char* nearest_mode) {
    node.attrs.clear();
    node.op = OpId::Resize;
    node.op_type = "Resize";
    node.since_version = 13;
    const auto set_string = [&node](const char* name, std::string value) {
      ir::Attribute a;
      a.name = name;
      a.type = ir::AttrType::kString;
      a.s = std::move(value);
      node.set_attr(std::move(a));
    };
    set_string("mode", mode == "bilinear" ? "linear" : mode);
    set_string("coordinate_transformation_mode", "asymmetric");
    set_string("nearest_mode", nearest_mode);
    node.inputs = {x, ir::kNoValue, sc};
  };
  const ir::ValueId x = n.input(0);
  const Tensor* sc = scales != ir::kNoValue && r.g.is_constant(scales) ? r.g.value(scales).constant.get() : nullptr;
  if (mode != "nearest" || !sc) {
    make_resize(n, x, scales, "floor");
    return Status::ok();
  }
  std::vector<float> up, down;
  bool grows = false, shrinks = false;
  for (int64_t i = 0; i < sc->numel(); ++i) {
    const float v = static_cast<float>(sc->get_as_double(i));
    grows = grows || v > 1;
    shrinks = shrinks || v < 1;
    up.push_back(std::max(v, 1.f));
    down.push_back(std::min(v, 1.f));
  }
  if (!(grows && shrinks)) {
    make_resize(n, x, scales, shrinks ? "ceil" : "floor");
    return Status::ok();
  }
  const auto len = static_cast<int64_t>(up.size());
  const ir::ValueId mid = r.add_value("upsampled");
  ir::Node second{.op = OpId::Resize, .name = n.name + "_downsample", .outputs = n.outputs};
  make_resize(second, mid, r.add_const("scales_down", Tensor::from_vector<float>({len}, down)), "ceil");
  make_resize(n, x, r.add_const("scales_up", Tensor::from_vector<float>({len}, up)), "floor");
  n.outputs = {mid};
  r.added.push_back(std::move(second));
  return Status::ok();
}

// Softmax/LogSoftmax/Hardmax before v13 coerce the input to 2-D at `axis` (default 1). When the axis is
// the last one this equals the v13 op; otherwise: Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)).
Status upgrade_softmax(Rewrite& r) {
  ir::Node& n = r.n;
  if (r.since() >= 13) return Status::ok();
  const int64_t axis = n.get_int("axis", 1);
  const ir::ValueId x = n.input(0);
  const int rank = r.known_rank(x);
  if (rank >= 0 && (axis == rank - 1 || axis == -1)) {
    n.set_attr(ir::Attribute{.name = "axis", .type = ir::AttrType::kInt, .i = -1});
    return Status::ok();
  }
  const ir::ValueId y = n.output(0);
  const ir::ValueId flat = r.add_value("flat");
  const ir::ValueId soft = r.add_value("2d");
  const ir::ValueId shape = r.add_value("shape");
  ir::Node flatten{.op = OpId::Flatten, .op_type = "Flatten", .name = n.name + "_flatten", .since_version = 13,
                   .inputs = {x}, .outputs = {flat}};
  flatten.set_attr(ir::Attribute{.name = "axis", .type = ir::AttrType::kInt, .i = axis});
  ir::Node shape_of{.op = OpId::Shape, .op_type = "Shape", .name = n.name + "_shape", .since_version = 15,
                    .inputs = {x}, .outputs = {shape}};
  ir::Node reshape{.op = OpId::Reshape, .op_type = "Reshape", .name = n.name + "_reshape", .since_version = 14,
                   .inputs = {soft, shape}, .outputs = {y}};
  n.inputs[0] = flat;
  n.outputs[0] = soft;
  n.since_version = 13;
  n.set_attr(ir::Attribute{.name = "axis", .type = ir::AttrType::kInt, .i = -1});
  r.added.push_back(std::move(flatten));
  r.added.push_back(std::move(shape_of));
  r.added.push_back(std::move(reshape));
  return Status::ok();
}

struct Entry {
  std::string_view op_type;
  RewriteFn fn;
};
constexpr Entry kRewrites[] = {
    {"Slice", upgrade_slice},         {"Pad", upgrade_pad},
    {"Clip", upgrade_clip},           {"Squeeze", upgrade_axes_input},
    {"Unsqueeze", upgrade_axes_input}, {"ReduceSum", upgrade_axes_input},
    {"Split", upgrade_split},         {"TopK", upgrade_topk},
    {"Dropout", upgrade_dropout},     {"BatchNormalization", upgrade_batch_norm},
    {"Upsample", upgrade_upsample},   {"Resize", upgrade_upsample},
    {"Softmax", upgrade_softmax},     {"LogSoftmax", upgrade_softmax},
    {"Hardmax", upgrade_softmax},     {"Gemm", upgrade_gemm},
};

}  // namespace

Status upgrade_graph(ir::Graph& g) {
  std::vector<ir::Node> added;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& n = g.nodes[k];
    if (n.op == OpId::kUnknown || !n.domain.empty()) continue;
    for (const Entry& e : kRewrites) {
      if (e.op_type != n.op_type) continue;
      Rewrite r{g, n, added};
      VERGE_RETURN_IF_ERROR(e.fn(r).with_context(n.label(static_cast<ir::NodeId>(k))));
    }
  }
  for (auto& n : added) g.add_node(std::move(n));
  return Status::ok();
}

}  // namespace verge::onnx_io
