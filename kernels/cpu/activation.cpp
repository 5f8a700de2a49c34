// CPU reference of the pointwise activations; the formulas are those of kernels/cuda/activation.cu.
#include "kernels/cpu/activation.h"

#include <cmath>

namespace cmt::cpu {

namespace {
inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

void activation_forward(Act act, const float* x, float* y, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    switch (act) {
      case Act::relu: y[i] = v > 0.f ? v : 0.f; break;
      case Act::silu: y[i] = v * sigmoidf(v); break;
      case Act::sigmoid: y[i] = sigmoidf(v); break;
    }
  }
}

void activation_backward(Act act, const float* dy, const float* saved, float* dx, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = saved[i];
    switch (act) {
      case Act::relu: dx[i] = v > 0.f ? dy[i] : 0.f; break;
      case Act::silu: {
        const float s = sigmoidf(v);
        dx[i] = dy[i] * s * (1.f + v * (1.f - s));
        break;
      }
      case Act::sigmoid: dx[i] = dy[i] * v * (1.f - v); break;
    }
  }
}

}  // namespace cmt::cpu
