// Reference kernels of Verge's own ops. Each is defined by composition with the (tested) reference
// kernels of the standard ops it fuses: that makes these oracles obviously equal to the unfused graph.
#include <cstring>

#include "ir/conv_geometry.h"
#include "kernels/activation.h"
#include "kernels/blocked.h"
#include "kernels/ref/quant_math.h"
#include "kernels/ref/ref_common.h"

namespace verge::ref {

std::unique_ptr<Kernel> make_Conv(const ir::Node&);
std::unique_ptr<Kernel> make_Gemm(const ir::Node&);
std::unique_ptr<Kernel> make_MaxPool(const ir::Node&);
std::unique_ptr<Kernel> make_AveragePool(const ir::Node&);
std::unique_ptr<Kernel> make_GlobalMaxPool(const ir::Node&);
std::unique_ptr<Kernel> make_GlobalAveragePool(const ir::Node&);

namespace {

// Runs an inner reference kernel on planar tensors whose memory lives in the outer kernel's scratch.
class Inner {
 public:
  // `types` are the inner kernel's input types (nullptr = omitted); constants as in the outer context.
  Status prepare(PrepareContext& outer, const ir::Node& node, std::unique_ptr<Kernel> k,
                 std::vector<TensorType> in_types, std::vector<bool> present,
                 std::vector<const Tensor*> constants, TensorType out_type) {
    kernel_ = std::move(k);
    in_types_ = std::move(in_types);
    out_type_ = {std::move(out_type)};
    std::vector<const TensorType*> ptrs;
    for (size_t i = 0; i < in_types_.size(); ++i) ptrs.push_back(present[i] ? &in_types_[i] : nullptr);
    PrepareContext pc(outer.graph(), node, ptrs, constants, out_type_, outer.options());
    VERGE_RETURN_IF_ERROR(kernel_->prepare(pc));
    scratch_ = (pc.scratch_bytes() + 63) / 64 * 64;
    return Status::ok();
  }
  size_t scratch_bytes() const { return scratch_; }
  Status run(const RunContext& outer, std::span<const Tensor* const> inputs, Tensor* out, void* scratch) {
    Tensor* outs[1] = {out};
    RunContext rc{inputs, outs, scratch, outer.pool, outer.options};
    return kernel_->run(rc);
  }

 private:
  std::unique_ptr<Kernel> kernel_;
  std::vector<TensorType> in_types_;
  std::vector<TensorType> out_type_;
  size_t scratch_ = 0;
};

size_t bytes_of(const Shape& s) {
  return (static_cast<size_t>(shape_numel(s)) * sizeof(float) + 63) / 64 * 64;
}

void add_and_activate(float* y, const float* sum, int64_t n, const Activation& act) {
  for (int64_t i = 0; i < n; ++i) y[i] = act(sum ? y[i] + sum[i] : y[i]);
}

// FusedConv: Y = act(Conv(X, W, B) + Sum).
class FusedConvRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_ASSIGN_OR_RETURN(act_, parse_activation(c.node()));
    std::vector<TensorType> types;
    std::vector<bool> present;
    std::vector<const Tensor*> consts;
    for (size_t i = 0; i < 3; ++i) {
      present.push_back(c.has_input(i));
      types.push_back(c.has_input(i) ? c.input(i) : TensorType{});
      consts.push_back(c.constant(i));
    }
    VERGE_RETURN_IF_ERROR(
        conv_.prepare(c, c.node(), make_Conv(c.node()), types, present, consts, c.output(0)));
    c.request_scratch(conv_.scratch_bytes());
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    VERGE_RETURN_IF_ERROR(
        conv_.run(c, c.inputs.first(std::min<size_t>(3, c.inputs.size())), &c.output(0), c.scratch));
    add_and_activate(c.output(0).data<float>(), c.has_input(3) ? c.input(3).data<float>() : nullptr,
                     c.output(0).numel(), act_);
    return Status::ok();
  }

