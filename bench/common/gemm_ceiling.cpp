// The GEMM ceiling (bench/common/gemm_ceiling.h).
#include "bench/common/gemm_ceiling.h"

#include "bench/common/timing.h"
#include "engine/ops/basic.h"
#include "engine/ops/linear.h"
#if defined(CMT_WITH_CUDA)
#include <cublas_v2.h>

#include "kernels/common/check.h"
#endif

namespace cmt::bench {

Tensor random_tensor(Context& ctx, const Shape& shape, DType t, std::uint32_t stream) {
  Tensor f = Tensor::empty(shape, DType::f32, ctx.device());
  ops::uniform_(ctx, f, 7, stream, -1.f, 1.f);
  return t == DType::f32 ? f : ops::cast(ctx, f, t);
}

double gemm_ceiling_tflops(Context& ctx) {
  if (!ctx.is_cuda()) {
    const std::int64_t n = 1024;
    const Tensor a = random_tensor(ctx, Shape{n, n}, DType::f32, 1), b = random_tensor(ctx, Shape{n, n}, DType::f32, 2);
    const Timing t = time_host([&] { ops::linear_forward(ctx, a, b, Tensor()); }, 1, 3);
    return 2.0 * n * n * static_cast<double>(n) / (t.median_ms * 1e9);
  }
#if defined(CMT_WITH_CUDA)
  const int n = 8192;
  const bool bf16 = ctx.precision.compute == ComputePrecision::bf16;
  const DType t = bf16 ? DType::bf16 : DType::f32;
  Tensor a = random_tensor(ctx, Shape{n, n}, t, 1), b = random_tensor(ctx, Shape{n, n}, t, 2);
  Tensor c = Tensor::empty(Shape{n, n}, DType::f32, ctx.device());
  cublasHandle_t h = ctx.cublas();
  const float one = 1.f, zero = 0.f;
  const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  const cublasComputeType_t compute =
      ctx.precision.compute == ComputePrecision::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const Timing timing = time_device(ctx, [&] {
    CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a.raw(), type, n, b.raw(), type, n, &zero, c.raw(),
                              CUDA_R_32F, n, compute, CUBLAS_GEMM_DEFAULT));
  }, 3, 10);
  return 2.0 * n * n * static_cast<double>(n) / (timing.median_ms * 1e9);
#else
  return 0;
#endif
}

}  // namespace cmt::bench
