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

// Synchronised batch norm: the moments row, its merge over ranks and the backward coefficients (contract and
// layout in kernels/cpu/batchnorm.h). The moments use batchnorm_workspace_bytes(m, c) of workspace.
template <typename T>
void batchnorm_moments(const T* x, std::int64_t m, std::int64_t c, float* row, void* workspace, cudaStream_t stream);
void batchnorm_merge_moments(const float* rows, std::int64_t ranks, std::int64_t c, float momentum, float eps,
                             float* running_mean, float* running_var, float* mean, float* var, float* invstd,
                             float* count, cudaStream_t stream);
void batchnorm_sync_coefficients(const float* dgamma, const float* dbeta, const float* sums_all, std::int64_t c,
                                 std::int64_t m_local, const float* count, const float* gamma, const float* invstd,
                                 float* a, float* b, cudaStream_t stream);

}  // namespace cmt::cuda
