// `cmt dataset info FILE`: describes an HDF5 dataset written by `cmt prepare`.
#include <fmt/core.h>

#include <map>
#include <memory>
#include <set>

#include "apps/commands.h"
#include "data/dataset.h"

namespace cmt::app {

namespace {

int run_dataset_info(const std::string& path) {
  const data::Dataset ds = data::Dataset::open(path);
  const Shape s = ds.sample_shape();
  const auto classes = ds.class_names();
  const auto labels = ds.labels();
  const auto patients = ds.patient_ids();
  const auto folds = ds.folds();
  fmt::print("{}\n  modality     {}\n  samples      {}\n  sample shape {}x{}x{} (D, H, W)\n  patients     {}\n", path,
             ds.modality(), ds.size(), s[0], s[1], s[2], std::set<std::string>(patients.begin(), patients.end()).size());
  const std::string window = ds.attribute("window");
  if (!window.empty() && ds.modality() == "ct") fmt::print("  HU window    {}\n", window);  // X-ray is min-max scaled
  fmt::print("  classes\n");
  for (std::size_t c = 0; c < classes.size(); ++c)
    fmt::print("    {} {:<12} {}\n", c, classes[c], std::count(labels.begin(), labels.end(), static_cast<std::int32_t>(c)));
  if (!ds.has_masks()) {
    fmt::print("  lesion masks none\n");
  } else {
    const auto flags = ds.mask_flags();
    const auto voxels = ds.mask_voxels();
    const auto count = [&](std::int32_t c, bool lesion) {  // samples of class c (-1: all) with a mask (and a lesion)
      std::int64_t n = 0;
      for (std::size_t i = 0; i < flags.size(); ++i) n += (c < 0 || labels[i] == c) && flags[i] && (!lesion || voxels[i] > 0);
      return n;
    };
    fmt::print("  lesion masks {} of {} samples, {} with a lesion\n", count(-1, false), ds.size(), count(-1, true));
    for (std::size_t c = 0; c < classes.size(); ++c)
      fmt::print("    {:<14} {} masks, {} with a lesion\n", classes[c], count(static_cast<std::int32_t>(c), false),
                 count(static_cast<std::int32_t>(c), true));
  }
  fmt::print("  folds        {}\n", ds.num_folds());
  for (int f = 0; f < ds.num_folds(); ++f) {
    std::map<std::int32_t, int> per_class;
    std::set<std::string> pats;
    for (std::size_t i = 0; i < folds.size(); ++i)
      if (folds[i] == f) {
        ++per_class[labels[i]];
        pats.insert(patients[i]);
      }
    std::string counts;
    for (std::size_t c = 0; c < classes.size(); ++c) counts += fmt::format(" {}={}", classes[c], per_class[static_cast<std::int32_t>(c)]);
    fmt::print("    fold {}: {} patients,{}\n", f, pats.size(), counts);
  }
  return kOk;
}

void setup_dataset(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("dataset", "Inspect HDF5 datasets");
  cmd->require_subcommand(1);
  auto* info = cmd->add_subcommand("info", "Describe an HDF5 dataset");
  auto path = std::make_shared<std::string>();
  info->add_option("file", *path, "The .h5 file")->required();
  info->callback([&action, path] { action = [path] { return run_dataset_info(*path); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(30, "dataset", setup_dataset);

}  // namespace cmt::app
