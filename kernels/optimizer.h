// The Adam/AdamW update and the squared norm used by gradient clipping.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

// CPU reference.
namespace cmt::cpu {

// Per-step scalars, computed once on the host in double exactly like torch.optim.Adam, then rounded.
struct AdamStep {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
  float weight_decay;  // Adam: added to the gradient as weight_decay * p
  float decay;         // AdamW: p *= decay = 1 - lr * weight_decay
  float step_size;     // lr / (1 - beta1^t)
  float bc2_sqrt;      // sqrt(1 - beta2^t)
  bool decoupled;      // AdamW
};

// Updates p, m, v in place; writes bf16 bits of the new p into p_bf16 when it is not null. A guard
// (null, or the step's loss) that is not finite skips the update, as the CUDA kernel does.
void adam_step(const AdamStep& s, const float* guard, float* p, const float* g, float* m, float* v, std::uint16_t* p_bf16, std::int64_t n);
double sum_squares(const float* x, std::int64_t n);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. One fused step over the flat parameter block.
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
#endif  // CMT_WITH_CUDA
