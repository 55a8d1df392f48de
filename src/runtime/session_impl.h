// Internal side of verge::Session, for tools and tests that build a session from an in-memory IR model.
#pragma once

#include <list>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "ir/graph.h"
#include "kernels/pack_cache.h"
#include "runtime/exec_options.h"
#include "runtime/plan.h"
#include "verge/session.h"

namespace verge {

// Name, dtype and shape (-1 for symbolic dims) of a graph input or output, as Session::inputs() reports it.
IoInfo io_info(const ir::Value& v);

struct Session::Impl {
  std::unique_ptr<ir::Model> model;
  SessionOptions options;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<PackCache> packs;  // packed weights shared by the plans below
  SharedArena arena;                 // their one arena (they never run at the same time)
  ExecOptions exec;
  std::vector<IoInfo> inputs, outputs;
  std::list<std::pair<std::vector<Shape>, std::unique_ptr<Plan>>> plans;  // most recently used first
  Plan* current = nullptr;
  std::vector<Shape> current_shapes;
  std::vector<const Tensor*> bound;

  static Result<std::unique_ptr<Session>> create(ir::Model model, const SessionOptions& options);
  // The internals of a session (tests, tools).
  static const Impl& of(const Session& s) { return *s.impl_; }
  Result<Plan*> plan_for(const std::vector<Shape>& shapes);
  Status check_shape(size_t input, const Shape& shape) const;
  static std::string describe_shape(const IoInfo& in);
};

// Builds a session over an already imported (or constructed) model.
inline Result<std::unique_ptr<Session>> make_session(ir::Model model, const SessionOptions& options = {}) {
  return Session::Impl::create(std::move(model), options);
}

}  // namespace verge
