// Linear and dropout layers. A bf16 input runs Linear with the bf16 weight copies (bf16 gradients are
// summed into the f32 gradient block); an f32 input uses the f32 master weights.
#include "engine/layers/linear.h"

#include "engine/ops/dropout.h"
#include "engine/ops/linear.h"

namespace cmt::layers {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Init weight_init, Init bias_init)
    : in_(in_features), out_(out_features), has_bias_(bias) {
  ParameterSpec w{"weight", Shape{out_features, in_features}, weight_init};
  w.fan_in = in_features;
  w.fan_out = out_features;
  declare_parameter(w, &weight_, &weight_grad_, &weight_bf16_);
  if (bias) {
    ParameterSpec b{"bias", Shape{out_features}, bias_init};
    b.fan_in = in_features;
    b.fan_out = out_features;
    b.weight_decay = false;
    declare_parameter(b, &bias_, &bias_grad_, &bias_bf16_);
  }
}

Tensor Linear::forward(Context& ctx, const Tensor& x) {
  CMT_CHECK(x.rank() == 2 && x.dim(1) == in_, "Linear(" << in_ << "->" << out_ << "): input " << x.describe());
  if (ctx.keeps_saved()) x_ = x;
  const Tensor& w = weight_for(x.dtype(), weight_, weight_bf16_, path());
  return ops::linear_forward(ctx, x, w, has_bias_ ? weight_for(x.dtype(), bias_, bias_bf16_, path()) : Tensor());
}

Tensor Linear::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(x_.defined(), "Linear::backward without a training forward");
  ops::LinearGrads g = ops::linear_backward(ctx, dy, x_, weight_for(x_.dtype(), weight_, weight_bf16_, path()), has_bias_);
  if (ctx.training) {  // an eval-mode backward (keep_for_backward) asks for dx only
    accumulate_grad(ctx, weight_grad_, g.dw);
    if (has_bias_) accumulate_grad(ctx, bias_grad_, g.db);
  }
  x_ = Tensor();
  return g.dx;
}

Tensor Dropout::forward(Context& ctx, const Tensor& x) {
  if (!ctx.training || p_ <= 0.f) {
    mask_ = Tensor();
    return x;
  }
  Tensor mask;
  Tensor y = per_sample_ ? ops::stochastic_depth_forward(ctx, x, p_, ctx.seed, ctx.epoch, ctx.step, op_id_, mask)
                         : ops::dropout_forward(ctx, x, p_, ctx.seed, ctx.epoch, ctx.step, op_id_, mask);
  mask_ = mask;
  return y;
}

Tensor Dropout::backward(Context& ctx, const Tensor& dy) {
  if (!mask_.defined()) return dy;  // identity in the forward
  Tensor dx = per_sample_ ? ops::stochastic_depth_backward(ctx, dy, mask_, p_) : ops::dropout_backward(ctx, dy, mask_, p_);
  mask_ = Tensor();
  return dx;
}

}  // namespace cmt::layers
