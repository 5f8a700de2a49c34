// The activations' scalar formulas on the CPU (those of kernels/cuda/activation.cu), shared by the
// activation loops and the batch-norm loops that apply an activation in the same pass, so that both
// give the same bits. Inline and branch-free, so that the loops calling them vectorise.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

// Forced inline (also for the lambdas that the loops take): called per element from vector loops, a
// call would stop them vectorising.
#if defined(__GNUC__)
#define CMT_ACT_INLINE inline __attribute__((always_inline))
#define CMT_ACT_INLINE_LAMBDA __attribute__((always_inline))
#else
#define CMT_ACT_INLINE inline
#define CMT_ACT_INLINE_LAMBDA
#endif

namespace cmt::cpu::act_math {

// exp written so that the activation loops vectorise (std::exp is a scalar libm call, and SiLU's two
// exps per element were the largest cost of an EfficientNet step): exp(x) = 2^n e^r with
// n = round(x / ln 2) and r = x - n ln 2 (ln 2 in two parts), e^r by its Taylor polynomial of degree
// 7 (|r| <= 0.347: error below 1e-8 before the final rounding), 2^n built in the exponent bits. Past
// the float range it returns inf or 0 like std::exp; NaN stays NaN.
CMT_ACT_INLINE float exp_vectorisable(float x) {
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

CMT_ACT_INLINE float sigmoid(float x) { return 1.0f / (1.0f + exp_vectorisable(-x)); }
CMT_ACT_INLINE float relu(float x) { return x > 0.f ? x : 0.f; }
CMT_ACT_INLINE float silu(float x) { return x * sigmoid(x); }

// Backward passes: v is what the activation keeps (relu and sigmoid their output, silu its input;
// relu's test reads the same on its input), g the incoming gradient.
CMT_ACT_INLINE float relu_backward(float v, float g) { return v > 0.f ? g : 0.f; }
CMT_ACT_INLINE float silu_backward(float v, float g) {
  const float s = sigmoid(v);
  return g * s * (1.f + v * (1.f - s));
}
CMT_ACT_INLINE float sigmoid_backward(float v, float g) { return g * v * (1.f - v); }

}  // namespace cmt::cpu::act_math
