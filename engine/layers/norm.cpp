// BatchNorm layer.
#include "engine/layers/norm.h"

namespace cmt::layers {

BatchNorm::BatchNorm(std::int64_t channels, float eps, float momentum) : channels_(channels), eps_(eps), momentum_(momentum) {
  ParameterSpec w{"weight", Shape{channels}, Init::ones};
  w.weight_decay = false;
  ParameterSpec b{"bias", Shape{channels}, Init::zeros};
  b.weight_decay = false;
  declare_parameter(w, &weight_, &weight_grad_);
  declare_parameter(b, &bias_, &bias_grad_);
  declare_buffer({"running_mean", Shape{channels}, Init::zeros}, &running_mean_);
  declare_buffer({"running_var", Shape{channels}, Init::ones}, &running_var_);
}

Tensor BatchNorm::forward(Context& ctx, const Tensor& x) {
  CMT_CHECK(x.rank() == 5 && x.dim(4) == channels_, "BatchNorm(" << channels_ << "): input " << x.describe());
  if (!ctx.training) return ops::batchnorm_forward_eval(ctx, x, weight_, bias_, running_mean_, running_var_, eps_);
  x_ = x;
  return ops::batchnorm_forward_train(ctx, x, weight_, bias_, running_mean_, running_var_, momentum_, eps_, saved_);
}

Tensor BatchNorm::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(x_.defined(), "BatchNorm::backward without a training forward");
  ops::BatchNormGrads g = ops::batchnorm_backward(ctx, dy, x_, weight_, saved_);
  accumulate_grad(ctx, weight_grad_, g.dgamma);
  accumulate_grad(ctx, bias_grad_, g.dbeta);
  clear_saved();
  return g.dx;
}

}  // namespace cmt::layers
