// CPU reference of batch normalisation: per-channel sums accumulated in double over the M rows.
#include "kernels/cpu/batchnorm.h"

#include <cmath>
#include <vector>

namespace cmt::cpu {

void batchnorm_train_stats(const float* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd) {
  std::vector<double> s(static_cast<std::size_t>(c), 0.0), q(static_cast<std::size_t>(c), 0.0);
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j) s[j] += x[r * c + j];
  for (std::int64_t j = 0; j < c; ++j) s[j] /= static_cast<double>(m);
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j) {
      const double d = x[r * c + j] - s[j];
      q[j] += d * d;
    }
  for (std::int64_t j = 0; j < c; ++j) {
    const double var = q[j] / static_cast<double>(m);
    mean[j] = static_cast<float>(s[j]);
    invstd[j] = static_cast<float>(1.0 / std::sqrt(var + eps));
    running_mean[j] = static_cast<float>((1.0 - momentum) * running_mean[j] + momentum * s[j]);
    running_var[j] = static_cast<float>((1.0 - momentum) * running_var[j] +
                                        momentum * q[j] / static_cast<double>(m - 1));
  }
}

void batchnorm_apply(const float* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, float* y) {
#pragma omp parallel for schedule(static) if (m * c > (1 << 16))
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j) y[r * c + j] = (x[r * c + j] - mean[j]) * invstd[j] * gamma[j] + beta[j];
}

void batchnorm_eval(const float* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, float* y) {
  std::vector<float> invstd(static_cast<std::size_t>(c));
  for (std::int64_t j = 0; j < c; ++j) invstd[j] = 1.0f / std::sqrt(running_var[j] + eps);
  batchnorm_apply(x, m, c, running_mean, invstd.data(), gamma, beta, y);
}

void batchnorm_backward(const float* dy, const float* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, float* dx, float* dgamma, float* dbeta) {
  std::vector<double> sb(static_cast<std::size_t>(c), 0.0), sg(static_cast<std::size_t>(c), 0.0);
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j) {
      const double g = dy[r * c + j];
      sb[j] += g;
      sg[j] += g * ((x[r * c + j] - mean[j]) * invstd[j]);
    }
  for (std::int64_t j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sb[j]);
    dgamma[j] = static_cast<float>(sg[j]);
  }
  const float inv_m = 1.0f / static_cast<float>(m);
#pragma omp parallel for schedule(static) if (m * c > (1 << 16))
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t j = 0; j < c; ++j) {
      const float xhat = (x[r * c + j] - mean[j]) * invstd[j];
      dx[r * c + j] = gamma[j] * invstd[j] * (dy[r * c + j] - (dbeta[j] + xhat * dgamma[j]) * inv_m);
    }
}

}  // namespace cmt::cpu
