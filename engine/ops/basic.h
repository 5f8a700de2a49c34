// Tensor-level entry points of the basic op family. Each validates its arguments, then runs the
// CPU or CUDA kernel on the tensor's device: the pattern every op of engine/ops/ follows.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

void fill(Context& ctx, Tensor& t, double value);
void copy(Context& ctx, const Tensor& src, Tensor& dst);  // same dtype and numel; any devices
Tensor cast(Context& ctx, const Tensor& src, DType to);    // float dtypes, round to nearest even
void cast(Context& ctx, const Tensor& src, Tensor& dst);   // into dst (same numel, its dtype), e.g. a weight copy
void axpy(Context& ctx, float alpha, const Tensor& x, Tensor& y);  // y (f32) += alpha * x (f32 or bf16, widened)
void add_scalar_(Context& ctx, Tensor& y, float value);              // y += value (f32)
Tensor sum(Context& ctx, const Tensor& x);   // f32 scalar of shape [1] on x's device
Tensor mean(Context& ctx, const Tensor& x);
float item(const Tensor& scalar);            // reads a one-element f32 tensor (synchronises)

// Philox fills: element i depends only on (seed, stream, i), identical on CPU and CUDA.
void uniform_(Context& ctx, Tensor& t, std::uint64_t seed, std::uint32_t stream, float lo = 0.f, float hi = 1.f);
void normal_(Context& ctx, Tensor& t, std::uint64_t seed, std::uint32_t stream, float mean = 0.f, float stddev = 1.f);

}  // namespace cmt::ops
