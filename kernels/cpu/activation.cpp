// CPU reference of the pointwise activations; the formulas are those of kernels/cuda/activation.cu.
#include "kernels/activation.h"

#include <cmath>

#include "kernels/common/elem.h"

namespace cmt::cpu {

namespace {
inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = elem::load(x[i]);
    switch (act) {
      case Act::relu: elem::store(y[i], v > 0.f ? v : 0.f); break;
      case Act::silu: elem::store(y[i], v * sigmoidf(v)); break;
      case Act::sigmoid: elem::store(y[i], sigmoidf(v)); break;
    }
  }
}

template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = elem::load(saved[i]), g = elem::load(dy[i]);
    switch (act) {
      case Act::relu: elem::store(dx[i], v > 0.f ? g : 0.f); break;
      case Act::silu: {
        const float s = sigmoidf(v);
        elem::store(dx[i], g * s * (1.f + v * (1.f - s)));
        break;
      }
      case Act::sigmoid: elem::store(dx[i], g * v * (1.f - v)); break;
    }
  }
}

template void activation_forward<float>(Act, const float*, float*, std::int64_t);
template void activation_forward<std::uint16_t>(Act, const std::uint16_t*, std::uint16_t*, std::int64_t);
template void activation_backward<float>(Act, const float*, const float*, float*, std::int64_t);
template void activation_backward<std::uint16_t>(Act, const std::uint16_t*, const std::uint16_t*, std::uint16_t*,
                                                 std::int64_t);

}  // namespace cmt::cpu
