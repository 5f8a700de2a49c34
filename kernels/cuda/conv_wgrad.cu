// CUDA conv weight gradient (implicit GEMM, split-K partials reduced in a fixed order) and bias gradient.
#include "kernels/cuda/conv_igemm.cuh"
#include "kernels/cuda/conv_internal.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

using igemm::bf16_bits;

template <typename T>
void wgrad_typed(const ConvDesc& d, const ConvVariant& v, const void* x, const void* dy, void* dw, void* ws,
                 cudaStream_t stream) {
  const int splits = detail::wgrad_splits(d, v);
  const std::int64_t kper = detail::wgrad_k_per_split(d, splits);
  float* partial = static_cast<float*>(ws);
  igemm::WgradProblem<T> prob{d, static_cast<const T*>(dy), static_cast<const T*>(x), partial};
  igemm::run<T>(v, prob, d.groups, splits, kper, stream);
  igemm::reduce_splits<T>(partial, splits, d.w_elems(), static_cast<T*>(dw), stream);
}

// Column sums of dy (rows x K): block (32, 8) covers 32 channels; split s takes rows s, s+splits, ...
template <typename T>
__global__ void bias_partial_kernel(const T* __restrict__ dy, std::int64_t rows, int K, int splits, float* __restrict__ partial) {
  CMT_SHARED(float, red, [8][33]);
  const int k = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.f;
  if (k < K)
    for (std::int64_t r = blockIdx.y + std::int64_t{threadIdx.y} * splits; r < rows; r += std::int64_t{splits} * 8)
      acc += igemm::to_f(dy[r * K + k]);
  red[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && k < K) {
    float s = 0.f;
    for (int i = 0; i < 8; ++i) s += red[i][threadIdx.x];
    partial[std::int64_t{blockIdx.y} * K + k] = s;
  }
}

}  // namespace

void conv_wgrad(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* x, const void* dy, void* dw, void* ws,
                cudaStream_t stream) {
  const bool bf16 = math == ConvMath::bf16;
  if (v.kind == ConvVariant::Kind::depthwise || v.kind == ConvVariant::Kind::depthwise4)
    return detail::depthwise_wgrad(d, bf16, x, dy, dw, ws, stream);
  CMT_CHECK(v.kind == ConvVariant::Kind::simt || (math != ConvMath::fp32 && v.kind != ConvVariant::Kind::stem),
            "conv wgrad: variant " << v.name() << " cannot run with " << conv_math_name(math) << " math");
  if (bf16) wgrad_typed<bf16_bits>(d, v, x, dy, dw, ws, stream);
  else wgrad_typed<float>(d, v, x, dy, dw, ws, stream);
}

void conv_bias_grad(std::int64_t rows, int K, bool bf16, const void* dy, void* db, void* ws, cudaStream_t stream) {
  const int splits = static_cast<int>(std::clamp<std::int64_t>(rows / 1024, 1, 128));  // as in the workspace size
  float* partial = static_cast<float*>(ws);
  const dim3 grid(static_cast<unsigned>((K + 31) / 32), static_cast<unsigned>(splits)), block(32, 8);
  if (bf16) {
    cmt::cuda::launch(bias_partial_kernel<bf16_bits>, grid, block, 0, stream, static_cast<const bf16_bits*>(dy), rows, K, splits, partial);
    CUDA_CHECK_LAUNCH();
    igemm::reduce_splits<bf16_bits>(partial, splits, K, static_cast<bf16_bits*>(db), stream);
  } else {
    cmt::cuda::launch(bias_partial_kernel<float>, grid, block, 0, stream, static_cast<const float*>(dy), rows, K, splits, partial);
    CUDA_CHECK_LAUNCH();
    igemm::reduce_splits<float>(partial, splits, K, static_cast<float*>(db), stream);
  }
}

}  // namespace cmt::cuda
