// The precision policy: one object that every layer reads, instead of flags spread through the code.
#pragma once
#include <string>

#include "kernels/common/dtype.h"

namespace cmt {

enum class ComputePrecision {
  fp32,  // exact fp32 arithmetic, no tensor cores (the test path)
  tf32,  // fp32 storage, tf32 tensor-core math with fp32 accumulation
  bf16,  // bf16 activations and weight copies, fp32 accumulation, fp32 master weights
};

struct PrecisionPolicy {
  ComputePrecision compute = ComputePrecision::fp32;

  DType activation_dtype() const { return compute == ComputePrecision::bf16 ? DType::bf16 : DType::f32; }
  DType master_weight_dtype() const { return DType::f32; }
  DType compute_weight_dtype() const { return activation_dtype(); }
  DType accumulate_dtype() const { return DType::f32; }
  bool tensor_cores() const { return compute != ComputePrecision::fp32; }

  std::string name() const;
  static PrecisionPolicy parse(const std::string& name);  // "fp32", "tf32", "bf16"
  // parse(), and "auto": tf32 on a GPU (as PyTorch runs convolutions by default), fp32 on the CPU
  // (where tf32 buys nothing and exact fp32 is the reference).
  static PrecisionPolicy resolve(const std::string& name, bool gpu);
};

}  // namespace cmt
