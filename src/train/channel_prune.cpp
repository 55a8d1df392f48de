#include "train/channel_prune.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "optimize/graph_edit.h"

namespace verge::train {
namespace {

// What removing output channels of one Conv touches.
struct Plan {
  ir::NodeId conv = -1;
  int64_t channels = 0;
  std::vector<ir::NodeId> batch_norms;                       // inputs 1..4 sliced along axis 0
  std::vector<ir::ValueId> channel_values;                   // dim 1 is the channel axis
  std::vector<ir::NodeId> consumer_convs;                    // weight sliced along axis 1
  std::vector<std::pair<ir::ValueId, int64_t>> flat_values;  // Flatten output, spatial block size
  std::vector<std::pair<ir::NodeId, int64_t>> gemms;  // Gemm reading a Flatten output, spatial block size
};

bool is_channelwise(OpId op) {
  switch (op) {
    case OpId::Relu:
    case OpId::LeakyRelu:
    case OpId::Sigmoid:
    case OpId::Tanh:
    case OpId::HardSigmoid:
    case OpId::HardSwish:
    case OpId::Clip:
    case OpId::Identity:
    case OpId::Dropout:
    case OpId::MaxPool:
    case OpId::AveragePool:
    case OpId::GlobalAveragePool:
    case OpId::GlobalMaxPool:
      return true;
    default:
      return false;
  }
}

class Planner {
 public:
  explicit Planner(const ir::Graph& g) : g_(g), uses_(opt::compute_uses(g)) {}

  Result<Plan> plan(ir::NodeId conv_id) const {
    const ir::Node& conv = node(conv_id);
    if (conv.op != OpId::Conv) return fail("not a Conv");
    if (conv.get_int("group", 1) != 1) return fail("grouped Conv");
    const ir::ValueId w = conv.input(1);
    if (!float_constant(w, 3) || !single_use(w)) return fail("weight is not a float initializer of its own");
    Plan p;
    p.conv = conv_id;
    p.channels = g_.value(w).constant->dim(0);
    if (conv.input(2) != ir::kNoValue && !param_vector(conv.input(2), p.channels))
      return fail("bias is not a float initializer of its own");
    std::vector<ir::ValueId> queue = {conv.output(0)};
    std::vector<char> seen(g_.values.size(), 0);
    while (!queue.empty()) {
      const ir::ValueId v = queue.back();
      queue.pop_back();
      if (seen[static_cast<size_t>(v)]) continue;
      seen[static_cast<size_t>(v)] = 1;
      if (uses_.graph_output[static_cast<size_t>(v)] || uses_.outer_read[static_cast<size_t>(v)])
        return fail(fmt::format("'{}' is a graph output", g_.value(v).name));
      p.channel_values.push_back(v);
      for (ir::NodeId u : uses_.users[static_cast<size_t>(v)]) {
        const ir::Node& n = node(u);
        const bool only_input0 = n.input(0) == v && std::count(n.inputs.begin(), n.inputs.end(), v) == 1;
        if (!only_input0) return fail(fmt::format("{} reads its channels", n.label(u)));
        if (n.op == OpId::BatchNormalization) {
          for (size_t i = 1; i < 5; ++i)
            if (!param_vector(n.input(i), p.channels))
              return fail(
                  fmt::format("{} has a parameter that is not a float initializer of its own", n.label(u)));
          if (!extra_outputs_unused(n)) return fail(fmt::format("{} has training outputs", n.label(u)));
          p.batch_norms.push_back(u);
          queue.push_back(n.output(0));
        } else if (is_channelwise(n.op)) {
          if (!extra_outputs_unused(n)) return fail(fmt::format("{} has a second output in use", n.label(u)));
          queue.push_back(n.output(0));
        } else if (n.op == OpId::Conv) {
          const ir::ValueId cw = n.input(1);
          if (n.get_int("group", 1) != 1 || !float_constant(cw, 3) || !single_use(cw) ||
              g_.value(cw).constant->dim(1) != p.channels)
            return fail(fmt::format("{} is grouped or has no weight of its own", n.label(u)));
          p.consumer_convs.push_back(u);
        } else if (n.op == OpId::Flatten) {
          VERGE_RETURN_IF_ERROR(plan_flatten(n, u, p));
        } else {
          return fail(fmt::format("{} reads its channels", n.label(u)));
        }
      }
    }
    return p;
  }

 private:
  const ir::Node& node(ir::NodeId id) const { return g_.nodes[static_cast<size_t>(id)]; }
  static Status fail(std::string why) { return Status::unsupported(std::move(why)); }

