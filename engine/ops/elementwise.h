// Elementwise and row ops: residual add, channel scale (squeeze-excitation), concat/split of rows, L2-normalise.
#pragma once
#include <utility>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

Tensor add(Context& ctx, const Tensor& a, const Tensor& b);  // same shape and dtype, f32 or bf16
void add_(Context& ctx, Tensor& a, const Tensor& b);         // a += b (f32 or bf16)
Tensor scale(Context& ctx, const Tensor& x, float alpha);    // alpha * x

// y[n,d,h,w,c] = x[n,d,h,w,c] * s[n,c]. x and s both f32 or both bf16 (float math, results rounded once).
Tensor channel_scale(Context& ctx, const Tensor& x /*(N,D,H,W,C)*/, const Tensor& s /*(N,C)*/);
struct ChannelScaleGrads {
  Tensor dx /*(N,D,H,W,C)*/, ds /*(N,C)*/;
};
ChannelScaleGrads channel_scale_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& s);

// Along dim 0: a (Na, ...), b (Nb, ...) -> (Na+Nb, ...). split_rows gives views of rows [0,n) and [n,N).
Tensor concat_rows(Context& ctx, const Tensor& a, const Tensor& b);
std::pair<Tensor, Tensor> split_rows(const Tensor& x, std::int64_t n);

// x (N,K): y = x / max(||x_row||_2, eps), like F.normalize(x, dim=1, eps=eps).
Tensor l2_normalize_rows(Context& ctx, const Tensor& x, float eps);
Tensor l2_normalize_rows_backward(Context& ctx, const Tensor& dy, const Tensor& x, float eps);

}  // namespace cmt::ops
