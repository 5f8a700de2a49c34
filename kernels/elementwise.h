// Elementwise and row ops: add, scale, channel scale, L2-normalise rows.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

// CPU reference.
namespace cmt::cpu {

template <typename T>  // float or std::uint16_t (bf16 bits)
void add(const T* a, const T* b, T* y, std::int64_t n);  // y may alias a
void scale(const float* x, float alpha, float* y, std::int64_t n);
// x (N, S, C) with S = D*H*W, s (N, C).
void channel_scale(const float* x, const float* s, float* y, std::int64_t n, std::int64_t sp, std::int64_t c);
void channel_scale_backward(const float* dy, const float* x, const float* s, float* dx, float* ds, std::int64_t n,
                            std::int64_t sp, std::int64_t c);
// Rows of x (n, k): y = x / max(||x||, eps); backward uses the same norm.
void l2_normalize_rows(const float* x, float* y, std::int64_t n, std::int64_t k, float eps);
void l2_normalize_rows_backward(const float* dy, const float* x, float* dx, std::int64_t n, std::int64_t k, float eps);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers.
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
#endif  // CMT_WITH_CUDA
