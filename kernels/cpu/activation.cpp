// CPU reference of the pointwise activations; the formulas are those of kernels/cuda/activation.cu.
#include "kernels/activation.h"

#include <cstdint>

#include "kernels/common/elem.h"
#include "kernels/cpu/activation_math.h"
#include "kernels/cpu/clones.h"

namespace cmt::cpu {

// One loop per activation (the switch outside; lambdas, not function pointers, so that the formula is
// inlined), so that each compiles to a vector loop; x and y may
// be the same buffer (in place), element i is read before it is written.
template <typename T, typename F>
CMT_CPU_CLONES void map(const T* x, T* y, std::int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) elem::store(y[i], f(elem::load(x[i])));
}

template <typename T, typename F>
CMT_CPU_CLONES void map2(const T* dy, const T* saved, T* dx, std::int64_t n, F f) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) elem::store(dx[i], f(elem::load(saved[i]), elem::load(dy[i])));
}

template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n) {
  switch (act) {
    case Act::relu: return map(x, y, n, [](float v) { return act_math::relu(v); });
    case Act::silu: return map(x, y, n, [](float v) { return act_math::silu(v); });
    case Act::sigmoid: return map(x, y, n, [](float v) { return act_math::sigmoid(v); });
  }
}

template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n) {
  switch (act) {
    case Act::relu: return map2(dy, saved, dx, n, [](float v, float g) { return act_math::relu_backward(v, g); });
    case Act::silu: return map2(dy, saved, dx, n, [](float v, float g) { return act_math::silu_backward(v, g); });
    case Act::sigmoid: return map2(dy, saved, dx, n, [](float v, float g) { return act_math::sigmoid_backward(v, g); });
  }
}

template void activation_forward<float>(Act, const float*, float*, std::int64_t);
template void activation_forward<std::uint16_t>(Act, const std::uint16_t*, std::uint16_t*, std::int64_t);
template void activation_backward<float>(Act, const float*, const float*, float*, std::int64_t);
template void activation_backward<std::uint16_t>(Act, const std::uint16_t*, const std::uint16_t*, std::uint16_t*,
                                                 std::int64_t);

}  // namespace cmt::cpu
