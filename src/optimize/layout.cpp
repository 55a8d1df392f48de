// Blocked (NCHWc) layout pass.
//
// Walks nodes in topological order. 2-D float32 convolutions (group 1 or depthwise) become
// verge.BlockedConv, and from there the blocked layout spreads to every consumer that can run on it:
// pools (verge.BlockedPool), elementwise ops whose operands are blocked tensors, scalars or per-channel
// constants (those constants are re-laid out once, here), and the channel-moving ops — Concat, Slice
// and Split along channels and the Reshape-Transpose-Reshape channel shuffle — which become lazy
// *channel maps* (output channel -> (blocked tensor, channel)) materialized only where a consumer needs
// the tensor: as a verge.BlockedConcat when the map is a plain concatenation, else a
// verge.ChannelGather. Elementwise ops keep their standard ONNX op: on [N, C/c, H, W, c] tensors numpy
// broadcasting does the right thing. Values still needed in NCHW (by other ops or as graph outputs) get
// a verge.FromBlocked; planar inputs of blocked ops get a verge.ToBlocked, shared per value.
// Division is only allowed by non-zero constants: padding lanes must stay finite.
#include <fmt/format.h>

#include <algorithm>

#include "kernels/blocked.h"
#include "optimize/graph_edit.h"
#include "optimize/passes.h"

namespace verge::opt {
namespace {

struct ChanRef {
  ir::ValueId src;  // a materialized blocked value
  int64_t ch;
};
using ChannelMap = std::vector<ChanRef>;

class LayoutRewriter {
 public:
  LayoutRewriter(ir::Graph& g, int block) : g_(g), block_(block), types_(infer_value_types(g)) {
    grow(g.values.size());
  }

  Result<int> run() {
    const size_t n_nodes = g_.nodes.size();
    converted_.assign(n_nodes, 0);
    dead_.assign(n_nodes, 0);
    int changes = 0;
    for (size_t k = 0; k < n_nodes; ++k) {
      if (dead_[k]) continue;
      const bool done = convert(k);
      converted_[k] = converted_[k] || done;
      changes += done;
    }
    if (!changes) return 0;
    // Planar copies of blocked or lazy values that unconverted nodes or graph outputs still read.
    const Uses uses = compute_uses(g_);
    const size_t n_values = blocked_of_.size();
    for (size_t v = 0; v < n_values && v < uses.users.size(); ++v) {
      if (blocked_of_[v] == ir::kNoValue && !lazy_[v]) continue;
      bool needed = uses.graph_output[v] != 0;
      for (ir::NodeId u : uses.users[v]) needed = needed || (!converted_[static_cast<size_t>(u)] && !dead_[static_cast<size_t>(u)]);
      if (!needed) continue;
      const ir::ValueId b = blocked_input(static_cast<ir::ValueId>(v));
      ir::Node from{.op = OpId::FromBlocked, .op_type = "FromBlocked", .domain = "verge",
                    .name = g_.value(static_cast<ir::ValueId>(v)).name + "_to_nchw", .since_version = 1,
                    .inputs = {b}, .outputs = {static_cast<ir::ValueId>(v)}};
      from.set_attr(ir::Attribute{.name = "channels", .type = ir::AttrType::kInt, .i = channels_[v]});
      added_.push_back(std::move(from));
    }
    erase_nodes(g_, dead_);
    for (auto& n : added_) g_.add_node(std::move(n));
    VERGE_RETURN_IF_ERROR(g_.topological_sort());
    g_.remove_dead();
    return changes;
  }

 private:
  void grow(size_t n) {
    blocked_of_.resize(n, ir::kNoValue);
    to_blocked_cache_.resize(n, ir::kNoValue);
    channels_.resize(n, -1);
    lazy_.resize(n);
    types_.resize(n);
  }
  const TensorType* type(ir::ValueId v) const {
    return v == ir::kNoValue || !types_[static_cast<size_t>(v)] ? nullptr : &*types_[static_cast<size_t>(v)];
  }
  bool is_planar_4d(ir::ValueId v) const {
    const TensorType* t = type(v);
    return t && t->dtype == DType::kFloat32 && t->shape.size() == 4;
  }
  // In the blocked region: materialized or lazy.
  bool is_blocked(ir::ValueId v) const {
    return v != ir::kNoValue && (blocked_of_[static_cast<size_t>(v)] != ir::kNoValue || lazy_[static_cast<size_t>(v)]);
  }
  int64_t channels(ir::ValueId v) const { return channels_[static_cast<size_t>(v)]; }

