// Pointwise activations (ReLU, SiLU, sigmoid), forward and backward, on any-shaped f32 or bf16 tensors
// (bf16: computed in float, rounded once; the output has the input's dtype).
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

Tensor relu(Context& ctx, const Tensor& x);
// relu and sigmoid written into x itself (returned): for callers that drop x afterwards.
Tensor relu_in_place(Context& ctx, const Tensor& x);
Tensor sigmoid_in_place(Context& ctx, const Tensor& x);
// The backward pass of an activation written into dy itself (returned), for callers that drop dy:
// saved is the output (relu, sigmoid) or the input (silu).
enum class ActivationKind { relu, silu, sigmoid };
Tensor activation_backward_in_place(Context& ctx, ActivationKind kind, const Tensor& dy, const Tensor& saved);
Tensor relu_backward(Context& ctx, const Tensor& dy, const Tensor& y);     // y: relu's output
Tensor silu(Context& ctx, const Tensor& x);                                // x * sigmoid(x)
Tensor silu_backward(Context& ctx, const Tensor& dy, const Tensor& x);     // x: silu's input
Tensor sigmoid(Context& ctx, const Tensor& x);
Tensor sigmoid_backward(Context& ctx, const Tensor& dy, const Tensor& y);  // y: sigmoid's output

}  // namespace cmt::ops
