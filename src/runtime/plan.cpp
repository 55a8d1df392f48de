#include "runtime/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/thread_pool.h"
#include "kernels/registry.h"

namespace verge {

struct Plan::Slot {
  enum class Kind : uint8_t { kUnset, kBound, kConstant, kArena, kDynamic };
  Kind kind = Kind::kUnset;
  TensorType type;
  const Tensor* constant = nullptr;
  Tensor tensor;  // the view kernels read/write
  size_t offset = 0;
  size_t bytes = 0;
  int def = -1;
  int last_use = -1;
};

struct Plan::Step {
  ir::NodeId node_id = -1;
  const ir::Node* node = nullptr;
  bool dynamic = false;
  std::unique_ptr<Kernel> kernel;
  std::vector<ir::ValueId> in_values;  // regular then implicit inputs; kNoValue for omitted
  std::vector<const Tensor*> inputs;
  std::vector<Tensor*> outputs;
  size_t scratch_offset = 0;
  size_t scratch_bytes = 0;
  int in_place_input = -1;  // output 0 may share input i's memory (kernel-declared)
  bool elided = false;      // a Concat whose inputs were written in place in its output: nothing to run
  void* scratch = nullptr;
  // Dynamic nodes: kernel prepared for these input types, re-prepared when they change.
  std::vector<TensorType> prepared_types;
  std::shared_ptr<void> dynamic_scratch;
};

namespace {
constexpr size_t kAlign = 64;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::shared_ptr<void> aligned_buffer(size_t bytes) {
  void* p = std::aligned_alloc(kAlign, align_up(std::max<size_t>(bytes, 1)));
  if (!p) return nullptr;
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

std::vector<ir::ValueId> step_inputs(const ir::Node& n) {
  std::vector<ir::ValueId> v = n.inputs;
  v.insert(v.end(), n.implicit_inputs.begin(), n.implicit_inputs.end());
  return v;
}
}  // namespace

Plan::~Plan() = default;

Result<std::unique_ptr<Plan>> Plan::build(const ir::Graph& graph, std::span<const ValueBinding> bindings,
                                          const ExecOptions& options, SharedArena* shared) {
  std::unique_ptr<Plan> p(new Plan());
  p->graph_ = &graph;
  p->shared_ = shared;
  p->options_ = options;
  p->bindings_.assign(bindings.begin(), bindings.end());
  p->slots_.resize(graph.values.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    const ir::Value& val = graph.values[v];
    if (!val.constant) continue;
    Slot& s = p->slots_[v];
    s.kind = Slot::Kind::kConstant;
    s.constant = val.constant.get();
    s.type = {val.constant->dtype(), val.constant->shape()};
  }
  for (const ValueBinding& b : p->bindings_) {
    Slot& s = p->slots_[static_cast<size_t>(b.value)];
    s.type = b.type;
    if (b.constant) {
      s.kind = Slot::Kind::kConstant;
      s.constant = b.constant;
    } else {
      s.kind = Slot::Kind::kBound;
    }
  }
  VERGE_RETURN_IF_ERROR(p->plan_nodes());
  if (!options.infer_only) VERGE_RETURN_IF_ERROR(p->plan_memory());
  return p;
}

Status Plan::plan_nodes() {
  const ir::Graph& g = *graph_;
  std::vector<const TensorType*> in_types;
  std::vector<const Tensor*> in_values;
  std::vector<TensorType> out_types;
  for (size_t id = 0; id < g.nodes.size(); ++id) {
    const ir::Node& node = g.nodes[id];
    const auto node_id = static_cast<ir::NodeId>(id);
    if (node.op == OpId::kUnknown)
      return Status::unsupported(fmt::format("{}: operator '{}{}{}' is not supported by Verge",
                                             node.label(node_id), node.domain, node.domain.empty() ? "" : ".",
                                             node.op_type));
    const OpInfo& info = op_info(node.op);
    Step step;
    step.node_id = node_id;
    step.node = &node;
    step.in_values = step_inputs(node);
    in_types.assign(step.in_values.size(), nullptr);
    in_values.assign(step.in_values.size(), nullptr);
    bool dynamic = false;
    bool all_constant = true;
    for (size_t i = 0; i < step.in_values.size(); ++i) {
      const ir::ValueId v = step.in_values[i];
      if (v == ir::kNoValue) continue;
      const Slot& s = slots_[static_cast<size_t>(v)];
      switch (s.kind) {
        case Slot::Kind::kUnset:
          return Status::invalid_model(
              fmt::format("{}: input '{}' is not produced by any node, initializer or graph input",
                          node.label(node_id), g.value(v).name));
        case Slot::Kind::kDynamic:
          dynamic = true;
          break;
        case Slot::Kind::kConstant:
          in_values[i] = s.constant;
          [[fallthrough]];
        default:
          in_types[i] = &s.type;
      }
      all_constant = all_constant && s.kind == Slot::Kind::kConstant;
    }
    out_types.assign(node.outputs.size(), TensorType{});
    if (!dynamic) {
      // InferFns see only the regular inputs; implicit inputs belong to subgraphs.
      const size_t n_regular = node.inputs.size();
      InferContext ctx(g, node, std::span(in_types).first(n_regular), std::span(in_values).first(n_regular),
                       out_types);
      Status st = info.infer(ctx);
      if (st.code() == StatusCode::kNeedsValue || (st.is_ok() && ctx.outputs_after_run()))
        dynamic = true;
      else if (!st.is_ok())
        return st.with_context(node.label(node_id));
    }
    if (dynamic) {
      step.dynamic = true;
      for (ir::ValueId o : node.outputs)
        if (o != ir::kNoValue) slots_[static_cast<size_t>(o)].kind = Slot::Kind::kDynamic;
      ++stats_.dynamic_nodes;
      steps_.push_back(std::move(step));
      continue;
    }
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (node.outputs[o] != ir::kNoValue && out_types[o].dtype == DType::kUndefined)
        return Status::internal(
            fmt::format("{}: shape inference left output {} undefined", node.label(node_id), o));

    const bool shape_only =
        options_.fold_shapes && (node.op == OpId::Shape || node.op == OpId::Size) && in_types[0] != nullptr;
    const bool fold = options_.fold_constants && node.op != OpId::If && (all_constant || shape_only);
    if (!fold && options_.infer_only) {
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        if (node.outputs[o] == ir::kNoValue) continue;
        Slot& s = slots_[static_cast<size_t>(node.outputs[o])];
        s.kind = Slot::Kind::kArena;
        s.type = out_types[o];
      }
      continue;
    }
    PrepareContext pctx(g, node, in_types, in_values, out_types, options_);
    std::unique_ptr<Kernel> kernel = select_kernel(pctx, fold ? KernelPolicy::kReference : options_.kernels);
    VERGE_RETURN_IF_ERROR(kernel->prepare(pctx).with_context(node.label(node_id)));

    if (fold) {
      std::vector<Tensor> shape_views;
      std::vector<const Tensor*> ins(in_values);
      if (shape_only) {
        shape_views.push_back(
            Tensor::wrap(in_types[0]->dtype, in_types[0]->shape, static_cast<void*>(nullptr)));
        ins[0] = &shape_views[0];
      }
      std::vector<Tensor> outs(node.outputs.size());
      std::vector<Tensor*> out_ptrs(node.outputs.size(), nullptr);
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        if (node.outputs[o] == ir::kNoValue) continue;
        VERGE_ASSIGN_OR_RETURN(outs[o], Tensor::allocate(out_types[o].dtype, out_types[o].shape));
        out_ptrs[o] = &outs[o];
      }
      std::shared_ptr<void> scratch = aligned_buffer(pctx.scratch_bytes());
      RunContext rc{ins, out_ptrs, scratch.get(), nullptr, &options_};
      VERGE_RETURN_IF_ERROR(kernel->run(rc).with_context(node.label(node_id)));
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        if (node.outputs[o] == ir::kNoValue) continue;
        auto t = std::make_shared<const Tensor>(std::move(outs[o]));
        Slot& s = slots_[static_cast<size_t>(node.outputs[o])];
        s.kind = Slot::Kind::kConstant;
        s.type = out_types[o];
        s.constant = t.get();
        folded_.push_back(std::move(t));
      }
      ++stats_.folded_nodes;
      continue;
    }
    step.kernel = std::move(kernel);
    step.scratch_bytes = pctx.scratch_bytes();
    step.in_place_input = pctx.in_place_input();
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o] == ir::kNoValue) continue;
      Slot& s = slots_[static_cast<size_t>(node.outputs[o])];
      s.kind = Slot::Kind::kArena;
      s.type = out_types[o];
    }
    ++stats_.static_nodes;
    steps_.push_back(std::move(step));
  }
  for (ir::ValueId o : g.outputs)
    if (slots_[static_cast<size_t>(o)].kind == Slot::Kind::kUnset)
      return Status::invalid_model(fmt::format("graph output '{}' is never produced", g.value(o).name));
  return Status::ok();
}

