// CPU reference of the pointwise activations (ReLU, SiLU, sigmoid) and their backward passes.
#pragma once
#include <cstdint>

namespace cmt::cpu {

enum class Act { relu, silu, sigmoid };

void activation_forward(Act act, const float* x, float* y, std::int64_t n);
// `saved` is y for relu and sigmoid, x for silu (what each backward needs).
void activation_backward(Act act, const float* dy, const float* saved, float* dx, std::int64_t n);

}  // namespace cmt::cpu
