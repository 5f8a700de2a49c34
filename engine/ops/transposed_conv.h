// The x2 up-sampling transposed convolution of a one-channel map (kernel 2, stride 2, with bias), 2D
// and 3D: PyTorch's ConvTranspose2d/3d(1, 1, kernel_size=2, stride=2) on channels-last f32 tensors.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// x (N, D, H, W, 1), w (kd, 2, 2) with kd 1 (2D: D is kept) or 2 (3D: D doubles too), b [1]
// -> (N, kd*D, 2H, 2W, 1).
Tensor transposed_conv2x(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b);
struct TransposedConv2xGrads {
  Tensor dx, dw, db;
};
TransposedConv2xGrads transposed_conv2x_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w);

}  // namespace cmt::ops
