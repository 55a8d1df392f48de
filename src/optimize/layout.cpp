// Blocked (NCHWc) layout pass. Placeholder until the layout rewrite lands: makes no changes.
#include "optimize/passes.h"

namespace verge::opt {

Result<int> blocked_layout(ir::Graph&, int) { return 0; }

}  // namespace verge::opt