Status Plan::plan_memory() {
  const ir::Graph& g = *graph_;
  const int end = static_cast<int>(steps_.size());
  for (int s = 0; s < end; ++s) {
    const Step& step = steps_[static_cast<size_t>(s)];
    for (ir::ValueId v : step.in_values)
      if (v != ir::kNoValue) slots_[static_cast<size_t>(v)].last_use = s;
    for (ir::ValueId v : step.node->outputs) {
      if (v == ir::kNoValue) continue;
      Slot& sl = slots_[static_cast<size_t>(v)];
      sl.def = s;
      sl.last_use = std::max(sl.last_use, s);
    }
  }
  for (ir::ValueId o : g.outputs) slots_[static_cast<size_t>(o)].last_use = end;

  // In-place execution: output 0 of a step joins the buffer of the input its kernel allows, when that
  // input is an intermediate whose last use is this step and the sizes match. Groups share one block.
  // A group member lives at `delta` bytes into its parent's memory (0 for in-place members).
  std::vector<int> group(slots_.size(), -1);
  std::vector<size_t> delta(slots_.size(), 0);
  for (size_t v = 0; v < slots_.size(); ++v) {
    Slot& s = slots_[v];
    if (s.kind != Slot::Kind::kArena) continue;
    s.bytes = align_up(static_cast<size_t>(shape_numel(s.type.shape)) * dtype_size(s.type.dtype));
    group[v] = static_cast<int>(v);
  }
  auto root = [&](int v) {
    while (group[static_cast<size_t>(v)] != v) v = group[static_cast<size_t>(v)];
    return v;
  };
  auto offset_in_root = [&](int v) {
    size_t off = 0;
    for (; group[static_cast<size_t>(v)] != v; v = group[static_cast<size_t>(v)])
      off += delta[static_cast<size_t>(v)];
    return off;
  };
  std::vector<char> is_output(slots_.size(), 0);
  for (ir::ValueId o : g.outputs) is_output[static_cast<size_t>(o)] = 1;
  for (int s = 0; s < end; ++s) {
    const Step& step = steps_[static_cast<size_t>(s)];
    if (step.in_place_input < 0 || step.dynamic) continue;
    const ir::ValueId in = step.in_values[static_cast<size_t>(step.in_place_input)];
    const ir::ValueId out = step.node->output(0);
    if (in == ir::kNoValue || out == ir::kNoValue) continue;
    const Slot& si = slots_[static_cast<size_t>(in)];
    const Slot& so = slots_[static_cast<size_t>(out)];
    if (si.kind != Slot::Kind::kArena || so.kind != Slot::Kind::kArena || si.last_use != s ||
        si.bytes != so.bytes || is_output[static_cast<size_t>(in)])
      continue;
    bool read_twice = false;  // the same value feeding two inputs of this step
    for (size_t k = 0; k < step.in_values.size(); ++k)
      read_twice = read_twice || (static_cast<int>(k) != step.in_place_input && step.in_values[k] == in);
    if (read_twice) continue;
    group[static_cast<size_t>(out)] = root(in);
    delta[static_cast<size_t>(out)] = offset_in_root(in);
    ++stats_.in_place_nodes;
  }
  // Concat in place: each input's producers write straight into its slice of the output (the concat
  // then runs nothing) when the slices are contiguous (every axis before the concat axis is 1), start at
  // 64-byte multiples, and each input's group is written only before the concat and read at most by it
  // (a later write into a slice would change the output; a later read could see the output's successor
  // overwrite it). Saves SqueezeNet's eight copies (the one-thread copy of data both threads wrote).
  for (int s = 0; s < end; ++s) {
    Step& step = steps_[static_cast<size_t>(s)];
    if (step.dynamic || step.node->op != OpId::Concat || step.node->outputs.empty()) continue;
    const ir::ValueId out = step.node->output(0);
    if (out == ir::kNoValue || slots_[static_cast<size_t>(out)].kind != Slot::Kind::kArena) continue;
    const Shape& shape = slots_[static_cast<size_t>(out)].type.shape;
    const auto rank = static_cast<int64_t>(shape.size());
    int64_t axis = step.node->get_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) continue;
    bool ok = true;
    for (int64_t d = 0; d < axis; ++d) ok = ok && shape[static_cast<size_t>(d)] == 1;
    std::vector<int> roots;
    std::vector<size_t> starts;
    size_t at = 0;
    const int out_root = root(out);
    for (ir::ValueId in : step.node->inputs) {
      if (!ok) break;
      const Slot* si = in == ir::kNoValue ? nullptr : &slots_[static_cast<size_t>(in)];
      if (!si || si->kind != Slot::Kind::kArena || at % kAlign != 0) {
        ok = false;
        break;
      }
      const int r = root(in);
      ok =
          r != out_root && std::find(roots.begin(), roots.end(), r) == roots.end() && offset_in_root(in) == 0;
      for (size_t v = 0; ok && v < slots_.size(); ++v) {
        const Slot& m = slots_[v];
        if (m.kind != Slot::Kind::kArena || root(static_cast<int>(v)) != r) continue;
        ok = !is_output[v] && m.def < s && m.last_use <= s;
      }
      roots.push_back(r);
      starts.push_back(at);
      at += static_cast<size_t>(shape_numel(si->type.shape)) * dtype_size(si->type.dtype);
    }
    if (!ok) continue;
    const size_t base = offset_in_root(out);
    for (size_t i = 0; i < roots.size(); ++i) {
      group[static_cast<size_t>(roots[i])] = out_root;
      delta[static_cast<size_t>(roots[i])] = base + starts[i];
    }
    step.elided = true;
    ++stats_.in_place_nodes;
  }
  struct Block {
    size_t bytes;
    int begin, end;
    size_t* offset;
  };
  std::vector<Block> blocks;
  std::vector<int> block_of(slots_.size(), -1);
  for (size_t v = 0; v < slots_.size(); ++v) {
    Slot& s = slots_[v];
    if (s.kind != Slot::Kind::kArena) continue;
    const int r = root(static_cast<int>(v));
    if (block_of[static_cast<size_t>(r)] < 0) {
      block_of[static_cast<size_t>(r)] = static_cast<int>(blocks.size());
      blocks.push_back({s.bytes, s.def, s.last_use, &slots_[static_cast<size_t>(r)].offset});
    }
    Block& b = blocks[static_cast<size_t>(block_of[static_cast<size_t>(r)])];
    b.bytes = std::max(b.bytes, offset_in_root(static_cast<int>(v)) + s.bytes);
    b.begin = std::min(b.begin, s.def);
    b.end = std::max(b.end, s.last_use);
  }
  const size_t n_value_blocks = blocks.size();
  for (int s = 0; s < end; ++s) {
    Step& step = steps_[static_cast<size_t>(s)];
    if (step.scratch_bytes) blocks.push_back({align_up(step.scratch_bytes), s, s, &step.scratch_offset});
  }
  for (const Slot& sl : slots_)
    if (sl.kind == Slot::Kind::kArena) stats_.naive_bytes += sl.bytes;
  for (size_t b = n_value_blocks; b < blocks.size(); ++b) stats_.naive_bytes += blocks[b].bytes;
  // Greedy by size (TFLite's strategy): place big blocks first at the lowest offset that does not
  // collide with an already placed block whose lifetime overlaps.
  std::vector<size_t> order(blocks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return blocks[a].bytes > blocks[b].bytes; });
  std::vector<size_t> placed;
  size_t total = 0;
  for (size_t idx : order) {
    Block& b = blocks[idx];
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t j : placed) {
      const Block& o = blocks[j];
      if (o.begin <= b.end && b.begin <= o.end) busy.emplace_back(*o.offset, *o.offset + o.bytes);
    }
    std::sort(busy.begin(), busy.end());
    size_t off = 0;
    for (auto [lo, hi] : busy) {
      if (off + b.bytes <= lo) break;
      off = std::max(off, hi);
    }
    *b.offset = off;
    total = std::max(total, off + b.bytes);
    placed.push_back(idx);
  }
  stats_.arena_bytes = total;
  for (size_t v = 0; v < slots_.size(); ++v)  // group members sit at their offset into the root's block
    if (slots_[v].kind == Slot::Kind::kArena && group[v] != static_cast<int>(v))
      slots_[v].offset =
          slots_[static_cast<size_t>(root(static_cast<int>(v)))].offset + offset_in_root(static_cast<int>(v));
  std::shared_ptr<void>& arena = shared_ ? shared_->buffer : arena_;
  if (!shared_ || !arena || shared_->bytes < total) {
    arena.reset();  // a shared arena's old buffer first: peak memory is the new size, not old + new
    arena = aligned_buffer(total);
    if (!arena)
      return Status(StatusCode::kResourceExhausted, fmt::format("cannot allocate a {} byte arena", total));
    if (shared_) shared_->bytes = total;
  }
  auto* base = static_cast<unsigned char*>(arena.get());
  base_ = base;

  for (Slot& s : slots_) {
    switch (s.kind) {
      case Slot::Kind::kArena:
        s.tensor = Tensor::wrap(s.type.dtype, s.type.shape, base + s.offset);
        break;
      case Slot::Kind::kBound:
        s.tensor = Tensor::wrap(s.type.dtype, s.type.shape, static_cast<void*>(nullptr));
        break;
      case Slot::Kind::kConstant:
        s.tensor = *s.constant;
        break;
      default:
        break;
    }
  }
  for (Step& step : steps_) {
    step.inputs.assign(step.in_values.size(), nullptr);
    for (size_t i = 0; i < step.in_values.size(); ++i)
      if (step.in_values[i] != ir::kNoValue)
        step.inputs[i] = &slots_[static_cast<size_t>(step.in_values[i])].tensor;
    step.outputs.assign(step.node->outputs.size(), nullptr);
    for (size_t o = 0; o < step.node->outputs.size(); ++o)
      if (step.node->outputs[o] != ir::kNoValue)
        step.outputs[o] = &slots_[static_cast<size_t>(step.node->outputs[o])].tensor;
    step.scratch = step.scratch_bytes ? base + step.scratch_offset : nullptr;
  }
  outputs_.clear();
  output_types_.clear();
  for (ir::ValueId o : g.outputs) {
    const Slot& s = slots_[static_cast<size_t>(o)];
    outputs_.push_back(s.tensor);
    output_types_.push_back(s.kind == Slot::Kind::kDynamic ? TensorType{} : s.type);
  }
  return Status::ok();
}

