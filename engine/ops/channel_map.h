// Channel maps on (N, D, H, W, C) f32 tensors: the mean over the channels (a one-channel map, the
// attention decoder's channel average pooling) and the product of a tensor with a one-channel map
// broadcast over its channels, each with its backward pass.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// (N, D, H, W, C) -> (N, D, H, W, 1).
Tensor channel_mean(Context& ctx, const Tensor& x);
// dy (N, D, H, W, 1) -> dx (N, D, H, W, C): dy / C on every channel.
Tensor channel_mean_backward(Context& ctx, const Tensor& dy, const Shape& x_shape);

// y[n, d, h, w, c] = x[n, d, h, w, c] * m[n, d, h, w, 0]; x (N, D, H, W, C), m (N, D, H, W, 1).
Tensor map_scale(Context& ctx, const Tensor& x, const Tensor& m);
struct MapScaleGrads {
  Tensor dx /*(N,D,H,W,C)*/, dm /*(N,D,H,W,1)*/;
};
// dx = dy * m, dm = sum over the channels of dy * x.
MapScaleGrads map_scale_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& m);

}  // namespace cmt::ops
