// BatchNorm layer.
#include "engine/layers/norm.h"

#include <utility>

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
  const ops::BnActivation act = std::exchange(fuse_next_, ops::BnActivation::none);
  if (!ctx.training) return ops::batchnorm_forward_eval(ctx, x, weight_, bias_, running_mean_, running_var_, eps_, act);
  x_ = x;
  if (sync_) {
    CMT_CHECK(act == ops::BnActivation::none, "BatchNorm: synchronised statistics take no activation in the same pass");
    return ops::batchnorm_sync_forward_train(ctx, *sync_, x, weight_, bias_, running_mean_, running_var_, momentum_, eps_, sync_saved_);
  }
  return ops::batchnorm_forward_train(ctx, x, weight_, bias_, running_mean_, running_var_, momentum_, eps_, saved_, act);
}

Tensor BatchNorm::recompute_output(Context& ctx) {
  CMT_CHECK(x_.defined() && !sync_, "BatchNorm::recompute_output needs a kept input and per-rank statistics");
  ops::BatchNormSaved again;
  // Momentum 0: running = 1 * running + 0 * batch, unchanged; the statistics are recomputed
  // deterministically from the same input, so the output is the forward's, bit for bit.
  return ops::batchnorm_forward_train(ctx, x_, weight_, bias_, running_mean_, running_var_, 0.f, eps_, again);
}

Tensor BatchNorm::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(x_.defined(), "BatchNorm::backward without a training forward");
  ops::BatchNormGrads g = sync_ ? ops::batchnorm_sync_backward(ctx, *sync_, dy, x_, weight_, sync_saved_, eps_)
                                : ops::batchnorm_backward(ctx, dy, x_, weight_, saved_, !dy.is_cuda() && dy.sole_owner());
  accumulate_grad(ctx, weight_grad_, g.dgamma);
  accumulate_grad(ctx, bias_grad_, g.dbeta);
  clear_saved();
  return g.dx;
}

int set_sync_batchnorm(Layer& root, Communicator* comm) {
  int n = 0;
  if (auto* bn = dynamic_cast<BatchNorm*>(&root)) {
    bn->set_sync(comm);
    ++n;
  }
  for (auto& [name, child] : root.children()) n += set_sync_batchnorm(*child, comm);
  return n;
}

}  // namespace cmt::layers
