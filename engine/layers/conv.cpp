// Conv layer: wraps ops::conv_* and keeps its input for the weight gradient. A bf16 input computes
// with the bf16 weight copies; the bf16 gradients are summed into the f32 gradient block.
#include "engine/layers/conv.h"

namespace cmt::layers {

Conv::Conv(const ConvConfig& c) : config_(c) {
  CMT_CHECK(c.spatial_dims == 2 || c.spatial_dims == 3, "Conv: spatial_dims must be 2 or 3, got " << c.spatial_dims);
  CMT_CHECK(c.groups >= 1 && c.in_channels % c.groups == 0 && c.out_channels % c.groups == 0,
            "Conv: channels " << c.in_channels << "->" << c.out_channels << " not divisible by groups " << c.groups);
  const bool is3d = c.spatial_dims == 3;
  const int kd = is3d ? c.kernel : 1;
  params_.stride = {is3d ? c.stride : 1, c.stride, c.stride};
  params_.padding = {is3d ? c.padding : 0, c.padding, c.padding};
  params_.dilation = {is3d ? c.dilation : 1, c.dilation, c.dilation};
  params_.groups = c.groups;
  const std::int64_t cin_g = c.in_channels / c.groups;
  weight_shape_ = Shape{c.out_channels, kd, c.kernel, c.kernel, cin_g};
  const std::int64_t taps = static_cast<std::int64_t>(kd) * c.kernel * c.kernel;
  ParameterSpec w{"weight", weight_shape_, c.weight_init};
  w.fan_in = cin_g * taps;
  w.fan_out = c.out_channels / c.groups * taps;  // torch: fan_out = out_channels * receptive field / groups
  declare_parameter(w, &weight_, &weight_grad_, &weight_bf16_);
  if (c.bias) {
    ParameterSpec b{"bias", Shape{c.out_channels}, Init::zeros};
    b.fan_in = w.fan_in;
    b.weight_decay = false;
    declare_parameter(b, &bias_, &bias_grad_, &bias_bf16_);
  }
}

Shape Conv::output_shape(const Shape& in) const { return ops::conv_output_shape(in, weight_shape_, params_); }

Tensor Conv::forward(Context& ctx, const Tensor& x) {
  if (ctx.training) x_ = x;
  const Tensor& w = weight_for(x.dtype(), weight_, weight_bf16_, path());
  return ops::conv_forward(ctx, x, w, config_.bias ? weight_for(x.dtype(), bias_, bias_bf16_, path()) : Tensor(), params_);
}

Tensor Conv::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(x_.defined(), "Conv::backward without a training forward");
  accumulate_grad(ctx, weight_grad_, ops::conv_backward_weight(ctx, x_, dy, weight_shape_, params_));
  if (config_.bias) accumulate_grad(ctx, bias_grad_, ops::conv_backward_bias(ctx, dy));
  if (!input_grad()) {
    x_ = Tensor();
    return Tensor();
  }
  Tensor dx = ops::conv_backward_data(ctx, dy, weight_for(dy.dtype(), weight_, weight_bf16_, path()), x_.shape(), params_);
  x_ = Tensor();
  return dx;
}

double Conv::forward_macs(const Shape& in) const {
  const Shape out = output_shape(in);
  return static_cast<double>(out.numel()) * static_cast<double>(weight_shape_.numel() / weight_shape_[0]);
}

}  // namespace cmt::layers