Status Plan::run_dynamic(Step& step, ThreadPool* pool) {
  const ir::Node& node = *step.node;
  std::vector<TensorType> types(step.in_values.size());
  std::vector<const TensorType*> type_ptrs(step.in_values.size(), nullptr);
  std::vector<const Tensor*> constants(step.in_values.size(), nullptr);
  for (size_t i = 0; i < step.in_values.size(); ++i) {
    const ir::ValueId v = step.in_values[i];
    if (v == ir::kNoValue) continue;
    Slot& s = slots_[static_cast<size_t>(v)];
    step.inputs[i] = &s.tensor;
    types[i] = {s.tensor.dtype(), s.tensor.shape()};
    type_ptrs[i] = &types[i];
    if (s.kind == Slot::Kind::kConstant) constants[i] = s.constant;
  }
  std::vector<TensorType> out_types(node.outputs.size());
  const size_t n_regular = node.inputs.size();
  InferContext ctx(*graph_, node, std::span(type_ptrs).first(n_regular),
                   std::span(step.inputs).first(n_regular), out_types);
  Status st = op_info(node.op).infer(ctx);
  if (!st.is_ok()) return st.with_context(node.label(step.node_id));
  if (!step.kernel || step.prepared_types != types) {
    PrepareContext pctx(*graph_, node, type_ptrs, constants, out_types, options_);
    step.kernel = select_kernel(pctx, options_.kernels);
    VERGE_RETURN_IF_ERROR(step.kernel->prepare(pctx).with_context(node.label(step.node_id)));
    step.prepared_types = types;
    step.dynamic_scratch = aligned_buffer(pctx.scratch_bytes());
  }
  struct SlotAllocator final : OutputAllocator {
    Plan* plan;
    Step* step;
    Result<Tensor*> allocate(size_t o, DType dtype, const Shape& shape) override {
      if (o >= step->node->outputs.size() || step->node->outputs[o] == ir::kNoValue)
        return static_cast<Tensor*>(nullptr);
      Slot& s = plan->slots_[static_cast<size_t>(step->node->outputs[o])];
      VERGE_ASSIGN_OR_RETURN(s.tensor, Tensor::allocate(dtype, shape));
      step->outputs[o] = &s.tensor;
      return &s.tensor;
    }
  } allocator;
  allocator.plan = this;
  allocator.step = &step;
  if (!ctx.outputs_after_run()) {
    for (size_t o = 0; o < node.outputs.size(); ++o)
      if (node.outputs[o] != ir::kNoValue)
        VERGE_RETURN_IF_ERROR(allocator.allocate(o, out_types[o].dtype, out_types[o].shape).status());
  } else {
    for (Tensor*& t : step.outputs) t = nullptr;
  }
  RunContext rc{step.inputs, step.outputs, step.dynamic_scratch.get(),
                pool,        &options_,    ctx.outputs_after_run() ? &allocator : nullptr};
  return step.kernel->run(rc).with_context(node.label(step.node_id));
}

