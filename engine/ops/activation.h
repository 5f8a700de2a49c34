// Pointwise activations (ReLU, SiLU, sigmoid), forward and backward, on any-shaped f32 or bf16 tensors
// (bf16: computed in float, rounded once; the output has the input's dtype).
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// in_place: the result is written over the input (x, or dy for a backward pass) and returned, for
// callers that drop it afterwards.
Tensor relu(Context& ctx, const Tensor& x, bool in_place = false);
Tensor relu_backward(Context& ctx, const Tensor& dy, const Tensor& y, bool in_place = false);  // y: relu's output
Tensor silu(Context& ctx, const Tensor& x);                                                  // x * sigmoid(x)
Tensor silu_backward(Context& ctx, const Tensor& dy, const Tensor& x, bool in_place = false);  // x: silu's input
Tensor sigmoid(Context& ctx, const Tensor& x, bool in_place = false);
Tensor sigmoid_backward(Context& ctx, const Tensor& dy, const Tensor& y, bool in_place = false);  // y: sigmoid's output

}  // namespace cmt::ops
