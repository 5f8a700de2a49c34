// The attention decoder (paper section 4, Fig. 5): forward and backward through the channel mean, two
// transposed convolutions, two mean poolings and the product with the feature map.
#include "engine/layers/attention_decoder.h"

#include "engine/layers/pool.h"
#include "engine/ops/basic.h"
#include "engine/ops/channel_map.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/transposed_conv.h"

namespace cmt::layers {

TransposedConv2x::TransposedConv2x(int spatial_dims) : kd_(spatial_dims == 3 ? 2 : 1) {
  CMT_CHECK(spatial_dims == 2 || spatial_dims == 3, "TransposedConv2x: spatial_dims must be 2 or 3, got " << spatial_dims);
  // PyTorch's ConvTranspose default: U(+-1/sqrt(fan_in)) for weight and bias, fan_in = out channels * taps.
  ParameterSpec w{"weight", Shape{kd_, 2, 2}, Init::torch_default_linear};
  w.fan_in = w.fan_out = 4 * kd_;
  declare_parameter(w, &weight_, &weight_grad_);
  ParameterSpec b{"bias", Shape{1}, Init::torch_default_linear};
  b.fan_in = b.fan_out = 4 * kd_;
  b.weight_decay = false;
  declare_parameter(b, &bias_, &bias_grad_);
}

Tensor TransposedConv2x::forward(Context& ctx, const Tensor& x) {
  if (ctx.training) x_ = x;
  return ops::transposed_conv2x(ctx, x, weight_, bias_);
}

Tensor TransposedConv2x::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(x_.defined(), "TransposedConv2x::backward without a training forward");
  ops::TransposedConv2xGrads g = ops::transposed_conv2x_backward(ctx, dy, x_, weight_);
  accumulate_grad(ctx, weight_grad_, g.dw);
  accumulate_grad(ctx, bias_grad_, g.db);
  x_ = Tensor();
  return g.dx;
}

AttentionDecoder::AttentionDecoder(int spatial_dims)
    : pool_(pool_params(spatial_dims, 2, 2, 0)), up1_(spatial_dims), up2_(spatial_dims) {
  add_child("deconv1", &up1_);
  add_child("deconv2", &up2_);
}

Tensor AttentionDecoder::forward(Context& ctx, const Tensor& x) {
  CMT_CHECK(x.rank() == 5, "AttentionDecoder: input must be (N, D, H, W, C), got " << x.describe());
  in_dtype_ = x.dtype();
  const Tensor xf = x.dtype() == DType::f32 ? x : ops::cast(ctx, x, DType::f32);
  const Tensor u = up2_.forward(ctx, up1_.forward(ctx, ops::channel_mean(ctx, xf)));
  const Tensor half = ops::avgpool_forward(ctx, u, pool_);
  const Tensor p = ops::avgpool_forward(ctx, half, pool_);
  map_ = keep_map_ ? u : Tensor();
  if (ctx.training) {
    x_ = xf;
    p_ = p;
    u_shape_ = u.shape();
    half_shape_ = half.shape();
  }
  const Tensor y = ops::map_scale(ctx, xf, p);
  return in_dtype_ == DType::f32 ? y : ops::cast(ctx, y, in_dtype_);
}

Tensor AttentionDecoder::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(x_.defined(), "AttentionDecoder::backward without a training forward");
  const Tensor dyf = dy.dtype() == DType::f32 ? dy : ops::cast(ctx, dy, DType::f32);
  ops::MapScaleGrads g = ops::map_scale_backward(ctx, dyf, x_, p_);
  const Tensor dhalf = ops::avgpool_backward(ctx, g.dm, half_shape_, pool_);
  const Tensor du = ops::avgpool_backward(ctx, dhalf, u_shape_, pool_);
  const Tensor da = up1_.backward(ctx, up2_.backward(ctx, du));
  // F reaches the output twice: through the product and through the channel mean that makes P.
  ops::add_(ctx, g.dx, ops::channel_mean_backward(ctx, da, x_.shape()));
  clear_saved();
  return in_dtype_ == DType::f32 ? g.dx : ops::cast(ctx, g.dx, in_dtype_);
}

double AttentionDecoder::forward_macs(const Shape& in) const {
  const Shape a{in[0], in[1], in[2], in[3], 1};
  const Shape u1 = up1_.output_shape(a);
  // Channel mean and product: one multiply-add per element each; the poolings are not counted.
  return 2.0 * static_cast<double>(in.numel()) + up1_.forward_macs(a) + up2_.forward_macs(u1);
}

void AttentionDecoder::clear_saved() {
  x_ = Tensor();
  p_ = Tensor();
}

}  // namespace cmt::layers
