// CUDA launchers of the fully connected layer: cuBLASLt with fused bias forward, cuBLAS GEMMs backward.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"

namespace cmt::cuda {

// tf32: allow tf32 tensor-core math (else exact fp32). workspace: at least linear_workspace_bytes().
std::size_t linear_workspace_bytes(std::int64_t n, std::int64_t out);
void linear_forward(cublasLtHandle_t lt, const float* x, const float* w, const float* bias, float* y, std::int64_t n,
                    std::int64_t in, std::int64_t out, bool tf32, void* workspace, std::size_t workspace_bytes,
                    cudaStream_t stream);
void linear_backward(cublasHandle_t handle, const float* dy, const float* x, const float* w, float* dx, float* dw,
                     float* db, std::int64_t n, std::int64_t in, std::int64_t out, bool tf32, void* workspace,
                     cudaStream_t stream);

}  // namespace cmt::cuda
