// CPU batch normalisation: per-channel sums accumulated in double over the M rows (f32 or bf16 data),
// rows split over the OpenMP team with the partial sums added in thread order.
#include "kernels/batchnorm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "kernels/common/elem.h"
#include "kernels/cpu/activation_math.h"
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
  channel_sums<2>(m, c, sums, [&](std::int64_t r, std::int64_t j) CMT_ACT_INLINE_LAMBDA {
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

namespace {

// The normalised value before rounding: one expression for every loop, so that the loops applying an
// activation in the same pass give the bits of batchnorm_apply followed by the activation op.
inline float normalised(float x, float mean, float invstd, float gamma, float beta) { return (x - mean) * invstd * gamma + beta; }

// v rounded to T and read back: what the separate ops see after batch norm stores its output as T.
template <typename T>
inline float rounded(float v) {
  T t;
  elem::store(t, v);
  return elem::load(t);
}

std::vector<float> eval_invstd(const float* running_var, std::int64_t c, float eps) {
  std::vector<float> invstd(static_cast<std::size_t>(c));
  for (std::int64_t j = 0; j < c; ++j) invstd[static_cast<std::size_t>(j)] = 1.0f / std::sqrt(running_var[j] + eps);
  return invstd;
}

// y = f(batch norm of x), the normalised value rounded to T first. f(v) = v: batch norm alone.
template <typename T, typename F>
CMT_CPU_CLONES void apply_then(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                               const float* gamma, const float* beta, T* y, F f) {
#pragma omp parallel for schedule(static) if (m * c > (1 << 16))
  for (std::int64_t r = 0; r < m; ++r)
#pragma GCC ivdep  // y is never a parameter array: without this, the alias checks stop the loop vectorising
    for (std::int64_t j = 0; j < c; ++j)
      elem::store(y[r * c + j], f(rounded<T>(normalised(elem::load(x[r * c + j]), mean[j], invstd[j], gamma[j], beta[j]))));
}

template <typename Run>
void with_activation(Act act, Run run) {
  switch (act) {
    case Act::relu: return run([](float v) CMT_ACT_INLINE_LAMBDA { return act_math::relu(v); });
    case Act::silu: return run([](float v) CMT_ACT_INLINE_LAMBDA { return act_math::silu(v); });
    case Act::sigmoid: return run([](float v) CMT_ACT_INLINE_LAMBDA { return act_math::sigmoid(v); });
  }
}

// dx from the sums (dbeta = sum g, dgamma = sum g * xhat), g = grad(i, j, x[i]) the gradient of
// batch norm's output at element i (channel j); dx may be the buffer grad reads.
template <typename T, typename Grad>
CMT_CPU_CLONES void input_gradient(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd, const float* gamma,
                                   const float* dgamma, const float* dbeta, T* dx, Grad grad) {
  const float inv_m = 1.0f / static_cast<float>(m);
#pragma omp parallel for schedule(static) if (m * c > (1 << 16))
  for (std::int64_t r = 0; r < m; ++r)
#pragma GCC ivdep  // dx is never a parameter array (and element i is read before it is written)
    for (std::int64_t j = 0; j < c; ++j) {
      const float xv = elem::load(x[r * c + j]);
      const float xhat = (xv - mean[j]) * invstd[j];
      elem::store(dx[r * c + j], gamma[j] * invstd[j] * (grad(r * c + j, j, xv) - (dbeta[j] + xhat * dgamma[j]) * inv_m));
    }
}

void store_sums(const std::vector<double>& sums, std::int64_t c, float* dgamma, float* dbeta) {
  for (std::int64_t j = 0; j < c; ++j) {
    dbeta[j] = static_cast<float>(sums[static_cast<std::size_t>(j)]);
    dgamma[j] = static_cast<float>(sums[static_cast<std::size_t>(c + j)]);
  }
}

// The backward of activation(batch norm): z = batch norm of x again (the forward's bits), dz = the
// activation's gradient at z, rounded to T as the activation op stores it; then batch norm's backward
// from dz. dz is formed twice, in the sums and in the dx pass, rather than stored in between: both
// loops stay pure (vectorised), and memory is read five times per element instead of eight.
template <typename T, typename Backward>
CMT_CPU_CLONES void backward_through(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                                     const float* invstd, const float* gamma, const float* beta, T* dx, float* dgamma,
                                     float* dbeta, Backward back) {
  const auto dz = [&](std::int64_t i, std::int64_t j, float xv) CMT_ACT_INLINE_LAMBDA -> float {
    return rounded<T>(back(rounded<T>(normalised(xv, mean[j], invstd[j], gamma[j], beta[j])), elem::load(dy[i])));
  };
  std::vector<double> sums;
  channel_sums<2>(m, c, sums, [&](std::int64_t r, std::int64_t j) CMT_ACT_INLINE_LAMBDA {
    const float xv = elem::load(x[r * c + j]);
    const double g = dz(r * c + j, j, xv);
    return std::array<double, 2>{g, g * ((xv - mean[j]) * invstd[j])};
  });
  store_sums(sums, c, dgamma, dbeta);
  input_gradient(x, m, c, mean, invstd, gamma, dgamma, dbeta, dx, dz);
}

}  // namespace

template <typename T>
void batchnorm_apply(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd, const float* gamma,
                     const float* beta, T* y) {
  apply_then(x, m, c, mean, invstd, gamma, beta, y, [](float v) CMT_ACT_INLINE_LAMBDA { return v; });
}

template <typename T>
void batchnorm_apply_act(Act act, const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                         const float* gamma, const float* beta, T* y) {
  with_activation(act, [&](auto f) { apply_then(x, m, c, mean, invstd, gamma, beta, y, f); });
}

template <typename T>
void batchnorm_eval(const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, T* y) {
  batchnorm_apply(x, m, c, running_mean, eval_invstd(running_var, c, eps).data(), gamma, beta, y);
}

template <typename T>
void batchnorm_eval_act(Act act, const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                        const float* running_var, float eps, const float* gamma, const float* beta, T* y) {
  batchnorm_apply_act(act, x, m, c, running_mean, eval_invstd(running_var, c, eps).data(), gamma, beta, y);
}

template <typename T>
CMT_CPU_CLONES void batchnorm_backward(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, T* dx, float* dgamma, float* dbeta) {
  std::vector<double> sums;  // per channel: sum dy, sum dy * xhat
  channel_sums<2>(m, c, sums, [&](std::int64_t r, std::int64_t j) CMT_ACT_INLINE_LAMBDA {
    const double g = elem::load(dy[r * c + j]);
    return std::array<double, 2>{g, g * ((elem::load(x[r * c + j]) - mean[j]) * invstd[j])};
  });
  store_sums(sums, c, dgamma, dbeta);
  input_gradient(x, m, c, mean, invstd, gamma, dgamma, dbeta, dx,
                 [&](std::int64_t i, std::int64_t, float) CMT_ACT_INLINE_LAMBDA { return elem::load(dy[i]); });
}

template <typename T>
void batchnorm_backward_act(Act act, const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                            const float* invstd, const float* gamma, const float* beta, T* dx, float* dgamma, float* dbeta) {
  const auto through = [&](auto back) { backward_through(dy, x, m, c, mean, invstd, gamma, beta, dx, dgamma, dbeta, back); };
  switch (act) {
    case Act::relu: return through([](float z, float g) CMT_ACT_INLINE_LAMBDA { return act_math::relu_backward(z, g); });
    case Act::silu: return through([](float z, float g) CMT_ACT_INLINE_LAMBDA { return act_math::silu_backward(z, g); });
    case Act::sigmoid:  // sigmoid's backward reads its output
      return through([](float z, float g) CMT_ACT_INLINE_LAMBDA {
        return act_math::sigmoid_backward(rounded<T>(act_math::sigmoid(z)), g);
      });
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
  template void batchnorm_apply_act<T>(Act, const T*, std::int64_t, std::int64_t, const float*, const float*,        \
                                       const float*, const float*, T*);                                              \
  template void batchnorm_eval_act<T>(Act, const T*, std::int64_t, std::int64_t, const float*, const float*, float, \
                                      const float*, const float*, T*);                                               \
  template void batchnorm_backward_act<T>(Act, const T*, const T*, std::int64_t, std::int64_t, const float*,         \
                                          const float*, const float*, const float*, T*, float*, float*);             \
  template void batchnorm_moments<T>(const T*, std::int64_t, std::int64_t, float*);
CMT_BN_INSTANTIATE(float)
CMT_BN_INSTANTIATE(std::uint16_t)
#undef CMT_BN_INSTANTIATE

}  // namespace cmt::cpu