  ir::ValueId new_value(const std::string& base, std::string_view suffix) {
    const ir::ValueId id = g_.add_value(fmt::format("{}_{}{}", base, suffix, block_), true);
    grow(g_.values.size());
    return id;
  }

  ir::Node verge_node(OpId op, std::string name, std::vector<ir::ValueId> inputs, ir::ValueId output) {
    ir::Node n{.op = op, .op_type = std::string(op_name(op)), .domain = "verge", .name = std::move(name), .since_version = 1,
               .inputs = std::move(inputs), .outputs = {output}};
    n.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    return n;
  }

  // The channel map of a region value (identity over its blocked tensor when materialized).
  ChannelMap map_of(ir::ValueId v) {
    if (lazy_[static_cast<size_t>(v)]) return *lazy_[static_cast<size_t>(v)];
    const ir::ValueId b = blocked_input(v);
    ChannelMap m;
    for (int64_t c = 0; c < channels(v); ++c) m.push_back({b, c});
    return m;
  }

  // The materialized blocked version of v: produced by a blocked node, a gather/concat of its channel
  // map, or a shared ToBlocked of planar v.
  ir::ValueId blocked_input(ir::ValueId v) {
    const auto vi = static_cast<size_t>(v);
    if (blocked_of_[vi] != ir::kNoValue) return blocked_of_[vi];
    if (lazy_[vi]) return blocked_of_[vi] = materialize(v, *lazy_[vi]);
    if (to_blocked_cache_[vi] != ir::kNoValue) return to_blocked_cache_[vi];
    const ir::ValueId b = new_value(g_.value(v).name, "nchw");
    channels_[static_cast<size_t>(b)] = type(v)->shape[1];
    added_.push_back(verge_node(OpId::ToBlocked, g_.value(v).name + "_to_blocked", {v}, b));
    to_blocked_cache_[vi] = b;
    return b;
  }

  ir::ValueId materialize(ir::ValueId v, const ChannelMap& map) {
    // Identity over one blocked tensor: nothing to do.
    const ir::ValueId first = map[0].src;
    bool identity = channels_[static_cast<size_t>(first)] == static_cast<int64_t>(map.size());
    for (size_t c = 0; c < map.size() && identity; ++c) identity = map[c].src == first && map[c].ch == static_cast<int64_t>(c);
    if (identity) return first;
    std::vector<ir::ValueId> inputs;
    std::vector<int64_t> sources;
    auto input_index = [&](ir::ValueId src) {
      for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i] == src) return static_cast<int64_t>(i);
      inputs.push_back(src);
      return static_cast<int64_t>(inputs.size() - 1);
    };
    for (const ChanRef& r : map) {
      sources.push_back(input_index(r.src));
      sources.push_back(r.ch);
    }
    // A concatenation of whole tensors in order is a BlockedConcat (the common, fast case).
    bool concat = true;
    std::vector<int64_t> counts;
    size_t pos = 0;
    for (ir::ValueId src : inputs) {
      const int64_t n = channels_[static_cast<size_t>(src)];
      for (int64_t c = 0; c < n && concat; ++c, ++pos) concat = pos < map.size() && map[pos].src == src && map[pos].ch == c;
      counts.push_back(n);
    }
    concat = concat && pos == map.size();
    const ir::ValueId out = new_value(g_.value(v).name, "nchw");
    channels_[static_cast<size_t>(out)] = static_cast<int64_t>(map.size());
    ir::Node n = verge_node(concat ? OpId::BlockedConcat : OpId::ChannelGather, g_.value(v).name + "_gather", inputs, out);
    if (concat) n.set_attr(ir::Attribute{.name = "channels", .type = ir::AttrType::kInts, .ints = counts});
    else n.set_attr(ir::Attribute{.name = "sources", .type = ir::AttrType::kInts, .ints = sources});
    added_.push_back(std::move(n));
    return out;
  }