void Plan::bind_arena(unsigned char* base) {
  for (Slot& s : slots_)
    if (s.kind == Slot::Kind::kArena) s.tensor.reset_data(base + s.offset);
  for (Step& step : steps_) step.scratch = step.scratch_bytes ? base + step.scratch_offset : nullptr;
  const ir::Graph& g = *graph_;
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const Slot& s = slots_[static_cast<size_t>(g.outputs[k])];
    if (s.kind == Slot::Kind::kArena) outputs_[k].reset_data(base + s.offset);
  }
  base_ = base;
}

Status Plan::run(std::span<const Tensor* const> bound) {
  if (shared_ && shared_->buffer.get() != base_)
    bind_arena(static_cast<unsigned char*>(shared_->buffer.get()));
  for (size_t i = 0; i < bindings_.size() && i < bound.size(); ++i) {
    Slot& s = slots_[static_cast<size_t>(bindings_[i].value)];
    if (s.kind == Slot::Kind::kBound) s.tensor.reset_data(const_cast<void*>(bound[i]->raw()));
  }
  const bool profile = !step_seconds_.empty();
  const bool tuning = options_.pool != nullptr && tune_runs_ < options_.thread_tuning_runs;
  const int way = tuning ? tune_runs_ % 2 : use_pool_;  // 0: the calling thread, 1: the pool
  ThreadPool* pool = way ? options_.pool : nullptr;
  const ThreadPool::Hot hot(pool);  // workers spin between nodes, sleep after the run
  const auto run_start = tuning ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  for (size_t k = 0; k < steps_.size(); ++k) {
    Step& step = steps_[k];
    const auto t0 = profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    if (step.dynamic) {
      VERGE_RETURN_IF_ERROR(run_dynamic(step, pool));
    } else if (!step.elided) {
      RunContext rc{step.inputs, step.outputs, step.scratch, pool, &options_};
      Status st = step.kernel->run(rc);
      if (!st.is_ok()) return st.with_context(step.node->label(step.node_id));
    }
    if (profile)
      step_seconds_[k] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  if (tuning) {
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    if (tune_runs_ < 2 || sec < tune_best_[way]) tune_best_[way] = sec;
    if (++tune_runs_ == options_.thread_tuning_runs) {
      use_pool_ = tune_runs_ < 2 || tune_best_[1] < tune_best_[0];
      stats_.threads_used = use_pool_ ? options_.pool->num_threads() : 1;
    }
  }
  const ir::Graph& g = *graph_;
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const Slot& s = slots_[static_cast<size_t>(g.outputs[k])];
    if (s.kind == Slot::Kind::kBound)
      outputs_[k].reset_data(const_cast<void*>(s.tensor.raw()));
    else if (s.kind == Slot::Kind::kDynamic)
      outputs_[k] = s.tensor;
  }
  return Status::ok();
}

