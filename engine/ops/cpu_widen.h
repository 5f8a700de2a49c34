// The CPU backend's bf16 rule, shared by the op families: widen bf16 inputs to f32, run the f32
// reference kernel, round the result to bf16 once (the numerics of the CUDA bf16 kernels: bf16
// storage, float arithmetic).
#pragma once
#include <utility>

#include "engine/tensor.h"
#include "kernels/basic.h"

namespace cmt::ops::detail {

// An f32 copy of a bf16 CPU tensor; f32 and undefined tensors are returned as they are.
inline Tensor widen(const Tensor& t) {
  if (!t.defined() || t.dtype() == DType::f32) return t;
  Tensor f = Tensor::empty(t.shape(), DType::f32);
  cpu::cast(t.raw(), t.dtype(), f.raw(), DType::f32, t.numel());
  return f;
}

// Runs fn(float* f32 output) and stores its result in out, rounding once when out is bf16.
template <typename Fn>
void cpu_into(Tensor& out, Fn&& fn) {
  if (out.dtype() == DType::f32) return std::forward<Fn>(fn)(out.data<float>());
  Tensor f = Tensor::empty(out.shape(), DType::f32);
  std::forward<Fn>(fn)(f.data<float>());
  cpu::cast(f.raw(), DType::f32, out.raw(), out.dtype(), out.numel());
}

}  // namespace cmt::ops::detail
