// CPU batch normalisation: per-channel sums accumulated in double over the M rows (f32 or bf16 data),
// rows split over the OpenMP team with the partial sums added in thread order.
#include "kernels/batchnorm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "kernels/common/elem.h"
#include "kernels/cpu/channel_sums.h"
#include "kernels/cpu/clones.h"

namespace cmt::cpu {

namespace {

// One pass in double, shifted by the first row (k_j = x[0, j]) so that the sums stay small next to
// the spread: S1 = sum (x - k), S2 = sum (x - k)^2, then s[j] = k + S1 / m (the mean) and
// q[j] = S2 - S1^2 / m (M2, the sum of squared deviations). One read of x instead of two.
template <typename T>
void moments(const T* x, std::int64_t m, std::int64_t c, std::vector<double>& s, std::vector<double>& q) {
  std::vector<double> shift(static_cast<std::size_t>(c)), sums;
  for (std::int64_t j = 0; j < c; ++j) shift[static_cast<std::size_t>(j)] = elem::load(x[j]);
  channel_sums<2>(m, c, sums, [&](std::int64_t r, std::int64_t j) {
    const double d = elem::load(x[r * c + j]) - shift[static_cast<std::size_t>(j)];
    return std::array<double, 2>{d, d * d};
  });
  s.resize(static_cast<std::size_t>(c));
  q.resize(static_cast<std::size_t>(c));
  for (std::size_t j = 0; j < static_cast<std::size_t>(c); ++j) {
    const double s1 = sums[j], s2 = sums[static_cast<std::size_t>(c) + j];
    s[j] = shift[j] + s1 / static_cast<double>(m);
    q[j] = std::max(0.0, s2 - s1 * s1 / static_cast<double>(m));
  }
}

}  // namespace

template <typename T>
void batchnorm_train_stats(const T* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd) {
  std::vector<double> s, q;
  moments(x, m, c, s, q);
  for (std::int64_t j = 0; j < c; ++j) {
    const double var = q[j] / static_cast<double>(m);
    mean[j] = static_cast<float>(s[j]);
    invstd[j] = static_cast<float>(1.0 / std::sqrt(var + eps));
    running_mean[j] = static_cast<float>((1.0 - momentum) * running_mean[j] + momentum * s[j]);
    running_var[j] = static_cast<float>((1.0 - momentum) * running_var[j] +
                                        momentum * q[j] / static_cast<double>(m - 1));
  }
}

template <typename T>
CMT_CPU_CLONES void batchnorm_apply(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, T* y) {
#pragma omp parallel for schedule(static) if (m * c > (1 << 16))
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j)
      elem::store(y[r * c + j], (elem::load(x[r * c + j]) - mean[j]) * invstd[j] * gamma[j] + beta[j]);
}

template <typename T>
void batchnorm_eval(const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, T* y) {
  std::vector<float> invstd(static_cast<std::size_t>(c));
  for (std::int64_t j = 0; j < c; ++j) invstd[j] = 1.0f / std::sqrt(running_var[j] + eps);
  batchnorm_apply(x, m, c, running_mean, invstd.data(), gamma, beta, y);
}

template <typename T>
CMT_CPU_CLONES void batchnorm_backward(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, T* dx, float* dgamma, float* dbeta) {
  std::vector<double> sums;  // per channel: sum dy, sum dy * xhat
  channel_sums<2>(m, c, sums, [&](std::int64_t r, std::int64_t j) {
    const double g = elem::load(dy[r * c + j]);
    return std::array<double, 2>{g, g * ((elem::load(x[r * c + j]) - mean[j]) * invstd[j])};
  });
  for (std::int64_t j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sums[static_cast<std::size_t>(j)]);
    dgamma[j] = static_cast<float>(sums[static_cast<std::size_t>(c + j)]);
  }
  const float inv_m = 1.0f / static_cast<float>(m);
#pragma omp parallel for schedule(static) if (m * c > (1 << 16))
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j) {
      const float xhat = (elem::load(x[r * c + j]) - mean[j]) * invstd[j];
      const float g = elem::load(dy[r * c + j]);
      elem::store(dx[r * c + j], gamma[j] * invstd[j] * (g - (dbeta[j] + xhat * dgamma[j]) * inv_m));
    }
}

template <typename T>
void batchnorm_moments(const T* x, std::int64_t m, std::int64_t c, float* row) {
  std::vector<double> s, q;
  moments(x, m, c, s, q);
  const std::int64_t lo = m % (std::int64_t{1} << 24);  // f32 holds both parts exactly
  row[0] = static_cast<float>(m - lo);
  row[1] = static_cast<float>(lo);
  for (std::int64_t j = 0; j < c; ++j) {
    row[2 + j] = static_cast<float>(s[j]);
    row[2 + c + j] = static_cast<float>(q[j]);
  }
}

void batchnorm_merge_moments(const float* rows, std::int64_t ranks, std::int64_t c, float momentum, float eps,
                             float* running_mean, float* running_var, float* mean, float* var, float* invstd,
                             float* count) {
  double total = 0;
  for (std::int64_t j = 0; j < c; ++j)
    batchnorm_merge_channel(rows, ranks, c, j, momentum, eps, running_mean, running_var, mean, var, invstd, &total);
  count[0] = static_cast<float>(total);
}

void batchnorm_sync_coefficients(const float* dgamma, const float* dbeta, const float* sums_all, std::int64_t c,
                                 std::int64_t m_local, const float* count, const float* gamma, const float* invstd,
                                 float* a, float* b) {
  const double inv_l = 1.0 / static_cast<double>(m_local), inv_g = 1.0 / static_cast<double>(count[0]);
  for (std::int64_t j = 0; j < c; ++j) {
    const double scale = static_cast<double>(gamma[j]) * invstd[j];
    a[j] = static_cast<float>(scale * (dgamma[j] * inv_l - sums_all[j] * inv_g));
    b[j] = static_cast<float>(scale * (dbeta[j] * inv_l - sums_all[c + j] * inv_g));
  }
}

#define CMT_BN_INSTANTIATE(T)                                                                               \
  template void batchnorm_train_stats<T>(const T*, std::int64_t, std::int64_t, float, float, float*, float*, float*, \
                                         float*);                                                                     \
  template void batchnorm_apply<T>(const T*, std::int64_t, std::int64_t, const float*, const float*, const float*,   \
                                   const float*, T*);                                                                 \
  template void batchnorm_eval<T>(const T*, std::int64_t, std::int64_t, const float*, const float*, float,           \
                                  const float*, const float*, T*);                                                    \
  template void batchnorm_backward<T>(const T*, const T*, std::int64_t, std::int64_t, const float*, const float*,    \
                                      const float*, T*, float*, float*);                                             \
  template void batchnorm_moments<T>(const T*, std::int64_t, std::int64_t, float*);
CMT_BN_INSTANTIATE(float)
CMT_BN_INSTANTIATE(std::uint16_t)
#undef CMT_BN_INSTANTIATE

}  // namespace cmt::cpu
