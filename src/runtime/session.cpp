#include "verge/session.h"

#include <fmt/format.h>

#include <list>

#include "core/thread_pool.h"
#include "import/onnx/importer.h"
#include "optimize/optimize.h"
#include "runtime/plan.h"
#include "runtime/session_impl.h"

namespace verge {

IoInfo io_info(const ir::Value& v) {
  IoInfo info;
  info.name = v.name;
  info.dtype = v.type.dtype;
  info.has_shape = v.type.has_shape;
  for (const ir::Dim& d : v.type.dims) {
    info.shape.push_back(d.is_fixed() ? d.value : -1);
    info.dim_names.push_back(d.symbol);
  }
  return info;
}

Result<std::unique_ptr<Session>> Session::Impl::create(ir::Model model, const SessionOptions& options) {
  auto impl = std::make_unique<Impl>();
  OptimizeOptions oo;
  oo.level = options.optimization;
  auto passes = optimize(model, oo);
  if (!passes.is_ok()) return passes.status().with_context("optimizing the model");
  impl->model = std::make_unique<ir::Model>(std::move(model));
  impl->options = options;
  if (options.threads < 1 || options.threads > 256)
    return Status::invalid_argument(fmt::format("threads must be in 1..256, got {}", options.threads));
  if (options.threads > 1) impl->pool = std::make_unique<ThreadPool>(options.threads);
  impl->exec.pool = impl->pool.get();
  impl->packs = std::make_unique<PackCache>();
  impl->exec.packs = impl->packs.get();
  impl->exec.thread_tuning_runs = options.thread_tuning_runs > 0 ? options.thread_tuning_runs : 0;
  impl->exec.kernels = options.reference_kernels ? KernelPolicy::kReference : KernelPolicy::kBest;
  const ir::Graph& g = impl->model->graph;
  for (ir::ValueId id : g.inputs) impl->inputs.push_back(io_info(g.value(id)));
  for (ir::ValueId id : g.outputs) impl->outputs.push_back(io_info(g.value(id)));
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Status Session::Impl::check_shape(size_t i, const Shape& shape) const {
  const IoInfo& in = inputs[i];
  if (!in.has_shape) return Status::ok();
  if (shape.size() != in.shape.size())
    return Status::invalid_argument(
        fmt::format("input '{}' has rank {} (shape {}); the model expects rank {}", in.name, shape.size(),
                    shape_to_string(shape), in.shape.size()));
  for (size_t d = 0; d < shape.size(); ++d)
    if (in.shape[d] >= 0 && shape[d] != in.shape[d])
      return Status::invalid_argument(
          fmt::format("input '{}' has shape {}; the model expects {} (dimension {} must be {})", in.name,
                      shape_to_string(shape), describe_shape(in), d, in.shape[d]));
  return Status::ok();
}

std::string Session::Impl::describe_shape(const IoInfo& in) {
  std::string s;
  for (size_t d = 0; d < in.shape.size(); ++d) {
    if (d) s += 'x';
    s += in.shape[d] >= 0 ? std::to_string(in.shape[d]) : (in.dim_names[d].empty() ? "?" : in.dim_names[d]);
  }
  return s.empty() ? "scalar" : s;
}

Result<Plan*> Session::Impl::plan_for(const std::vector<Shape>& shapes) {
  if (shapes.size() != inputs.size())
    return Status::invalid_argument(
        fmt::format("the model has {} inputs; got {}", inputs.size(), shapes.size()));
  for (auto it = plans.begin(); it != plans.end(); ++it) {
    if (it->first != shapes) continue;
    plans.splice(plans.begin(), plans, it);  // most recently used first
    return plans.front().second.get();
  }
  std::vector<ValueBinding> bindings;
  const ir::Graph& g = model->graph;
  for (size_t i = 0; i < shapes.size(); ++i) {
    VERGE_RETURN_IF_ERROR(check_shape(i, shapes[i]));
    bindings.push_back(ValueBinding{g.inputs[i], TensorType{inputs[i].dtype, shapes[i]}, nullptr});
  }
  VERGE_ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, Plan::build(g, bindings, exec, &arena));
  plans.emplace_front(shapes, std::move(plan));
  while (plans.size() > std::max<size_t>(1, options.plan_cache_size)) plans.pop_back();
  return plans.front().second.get();
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::load(const std::string& path, const SessionOptions& options) {
  VERGE_ASSIGN_OR_RETURN(ir::Model m, onnx_io::load_model(path));
  return Impl::create(std::move(m), options);
}

Result<std::unique_ptr<Session>> Session::load_from_memory(std::string_view bytes,
                                                           const SessionOptions& options) {
  VERGE_ASSIGN_OR_RETURN(ir::Model m, onnx_io::load_model_from_bytes(bytes, "<memory>", "."));
  return Impl::create(std::move(m), options);
}

const std::vector<IoInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<IoInfo>& Session::outputs() const { return impl_->outputs; }

Status Session::prepare(const std::vector<Shape>& input_shapes) {
  auto p = impl_->plan_for(input_shapes);
  if (!p.is_ok()) return p.status();
  impl_->current = *p;
  impl_->current_shapes = input_shapes;
  return Status::ok();
}

Result<std::span<const Tensor>> Session::run(std::span<const Tensor> in) {
  Impl& m = *impl_;
  if (in.size() != m.inputs.size())
    return Status::invalid_argument(
        fmt::format("the model has {} inputs; got {}", m.inputs.size(), in.size()));
  // Fast path: the current plan matches these shapes (no allocation in steady state).
  bool same = m.current != nullptr && m.current_shapes.size() == in.size();
  for (size_t i = 0; same && i < in.size(); ++i) same = in[i].shape() == m.current_shapes[i];
  if (!same) {
    std::vector<Shape> shapes;
    for (const Tensor& t : in) shapes.push_back(t.shape());
    VERGE_ASSIGN_OR_RETURN(m.current, m.plan_for(shapes));
    m.current_shapes = std::move(shapes);
  }
  m.bound.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const IoInfo& info = m.inputs[i];
    if (in[i].dtype() != info.dtype)
      return Status::invalid_argument(fmt::format("input '{}' has dtype {}; the model expects {}", info.name,
                                                  dtype_name(in[i].dtype()), dtype_name(info.dtype)));
    if (in[i].raw() == nullptr && in[i].numel() > 0)
      return Status::invalid_argument(fmt::format("input '{}' has no data", info.name));
    if (info.dtype == DType::kBool) {
      const auto* b = static_cast<const uint8_t*>(in[i].raw());
      for (int64_t k = 0; k < in[i].numel(); ++k)
        if (b[k] > 1)
          return Status::invalid_argument(
              fmt::format("input '{}' is bool but holds byte {}", info.name, b[k]));
    }
    m.bound[i] = &in[i];
  }
  VERGE_RETURN_IF_ERROR(m.current->run(m.bound));
  return m.current->outputs();
}

PlanInfo Session::plan_info() const {
  PlanInfo info;
  if (!impl_->current) return info;
  const PlanStats& s = impl_->current->stats();
  info.arena_bytes = s.arena_bytes;
  info.naive_bytes = s.naive_bytes;
  info.static_nodes = s.static_nodes;
  info.dynamic_nodes = s.dynamic_nodes;
  info.folded_nodes = s.folded_nodes;
  info.in_place_nodes = s.in_place_nodes;
  info.threads_used = s.threads_used;
  return info;
}

void Session::enable_profiling() {
  if (impl_->current) impl_->current->enable_profiling();
}

std::vector<Session::NodeTime> Session::profile() const {
  std::vector<NodeTime> r;
  if (!impl_->current) return r;
  for (const NodeProfile& p : impl_->current->profile()) r.push_back({p.node, p.op, p.kernel, p.seconds});
  return r;
}

}  // namespace verge
