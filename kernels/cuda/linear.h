// CUDA launchers of the fully connected layer: cuBLASLt with fused bias forward, cuBLAS GEMMs backward.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"

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
