// Tensor-level entry points of the augmentation family: two Philox-keyed views per sample on the
// CPU or CUDA backend, identical views on both (see docs/augmentation.md).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/augment_policy.h"
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// images: (N, D, H, W, 1) f32 in [0, 1] on CPU or CUDA; returns (2N, D, H, W, 1) with rows 2k and
// 2k+1 the views 0 and 1 of sample k; every draw keyed by (seed, epoch, sample_ids[k], view,
// transform). With `shift` the views are returned minus 0.5.
Tensor augment_two_views(Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids,
                         const AugmentPolicy& policy, std::uint64_t seed, std::uint32_t epoch, bool shift);

// One named transformation (always applied) on a batch, as view `view`: (N, D, H, W, 1) -> same shape.
Tensor augment_apply(Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids, Transform t,
                     const AugmentPolicy& policy, std::uint64_t seed, std::uint32_t epoch, std::uint32_t view);

// The policy's views of a batch as (source row, view) pairs; the general form of both ops above.
Tensor augment_views(Context& ctx, const Tensor& images, const std::vector<std::int64_t>& sample_ids,
                     const std::vector<aug::ViewKey>& views, const aug::Config& config, std::uint64_t seed,
                     std::uint32_t epoch, float shift);

}  // namespace cmt::ops
