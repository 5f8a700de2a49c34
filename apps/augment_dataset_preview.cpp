#include "apps/augment_dataset_preview.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "apps/bitmap_text.h"
#include "apps/commands.h"
#include "apps/usage_error.h"
#include "data/dataset.h"
#include "data/png_write.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/augment.h"

namespace cmt::app {

namespace {

constexpr int kMaxSlices = 6;   // columns of a CT montage
constexpr int kMinPanel = 128;  // small samples are enlarged (nearest neighbour) to at least this
constexpr int kFontScale = 2, kLabel = 14, kGap = 4;

// Evenly spaced axial slices, the middle of each of k equal slabs.
std::vector<std::int64_t> montage_slices(std::int64_t depth) {
  const std::int64_t k = std::min<std::int64_t>(depth, kMaxSlices);
  std::vector<std::int64_t> z;
  for (std::int64_t j = 0; j < k; ++j) z.push_back((2 * j + 1) * depth / (2 * k));
  return z;
}

double mean_abs_difference(const float* a, const float* b, std::int64_t n) {
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += std::fabs(static_cast<double>(a[i]) - b[i]);
  return sum / static_cast<double>(n);
}

}  // namespace

int run_dataset_preview(const DatasetPreviewArgs& a) {
  const AugmentPolicy policy = as_usage_error([&] { return AugmentPolicy::parse(a.policy); });
  const data::Dataset ds = data::Dataset::open(a.dataset);
  if (a.index < 0 || a.index >= ds.size())
    throw UsageError(
        fmt::format("--index {} is out of range: {} holds {} samples (0 to {})", a.index, a.dataset, ds.size(), ds.size() - 1));
  const Shape s = ds.sample_shape();  // (D, H, W)
  const std::int64_t depth = s[0], h = s[1], w = s[2], voxels = depth * h * w;
  Tensor sample = Tensor::empty(Shape{1, depth, h, w, 1}, DType::f32);
  ds.read_sample(a.index, sample.data<float>());

  Context ctx(resolve_device(a.device));
  // The views training draws for this sample in its first epoch with the same seed (unshifted).
  const Tensor views =
      ops::augment_two_views(ctx, sample.to(ctx.device()), {a.index}, policy, a.seed, 0, false).to(Device::cpu());
  const float* rows[3] = {sample.data<float>(), views.data<float>(), views.data<float>() + voxels};
  const char* row_names[3] = {"original", "view 1", "view 2"};

  const std::vector<std::int64_t> slices = montage_slices(depth);
  const int zoom = static_cast<int>(std::max<std::int64_t>(1, (kMinPanel + std::max(h, w) - 1) / std::max(h, w)));
  const int pw = static_cast<int>(w) * zoom, ph = static_cast<int>(h) * zoom, cols = static_cast<int>(slices.size());
  const int width = cols * pw + (cols + 1) * kGap, height = 3 * (ph + kLabel) + 4 * kGap;
  std::vector<std::uint8_t> img(static_cast<std::size_t>(width) * height, 40);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < cols; ++c) {
      const int px = kGap + c * (pw + kGap), py = kGap + r * (ph + kLabel + kGap);
      const std::int64_t z = slices[static_cast<std::size_t>(c)];
      const std::string label = depth > 1 ? fmt::format("{} z={}", row_names[r], z) : row_names[r];
      draw_text(img, width, px + 2, py + 2, label, kFontScale, px + pw);
      const float* slice = rows[r] + z * h * w;
      for (int i = 0; i < ph; ++i)
        for (int j = 0; j < pw; ++j) {
          const float f = std::clamp(slice[static_cast<std::int64_t>(i / zoom) * w + j / zoom], 0.f, 1.f);
          img[static_cast<std::size_t>(py + kLabel + i) * width + px + j] = static_cast<std::uint8_t>(std::lround(f * 255.f));
        }
    }
  data::write_png(a.out, width, height, 1, img);

  const auto labels = ds.labels();
  const auto classes = ds.class_names();
  const auto label = labels[static_cast<std::size_t>(a.index)];
  fmt::print(
      "wrote {} ({}x{}): sample {} of {} ({} {}, class {}, patient {}), original and the two views of policy {} "
      "(seed {}, as `cmt train --seed {}` draws them in its first epoch) on {}\n",
      a.out, width, height, a.index, a.dataset, ds.modality(), fmt::join(s.begin(), s.end(), "x"),
      label >= 0 && static_cast<std::size_t>(label) < classes.size() ? classes[static_cast<std::size_t>(label)] : "?",
      ds.patient_ids()[static_cast<std::size_t>(a.index)], a.policy, a.seed, a.seed, ctx.device().str());
  if (depth > 1) fmt::print("axial slices z = {} of {}\n", fmt::join(slices, ", "), depth);
  for (int v = 1; v <= 2; ++v)
    fmt::print("view {}: mean absolute change {:.4f} from the original\n", v, mean_abs_difference(rows[0], rows[v], voxels));
  return kOk;
}

}  // namespace cmt::app
