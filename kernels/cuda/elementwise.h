// CUDA launchers of the elementwise and row ops; same contract as kernels/cpu/elementwise.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"

namespace cmt::cuda {

template <typename T>  // float or std::uint16_t (bf16 bits)
void add(const T* a, const T* b, T* y, std::int64_t n, cudaStream_t stream);
void scale(const float* x, float alpha, float* y, std::int64_t n, cudaStream_t stream);
// Channel scale (squeeze-excitation): T = float or std::uint16_t (bf16 bits; float math, one rounding).
template <typename T>
void channel_scale(const T* x, const T* s, T* y, std::int64_t n, std::int64_t sp, std::int64_t c, cudaStream_t stream);
std::size_t channel_scale_workspace_bytes(std::int64_t n, std::int64_t sp, std::int64_t c);
template <typename T>
void channel_scale_backward(const T* dy, const T* x, const T* s, T* dx, T* ds, std::int64_t n, std::int64_t sp,
                            std::int64_t c, void* workspace, cudaStream_t stream);
void l2_normalize_rows(const float* x, float* y, std::int64_t n, std::int64_t k, float eps, cudaStream_t stream);
void l2_normalize_rows_backward(const float* dy, const float* x, float* dx, std::int64_t n, std::int64_t k, float eps,
                                cudaStream_t stream);

}  // namespace cmt::cuda
