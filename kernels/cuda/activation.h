// CUDA launchers of the pointwise activations; same contract as kernels/cpu/activation.h.
#pragma once
#include <cstdint>

#include "kernels/common/stream.h"
#include "kernels/cpu/activation.h"

namespace cmt::cuda {

using cpu::Act;
// T: float or std::uint16_t (bf16 bits), as on the CPU.
template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n, cudaStream_t stream);
template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n, cudaStream_t stream);

}  // namespace cmt::cuda
