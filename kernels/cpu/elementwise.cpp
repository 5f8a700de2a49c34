// CPU reference of the elementwise and row ops.
#include "kernels/elementwise.h"

#include <array>
#include <cmath>
#include <vector>

#include "kernels/common/elem.h"
#include "kernels/cpu/channel_sums.h"

namespace cmt::cpu {

template <typename T>
void add(const T* a, const T* b, T* y, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) elem::store(y[i], elem::load(a[i]) + elem::load(b[i]));
}
template void add<float>(const float*, const float*, float*, std::int64_t);
template void add<std::uint16_t>(const std::uint16_t*, const std::uint16_t*, std::uint16_t*, std::int64_t);

void scale(const float* x, float alpha, float* y, std::int64_t n) {
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

CMT_CPU_CLONES void channel_scale(const float* x, const float* s, float* y, std::int64_t n, std::int64_t sp, std::int64_t c) {
#pragma omp parallel for schedule(static) if (n * sp * c > (1 << 16))
  for (std::int64_t r = 0; r < n * sp; ++r) {
    const float* sn = s + (r / sp) * c;
    for (std::int64_t j = 0; j < c; ++j) y[r * c + j] = x[r * c + j] * sn[j];
  }
}

void channel_scale_backward(const float* dy, const float* x, const float* s, float* dx, float* ds, std::int64_t n,
                            std::int64_t sp, std::int64_t c) {
  channel_scale(dy, s, dx, n, sp, c);
  std::vector<double> sums;
  for (std::int64_t b = 0; b < n; ++b) {
    const float* dyb = dy + b * sp * c;
    const float* xb = x + b * sp * c;
    channel_sums<1>(sp, c, sums, [&](std::int64_t q, std::int64_t j) {
      return std::array<double, 1>{static_cast<double>(dyb[q * c + j]) * xb[q * c + j]};
    });
    for (std::int64_t j = 0; j < c; ++j) ds[b * c + j] = static_cast<float>(sums[static_cast<std::size_t>(j)]);
  }
}

namespace {
float row_norm(const float* x, std::int64_t k) {
  double acc = 0;
  for (std::int64_t j = 0; j < k; ++j) acc += static_cast<double>(x[j]) * x[j];
  return static_cast<float>(std::sqrt(acc));
}
}  // namespace

void l2_normalize_rows(const float* x, float* y, std::int64_t n, std::int64_t k, float eps) {
#pragma omp parallel for schedule(static) if (n * k > (1 << 16))
  for (std::int64_t r = 0; r < n; ++r) {
    const float inv = 1.0f / std::fmax(row_norm(x + r * k, k), eps);
    for (std::int64_t j = 0; j < k; ++j) y[r * k + j] = x[r * k + j] * inv;
  }
}

// With d = max(||x||, eps) and y = x/d: dx = dy/d - (x/d^2)(y . dy)/||x|| when ||x|| > eps, else dy/eps.
void l2_normalize_rows_backward(const float* dy, const float* x, float* dx, std::int64_t n, std::int64_t k, float eps) {
#pragma omp parallel for schedule(static) if (n * k > (1 << 16))
  for (std::int64_t r = 0; r < n; ++r) {
    const float* xr = x + r * k;
    const float* gr = dy + r * k;
    const float norm = row_norm(xr, k);
    if (norm > eps) {
      double dot = 0;
      for (std::int64_t j = 0; j < k; ++j) dot += static_cast<double>(xr[j]) * gr[j];
      const float inv = 1.0f / norm;
      const float coef = static_cast<float>(dot) * inv * inv * inv;
      for (std::int64_t j = 0; j < k; ++j) dx[r * k + j] = gr[j] * inv - xr[j] * coef;
    } else {
      for (std::int64_t j = 0; j < k; ++j) dx[r * k + j] = gr[j] / eps;
    }
  }
}

}  // namespace cmt::cpu
