// Pointwise activations: validation and dispatch.
#include "engine/ops/activation.h"

#include "engine/ops/validate.h"
#include "kernels/cpu/activation.h"
#if defined(CMT_WITH_CUDA)
#include "kernels/cuda/activation.h"
#endif

namespace cmt::ops {

using namespace detail;

namespace {

Tensor forward(Context& ctx, cpu::Act act, const Tensor& x, const char* op) {
  require_f32(ctx, x, op, "x");
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, op, cuda::activation_forward(act, x.data<float>(), y.data<float>(), x.numel(), ctx.compute_stream()),
               cpu::activation_forward(act, x.data<float>(), y.data<float>(), x.numel()));
  return y;
}

Tensor backward(Context& ctx, cpu::Act act, const Tensor& dy, const Tensor& saved, const char* op, const char* name) {
  require_f32(ctx, dy, op, "dy");
  require_f32(ctx, saved, op, name);
  require_same_shape(dy, saved, op, "dy", name);
  Tensor dx = Tensor::empty(dy.shape(), DType::f32, dy.device());
  CMT_DISPATCH(ctx, op,
               cuda::activation_backward(act, dy.data<float>(), saved.data<float>(), dx.data<float>(), dy.numel(),
                                         ctx.compute_stream()),
               cpu::activation_backward(act, dy.data<float>(), saved.data<float>(), dx.data<float>(), dy.numel()));
  return dx;
}

}  // namespace

Tensor relu(Context& ctx, const Tensor& x) { return forward(ctx, cpu::Act::relu, x, "relu"); }
Tensor relu_backward(Context& ctx, const Tensor& dy, const Tensor& y) {
  return backward(ctx, cpu::Act::relu, dy, y, "relu_backward", "y");
}
Tensor silu(Context& ctx, const Tensor& x) { return forward(ctx, cpu::Act::silu, x, "silu"); }
Tensor silu_backward(Context& ctx, const Tensor& dy, const Tensor& x) {
  return backward(ctx, cpu::Act::silu, dy, x, "silu_backward", "x");
}
Tensor sigmoid(Context& ctx, const Tensor& x) { return forward(ctx, cpu::Act::sigmoid, x, "sigmoid"); }
Tensor sigmoid_backward(Context& ctx, const Tensor& dy, const Tensor& y) {
  return backward(ctx, cpu::Act::sigmoid, dy, y, "sigmoid_backward", "y");
}

}  // namespace cmt::ops
