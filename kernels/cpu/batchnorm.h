// CPU reference of batch normalisation on a (M, C) view of N,D,H,W,C data (M = N*D*H*W).
#pragma once
#include <cstdint>

namespace cmt::cpu {

// Two-pass batch statistics in double: mean[C] and invstd[C] = 1/sqrt(biased var + eps); updates the running
// stats in place with the unbiased variance (m > 1).
void batchnorm_train_stats(const float* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd);
// y = (x - mean) * invstd * gamma + beta, per channel.
void batchnorm_apply(const float* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, float* y);
// Eval: the same with mean = running_mean and invstd = 1/sqrt(running_var + eps).
void batchnorm_eval(const float* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, float* y);
// dbeta = sum dy; dgamma = sum dy*xhat; dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma).
void batchnorm_backward(const float* dy, const float* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, float* dx, float* dgamma, float* dbeta);

}  // namespace cmt::cpu
