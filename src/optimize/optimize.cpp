#include "optimize/optimize.h"

#include <fmt/format.h>

#include "core/cpu_features.h"
#include "optimize/passes.h"

namespace verge {

Result<OptLevel> parse_opt_level(std::string_view s) {
  for (OptLevel l : {OptLevel::kNone, OptLevel::kBasic, OptLevel::kExtended, OptLevel::kAll})
    if (opt_level_name(l) == s) return l;
  return Status::invalid_argument(fmt::format("unknown optimization level '{}' (none, basic, extended, all)", s));
}

std::string_view opt_level_name(OptLevel l) {
  switch (l) {
    case OptLevel::kNone: return "none";
    case OptLevel::kBasic: return "basic";
    case OptLevel::kExtended: return "extended";
    case OptLevel::kAll: return "all";
  }
  return "?";
}

int default_block_size() {
  if (cpu_has(Isa::kAvx512)) return 16;
  if (cpu_has(Isa::kAvx2Fma)) return 8;
  return 0;
}

Result<std::vector<PassResult>> optimize(ir::Model& model, const OptimizeOptions& o) {
  std::vector<PassResult> log;
  if (o.level == OptLevel::kNone) return log;
  ir::Model work = model;
  ir::Graph& g = work.graph;
  auto note = [&](const char* pass, int changes) { log.push_back({pass, changes}); };
  note("eliminate_identities", opt::eliminate_identities(g));
  const bool quantized = o.level >= OptLevel::kExtended;
  VERGE_ASSIGN_OR_RETURN(int folded, opt::fold_constants(g, o.input_shapes, quantized));
  note("fold_constants", folded);
  if (quantized) {
    note("fuse_qdq", opt::fuse_qdq(g));
    // DequantizeLinear of weights that no rewrite took become float constants.
    VERGE_ASSIGN_OR_RETURN(int refolded, opt::fold_constants(g, o.input_shapes));
    note("fold_constants", refolded);
  }
  note("fold_batch_norm", opt::fold_batch_norm(g));
  note("matmul_add_to_gemm", opt::matmul_add_to_gemm(g));
  note("remove_dead_nodes", opt::remove_dead_nodes(g));
  if (o.level >= OptLevel::kExtended) {
    note("fuse_conv_activation", opt::fuse_conv_activation(g));
    note("fuse_gemm_activation", opt::fuse_gemm_activation(g));
  }
  if (o.level >= OptLevel::kAll) {
    const int block = o.block ? o.block : default_block_size();
    if (block) {
      VERGE_ASSIGN_OR_RETURN(int changes, opt::blocked_layout(g, block));
      note("blocked_layout", changes);
    }
  }
  VERGE_RETURN_IF_ERROR(g.topological_sort());
  bool uses_verge = false;
  for (const ir::Node& n : g.nodes) uses_verge = uses_verge || n.domain == "verge";
  bool declared = false;
  for (const auto& [d, v] : work.other_opsets) declared = declared || d == "verge";
  if (uses_verge && !declared) work.other_opsets.emplace_back("verge", 1);
  model = std::move(work);
  return log;
}

}  // namespace verge
