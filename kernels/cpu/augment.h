// CPU reference of the augmentation family: draws every view's plan and parameters, then applies
// them pixel by pixel (kernels/common/augment_apply.h, the same code the CUDA kernel runs).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/common/augment_params.h"

namespace cmt::cpu {

// Plans of `nviews` views and their parameter table: params has nviews * kMaxSteps * slices
// entries, view v's step s for slice z at (v * kMaxSteps + s) * slices + z.
struct AugmentDraws {
  std::vector<aug::ViewPlan> plans;
  std::vector<aug::StepParams> params;
  std::int32_t slices = 1;
};
AugmentDraws augment_draw(const aug::Config& cfg, std::uint64_t seed, std::uint32_t epoch, const aug::ViewKey* keys,
                          std::int32_t nviews, aug::Dims dm);

// in: (N, D, H, W) f32, out: (nviews, D, H, W) f32; view v reads in[keys[v].source]; out = value - shift.
void augment_apply_f32(const aug::Config& cfg, const AugmentDraws& draws, const aug::ViewKey* keys, aug::Dims dm,
                       const float* in, float* out, float shift);

}  // namespace cmt::cpu
