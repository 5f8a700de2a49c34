// Activation layers.
#include "engine/layers/activation.h"

#include "engine/ops/activation.h"

namespace cmt::layers {

std::string Act::type() const {
  switch (kind_) {
    case Activation::relu: return "ReLU";
    case Activation::silu: return "SiLU";
    case Activation::sigmoid: return "Sigmoid";
  }
  return "?";
}

Tensor Act::forward(Context& ctx, const Tensor& x) {
  // On the CPU, in place when nothing else holds x (a Sequential passes the previous layer's output
  // and drops it): no new buffer, and two memory streams instead of three. ReLU and sigmoid keep
  // their output for backward, so x is not needed afterwards; SiLU keeps its input.
  const bool in_place = !x.is_cuda() && x.sole_owner();
  Tensor y;
  switch (kind_) {
    case Activation::relu: y = in_place ? ops::relu_in_place(ctx, x) : ops::relu(ctx, x); break;
    case Activation::silu: y = ops::silu(ctx, x); break;
    case Activation::sigmoid: y = in_place ? ops::sigmoid_in_place(ctx, x) : ops::sigmoid(ctx, x); break;
  }
  if (ctx.training) saved_ = kind_ == Activation::silu ? x : y;
  return y;
}

Tensor Act::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(saved_.defined(), type() << "::backward without a training forward");
  Tensor dx;
  if (!dy.is_cuda() && dy.sole_owner()) {  // like the forward: into dy when nothing else holds it
    const ops::ActivationKind k = kind_ == Activation::relu   ? ops::ActivationKind::relu
                                  : kind_ == Activation::silu ? ops::ActivationKind::silu
                                                              : ops::ActivationKind::sigmoid;
    dx = ops::activation_backward_in_place(ctx, k, dy, saved_);
  } else {
    switch (kind_) {
      case Activation::relu: dx = ops::relu_backward(ctx, dy, saved_); break;
      case Activation::silu: dx = ops::silu_backward(ctx, dy, saved_); break;
      case Activation::sigmoid: dx = ops::sigmoid_backward(ctx, dy, saved_); break;
    }
  }
  saved_ = Tensor();
  return dx;
}

}  // namespace cmt::layers
