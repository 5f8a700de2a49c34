// Pooling over N,D,H,W,C tensors: max, average, global average and adaptive average (torch semantics).
// x/dy f32 or bf16; results in the same dtype, computed in float and rounded once (argmax stays i32).
#pragma once
#include <array>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// Per dimension (D, H, W); 2D pooling uses kernel/stride {1, ., .} and padding {0, ., .}.
struct PoolParams {
  std::array<int, 3> kernel{1, 1, 1}, stride{1, 1, 1}, padding{0, 0, 0};
};

// (N,D,H,W,C) -> (N,Do,Ho,Wo,C) with o = (i + 2p - k) / s + 1 (floor, like torch's default ceil_mode=false).
Shape pool_output_shape(const Shape& x, const PoolParams& p);

// argmax (out): i32, same shape as y, the flat index d*H*W + h*W + w of the maximum inside x's (D,H,W)
// volume (torch's convention); padding never wins. Ties take the first maximum, NaN propagates.
Tensor maxpool_forward(Context& ctx, const Tensor& x, const PoolParams& p, Tensor& argmax);
// p: the forward's window, so that each input gathers its gradient in output order (deterministic).
Tensor maxpool_backward(Context& ctx, const Tensor& dy, const Tensor& argmax, const Shape& x_shape, const PoolParams& p);

// Divides by the full window volume including padding (torch's count_include_pad=True default).
Tensor avgpool_forward(Context& ctx, const Tensor& x, const PoolParams& p);
Tensor avgpool_backward(Context& ctx, const Tensor& dy, const Shape& x_shape, const PoolParams& p);

Tensor global_avgpool_forward(Context& ctx, const Tensor& x);  // (N,D,H,W,C) -> (N,C)
Tensor global_avgpool_backward(Context& ctx, const Tensor& dy /*(N,C)*/, const Shape& x_shape);

// (N,D,H,W,C) -> (N,od,oh,ow,C); bin i covers [floor(i*in/out), ceil((i+1)*in/out)) like torch.
Tensor adaptive_avgpool_forward(Context& ctx, const Tensor& x, std::array<int, 3> out_dhw);
Tensor adaptive_avgpool_backward(Context& ctx, const Tensor& dy, const Shape& x_shape);

}  // namespace cmt::ops
