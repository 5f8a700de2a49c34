// The fully connected layer (torch's w layout).
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

// CPU reference. Through kernels/cpu/gemm.h (oneDNN or OpenBLAS sgemm, row-major).
namespace cmt::cpu {

// x (n, in), w (out, in), bias [out] or null -> y (n, out).
void linear_forward(const float* x, const float* w, const float* bias, float* y, std::int64_t n, std::int64_t in,
                    std::int64_t out);
// dx (n, in) = dy w; dw (out, in) = dy^T x; db [out] = column sums of dy (skipped when null).
void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, std::int64_t n,
                     std::int64_t in, std::int64_t out);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. cuBLASLt with fused bias forward, cuBLAS GEMMs backward.
namespace cmt::cuda {

// Every operand f32, or (bf16 true) every operand bf16: bf16 tensor-core GEMMs with fp32 accumulation,
// each result rounded to bf16 once. tf32: allow tf32 tensor-core math for f32 (else exact fp32).
// workspace: at least linear_workspace_bytes().
std::size_t linear_workspace_bytes(std::int64_t n, std::int64_t out);
void linear_forward(cublasLtHandle_t lt, bool bf16, const void* x, const void* w, const void* bias, void* y, std::int64_t n,
                    std::int64_t in, std::int64_t out, bool tf32, void* workspace, std::size_t workspace_bytes,
                    cudaStream_t stream);
void linear_backward(cublasHandle_t handle, bool bf16, const void* dy, const void* x, const void* w, void* dx, void* dw,
                     void* db, std::int64_t n, std::int64_t in, std::int64_t out, bool tf32, void* workspace,
                     cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
