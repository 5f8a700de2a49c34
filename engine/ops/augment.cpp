// The augmentation family: validation, drawing of the plans on the host, dispatch to the kernels.
#include "engine/ops/augment.h"

#include <cstring>

#include "engine/ops/validate.h"
#include "kernels/augment.h"
#include "kernels/common/check.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt::ops {

using namespace detail;

namespace {

void validate_images(const Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids, const char* op) {
  require_f32(ctx, images, op, "images");
  CMT_CHECK(images.rank() == 5 && images.dim(4) == 1,
            op << ": 'images' must be (N, D, H, W, 1), got " << images.describe());
  CMT_CHECK(images.dim(1) >= 1 && images.dim(2) >= 1 && images.dim(3) >= 1 &&
                images.dim(1) * images.dim(2) * images.dim(3) < (std::int64_t{1} << 31),
            op << ": 'images' has an empty or too large volume: " << images.describe());
  CMT_CHECK(static_cast<std::int64_t>(sample_ids.size()) == images.dim(0),
            op << ": " << sample_ids.size() << " sample ids for " << images.dim(0) << " images");
}

aug::Dims dims_of(const Tensor& images) {
  return aug::Dims{static_cast<std::int32_t>(images.dim(1)), static_cast<std::int32_t>(images.dim(2)),
                   static_cast<std::int32_t>(images.dim(3))};
}

#if defined(CMT_WITH_CUDA)
// One upload of keys, plans and parameters into the context's workspace (pageable source:
// cudaMemcpyAsync has staged it when it returns, so the host vectors may go), then the batched kernel.
void upload_and_apply(Context& ctx, const aug::Config& config, const cpu::AugmentDraws& draws,
                      const std::vector<aug::ViewKey>& views, aug::Dims dm, const Tensor& images, Tensor& out, float shift) {
  const auto nviews = static_cast<std::int32_t>(views.size());
  const std::size_t kb = views.size() * sizeof(aug::ViewKey), pb = draws.plans.size() * sizeof(aug::ViewPlan);
  const std::size_t sb = draws.params.size() * sizeof(aug::StepParams);
  const std::size_t pb_at = (kb + 255) / 256 * 256, sb_at = pb_at + (pb + 255) / 256 * 256;
  std::vector<unsigned char> staging(sb_at + sb);
  std::memcpy(staging.data(), views.data(), kb);
  std::memcpy(staging.data() + pb_at, draws.plans.data(), pb);
  std::memcpy(staging.data() + sb_at, draws.params.data(), sb);
  auto* ws = static_cast<unsigned char*>(ctx.workspace(staging.size()));
  CUDA_CHECK(cudaMemcpyAsync(ws, staging.data(), staging.size(), cudaMemcpyHostToDevice, ctx.compute_stream()));
  cuda::augment_apply_f32(config, reinterpret_cast<const aug::ViewPlan*>(ws + pb_at),
                          reinterpret_cast<const aug::StepParams*>(ws + sb_at), draws.slices,
                          reinterpret_cast<const aug::ViewKey*>(ws), nviews, dm, images.data<float>(), out.data<float>(),
                          shift, ctx.compute_stream());
}
#endif

}  // namespace

Tensor augment_views(Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids,
                     const std::vector<aug::ViewKey>& views, const aug::Config& config, std::uint64_t seed,
                     std::uint32_t epoch, float shift) {
  validate_images(ctx, images, sample_ids, "augment");
  const aug::Dims dm = dims_of(images);
  const auto nviews = static_cast<std::int32_t>(views.size());
  for (const aug::ViewKey& k : views)
    CMT_CHECK(k.source >= 0 && k.source < images.dim(0), "augment: view reads row " << k.source << " of " << images.dim(0));
  Tensor out = Tensor::empty(Shape{nviews, dm.d, dm.h, dm.w, 1}, DType::f32, images.device());
  if (nviews == 0) return out;
  // Plans and parameters are drawn on the host by the same function on both backends.
  const cpu::AugmentDraws draws = cpu::augment_draw(config, seed, epoch, views.data(), nviews, dm);
  CMT_DISPATCH(ctx, "augment", upload_and_apply(ctx, config, draws, views, dm, images, out, shift),
               cpu::augment_apply_f32(config, draws, views.data(), dm, images.data<float>(), out.data<float>(), shift));
  return out;
}

Tensor augment_two_views(Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids,
                         const AugmentPolicy& policy, std::uint64_t seed, std::uint32_t epoch, bool shift) {
  validate_images(ctx, images, sample_ids, "augment_two_views");
  policy.validate();
  CMT_CHECK(!policy.may_rotate() || images.dim(2) == images.dim(3),
            "augment_two_views: rotation needs square images (H == W), got " << images.describe());
  std::vector<aug::ViewKey> views;
  for (std::size_t k = 0; k < sample_ids.size(); ++k)
    for (std::uint32_t v = 0; v < 2; ++v) views.push_back({aug::fold_sample_id(sample_ids[k]), v, static_cast<std::int32_t>(k)});
  return augment_views(ctx, images, sample_ids, views, policy.config, seed, epoch, shift ? 0.5f : 0.f);
}

Tensor augment_apply(Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids, Transform t,
                     const AugmentPolicy& policy, std::uint64_t seed, std::uint32_t epoch, std::uint32_t view) {
  validate_images(ctx, images, sample_ids, "augment_apply");
  policy.validate();
  CMT_CHECK(t != Transform::rotate || images.dim(2) == images.dim(3),
            "augment_apply: rotation needs square images (H == W), got " << images.describe());
  aug::Config config = policy.config;
  config.mode = aug::Mode::fixed;
  config.fixed_count = 1;
  config.fixed[0] = t;
  std::vector<aug::ViewKey> views;
  for (std::size_t k = 0; k < sample_ids.size(); ++k) views.push_back({aug::fold_sample_id(sample_ids[k]), view, static_cast<std::int32_t>(k)});
  return augment_views(ctx, images, sample_ids, views, config, seed, epoch, 0.f);
}

}  // namespace cmt::ops
