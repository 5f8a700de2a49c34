// Conv: 2D or 3D convolution layer (2D = kernel depth 1 on D=1 inputs), with optional bias.
#pragma once
#include <array>

#include "engine/layer.h"
#include "engine/ops/conv.h"

namespace cmt::layers {

struct ConvConfig {
  int spatial_dims = 3;  // 2: kernel/stride/padding apply to (H, W) only
  std::int64_t in_channels = 1, out_channels = 1;
  int kernel = 3, stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = false;
  Init weight_init = Init::kaiming_normal_fan_out;
};

class Conv : public Layer {
 public:
  explicit Conv(const ConvConfig& c);
  std::string type() const override { return "Conv"; }
  Shape output_shape(const Shape& in) const override;
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  double forward_macs(const Shape& in) const override;
  void clear_saved() override { x_ = Tensor(); }
  // For recomputation in backward: the kept input is dropped after forward and given back before
  // backward by whoever recomputes it (Sequential, from the batch norm before it).
  void restore_input(const Tensor& x) { x_ = x; }
  const ConvConfig& config() const { return config_; }
  const ops::ConvParams& params() const { return params_; }

 private:
  ConvConfig config_;
  ops::ConvParams params_;
  Shape weight_shape_;
  Tensor weight_, weight_grad_, bias_, bias_grad_;
  Tensor weight_bf16_, bias_bf16_;  // compute copies (bf16 precision only)
  Tensor x_;  // input kept for the weight gradient
};

}  // namespace cmt::layers
