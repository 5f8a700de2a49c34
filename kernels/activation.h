// Pointwise activations (ReLU, SiLU, sigmoid) and their backward passes.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstdint>

// CPU reference.
namespace cmt::cpu {

enum class Act { relu, silu, sigmoid };

// T: float (f32) or std::uint16_t (bf16 bits, computed in float and rounded once).
template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n);
// `saved` is y for relu and sigmoid, x for silu (what each backward needs).
template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers.
namespace cmt::cuda {

using cpu::Act;
// T: float or std::uint16_t (bf16 bits), as on the CPU.
template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n, cudaStream_t stream);
template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
