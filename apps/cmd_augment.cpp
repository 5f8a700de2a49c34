// `cmt augment --preview out.png`: a labelled grid of the seven transformations (paper Fig. 2) on a
// synthetic chest-like image, as a real PNG; with `--dataset FILE --index I`, the two views the policy
// makes of that sample instead; `--describe` prints a policy's full parameters.
#include <fmt/core.h>

#include <cmath>
#include <memory>

#include "apps/augment_dataset_preview.h"
#include "apps/bitmap_text.h"
#include "apps/commands.h"
#include "apps/flag_names.h"
#include "apps/usage_error.h"
#include "data/png_write.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/augment.h"

namespace cmt::app {

namespace {

// A procedural frontal chest radiograph in [0, 1]: body, two lungs with vessels, spine, ribs, a lesion.
Tensor synthetic_chest(int n) {
  Tensor t = Tensor::empty(Shape{1, 1, n, n, 1}, DType::f32);
  float* p = t.data<float>();
  auto ellipse = [](double x, double y, double cx, double cy, double rx, double ry) {
    const double dx = (x - cx) / rx, dy = (y - cy) / ry;
    return dx * dx + dy * dy;
  };
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double y = (i + 0.5) / n, x = (j + 0.5) / n;
      double v = 0.04;
      if (ellipse(x, y, 0.5, 0.55, 0.44, 0.5) < 1) v = 0.55;
      for (double cx : {0.32, 0.68}) {
        const double e = ellipse(x, y, cx, 0.5, 0.15, 0.3);
        if (e < 1) v = 0.18 + 0.08 * e + 0.05 * std::pow(std::sin(40 * x + 9 * std::sin(12 * y)), 8.0);
      }
      if (std::fabs(x - 0.5) < 0.04 && y > 0.12) v = 0.85 + 0.05 * std::sin(60 * y);
      for (int r = 0; r < 7; ++r) {  // ribs: bright arcs over the lungs
        const double ry = 0.25 + 0.075 * r + 0.08 * std::pow(std::fabs(x - 0.5) * 2.2, 2.0);
        if (std::fabs(y - ry) < 0.011 && std::fabs(x - 0.5) > 0.05 && std::fabs(x - 0.5) < 0.38) v = std::min(1.0, v + 0.3);
      }
      if (ellipse(x, y, 0.7, 0.62, 0.05, 0.04) < 1) v = 0.48;  // an opacity in the right lung
      p[static_cast<std::size_t>(i) * n + j] = static_cast<float>(v);
    }
  return t;
}

int run_preview(const std::string& path, const std::string& spec, int size, std::uint64_t seed, const std::string& device) {
  const AugmentPolicy policy = AugmentPolicy::parse(spec);
  Context ctx(resolve_device(device));
  const Tensor image = synthetic_chest(size).to(ctx.device());
  std::vector<std::pair<std::string, Tensor>> panels{{"original", image.to(Device::cpu())}};
  for (Transform t : kAllTransforms)
    panels.emplace_back(std::string(transform_name(t)), ops::augment_apply(ctx, image, {0}, t, policy, seed, 0, 0).to(Device::cpu()));
  const int cols = 4, rows = 2, label = 20, gap = 4;
  const int width = cols * size + (cols + 1) * gap, height = rows * (size + label) + (rows + 1) * gap;
  std::vector<std::uint8_t> img(static_cast<std::size_t>(width) * height, 40);
  for (std::size_t k = 0; k < panels.size(); ++k) {
    const int px = gap + static_cast<int>(k % cols) * (size + gap), py = gap + static_cast<int>(k / cols) * (size + label + gap);
    draw_text(img, width, px + 2, py + 3, panels[k].first, 3, px + size);
    const float* v = panels[k].second.data<float>();
    for (int i = 0; i < size; ++i)
      for (int j = 0; j < size; ++j) {
        const float f = std::clamp(v[static_cast<std::size_t>(i) * size + j], 0.f, 1.f);
        img[static_cast<std::size_t>(py + label + i) * width + px + j] = static_cast<std::uint8_t>(std::lround(f * 255.f));
      }
  }
  data::write_png(path, width, height, 1, img);
  fmt::print("wrote {} ({}x{}): original and the seven transformations on {}; policy {}\n", path, width, height,
             ctx.device().str(), policy.describe());
  return kOk;
}

void setup_augment(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("augment", "Preview the paper's seven augmentations, or describe an augmentation policy");
  struct Options {
    std::string preview, policy = "paper", device = "cpu", dataset;  // paper: `cmt train`'s default
    int size = 256;
    std::int64_t index = 0;
    std::uint64_t seed = 0;
    bool describe = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--preview", o->preview,
                  "Write a labelled PNG here: the seven transformations, or with --dataset the two views");
  cmd->add_option("--policy", o->policy, "Policy spec whose parameters the preview uses (e.g. 'genesis,fill=noise')");
  auto* dataset = cmd->add_option("--dataset", o->dataset, "Preview the policy's two views of a sample of this HDF5 dataset");
  cmd->add_option("--index", o->index, "The sample of --dataset (0-based)")->needs(dataset);
  cmd->add_option("--size", o->size, "Side of the synthetic image in pixels")->check(CLI::Range(32, 2048))->excludes(dataset);
  cmd->add_option("--seed", o->seed, "Philox seed of the draws (as `cmt train --seed`)");
  cmd->add_option("--device", o->device, kDeviceHelp)->check(device_check());
  cmd->add_flag("--describe", o->describe, "Print the policy with every parameter");
  cmd->callback([&action, o] {
    action = [o] {
      as_usage_error([&] { AugmentPolicy::parse(o->policy); });  // a bad --policy is a bad command line (exit 2)
      if (!o->dataset.empty() && o->preview.empty())
        throw UsageError("--dataset needs --preview OUT.png: where to write the views");
      if (o->describe || o->preview.empty()) fmt::print("{}\n", AugmentPolicy::parse(o->policy).describe());
      if (!o->dataset.empty()) return run_dataset_preview({o->preview, o->dataset, o->policy, o->device, o->index, o->seed});
      if (!o->preview.empty()) return run_preview(o->preview, o->policy, o->size, o->seed, o->device);
      return static_cast<int>(kOk);
    };
  });
}

}  // namespace

CMT_REGISTER_COMMAND(40, "augment", setup_augment);

}  // namespace cmt::app
