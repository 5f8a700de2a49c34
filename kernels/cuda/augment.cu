// CUDA kernel of the augmentation family: one thread per output pixel of every view, running the
// shared per-pixel evaluation (kernels/common/augment_apply.h) on parameters drawn on the host.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/augment.h"
#include "kernels/common/augment_apply.h"
#include "kernels/common/check.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

constexpr int kThreads = 256;

// grid.y = view, grid.x strides over the view's pixels; the view's plan is read once per block.
__global__ void augment_kernel(aug::Config cfg, const aug::ViewPlan* __restrict__ plans,
                               const aug::StepParams* __restrict__ params, std::int32_t slices,
                               const aug::ViewKey* __restrict__ keys, aug::Dims dm, const float* __restrict__ in,
                               float* __restrict__ out, float shift) {
  CMT_SHARED(aug::ViewPlan, plan, );
  CMT_SHARED(std::int32_t, source, );
  const std::int64_t v = blockIdx.y;
  if (threadIdx.x == 0) {
    plan = plans[v];
    source = keys[v].source;
  }
  __syncthreads();
  const std::int64_t plane = std::int64_t{dm.h} * dm.w, volume = plane * dm.d;
  const aug::StepParams* vp = params + v * aug::kMaxSteps * slices;
  const float* src = in + std::int64_t{source} * volume;
  float* dst = out + v * volume;
  for (std::int64_t e = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; e < volume;
       e += std::int64_t{gridDim.x} * blockDim.x) {
    const aug::Pos p{static_cast<std::int32_t>(e / plane), static_cast<std::int32_t>((e / dm.w) % dm.h),
                     static_cast<std::int32_t>(e % dm.w)};
    dst[e] = aug::eval_pixel(cfg, plan, vp, slices, dm, src, p) - shift;
  }
}

}  // namespace

void augment_apply_f32(const aug::Config& cfg, const aug::ViewPlan* plans, const aug::StepParams* params,
                       std::int32_t slices, const aug::ViewKey* keys, std::int32_t nviews, aug::Dims dm, const float* in,
                       float* out, float shift, cudaStream_t stream) {
  if (nviews <= 0) return;
  CMT_CHECK(nviews <= 65535, "cuda::augment_apply_f32: " << nviews << " views exceed the grid's y limit");
  const std::int64_t volume = std::int64_t{dm.d} * dm.h * dm.w;
  const std::int64_t blocks = std::min<std::int64_t>((volume + kThreads - 1) / kThreads, 4096);
  const dim3 grid(static_cast<unsigned>(std::max<std::int64_t>(blocks, 1)), static_cast<unsigned>(nviews));
  cmt::cuda::launch(augment_kernel, grid, kThreads, 0, stream, cfg, plans, params, slices, keys, dm, in, out, shift);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