  // Re-lays out a constant operand of a blocked elementwise op: scalars stay, per-channel [C,1,1] /
  // [1,C,1,1] become [1, C/c, 1, 1, c]. Returns kNoValue when the constant does not fit.
  ir::ValueId blocked_constant(ir::ValueId v, int64_t chans) {
    const Tensor& t = *g_.value(v).constant;
    if (t.dtype() != DType::kFloat32) return ir::kNoValue;
    if (t.numel() == 1) return v;
    const Shape& s = t.shape();
    const bool per_channel = t.numel() == chans && (s == Shape{chans, 1, 1} || s == Shape{1, chans, 1, 1});
    if (!per_channel) return ir::kNoValue;
    Tensor b = Tensor::allocate(DType::kFloat32, {1, blocks_of(chans, block_), 1, 1, block_}).value();
    for (int64_t c = 0; c < chans; ++c) b.data<float>()[c] = t.data<float>()[c];
    const ir::ValueId id = g_.add_constant(fmt::format("{}_nchw{}c", g_.value(v).name, block_), std::move(b));
    grow(g_.values.size());
    return id;
  }

  void set_blocked_output(ir::Node& n, size_t o, int64_t chans) {
    const ir::ValueId orig = n.outputs[o];
    const ir::ValueId b = new_value(g_.value(orig).name, "nchw");
    blocked_of_[static_cast<size_t>(orig)] = b;
    channels_[static_cast<size_t>(orig)] = chans;
    channels_[static_cast<size_t>(b)] = chans;
    n.outputs[o] = b;
  }
  void set_lazy(ir::ValueId orig, ChannelMap map) {
    channels_[static_cast<size_t>(orig)] = static_cast<int64_t>(map.size());
    lazy_[static_cast<size_t>(orig)] = std::move(map);
  }

  bool convert(size_t k) {
    ir::Node& n = g_.nodes[k];
    switch (n.op) {
      case OpId::Conv:
      case OpId::FusedConv: return convert_conv(n);
      case OpId::MaxPool:
      case OpId::AveragePool:
      case OpId::GlobalMaxPool:
      case OpId::GlobalAveragePool: return convert_pool(n);
      case OpId::Concat: return convert_concat(k);
      case OpId::Slice: return convert_slice(k);
      case OpId::Split: return convert_split(k);
      case OpId::Reshape: return convert_shuffle(k);
      case OpId::Relu:
      case OpId::LeakyRelu:
      case OpId::Sigmoid:
      case OpId::HardSigmoid:
      case OpId::HardSwish:
      case OpId::Tanh:
      case OpId::Clip:
      case OpId::Add:
      case OpId::Sub:
      case OpId::Mul:
      case OpId::Div:
      case OpId::Max:
      case OpId::Min: return convert_elementwise(n);
      default: return false;
    }
  }

  bool convert_conv(ir::Node& n) {
    if (!is_planar_4d(n.input(0))) return false;
    const Tensor* w = constant_of(g_, n.input(1));
    if (!w || w->dtype() != DType::kFloat32 || w->rank() != 4) return false;
    const int64_t group = n.get_int("group", 1);
    const int64_t c_in = w->dim(1) * group, m = w->dim(0);
    if (group != 1 && !(group == c_in && group == m)) return false;  // group 1 or depthwise only
    if (n.input(2) != ir::kNoValue && !constant_of(g_, n.input(2))) return false;
    n.inputs[0] = blocked_input(n.input(0));
    if (n.input(3) != ir::kNoValue) n.inputs[3] = blocked_input(n.input(3));
    n.op = OpId::BlockedConv;
    n.op_type = "BlockedConv";
    n.domain = "verge";
    n.since_version = 1;
    n.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    set_blocked_output(n, 0, m);
    return true;
  }

  bool convert_pool(ir::Node& n) {
    const ir::ValueId x = n.input(0);
    if (!is_blocked(x) || (n.outputs.size() > 1 && n.output(1) != ir::kNoValue)) return false;
    const bool global = n.op == OpId::GlobalMaxPool || n.op == OpId::GlobalAveragePool;
    const bool max = n.op == OpId::MaxPool || n.op == OpId::GlobalMaxPool;
    if (!global && n.get_ints("kernel_shape").size() != 2) return false;
    const int64_t chans = channels(x);
    n.inputs = {blocked_input(x)};
    n.outputs.resize(1);
    n.op = OpId::BlockedPool;
    n.op_type = "BlockedPool";
    n.domain = "verge";
    n.since_version = 1;
    n.remove_attr("storage_order");
    n.set_attr(ir::Attribute{.name = "mode", .type = ir::AttrType::kString, .s = max ? "max" : "average"});
    n.set_attr(ir::Attribute{.name = "global", .type = ir::AttrType::kInt, .i = global ? 1 : 0});
    n.set_attr(ir::Attribute{.name = "block", .type = ir::AttrType::kInt, .i = block_});
    set_blocked_output(n, 0, chans);
    return true;
  }

