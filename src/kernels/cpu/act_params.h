// Plain-data activation description for ISA-specific microkernels (which must not use the STL; see
// docs/kernels.md). Built from verge::Activation (kernels/activation.h) by the generic kernel code.
#pragma once

namespace verge {

struct ActParams {
  int kind = 0;  // static_cast<int>(ActKind)
  float a = 0, b = 0;
};

}  // namespace verge
