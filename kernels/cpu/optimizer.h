// CPU reference of the Adam/AdamW update and of the squared norm used by gradient clipping.
#pragma once
#include <cstdint>

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
