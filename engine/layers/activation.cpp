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
    case Activation::relu: y = ops::relu(ctx, x, in_place); break;
    case Activation::silu: y = ops::silu(ctx, x); break;
    case Activation::sigmoid: y = ops::sigmoid(ctx, x, in_place); break;
  }
  if (ctx.training) saved_ = kind_ == Activation::silu ? x : y;
  return y;
}

Tensor Act::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(saved_.defined(), type() << "::backward without a training forward");
  const bool in_place = !dy.is_cuda() && dy.sole_owner();  // like the forward: into dy when nothing else holds it
  Tensor dx;
  switch (kind_) {
    case Activation::relu: dx = ops::relu_backward(ctx, dy, saved_, in_place); break;
    case Activation::silu: dx = ops::silu_backward(ctx, dy, saved_, in_place); break;
    case Activation::sigmoid: dx = ops::sigmoid_backward(ctx, dy, saved_, in_place); break;
  }
  saved_ = Tensor();
  return dx;
}

}  // namespace cmt::layers
