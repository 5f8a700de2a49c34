// CUDA launchers of the fused Adam/AdamW step over the flat parameter block, and the squared norm for clipping.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"
#include "kernels/cpu/optimizer.h"

namespace cmt::cuda {

using cpu::AdamStep;
// One launch over all n parameters (grid-stride, vectorised by 4 when aligned). scalars: the step's
// AdamStep in device memory; guard: null, or a device float whose non-finite value skips the update.
void adam_step(const AdamStep* scalars, const float* guard, float* p, const float* g, float* m, float* v, std::uint16_t* p_bf16,
               std::int64_t n, cudaStream_t stream);
// Deterministic sum of squares into one float on the device.
std::size_t sum_squares_workspace_bytes(std::int64_t n);
void sum_squares(const float* x, std::int64_t n, float* out, void* workspace, cudaStream_t stream);
// Gradient clipping from the squared norm in device memory (no host read): g *= max_norm / (norm +
// 1e-6) when below 1; writes norm = sqrt(*sq) to norm_out.
void clip_by_norm(float* g, std::int64_t n, const float* sq, float max_norm, float* norm_out, cudaStream_t stream);

}  // namespace cmt::cuda
