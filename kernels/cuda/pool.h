// CUDA launchers of pooling; same contract as kernels/cpu/pool.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/pool_desc.h"
#include "kernels/common/stream.h"

namespace cmt::cuda {

void maxpool_forward(const PoolDesc& d, const float* x, float* y, std::int32_t* argmax, cudaStream_t stream);
void maxpool_backward(const PoolDesc& d, const float* dy, const std::int32_t* argmax, float* dx, cudaStream_t stream);
void avgpool_forward(const PoolDesc& d, const float* x, float* y, cudaStream_t stream);
void avgpool_backward(const PoolDesc& d, const float* dy, float* dx, cudaStream_t stream);
void adaptive_avgpool_forward(const PoolDesc& d, const float* x, float* y, cudaStream_t stream);
void adaptive_avgpool_backward(const PoolDesc& d, const float* dy, float* dx, cudaStream_t stream);
// x (n, sp, c) -> y (n, c) mean over sp; backward spreads dy/sp.
std::size_t global_avgpool_workspace_bytes(std::int64_t n, std::int64_t sp, std::int64_t c);
void global_avgpool_forward(const float* x, float* y, std::int64_t n, std::int64_t sp, std::int64_t c, void* workspace,
                            cudaStream_t stream);
void global_avgpool_backward(const float* dy, float* dx, std::int64_t n, std::int64_t sp, std::int64_t c,
                             cudaStream_t stream);

}  // namespace cmt::cuda
