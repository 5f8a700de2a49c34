// CPU reference of the pointwise activations; the formulas are those of kernels/cuda/activation.cu.
#include "kernels/activation.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/common/elem.h"
#include "kernels/cpu/clones.h"

namespace cmt::cpu {

namespace {

// exp written so that the activation loops vectorise (std::exp is a scalar libm call, and SiLU's two
// exps per element were the largest cost of an EfficientNet step): exp(x) = 2^n e^r with
// n = round(x / ln 2) and r = x - n ln 2 (ln 2 in two parts), e^r by its Taylor polynomial of degree
// 7 (|r| <= 0.347: error below 1e-8 before the final rounding), 2^n built in the exponent bits. Past
// the float range it returns inf or 0 like std::exp; NaN stays NaN.
inline float exp_vectorisable(float x) {
  // Written with selects and no branch, so that the loops calling it vectorise.
  float c = x < -104.f ? -104.f : x;
  c = c > 88.72f ? 88.72f : c;  // NaN fails both comparisons and stays NaN
  const float t = c * 1.44269504f;
  const float n = (t + 12582912.f) - 12582912.f;  // round to nearest (|t| < 2^22)
  const float r = (c - n * 0.693359375f) + n * 2.12194440e-4f;  // ln 2 = 0.693359375 - 2.12194440e-4
  const float p =
      1.f + r * (1.f + r * (0.5f + r * (1.f / 6 + r * (1.f / 24 + r * (1.f / 120 + r * (1.f / 720 + r * (1.f / 5040)))))));
  // 2^n as two normal powers of two, so that results down to the subnormals come out right.
  const std::int32_t k = static_cast<std::int32_t>(n == n ? n : 0.f), half = k >> 1;
  float v = p * std::bit_cast<float>((half + 127) << 23) * std::bit_cast<float>((k - half + 127) << 23);
  v = x > 88.72f ? std::numeric_limits<float>::infinity() : v;
  return x < -104.f ? 0.f : v;
}

inline float sigmoidf(float x) { return 1.0f / (1.0f + exp_vectorisable(-x)); }

}  // namespace

// One loop per activation (the switch outside), so that each compiles to a vector loop; x and y may
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