  bool float_constant(ir::ValueId v, size_t min_rank) const {
    return g_.is_constant(v) && g_.value(v).constant->dtype() == DType::kFloat32 &&
           g_.value(v).constant->shape().size() >= min_rank;
  }
  bool single_use(ir::ValueId v) const { return uses_.count(v) == 1; }
  bool param_vector(ir::ValueId v, int64_t channels) const {
    return g_.is_constant(v) && g_.value(v).constant->dtype() == DType::kFloat32 &&
           g_.value(v).constant->shape() == Shape{channels} && single_use(v);
  }
  bool extra_outputs_unused(const ir::Node& n) const {
    for (size_t i = 1; i < n.outputs.size(); ++i)
      if (n.outputs[i] != ir::kNoValue && uses_.count(n.outputs[i]) > 0) return false;
    return true;
  }

  Status plan_flatten(const ir::Node& n, ir::NodeId id, Plan& p) const {
    if (n.get_int("axis", 1) != 1) return fail(fmt::format("{} does not flatten from axis 1", n.label(id)));
    const ir::ValueId f = n.output(0);
    if (uses_.graph_output[static_cast<size_t>(f)] || uses_.outer_read[static_cast<size_t>(f)])
      return fail(fmt::format("'{}' is a graph output", g_.value(f).name));
    int64_t block = 0;
    for (ir::NodeId u : uses_.users[static_cast<size_t>(f)]) {
      const ir::Node& gemm = node(u);
      const ir::ValueId b = gemm.input(1);
      if (gemm.op != OpId::Gemm || gemm.input(0) != f || gemm.input(1) == f ||
          gemm.get_int("transA", 0) != 0 || !float_constant(b, 2) || !single_use(b))
        return fail(fmt::format("{} reads the flattened channels", gemm.label(u)));
      const Shape& bs = g_.value(b).constant->shape();
      const int64_t k = gemm.get_int("transB", 0) ? bs[1] : bs[0];
      if (k % p.channels != 0)
        return fail(fmt::format("{} has {} input features, not a multiple of {} channels", gemm.label(u), k,
                                p.channels));
      if (block != 0 && block != k / p.channels)
        return fail(fmt::format("{} disagrees on the flattened size", gemm.label(u)));
      block = k / p.channels;
      p.gemms.emplace_back(u, block);
    }
    p.flat_values.emplace_back(f, block);
    return Status::ok();
  }

  const ir::Graph& g_;
  opt::Uses uses_;
};

// t with only `keep` indices along `axis`, each index expanded to a block of `block` consecutive entries.
Tensor take(const Tensor& t, size_t axis, std::span<const int64_t> keep, int64_t block = 1) {
  Shape shape = t.shape();
  const int64_t outer = shape_numel(Shape(shape.begin(), shape.begin() + static_cast<ptrdiff_t>(axis)));
  const int64_t inner = shape_numel(Shape(shape.begin() + static_cast<ptrdiff_t>(axis) + 1, shape.end()));
  const int64_t old_axis = shape[axis];
  shape[axis] = static_cast<int64_t>(keep.size()) * block;
  Tensor out = Tensor::allocate(DType::kFloat32, shape).value();
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c : keep) {
      const float* s = src + (o * old_axis + c * block) * inner;
      dst = std::copy(s, s + block * inner, dst);
    }
  return out;
}

void replace_constant(ir::Graph& g, ir::ValueId v, Tensor t) {
  ir::Value& val = g.value(v);
  val.type.dtype = DType::kFloat32;
  val.type.has_shape = true;
  val.type.dims.clear();
  for (int64_t d : t.shape()) val.type.dims.push_back({d, ""});
  val.constant = std::make_shared<const Tensor>(std::move(t));
}

void set_dim1(ir::Graph& g, ir::ValueId v, int64_t size) {
  ir::ValueType& t = g.value(v).type;
  if (t.has_shape && t.dims.size() >= 2 && t.dims[1].is_fixed()) t.dims[1] = {size, ""};
}

void apply(ir::Graph& g, const Plan& p, std::span<const int64_t> keep) {
  const auto kept = static_cast<int64_t>(keep.size());
  const ir::Node& conv = g.nodes[static_cast<size_t>(p.conv)];
  for (size_t i = 1; i < 3; ++i)
    if (ir::ValueId v = conv.input(i); v != ir::kNoValue)
      replace_constant(g, v, take(*g.value(v).constant, 0, keep));
  for (ir::NodeId bn : p.batch_norms)
    for (size_t i = 1; i < 5; ++i) {
      const ir::ValueId v = g.nodes[static_cast<size_t>(bn)].input(i);
      replace_constant(g, v, take(*g.value(v).constant, 0, keep));
    }
  for (ir::NodeId c : p.consumer_convs) {
    const ir::ValueId v = g.nodes[static_cast<size_t>(c)].input(1);
    replace_constant(g, v, take(*g.value(v).constant, 1, keep));
  }
  for (auto [gemm, block] : p.gemms) {
    const ir::Node& n = g.nodes[static_cast<size_t>(gemm)];
    const ir::ValueId v = n.input(1);
    replace_constant(g, v, take(*g.value(v).constant, n.get_int("transB", 0) ? 1 : 0, keep, block));
  }
  for (auto [f, block] : p.flat_values)
    if (block > 0) set_dim1(g, f, kept * block);
  for (ir::ValueId v : p.channel_values) set_dim1(g, v, kept);
}

}  // namespace

