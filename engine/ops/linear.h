// Fully connected layer y = x w^T + b (torch's F.linear), and flatten.
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// x (N,in), w (out,in), bias [out] or undefined -> y (N,out). CPU: sgemm (kernels/cpu/gemm.h);
// CUDA: cuBLASLt with the bias fused in the epilogue (tf32 only when ctx.precision allows tensor
// cores). All operands f32, or all bf16 (fp32 accumulation, each result rounded to bf16 once; the CPU
// widens, runs sgemm and rounds).
Tensor linear_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias);

struct LinearGrads {
  Tensor dx /*(N,in)*/, dw /*(out,in)*/, db /*[out], undefined when there is no bias*/;
};
LinearGrads linear_backward(Context& ctx, const Tensor& dy /*(N,out)*/, const Tensor& x, const Tensor& w, bool has_bias);

// (N, ...) -> (N, prod(...)): a view, no copy.
Tensor flatten(const Tensor& x);

}  // namespace cmt::ops