 private:
  Inner conv_;
  Activation act_;
};

class FusedGemmRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    VERGE_ASSIGN_OR_RETURN(act_, parse_activation(c.node()));
    std::vector<TensorType> types;
    std::vector<bool> present;
    std::vector<const Tensor*> consts;
    for (size_t i = 0; i < c.num_inputs(); ++i) {
      present.push_back(c.has_input(i));
      types.push_back(c.has_input(i) ? c.input(i) : TensorType{});
      consts.push_back(c.constant(i));
    }
    VERGE_RETURN_IF_ERROR(
        gemm_.prepare(c, c.node(), make_Gemm(c.node()), types, present, consts, c.output(0)));
    c.request_scratch(gemm_.scratch_bytes());
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    VERGE_RETURN_IF_ERROR(gemm_.run(c, c.inputs, &c.output(0), c.scratch));
    add_and_activate(c.output(0).data<float>(), nullptr, c.output(0).numel(), act_);
    return Status::ok();
  }

 private:
  Inner gemm_;
  Activation act_;
};

class ToBlockedRef final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    const Tensor& x = c.input(0);
    to_blocked(x.data<float>(), c.output(0).data<float>(), x.dim(0), x.dim(1),
               shape_numel(std::span(x.shape()).subspan(2)), c.output(0).shape().back());
    return Status::ok();
  }
};

class FromBlockedRef final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    const Tensor& x = c.input(0);
    const Tensor& y = c.output(0);
    from_blocked(x.data<float>(), c.output(0).data<float>(), y.dim(0), y.dim(1),
                 shape_numel(std::span(y.shape()).subspan(2)), x.shape().back());
    return Status::ok();
  }
};

// Blocked ops: unblock into scratch, run the planar reference op, block the result.
class BlockedRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const ir::Node& n = c.node();
    const Shape& xs = c.shape(0);
    const Shape& ys = c.output(0).shape;
    block_ = xs.back();
    std::vector<TensorType> types;
    std::vector<bool> present;
    std::vector<const Tensor*> consts;
    std::unique_ptr<Kernel> k;
    if (n.op == OpId::BlockedConv) {
      VERGE_ASSIGN_OR_RETURN(act_, parse_activation(n));
      const Shape& w = c.shape(1);
      in_c_ = w[1] * n.get_int("group", 1);
      out_c_ = w[0];
      for (size_t i = 1; i < 3; ++i) {
        present.push_back(c.has_input(i));
        types.push_back(c.has_input(i) ? c.input(i) : TensorType{});
        consts.push_back(c.constant(i));
      }
      k = make_Conv(n);
      inner_node_ = n;
    } else {                            // BlockedPool
      in_c_ = out_c_ = xs[1] * block_;  // pools are per channel: padding lanes ride along
      const bool global = n.get_int("global", 0) != 0;
      const bool max = n.get_string("mode", "") == "max";
      inner_node_ = n;
      inner_node_.op = global ? (max ? OpId::GlobalMaxPool : OpId::GlobalAveragePool)
                              : (max ? OpId::MaxPool : OpId::AveragePool);
      k = op_info(inner_node_.op).make_reference(inner_node_);
    }
    Shape planar_in = {xs[0], in_c_};
    planar_in.insert(planar_in.end(), xs.begin() + 2, xs.end() - 1);
    Shape planar_out = {ys[0], out_c_};
    planar_out.insert(planar_out.end(), ys.begin() + 2, ys.end() - 1);
    types.insert(types.begin(), TensorType{DType::kFloat32, planar_in});
    present.insert(present.begin(), true);
    consts.insert(consts.begin(), nullptr);
    VERGE_RETURN_IF_ERROR(
        inner_.prepare(c, inner_node_, std::move(k), types, present, consts, {DType::kFloat32, planar_out}));
    x_planar_ = Tensor::wrap(DType::kFloat32, planar_in, static_cast<void*>(nullptr));
    y_planar_ = Tensor::wrap(DType::kFloat32, planar_out, static_cast<void*>(nullptr));
    in_bytes_ = bytes_of(planar_in);
    out_bytes_ = bytes_of(planar_out);
    c.request_scratch(in_bytes_ + out_bytes_ + inner_.scratch_bytes());
    inputs_.assign(3, nullptr);
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    auto* base = static_cast<unsigned char*>(c.scratch);
    x_planar_.reset_data(base);
    y_planar_.reset_data(base + in_bytes_);
    const Tensor& x = c.input(0);
    const int64_t in_s = shape_numel(x_planar_.shape()) / (x.dim(0) * in_c_);
    from_blocked(x.data<float>(), x_planar_.data<float>(), x.dim(0), in_c_, in_s, block_);
    inputs_[0] = &x_planar_;
    const size_t n_in = inner_node_.op == OpId::BlockedConv ? 3 : 1;
    for (size_t i = 1; i < n_in; ++i) inputs_[i] = c.has_input(i) ? &c.input(i) : nullptr;
    VERGE_RETURN_IF_ERROR(
        inner_.run(c, std::span(inputs_).first(n_in), &y_planar_, base + in_bytes_ + out_bytes_));
    Tensor& y = c.output(0);
    const int64_t out_s = shape_numel(y_planar_.shape()) / (y.dim(0) * out_c_);
    to_blocked(y_planar_.data<float>(), y.data<float>(), y.dim(0), out_c_, out_s, block_);
    if (inner_node_.op == OpId::BlockedConv)
      add_and_activate(y.data<float>(), c.has_input(3) ? c.input(3).data<float>() : nullptr, y.numel(), act_);
    return Status::ok();
  }

 private:
  ir::Node inner_node_;
  Inner inner_;
  Activation act_;
  int64_t block_ = 16, in_c_ = 0, out_c_ = 0;
  size_t in_bytes_ = 0, out_bytes_ = 0;
  Tensor x_planar_, y_planar_;
  std::vector<const Tensor*> inputs_;
};

