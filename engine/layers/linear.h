// Linear (fully connected) and Dropout / StochasticDepth layers.
#pragma once
#include "engine/layer.h"

namespace cmt::layers {

class Linear : public Layer {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true, Init weight_init = Init::torch_default_linear,
         Init bias_init = Init::torch_default_linear);
  std::string type() const override { return "Linear"; }
  Shape output_shape(const Shape& in) const override { return Shape{in[0], out_}; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  double forward_macs(const Shape& in) const override { return static_cast<double>(in[0]) * in_ * out_; }
  void clear_saved() override { x_ = Tensor(); }

 private:
  std::int64_t in_, out_;
  bool has_bias_;
  Tensor weight_, weight_grad_, bias_, bias_grad_;
  Tensor weight_bf16_, bias_bf16_;  // compute copies (bf16 precision only)
  Tensor x_;
};

// Element dropout (p) or, with per_sample, stochastic depth (a whole sample dropped, the rest scaled).
class Dropout : public Layer {
 public:
  explicit Dropout(float p, bool per_sample = false) : p_(p), per_sample_(per_sample) {}
  std::string type() const override { return per_sample_ ? "StochasticDepth" : "Dropout"; }
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  void on_bind(const std::string& path) override { op_id_ = path_id(path); }
  void clear_saved() override { mask_ = Tensor(); }
  // Stochastic depth's drop rate grows with block depth; set by the model builder.
  void set_p(float p) { p_ = p; }

 private:
  float p_;
  bool per_sample_;
  std::uint32_t op_id_ = 0;
  Tensor mask_;
};

}  // namespace cmt::layers