  bool channel_axis(int64_t axis) const { return axis == 1 || axis == -3; }

  // Concat along channels: a lazy map (at least one operand in the region; planar 4-D operands join
  // through ToBlocked).
  bool convert_concat(size_t k) {
    ir::Node& n = g_.nodes[k];
    if (!channel_axis(n.get_int("axis", 0))) return false;
    bool any_blocked = false;
    for (ir::ValueId in : n.inputs) {
      if (!is_planar_4d(in) || constant_of(g_, in)) return false;
      any_blocked = any_blocked || is_blocked(in);
    }
    if (!any_blocked) return false;
    ChannelMap map;
    for (ir::ValueId in : n.inputs) {
      if (!is_blocked(in)) channels_[static_cast<size_t>(in)] = type(in)->shape[1];
      for (const ChanRef& r : map_of(in)) map.push_back(r);
    }
    set_lazy(n.outputs[0], std::move(map));
    dead_[k] = 1;
    return true;
  }

  // Slice of channels with constant bounds and step 1.
  bool convert_slice(size_t k) {
    ir::Node& n = g_.nodes[k];
    const ir::ValueId x = n.input(0);
    if (!is_blocked(x) || !is_planar_4d(x)) return false;
    const Tensor* starts = constant_of(g_, n.input(1));
    const Tensor* ends = constant_of(g_, n.input(2));
    const Tensor* axes = constant_of(g_, n.input(3));
    const Tensor* steps = constant_of(g_, n.input(4));
    if (!starts || !ends || starts->numel() != 1 || ends->numel() != 1) return false;
    if (n.input(3) != ir::kNoValue && (!axes || axes->numel() != 1 || !channel_axis(axes->get_as_int64(0)))) return false;
    if (n.input(3) == ir::kNoValue) return false;  // default axes start at 0 (batch)
    if (n.input(4) != ir::kNoValue && (!steps || steps->numel() != 1 || steps->get_as_int64(0) != 1)) return false;
    const int64_t c = channels(x);
    auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + c : i, 0, c); };
    const int64_t b = clamp(starts->get_as_int64(0)), e = clamp(ends->get_as_int64(0));
    if (e <= b) return false;
    const ChannelMap src = map_of(x);
    set_lazy(n.outputs[0], ChannelMap(src.begin() + b, src.begin() + e));
    dead_[k] = 1;
    return true;
  }

  bool convert_split(size_t k) {
    ir::Node& n = g_.nodes[k];
    const ir::ValueId x = n.input(0);
    if (!is_blocked(x) || !is_planar_4d(x) || !channel_axis(n.get_int("axis", 0))) return false;
    std::vector<int64_t> parts;
    for (ir::ValueId o : n.outputs) {
      const TensorType* t = type(o);
      if (o == ir::kNoValue || !t || t->shape.size() != 4) return false;
      parts.push_back(t->shape[1]);
    }
    const ChannelMap src = map_of(x);
    int64_t pos = 0;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      set_lazy(n.outputs[o], ChannelMap(src.begin() + pos, src.begin() + pos + parts[o]));
      pos += parts[o];
    }
    dead_[k] = 1;
    return true;
  }

  // Reshape [N,C,H,W] -> [N,g,C/g,H,W], Transpose(0,2,1,3,4), Reshape -> [N,C,H,W]: ShuffleNet's channel
  // shuffle. Output channel j is input channel (j % g) * (C/g) + j / g.
  bool convert_shuffle(size_t k) {
    const ir::Node& r1 = g_.nodes[k];
    const ir::ValueId x = r1.input(0);
    if (!is_blocked(x) || !is_planar_4d(x)) return false;
    const TensorType* t5 = type(r1.outputs[0]);
    const TensorType* t4 = type(x);
    if (!t5 || t5->shape.size() != 5) return false;
    const Uses uses = compute_uses(g_);
    const ir::NodeId tr_id = uses.sole_user(r1.outputs[0]);
    if (tr_id < 0) return false;
    const ir::Node& tr = g_.nodes[static_cast<size_t>(tr_id)];
    if (tr.op != OpId::Transpose || tr.get_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4}) return false;
    const ir::NodeId r2_id = uses.sole_user(tr.outputs[0]);
    if (r2_id < 0) return false;
    const ir::Node& r2 = g_.nodes[static_cast<size_t>(r2_id)];
    const TensorType* tout = type(r2.outputs.empty() ? ir::kNoValue : r2.outputs[0]);
    if (r2.op != OpId::Reshape || !tout || tout->shape != t4->shape) return false;
    const Shape& s5 = t5->shape;
    const int64_t c = t4->shape[1], groups = s5[1], per = s5[2];
    if (s5[0] != t4->shape[0] || groups * per != c || s5[3] != t4->shape[2] || s5[4] != t4->shape[3]) return false;
    const ChannelMap src = map_of(x);
    ChannelMap out(static_cast<size_t>(c));
    for (int64_t j = 0; j < c; ++j) out[static_cast<size_t>(j)] = src[static_cast<size_t>((j % groups) * per + j / groups)];
    set_lazy(r2.outputs[0], std::move(out));
    dead_[k] = dead_[static_cast<size_t>(tr_id)] = dead_[static_cast<size_t>(r2_id)] = 1;
    return true;
  }

  bool convert_elementwise(ir::Node& n) {
    // At least one blocked operand; the rest blocked, planar with the same channel count, or suitable
    // constants. The output must have the blocked operand's channel count.
    const size_t n_in = n.op == OpId::Clip ? 1 : n.inputs.size();
    if (n.op == OpId::Clip)
      for (size_t i = 1; i < n.inputs.size(); ++i)
        if (n.input(i) != ir::kNoValue && !constant_of(g_, n.input(i))) return false;
    int64_t chans = -1;
    for (size_t i = 0; i < n_in; ++i)
      if (is_blocked(n.input(i))) chans = channels(n.input(i));
    const TensorType* out = type(n.outputs[0]);
    if (chans < 0 || !out || out->dtype != DType::kFloat32 || out->shape.size() != 4 || out->shape[1] != chans) return false;
    std::vector<ir::ValueId> ins(n.inputs);
    for (size_t i = 0; i < n_in; ++i) {
      const ir::ValueId v = n.input(i);
      if (is_blocked(v)) continue;
      if (const Tensor* c = constant_of(g_, v)) {
        if (n.op == OpId::Div && i == 1)
          for (int64_t e = 0; e < c->numel(); ++e)
            if (c->get_as_double(e) == 0.0) return false;
        const ir::ValueId bc = blocked_constant(v, chans);
        if (bc == ir::kNoValue) return false;
        ins[i] = bc;
        continue;
      }
      if (n.op == OpId::Div) return false;  // runtime divisors could be zero in padding lanes
      const TensorType* t = type(v);
      // Same channel count only: a [N,1,H,W] operand would broadcast across the wrong axis.
      if (!t || t->dtype != DType::kFloat32 || t->shape.size() != 4 || t->shape[1] != chans) return false;
    }
    for (size_t i = 0; i < n_in; ++i) {
      const ir::ValueId v = n.input(i);
      if (ins[i] != v || constant_of(g_, v)) continue;  // re-laid-out or scalar constant
      ins[i] = blocked_input(v);
    }
    ir::Node& node = n;
    node.inputs = ins;
    set_blocked_output(node, 0, chans);
    return true;
  }

  ir::Graph& g_;
  int64_t block_;
  std::vector<std::optional<TensorType>> types_;
  std::vector<ir::ValueId> blocked_of_;        // original value -> its materialized blocked version
  std::vector<ir::ValueId> to_blocked_cache_;  // planar value -> its ToBlocked output
  std::vector<int64_t> channels_;              // real channels of region values (original and blocked ids)
  std::vector<std::optional<ChannelMap>> lazy_;
  std::vector<char> converted_, dead_;
  std::vector<ir::Node> added_;
};

}  // namespace

Result<int> blocked_layout(ir::Graph& g, int block) {
  LayoutRewriter r(g, block);
  return r.run();
}

}  // namespace verge::opt
