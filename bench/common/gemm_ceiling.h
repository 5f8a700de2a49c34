// The GEMM ceiling that benchmarks report their TFLOP/s against, measured in the same run: a cuBLAS
// GEMM at the context's precision on a GPU, the CPU kernels' sgemm (kernels/cpu/gemm.h, through
// ops::linear_forward) on the CPU.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::bench {

// Uniform [-1, 1) values of dtype `t` on ctx's device (drawn in f32, then rounded).
Tensor random_tensor(Context& ctx, const Shape& shape, DType t, std::uint32_t stream);

// TFLOP/s of a square GEMM: 8192^3 on a GPU (fp32: plain fp32 math; tf32: tf32 tensor ops; bf16:
// bf16 inputs with fp32 accumulation), 1024^3 sgemm on the CPU (the precision does not apply there).
double gemm_ceiling_tflops(Context& ctx);

}  // namespace cmt::bench
