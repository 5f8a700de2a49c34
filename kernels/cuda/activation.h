// CUDA launchers of the pointwise activations; same contract as kernels/cpu/activation.h.
#pragma once
#include <cstdint>

#include "kernels/common/stream.h"
#include "kernels/cpu/activation.h"

namespace cmt::cuda {

using cpu::Act;
void activation_forward(Act act, const float* x, float* y, std::int64_t n, cudaStream_t stream);
void activation_backward(Act act, const float* dy, const float* saved, float* dx, std::int64_t n, cudaStream_t stream);

}  // namespace cmt::cuda
