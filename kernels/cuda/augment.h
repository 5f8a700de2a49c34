// CUDA launcher of the augmentation family: one batched kernel applies every view's whole plan.
#pragma once
#include <cstdint>

#include "kernels/common/augment_params.h"
#include "kernels/common/stream.h"

namespace cmt::cuda {

// plans: nviews device ViewPlans; params: device table laid out as cpu::AugmentDraws::params;
// keys: nviews device ViewKeys. in: (N, D, H, W) f32, out: (nviews, D, H, W) f32, out = value - shift.
void augment_apply_f32(const aug::Config& cfg, const aug::ViewPlan* plans, const aug::StepParams* params,
                       std::int32_t slices, const aug::ViewKey* keys, std::int32_t nviews, aug::Dims dm, const float* in,
                       float* out, float shift, cudaStream_t stream);

}  // namespace cmt::cuda
