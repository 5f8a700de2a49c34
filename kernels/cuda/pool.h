// CUDA launchers of pooling; same contract as kernels/cpu/pool.h. T = float or std::uint16_t (bf16
// bits): float arithmetic, one rounding per result, as the CPU's widen-compute-round rule.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/pool_desc.h"
#include "kernels/common/stream.h"

namespace cmt::cuda {

template <typename T>
void maxpool_forward(const PoolDesc& d, const T* x, T* y, std::int32_t* argmax, cudaStream_t stream);
// Each input gathers the gradients of the windows that picked it, in output order: deterministic and
// equal to the CPU's scatter (which adds in the same order); no atomics, no scratch.
template <typename T>
void maxpool_backward(const PoolDesc& d, const T* dy, const std::int32_t* argmax, T* dx, cudaStream_t stream);
template <typename T>
void avgpool_forward(const PoolDesc& d, const T* x, T* y, cudaStream_t stream);
template <typename T>
void avgpool_backward(const PoolDesc& d, const T* dy, T* dx, cudaStream_t stream);
template <typename T>
void adaptive_avgpool_forward(const PoolDesc& d, const T* x, T* y, cudaStream_t stream);
template <typename T>
void adaptive_avgpool_backward(const PoolDesc& d, const T* dy, T* dx, cudaStream_t stream);
// x (n, sp, c) -> y (n, c) mean over sp; backward spreads dy/sp.
std::size_t global_avgpool_workspace_bytes(std::int64_t n, std::int64_t sp, std::int64_t c);
template <typename T>
void global_avgpool_forward(const T* x, T* y, std::int64_t n, std::int64_t sp, std::int64_t c, void* workspace,
                            cudaStream_t stream);
template <typename T>
void global_avgpool_backward(const T* dy, T* dx, std::int64_t n, std::int64_t sp, std::int64_t c, cudaStream_t stream);

}  // namespace cmt::cuda
