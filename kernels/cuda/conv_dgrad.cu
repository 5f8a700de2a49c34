// CUDA conv data gradient: implicit GEMM over dy with stride phases skipped, on transposed weights.
#include "kernels/cuda/conv_igemm.cuh"
#include "kernels/cuda/conv_internal.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

// w (K,T,R,S,Cg) -> wT per group (Cg, T*R*S*Kg): dgrad's B operand then reads along its reduction.
template <typename T>
__global__ void transpose_weights_kernel(ConvDesc d, const T* __restrict__ w, T* __restrict__ wt) {
  const int Cg = d.Cg(), Kg = d.Kg(), trs = d.trs();
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < d.w_elems(); i += std::int64_t{gridDim.x} * blockDim.x) {
    const int c = static_cast<int>(i % Cg);
    const int tap = static_cast<int>(i / Cg % trs);
    const int k = static_cast<int>(i / (std::int64_t{Cg} * trs));  // global output channel
    const int g = k / Kg, kg = k % Kg;
    wt[(std::int64_t{g} * Cg + c) * trs * Kg + std::int64_t{tap} * Kg + kg] = w[i];
  }
}

template <typename T>
void dgrad_typed(const ConvDesc& d, const ConvVariant& v, const void* dy, const void* w, void* dx, void* ws,
                 cudaStream_t stream) {
  T* wt = static_cast<T*>(ws);
  const int blocks = static_cast<int>(std::min<std::int64_t>((d.w_elems() + 255) / 256, 4096));
  cmt::cuda::launch(transpose_weights_kernel<T>, blocks, 256, 0, stream, d, static_cast<const T*>(w), wt);
  CUDA_CHECK_LAUNCH();
  igemm::DgradProblem<T> prob{d, static_cast<const T*>(dy), wt, static_cast<T*>(dx)};
  igemm::run<T>(v, prob, d.groups, 1, prob.Kd(), stream);
}

}  // namespace

void conv_dgrad(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* dy, const void* w, void* dx, void* ws,
                cudaStream_t stream) {
  const bool bf16 = math == ConvMath::bf16;
  if (v.kind == ConvVariant::Kind::depthwise || v.kind == ConvVariant::Kind::depthwise4)
    return detail::depthwise_dgrad(d, bf16, v.kind == ConvVariant::Kind::depthwise4, dy, w, dx, ws, stream);
  CMT_CHECK(v.kind == ConvVariant::Kind::simt || (math != ConvMath::fp32 && v.kind != ConvVariant::Kind::stem),
            "conv dgrad: variant " << v.name() << " cannot run with " << conv_math_name(math) << " math");
  dispatch_storage(bf16, [&](auto t) { dgrad_typed<decltype(t)>(d, v, dy, w, dx, ws, stream); });
}

}  // namespace cmt::cuda
