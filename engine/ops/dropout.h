// Dropout and stochastic depth with Philox masks keyed by (seed, epoch, sample=step, op id): identical on CPU and CUDA.
// x/dy f32 or bf16; y/dx in the same dtype (bf16: x * scale in float, rounded once).
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// Element i is kept when uniform01(word i of the stream) >= p; kept values are scaled by 1/(1-p).
// mask (out): u8, x's shape, 1 = kept. p = 0 keeps everything; p must be in [0, 1).
Tensor dropout_forward(Context& ctx, const Tensor& x, float p, std::uint64_t seed, std::uint32_t epoch,
                       std::uint32_t step, std::uint32_t op_id, Tensor& mask);
Tensor dropout_backward(Context& ctx, const Tensor& dy, const Tensor& mask, float p);

// Per sample n of x (N, ...): kept when uniform01(word n) >= p, then scaled by 1/(1-p); dropped samples are 0.
// keep (out): u8 [N].
Tensor stochastic_depth_forward(Context& ctx, const Tensor& x, float p, std::uint64_t seed, std::uint32_t epoch,
                                std::uint32_t step, std::uint32_t op_id, Tensor& keep);
Tensor stochastic_depth_backward(Context& ctx, const Tensor& dy, const Tensor& keep, float p);

}  // namespace cmt::ops
