// Pooling layers.
#include "engine/layers/pool.h"

#include "engine/ops/linear.h"

namespace cmt::layers {

ops::PoolParams pool_params(int spatial_dims, int kernel, int stride, int padding) {
  CMT_CHECK(spatial_dims == 2 || spatial_dims == 3, "pooling: spatial_dims must be 2 or 3");
  const bool is3d = spatial_dims == 3;
  ops::PoolParams p;
  p.kernel = {is3d ? kernel : 1, kernel, kernel};
  p.stride = {is3d ? stride : 1, stride, stride};
  p.padding = {is3d ? padding : 0, padding, padding};
  return p;
}

Tensor MaxPool::forward(Context& ctx, const Tensor& x) {
  x_shape_ = x.shape();
  Tensor argmax;
  Tensor y = ops::maxpool_forward(ctx, x, p_, argmax);
  if (ctx.keeps_saved()) argmax_ = argmax;
  return y;
}

Tensor MaxPool::backward(Context& ctx, const Tensor& dy) {
  CMT_CHECK(argmax_.defined(), "MaxPool::backward without a training forward");
  Tensor dx = ops::maxpool_backward(ctx, dy, argmax_, x_shape_, p_);
  argmax_ = Tensor();
  return dx;
}

Tensor AvgPool::forward(Context& ctx, const Tensor& x) {
  x_shape_ = x.shape();
  return ops::avgpool_forward(ctx, x, p_);
}

Tensor AvgPool::backward(Context& ctx, const Tensor& dy) { return ops::avgpool_backward(ctx, dy, x_shape_, p_); }

Tensor AdaptiveAvgPool::forward(Context& ctx, const Tensor& x) {
  x_shape_ = x.shape();
  return ops::adaptive_avgpool_forward(ctx, x, out_);
}

Tensor AdaptiveAvgPool::backward(Context& ctx, const Tensor& dy) { return ops::adaptive_avgpool_backward(ctx, dy, x_shape_); }

Tensor GlobalAvgPool::forward(Context& ctx, const Tensor& x) {
  x_shape_ = x.shape();
  return ops::global_avgpool_forward(ctx, x);
}

Tensor GlobalAvgPool::backward(Context& ctx, const Tensor& dy) { return ops::global_avgpool_backward(ctx, dy, x_shape_); }

Tensor Flatten::forward(Context&, const Tensor& x) {
  x_shape_ = x.shape();
  return ops::flatten(x);
}

Tensor Flatten::backward(Context&, const Tensor& dy) { return dy.view(x_shape_); }

}  // namespace cmt::layers