// Channel concatenation of blocked tensors with arbitrary channel counts.
class BlockedConcatRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    channels_ = c.node().get_ints("channels");
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    Tensor& y = c.output(0);
    const int64_t b = y.shape().back(), n = y.dim(0), yb = y.dim(1);
    const int64_t s = y.numel() / (n * yb * b);
    float* out = y.data<float>();
    std::memset(out, 0, y.nbytes());
    int64_t base = 0;
    for (size_t k = 0; k < channels_.size(); ++k) {
      const Tensor& x = c.input(k);
      const int64_t xb = x.dim(1);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < channels_[k]; ++ch) {
          const int64_t oc = base + ch;
          const float* src = x.data<float>() + ((i * xb + ch / b) * s) * b + ch % b;
          float* dst = out + ((i * yb + oc / b) * s) * b + oc % b;
          for (int64_t p = 0; p < s; ++p) dst[p * b] = src[p * b];
        }
      base += channels_[k];
    }
    return Status::ok();
  }

 private:
  std::vector<int64_t> channels_;
};

// Output channel k = channel sources[2k+1] of input sources[2k] (a permutation / selection / concat).
class ChannelGatherRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    sources_ = c.node().get_ints("sources");
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    Tensor& y = c.output(0);
    const int64_t b = y.shape().back(), n = y.dim(0), yb = y.dim(1);
    const int64_t s = y.numel() / (n * yb * b);
    float* out = y.data<float>();
    std::memset(out, 0, y.nbytes());
    for (size_t k = 0; k < sources_.size() / 2; ++k) {
      const Tensor& x = c.input(static_cast<size_t>(sources_[2 * k]));
      const int64_t ch = sources_[2 * k + 1], oc = static_cast<int64_t>(k), xb = x.dim(1);
      for (int64_t i = 0; i < n; ++i) {
        const float* src = x.data<float>() + ((i * xb + ch / b) * s) * b + ch % b;
        float* dst = out + ((i * yb + oc / b) * s) * b + oc % b;
        for (int64_t p = 0; p < s; ++p) dst[p * b] = src[p * b];
      }
    }
    return Status::ok();
  }

 private:
  std::vector<int64_t> sources_;
};

}  // namespace

