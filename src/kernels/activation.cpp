#include "kernels/activation.h"

#include <fmt/format.h>

namespace verge {

namespace {
struct Entry {
  ActKind kind;
  std::string_view name;
  size_t params;
};
constexpr Entry kActs[] = {{ActKind::kRelu, "Relu", 0},           {ActKind::kClip, "Clip", 2},
                           {ActKind::kLeakyRelu, "LeakyRelu", 1}, {ActKind::kHardSigmoid, "HardSigmoid", 2},
                           {ActKind::kHardSwish, "HardSwish", 0}, {ActKind::kSigmoid, "Sigmoid", 0},
                           {ActKind::kSiLU, "SiLU", 0},           {ActKind::kTanh, "Tanh", 0}};
}  // namespace

std::string_view activation_name(ActKind k) {
  for (const Entry& e : kActs)
    if (e.kind == k) return e.name;
  return "";
}

Result<Activation> parse_activation(const ir::Node& node) {
  Activation act;
  const std::string name = node.get_string("activation", "");
  if (name.empty()) return act;
  const std::vector<float> p = node.get_floats("activation_params");
  for (const Entry& e : kActs) {
    if (e.name != name) continue;
    if (p.size() != e.params)
      return Status::invalid_model(fmt::format("activation {} takes {} activation_params, got {}", name, e.params, p.size()));
    act.kind = e.kind;
    if (p.size() > 0) act.a = p[0];
    if (p.size() > 1) act.b = p[1];
    return act;
  }
  return Status::invalid_model(fmt::format("unknown activation '{}'", name));
}

bool activation_of(const ir::Node& n, float clip_min, float clip_max, Activation* out) {
  Activation a;
  switch (n.op) {
    case OpId::Relu: a.kind = ActKind::kRelu; break;
    case OpId::Clip:
      a.kind = ActKind::kClip;
      a.a = clip_min;
      a.b = clip_max;
      break;
    case OpId::LeakyRelu:
      a.kind = ActKind::kLeakyRelu;
      a.a = n.get_float("alpha", 0.01f);
      break;
    case OpId::HardSigmoid:
      a.kind = ActKind::kHardSigmoid;
      a.a = n.get_float("alpha", 0.2f);
      a.b = n.get_float("beta", 0.5f);
      break;
    case OpId::HardSwish: a.kind = ActKind::kHardSwish; break;
    case OpId::Sigmoid: a.kind = ActKind::kSigmoid; break;
    case OpId::Tanh: a.kind = ActKind::kTanh; break;
    default: return false;
  }
  *out = a;
  return true;
}

void set_activation_attrs(ir::Node& node, const Activation& act) {
  node.remove_attr("activation");
  node.remove_attr("activation_params");
  if (act.kind == ActKind::kNone) return;
  node.set_attr(ir::Attribute{.name = "activation", .type = ir::AttrType::kString, .s = std::string(activation_name(act.kind))});
  size_t params = 0;
  for (const Entry& e : kActs)
    if (e.kind == act.kind) params = e.params;
  if (params == 0) return;
  std::vector<float> p = {act.a, act.b};
  p.resize(params);
  node.set_attr(ir::Attribute{.name = "activation_params", .type = ir::AttrType::kFloats, .floats = p});
}

}  // namespace verge