Result<std::vector<double>> channel_scores(const ir::Model& model, ir::NodeId conv,
                                           ChannelCriterion criterion) {
  const ir::Graph& g = model.graph;
  if (conv < 0 || static_cast<size_t>(conv) >= g.nodes.size())
    return Status::invalid_argument(fmt::format("no node #{}", conv));
  VERGE_ASSIGN_OR_RETURN(Plan p, Planner(g).plan(conv));
  std::vector<double> score(static_cast<size_t>(p.channels), 0.0);
  if (criterion == ChannelCriterion::kBnGamma) {
    if (p.batch_norms.empty())
      return Status::unsupported("no BatchNormalization follows (criterion bn-gamma)");
    const Tensor& gamma = *g.value(g.nodes[static_cast<size_t>(p.batch_norms[0])].input(1)).constant;
    for (int64_t c = 0; c < p.channels; ++c)
      score[static_cast<size_t>(c)] = std::fabs(gamma.data<float>()[c]);
    return score;
  }
  const Tensor& w = *g.value(g.nodes[static_cast<size_t>(conv)].input(1)).constant;
  const int64_t per = w.numel() / p.channels;
  for (int64_t c = 0; c < p.channels; ++c) {
    double s = 0;
    for (int64_t i = 0; i < per; ++i) {
      const double x = w.data<float>()[c * per + i];
      s += criterion == ChannelCriterion::kL1 ? std::fabs(x) : x * x;
    }
    score[static_cast<size_t>(c)] = criterion == ChannelCriterion::kL1 ? s : std::sqrt(s);
  }
  return score;
}

Status remove_output_channels(ir::Model& model, ir::NodeId conv, std::span<const int64_t> channels) {
  if (conv < 0 || static_cast<size_t>(conv) >= model.graph.nodes.size())
    return Status::invalid_argument(fmt::format("no node #{}", conv));
  VERGE_ASSIGN_OR_RETURN(Plan p, Planner(model.graph).plan(conv));
  std::vector<char> drop(static_cast<size_t>(p.channels), 0);
  for (int64_t c : channels) {
    if (c < 0 || c >= p.channels || drop[static_cast<size_t>(c)])
      return Status::invalid_argument(
          fmt::format("channel {} is out of range [0, {}) or listed twice", c, p.channels));
    drop[static_cast<size_t>(c)] = 1;
  }
  std::vector<int64_t> keep;
  for (int64_t c = 0; c < p.channels; ++c)
    if (!drop[static_cast<size_t>(c)]) keep.push_back(c);
  if (keep.empty()) return Status::invalid_argument("at least one channel must stay");
  apply(model.graph, p, keep);
  return Status::ok();
}

Result<std::vector<ConvPruneResult>> prune_channels(ir::Model& model, const ChannelPruneOptions& options) {
  if (!(options.ratio >= 0 && options.ratio < 1))
    return Status::invalid_argument(fmt::format("channel ratio {} must be in [0, 1)", options.ratio));
  std::vector<ConvPruneResult> out;
  for (size_t k = 0; k < model.graph.nodes.size(); ++k) {
    const ir::Node& n = model.graph.nodes[k];
    if (n.op != OpId::Conv) continue;
    const auto id = static_cast<ir::NodeId>(k);
    ConvPruneResult r{n.label(id)};
    if (model.graph.is_constant(n.input(1)))
      r.channels_before = r.channels_after = model.graph.value(n.input(1)).constant->dim(0);
    auto score = channel_scores(model, id, options.criterion);
    if (!score.is_ok()) {
      r.skipped = score.status().message();
      out.push_back(std::move(r));
      continue;
    }
    const auto c = static_cast<int64_t>(score->size());
    const int64_t drop =
        std::min(c - 1, static_cast<int64_t>(std::floor(options.ratio * static_cast<double>(c) + 1e-9)));
    std::vector<int64_t> order(static_cast<size_t>(c));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return (*score)[static_cast<size_t>(a)] < (*score)[static_cast<size_t>(b)];
    });
    order.resize(static_cast<size_t>(drop));
    if (drop > 0) VERGE_RETURN_IF_ERROR(remove_output_channels(model, id, order));
    r.channels_after = c - drop;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace verge::train