namespace {
// QAdd / QMul: y = QuantizeLinear(act(DequantizeLinear(a) op DequantizeLinear(b))), float32 throughout.
template <bool kMul>
class QBinaryRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    relu_ = c.node().get_string("activation", "") == "Relu";
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const bool a_s8 = c.input(0).dtype() == DType::kInt8, b_s8 = c.input(3).dtype() == DType::kInt8;
    const auto* a = static_cast<const uint8_t*>(c.input(0).raw());
    const auto* b = static_cast<const uint8_t*>(c.input(3).raw());
    const float as = c.input(1).data<float>()[0], bs = c.input(4).data<float>()[0],
                ys = c.input(6).data<float>()[0];
    const int64_t az = c.input(2).get_as_int64(0), bz = c.input(5).get_as_int64(0);
    const auto yz = static_cast<int32_t>(c.input(7).get_as_int64(0));
    const bool y_s8 = c.output(0).dtype() == DType::kInt8;
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    // B holds one value per run of `inner` elements of A (inner = 1: same shape).
    const int64_t inner = c.input(0).numel() / std::max<int64_t>(1, c.input(3).numel());
    for (int64_t i = 0; i < c.input(0).numel(); ++i) {
      const uint8_t braw = b[i / inner];
      const float fa = quant::dequantize(quant::byte_value(a[i], a_s8), az, as),
                  fb = quant::dequantize(quant::byte_value(braw, b_s8), bz, bs);
      float v = kMul ? fa * fb : fa + fb;
      if (relu_ && !(v > 0.f)) v = 0.f;
      y[i] = quant::quantize_byte(v, ys, yz, y_s8);
    }
    return Status::ok();
  }

 private:
  bool relu_ = false;
};
}  // namespace

namespace {
class QLutRef final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    const auto* table = static_cast<const uint8_t*>(c.input(1).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    for (int64_t i = 0; i < c.input(0).numel(); ++i) y[i] = table[x[i]];
    return Status::ok();
  }
};
}  // namespace

