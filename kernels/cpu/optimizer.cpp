// CPU reference of the Adam/AdamW update, operation for operation like torch's single-tensor Adam.
#include "kernels/optimizer.h"

#include <cmath>

#include "kernels/common/float16.h"
#include "kernels/cpu/clones.h"

namespace cmt::cpu {

// Also built for AVX2/AVX-512 (sqrt and division are exactly rounded in every version, and the file
// is compiled without FMA contraction, so every version gives the same bits).
CMT_CPU_CLONES void adam_step(const AdamStep& s, const float* guard, float* p, const float* g, float* m, float* v,
                              std::uint16_t* p_bf16, std::int64_t n) {
  if (guard != nullptr && !std::isfinite(*guard)) return;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    float pi = p[i], gi = g[i];
    if (s.weight_decay != 0.f) {
      if (s.decoupled) pi = pi * s.decay;
      else gi = gi + s.weight_decay * pi;
    }
    const float mi = m[i] * s.beta1 + s.one_minus_beta1 * gi;
    const float vi = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;
    const float denom = std::sqrt(vi) / s.bc2_sqrt + s.eps;
    pi = pi - s.step_size * (mi / denom);
    m[i] = mi;
    v[i] = vi;
    p[i] = pi;
    if (p_bf16) p_bf16[i] = num::float_to_bf16(pi);
  }
}

double sum_squares(const float* x, std::int64_t n) {
  double acc = 0;
#pragma omp parallel for reduction(+ : acc) schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
  return acc;
}

}  // namespace cmt::cpu
