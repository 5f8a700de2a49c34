// CPU reference of the pointwise activations (ReLU, SiLU, sigmoid) and their backward passes.
#pragma once
#include <cstdint>

namespace cmt::cpu {

enum class Act { relu, silu, sigmoid };

// T: float (f32) or std::uint16_t (bf16 bits, computed in float and rounded once).
template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n);
// `saved` is y for relu and sigmoid, x for silu (what each backward needs).
template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n);

}  // namespace cmt::cpu
