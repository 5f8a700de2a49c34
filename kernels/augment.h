// The augmentation family: every view's plan and parameters are drawn on the host, then applied pixel
// by pixel (kernels/common/augment_apply.h, the same code on both backends).
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/common/augment_params.h"

// CPU reference.
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

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. One batched kernel applies every view's whole plan.
namespace cmt::cuda {

// plans: nviews device ViewPlans; params: device table laid out as cpu::AugmentDraws::params;
// keys: nviews device ViewKeys. in: (N, D, H, W) f32, out: (nviews, D, H, W) f32, out = value - shift.
void augment_apply_f32(const aug::Config& cfg, const aug::ViewPlan* plans, const aug::StepParams* params,
                       std::int32_t slices, const aug::ViewKey* keys, std::int32_t nviews, aug::Dims dm, const float* in,
                       float* out, float shift, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
