// CPU reference of the preprocessing family; the arithmetic matches kernels/cuda/resample.cu.
#include "kernels/resample.h"

#include <algorithm>
#include <vector>

#include "kernels/common/resample.h"

namespace cmt::cpu {

void resample_axis_f32(const float* src, float* dst, std::int64_t outer, int in_len, int out_len, std::int64_t inner,
                       bool antialias) {
  std::vector<rs::Taps> taps(static_cast<std::size_t>(out_len));
  for (int i = 0; i < out_len; ++i) taps[static_cast<std::size_t>(i)] = rs::make_taps(i, in_len, out_len, antialias);
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t o = 0; o < outer; ++o) {
    for (int i = 0; i < out_len; ++i) {
      const rs::Taps& t = taps[static_cast<std::size_t>(i)];
      const float* in = src + (o * in_len + t.first) * inner;
      float* out = dst + (o * out_len + i) * inner;
      for (std::int64_t r = 0; r < inner; ++r) {
        float acc = 0.f;
        for (int k = 0; k < t.count; ++k) acc += rs::tap_weight(t, k) * in[k * inner + r];
        out[r] = acc / t.total;
      }
    }
  }
}

void window_f32(const float* src, float* dst, std::int64_t n, float lo, float hi) {
  const float inv = 1.f / (hi - lo);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) dst[i] = rs::window01(src[i], lo, inv);
}

void minmax_f32(const float* src, float* dst, std::int64_t samples, std::int64_t per_sample) {
  for (std::int64_t s = 0; s < samples; ++s) {
    const float* x = src + s * per_sample;
    float* y = dst + s * per_sample;
    const auto [mn, mx] = std::minmax_element(x, x + per_sample);
    const float lo = per_sample ? *mn : 0.f, range = per_sample ? *mx - *mn : 0.f;
    const float inv = range > 0.f ? 1.f / range : 0.f;
    for (std::int64_t i = 0; i < per_sample; ++i) y[i] = (x[i] - lo) * inv;
  }
}

}  // namespace cmt::cpu
