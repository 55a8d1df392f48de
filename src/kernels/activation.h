// Activations that fused ops (verge.FusedConv, verge.FusedGemm, verge.BlockedConv) apply in their
// epilogue. Attributes: `activation` (string, "" = none) and `activation_params` (floats):
//   Relu | Clip [min, max] | LeakyRelu [alpha] | HardSigmoid [alpha, beta] | HardSwish | Sigmoid |
//   SiLU (x * sigmoid(x)) | Tanh
// Every activation maps finite values to finite values (blocked layouts rely on it for padding lanes).
#pragma once

#include <algorithm>
#include <cmath>
#include <string_view>

#include "ir/graph.h"
#include "kernels/cpu/act_params.h"

namespace verge {

enum class ActKind : unsigned char { kNone, kRelu, kClip, kLeakyRelu, kHardSigmoid, kHardSwish, kSigmoid, kSiLU, kTanh };

struct Activation {
  ActKind kind = ActKind::kNone;
  float a = 0, b = 0;  // Clip: min,max; LeakyRelu: alpha; HardSigmoid: alpha,beta

  float operator()(float x) const {
    switch (kind) {
      case ActKind::kNone: return x;
      case ActKind::kRelu: return x > 0 ? x : 0;
      case ActKind::kClip: return std::min(std::max(x, a), b);
      case ActKind::kLeakyRelu: return x >= 0 ? x : a * x;
      case ActKind::kHardSigmoid: return std::max(0.f, std::min(1.f, a * x + b));
      case ActKind::kHardSwish: return x * std::max(0.f, std::min(1.f, x / 6.f + 0.5f));
      case ActKind::kSigmoid: return 1.f / (1.f + std::exp(-x));
      case ActKind::kSiLU: return x / (1.f + std::exp(-x));
      case ActKind::kTanh: return std::tanh(x);
    }
    return x;
  }
};

// Plain-data form for ISA microkernels (kernels/cpu/act_params.h; kind numbering = ActKind).
inline ActParams to_act_params(const Activation& a) { return ActParams{static_cast<int>(a.kind), a.a, a.b}; }
static_assert(static_cast<int>(ActKind::kTanh) == 8, "kernels/cpu/vecmath_*.h switch on these values");

// Name used in the `activation` attribute ("" for kNone).
std::string_view activation_name(ActKind k);
// Parses `activation` / `activation_params` of a fused node; error for unknown names or wrong params.
Result<Activation> parse_activation(const ir::Node& node);
// The activation an ordinary ONNX node computes, if it is one of the fusable ones (Relu, Clip with
// constant bounds, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh). `clip_min`/`clip_max` are the Clip
// bounds when known.
bool activation_of(const ir::Node& node, float clip_min, float clip_max, Activation* out);
// Writes `activation`/`activation_params` attributes describing `act` onto a fused node.
void set_activation_attrs(ir::Node& node, const Activation& act);

}  // namespace verge
