// PLACEHOLDER: reference kernels not written yet.
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_Gather(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_GatherElements(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_GatherND(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ScatterElements(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_ScatterND(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Tile(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Expand(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Pad(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_DepthToSpace(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_SpaceToDepth(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_OneHot(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_NonZero(const ir::Node& n) { return not_written(n); }
std::unique_ptr<Kernel> make_Trilu(const ir::Node& n) { return not_written(n); }

}  // namespace verge::ref