const Tensor* Plan::value_constant(ir::ValueId v) const {
  const Slot& s = slots_[static_cast<size_t>(v)];
  return s.kind == Slot::Kind::kConstant ? s.constant : nullptr;
}

const TensorType* Plan::value_type(ir::ValueId v) const {
  const Slot& s = slots_[static_cast<size_t>(v)];
  return s.kind == Slot::Kind::kUnset || s.kind == Slot::Kind::kDynamic ? nullptr : &s.type;
}

void Plan::enable_profiling() { step_seconds_.assign(steps_.size(), 0.0); }

std::vector<NodeProfile> Plan::profile() const {
  std::vector<NodeProfile> r;
  for (size_t k = 0; k < steps_.size() && k < step_seconds_.size(); ++k) {
    const Step& s = steps_[k];
    r.push_back({s.node->name, s.node->op_type.empty() ? std::string(op_name(s.node->op)) : s.node->op_type,
                 s.elided   ? "in place"
                 : s.kernel ? s.kernel->name()
                            : "dynamic",
                 step_seconds_[k]});
  }
  return r;
}

std::vector<std::pair<std::string, std::string>> Plan::kernel_choices() const {
  std::vector<std::pair<std::string, std::string>> r;
  for (const Step& s : steps_)
    r.emplace_back(s.node->label(s.node_id), s.elided ? "in place" : s.kernel ? s.kernel->name() : "dynamic");
  return r;
}

}  // namespace verge