namespace {
class QGlobalAveragePoolRef final : public Kernel {
 public:
  Status run(const RunContext& c) override {
    const Tensor& x = c.input(0);
    const bool x_s8 = x.dtype() == DType::kInt8, y_s8 = c.output(0).dtype() == DType::kInt8;
    const int64_t planes = x.dim(0) * x.dim(1), size = x.numel() / std::max<int64_t>(1, planes);
    const float m = quant::global_average_multiplier(c.input(1).data<float>()[0], size);
    const int64_t xz = c.input(2).get_as_int64(0);
    const float ys = c.input(3).data<float>()[0];
    const auto yz = static_cast<int32_t>(c.input(4).get_as_int64(0));
    const auto* xd = static_cast<const uint8_t*>(x.raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    for (int64_t p = 0; p < planes; ++p) {
      int64_t sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += quant::byte_value(xd[p * size + i], x_s8) - xz;
      y[p] = quant::quantize_byte(static_cast<float>(sum) * m, ys, yz, y_s8);
    }
    return Status::ok();
  }
};
}  // namespace

namespace {
class QAveragePoolRef final : public Kernel {
 public:
  Status prepare(PrepareContext& c) override {
    const Shape& x = c.shape(0);
    VERGE_ASSIGN_OR_RETURN(
        g_, conv_geometry(c.node(), std::span(x).subspan(2), {}, c.node().get_int("ceil_mode", 0) != 0));
    planes_ = x[0] * x[1], h_ = x[2], w_ = x[3];
    include_pad_ = c.node().get_int("count_include_pad", 0) != 0;
    return Status::ok();
  }
  Status run(const RunContext& c) override {
    const bool x_s8 = c.input(0).dtype() == DType::kInt8, y_s8 = c.output(0).dtype() == DType::kInt8;
    const float xs = c.input(1).data<float>()[0], ys = c.input(3).data<float>()[0];
    const int64_t xz = c.input(2).get_as_int64(0);
    const auto yz = static_cast<int32_t>(c.input(4).get_as_int64(0));
    const auto* x = static_cast<const uint8_t*>(c.input(0).raw());
    auto* y = static_cast<uint8_t*>(c.output(0).raw());
    const int64_t oh = g_.out[0], ow = g_.out[1], pt = g_.pads_begin[0], pl = g_.pads_begin[1];
    const int64_t hp = h_ + pt + g_.pads_end[0], wp = w_ + pl + g_.pads_end[1];
    for (int64_t p = 0; p < planes_; ++p)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t sum = 0, inside = 0, padded = 0;
          for (int64_t i = 0; i < g_.kernel[0]; ++i) {
            const int64_t iy = oy * g_.strides[0] - pt + i * g_.dilations[0];
            for (int64_t j = 0; j < g_.kernel[1]; ++j) {
              const int64_t ix = ox * g_.strides[1] - pl + j * g_.dilations[1];
              padded += iy + pt < hp && ix + pl < wp;  // never the taps ceil_mode adds past the padding
              if (iy < 0 || iy >= h_ || ix < 0 || ix >= w_) continue;
              sum += quant::byte_value(x[(p * h_ + iy) * w_ + ix], x_s8) - xz;
              ++inside;
            }
          }
          const int64_t count = include_pad_ ? padded : inside;
          const float v =
              count > 0 ? static_cast<float>(sum) * quant::global_average_multiplier(xs, count) : 0.f;
          y[(p * oh + oy) * ow + ox] = quant::quantize_byte(v, ys, yz, y_s8);
        }
    return Status::ok();
  }

 private:
  ConvGeometry g_;
  int64_t planes_ = 0, h_ = 0, w_ = 0;
  bool include_pad_ = false;
};
}  // namespace

std::unique_ptr<Kernel> make_QAveragePool(const ir::Node&) { return std::make_unique<QAveragePoolRef>(); }
std::unique_ptr<Kernel> make_QGlobalAveragePool(const ir::Node&) {
  return std::make_unique<QGlobalAveragePoolRef>();
}
std::unique_ptr<Kernel> make_QLut(const ir::Node&) { return std::make_unique<QLutRef>(); }
std::unique_ptr<Kernel> make_QAdd(const ir::Node&) { return std::make_unique<QBinaryRef<false>>(); }
std::unique_ptr<Kernel> make_QMul(const ir::Node&) { return std::make_unique<QBinaryRef<true>>(); }
std::unique_ptr<Kernel> make_ChannelGather(const ir::Node&) { return std::make_unique<ChannelGatherRef>(); }
std::unique_ptr<Kernel> make_FusedConv(const ir::Node&) { return std::make_unique<FusedConvRef>(); }
std::unique_ptr<Kernel> make_FusedGemm(const ir::Node&) { return std::make_unique<FusedGemmRef>(); }
std::unique_ptr<Kernel> make_ToBlocked(const ir::Node&) { return std::make_unique<ToBlockedRef>(); }
std::unique_ptr<Kernel> make_FromBlocked(const ir::Node&) { return std::make_unique<FromBlockedRef>(); }
std::unique_ptr<Kernel> make_BlockedConv(const ir::Node&) { return std::make_unique<BlockedRef>(); }
std::unique_ptr<Kernel> make_BlockedPool(const ir::Node&) { return std::make_unique<BlockedRef>(); }
std::unique_ptr<Kernel> make_BlockedConcat(const ir::Node&) { return std::make_unique<BlockedConcatRef>(); }

}  // namespace verge::ref
