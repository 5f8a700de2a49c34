// The basic op family: fill, cast, axpy, sum, random fills.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/philox.h"

// CPU reference.
namespace cmt::cpu {

void fill(void* dst, DType dtype, std::int64_t n, double value);
void cast(const void* src, DType src_dtype, void* dst, DType dst_dtype, std::int64_t n);
// y += alpha * x; x float or std::uint16_t (bf16 bits, widened): bf16 gradients summed into f32 slots.
template <typename T>
void axpy(float alpha, const T* x, float* y, std::int64_t n);
void add_scalar_f32(float* y, std::int64_t n, float value);             // y += value
double sum_f32(const float* x, std::int64_t n);                        // accumulated in double
void uniform_f32(float* dst, std::int64_t n, rng::Stream stream, float lo, float hi);
void normal_f32(float* dst, std::int64_t n, rng::Stream stream, float mean, float stddev);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers.
namespace cmt::cuda {

void fill(void* dst, DType dtype, std::int64_t n, double value, cudaStream_t stream);
void cast(const void* src, DType src_dtype, void* dst, DType dst_dtype, std::int64_t n, cudaStream_t stream);
template <typename T>  // float or std::uint16_t (bf16 bits); y is always f32
void axpy(float alpha, const T* x, float* y, std::int64_t n, cudaStream_t stream);
void add_scalar_f32(float* y, std::int64_t n, float value, cudaStream_t stream);

// Deterministic two-pass sum; `out` is one float on the device. Needs sum_workspace_bytes(n) of scratch.
std::size_t sum_workspace_bytes(std::int64_t n);
void sum_f32(const float* x, std::int64_t n, float* out, void* workspace, cudaStream_t stream);

void uniform_f32(float* dst, std::int64_t n, rng::Stream rs, float lo, float hi, cudaStream_t stream);
void normal_f32(float* dst, std::int64_t n, rng::Stream rs, float mean, float stddev, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
