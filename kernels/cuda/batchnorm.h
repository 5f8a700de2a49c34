// CUDA launchers of batch normalisation on a (M, C) view of N,D,H,W,C data; same contract as kernels/cpu/batchnorm.h
// (T: float, or std::uint16_t for bf16 data; parameters and statistics f32).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"

namespace cmt::cuda {

// Scratch for the per-chunk partial sums of the column reductions.
std::size_t batchnorm_workspace_bytes(std::int64_t m, std::int64_t c);
template <typename T>
void batchnorm_train_stats(const T* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd, void* workspace,
                           cudaStream_t stream);
template <typename T>
void batchnorm_apply(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, T* y, cudaStream_t stream);
template <typename T>
void batchnorm_eval(const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, T* y,
                    cudaStream_t stream);
template <typename T>
void batchnorm_backward(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, T* dx, float* dgamma, float* dbeta,
                        void* workspace, cudaStream_t stream);

}  // namespace cmt::cuda
