// CPU reference of the augmentation family (OpenMP over views and slices).
#include "kernels/augment.h"

#include "kernels/common/augment_apply.h"

namespace cmt::cpu {

AugmentDraws augment_draw(const aug::Config& cfg, std::uint64_t seed, std::uint32_t epoch, const aug::ViewKey* keys,
                          std::int32_t nviews, aug::Dims dm) {
  AugmentDraws d;
  d.slices = aug::param_slices(cfg, dm);
  d.plans.resize(static_cast<std::size_t>(nviews));
  d.params.resize(static_cast<std::size_t>(nviews) * aug::kMaxSteps * static_cast<std::size_t>(d.slices));
  for (std::int32_t v = 0; v < nviews; ++v)
    aug::draw_view(cfg, seed, epoch, keys[v], dm, d.plans[static_cast<std::size_t>(v)],
                   d.params.data() + static_cast<std::size_t>(v) * aug::kMaxSteps * static_cast<std::size_t>(d.slices));
  return d;
}

void augment_apply_f32(const aug::Config& cfg, const AugmentDraws& draws, const aug::ViewKey* keys, aug::Dims dm,
                       const float* in, float* out, float shift) {
  const std::int64_t nviews = static_cast<std::int64_t>(draws.plans.size());
  const std::int64_t plane = std::int64_t{dm.h} * dm.w, volume = plane * dm.d;
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
  for (std::int64_t v = 0; v < nviews; ++v)
    for (std::int64_t z = 0; z < dm.d; ++z) {
      const aug::ViewPlan& plan = draws.plans[static_cast<std::size_t>(v)];
      const aug::StepParams* params = draws.params.data() + v * aug::kMaxSteps * draws.slices;
      const float* src = in + std::int64_t{keys[v].source} * volume;
      float* dst = out + v * volume + z * plane;
      for (std::int32_t y = 0; y < dm.h; ++y)
        for (std::int32_t x = 0; x < dm.w; ++x)
          dst[std::int64_t{y} * dm.w + x] =
              aug::eval_pixel(cfg, plan, params, draws.slices, dm, src, aug::Pos{static_cast<std::int32_t>(z), y, x}) - shift;
    }
}

}  // namespace cmt::cpu
