// CPU reference of dropout and stochastic depth.
#include "kernels/dropout.h"

namespace cmt::cpu {

void dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n, float p, float scale,
                     rng::Stream rs) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t b = 0; b < (n + 3) / 4; ++b) {
    const rng::Words4 w = rs.draw(static_cast<std::uint32_t>(b));
    for (int l = 0; l < 4; ++l) {
      const std::int64_t i = b * 4 + l;
      if (i >= n) break;
      const bool keep = rng::uniform01(w.w[l]) >= p;
      mask[i] = keep ? 1 : 0;
      y[i] = keep ? x[i] * scale : 0.f;
    }
  }
}

void masked_scale(const float* x, const std::uint8_t* mask, float* y, std::int64_t n, std::int64_t per_mask,
                  float scale) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] = mask[i / per_mask] ? x[i] * scale : 0.f;
}

void bernoulli_keep(std::uint8_t* keep, std::int64_t samples, float p, rng::Stream rs) {
  for (std::int64_t s = 0; s < samples; ++s) keep[s] = rng::uniform01(rs.word(static_cast<std::uint64_t>(s))) >= p;
}

}  // namespace cmt::cpu
