// CPU reference of the pointwise activations; the formulas are those of kernels/cuda/activation.cu.
#include "kernels/activation.h"

#include <cmath>

#include "kernels/common/elem.h"

namespace cmt::cpu {

namespace {
inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

// One loop per activation (the switch outside), so that each compiles to a vector loop; x and y may
// be the same buffer (in place), element i is read before it is written.
template <typename T, typename F>
void map(const T* x, T* y, std::int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) elem::store(y[i], f(elem::load(x[i])));
}

template <typename T, typename F>
void map2(const T* dy, const T* saved, T* dx, std::int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) elem::store(dx[i], f(elem::load(saved[i]), elem::load(dy[i])));
}

template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n) {
  switch (act) {
    case Act::relu: return map(x, y, n, [](float v) { return v > 0.f ? v : 0.f; });
    case Act::silu: return map(x, y, n, [](float v) { return v * sigmoidf(v); });
    case Act::sigmoid: return map(x, y, n, [](float v) { return sigmoidf(v); });
  }
}

template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n) {
  switch (act) {
    case Act::relu: return map2(dy, saved, dx, n, [](float v, float g) { return v > 0.f ? g : 0.f; });
    case Act::silu:
      return map2(dy, saved, dx, n, [](float v, float g) {
        const float s = sigmoidf(v);
        return g * s * (1.f + v * (1.f - s));
      });
    case Act::sigmoid: return map2(dy, saved, dx, n, [](float v, float g) { return g * v * (1.f - v); });
  }
}

template void activation_forward<float>(Act, const float*, float*, std::int64_t);
template void activation_forward<std::uint16_t>(Act, const std::uint16_t*, std::uint16_t*, std::int64_t);
template void activation_backward<float>(Act, const float*, const float*, float*, std::int64_t);
template void activation_backward<std::uint16_t>(Act, const std::uint16_t*, const std::uint16_t*, std::uint16_t*,
                                                 std::int64_t);

}  // namespace cmt::cpu
