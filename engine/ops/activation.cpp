// Pointwise activations: validation and dispatch.
#include "engine/ops/activation.h"

#include "engine/ops/validate.h"
#include "kernels/activation.h"

namespace cmt::ops {

using namespace detail;

namespace {

template <typename T>
void forward_as(Context& ctx, cpu::Act act, const Tensor& x, Tensor& y, const char* op) {
  CMT_DISPATCH(ctx, op, cuda::activation_forward(act, elems<T>(x), elems<T>(y), x.numel(), ctx.compute_stream()),
               cpu::activation_forward(act, elems<T>(x), elems<T>(y), x.numel()));
}

template <typename T>
void backward_as(Context& ctx, cpu::Act act, const Tensor& dy, const Tensor& saved, Tensor& dx, const char* op) {
  CMT_DISPATCH(ctx, op,
               cuda::activation_backward(act, elems<T>(dy), elems<T>(saved), elems<T>(dx), dy.numel(),
                                         ctx.compute_stream()),
               cpu::activation_backward(act, elems<T>(dy), elems<T>(saved), elems<T>(dx), dy.numel()));
}

Tensor forward(Context& ctx, cpu::Act act, const Tensor& x, const char* op, bool in_place = false) {
  require_f32_or_bf16(ctx, x, op, "x");
  Tensor y = in_place ? x : Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.dtype() == DType::bf16) forward_as<std::uint16_t>(ctx, act, x, y, op);
  else forward_as<float>(ctx, act, x, y, op);
  return y;
}

Tensor backward(Context& ctx, cpu::Act act, const Tensor& dy, const Tensor& saved, const char* op, const char* name,
                bool in_place) {
  require_f32_or_bf16(ctx, dy, op, "dy");
  require_f32_or_bf16(ctx, saved, op, name);
  require_same_dtype(dy, saved, op, "dy", name);
  require_same_shape(dy, saved, op, "dy", name);
  Tensor dx = in_place ? dy : Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  if (dy.dtype() == DType::bf16) backward_as<std::uint16_t>(ctx, act, dy, saved, dx, op);
  else backward_as<float>(ctx, act, dy, saved, dx, op);
  return dx;
}

}  // namespace

Tensor relu(Context& ctx, const Tensor& x, bool in_place) { return forward(ctx, cpu::Act::relu, x, "relu", in_place); }
Tensor relu_backward(Context& ctx, const Tensor& dy, const Tensor& y, bool in_place) {
  return backward(ctx, cpu::Act::relu, dy, y, "relu_backward", "y", in_place);
}
Tensor silu(Context& ctx, const Tensor& x) { return forward(ctx, cpu::Act::silu, x, "silu"); }
Tensor silu_backward(Context& ctx, const Tensor& dy, const Tensor& x, bool in_place) {
  return backward(ctx, cpu::Act::silu, dy, x, "silu_backward", "x", in_place);
}
Tensor sigmoid(Context& ctx, const Tensor& x, bool in_place) { return forward(ctx, cpu::Act::sigmoid, x, "sigmoid", in_place); }
Tensor sigmoid_backward(Context& ctx, const Tensor& dy, const Tensor& y, bool in_place) {
  return backward(ctx, cpu::Act::sigmoid, dy, y, "sigmoid_backward", "y", in_place);
}

}  // namespace cmt::ops
