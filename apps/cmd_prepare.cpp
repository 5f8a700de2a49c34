// `cmt prepare`: turns a folder of DICOM/NIfTI/PNG/JPEG data into one HDF5 dataset, written atomically.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "apps/commands.h"
#include "data/dataset.h"
#include "data/ingest.h"
#include "engine/signals.h"

namespace cmt::app {

namespace {

struct PrepareArgs {
  std::string input, out, modality, size, window = "-1000,400";  // modality "": inferred
  int folds = 5, compression = 4;
  std::uint64_t seed = 0;
  bool strict = false;
  data::ManifestColumns columns;
};

// Every fold needs a patient of every class: more folds than a class has patients leave folds
// without it (its metrics undefined there), and a patient cannot be split across folds.
void check_folds_fit(const std::map<std::string, std::set<std::string>>& patients_of_class, int folds, const std::string& out) {
  for (const auto& [name, patients] : patients_of_class)
    CMT_CHECK(static_cast<int>(patients.size()) >= folds,
              "--folds " << folds << " but class '" << name << "' has only " << patients.size()
                         << " patient(s): every fold needs a patient of every class; give --folds " << patients.size()
                         << " or fewer. Nothing was written to " << out);
}

int run_prepare(const PrepareArgs& a) {
  data::Discovery d = data::discover(a.input, a.modality, a.columns);
  const std::string modality = d.modality;
  data::Preprocess p;
  const bool ct = modality == "ct";
  p.size = ct ? std::array<int, 3>{128, 128, 128} : std::array<int, 3>{1, 512, 512};
  if (!a.size.empty()) {
    std::vector<int> dims;
    std::size_t at = 0;
    while (at <= a.size.size()) {
      const std::size_t x = a.size.find('x', at);
      dims.push_back(std::stoi(a.size.substr(at, x == std::string::npos ? std::string::npos : x - at)));
      if (x == std::string::npos) break;
      at = x + 1;
    }
    for (int n : dims) CMT_CHECK(n >= 1 && n <= 4096, "--size: bad size '" << a.size << "'");
    if (ct) p.size = dims.size() == 3 ? std::array<int, 3>{dims[0], dims[1], dims[2]} : std::array<int, 3>{dims[0], dims[0], dims[0]};
    else p.size = dims.size() >= 2 ? std::array<int, 3>{1, dims[dims.size() - 2], dims.back()} : std::array<int, 3>{1, dims[0], dims[0]};
  }
  const auto comma = a.window.find(',');
  CMT_CHECK(comma != std::string::npos, "--window: expected LO,HI, got '" << a.window << "'");
  p.window_lo = std::stof(a.window.substr(0, comma));
  p.window_hi = std::stof(a.window.substr(comma + 1));
  CMT_CHECK(p.window_hi > p.window_lo, "--window: HI must exceed LO");

  fmt::print("{}: {} classes ({}), {} candidate samples, modality {}\n", a.input, d.class_names.size(),
             fmt::join(d.class_names, ", "), d.items.size(),
             a.modality.empty() ? data::describe_inference(d.evidence, modality) : modality);
  for (const auto& w : d.warnings) fmt::print(stderr, "WARNING: {}\n", w);
  install_stop_handlers();  // a stop signal ends the loop below; the writer removes its temporary file
  Context ctx;
  const bool masks = std::any_of(d.items.begin(), d.items.end(), [](const data::SourceItem& i) { return !i.mask.empty(); });
  data::DatasetWriter writer(a.out, modality, d.class_names, Shape{p.size[0], p.size[1], p.size[2]}, a.compression, masks);
  if (ct) writer.set_attribute("window", a.window);  // radiographs are min-max scaled: no HU window
  writer.set_attribute("source", a.input);
  writer.set_attribute("created_by", "cmt prepare");
  std::map<std::string, std::set<std::string>> patients_of_class;
  std::int64_t with_mask = 0;
  std::vector<std::string> lost_lesions;  // masks whose lesions vanished at the dataset's size
  for (const auto& item : d.items) {
    CMT_CHECK(!stop_requested(), "interrupted: nothing was written under " << a.out);
    std::vector<float> x;
    std::vector<std::uint8_t> mask;
    data::SampleMeta m;
    try {
      bool hu = false;
      const data::Volume v = data::load_item(item, modality, hu);
      x = data::preprocess(ctx, v, hu, p);
      if (!item.mask.empty()) {
        const data::Volume lesion = data::load_mask(item, modality, v);
        mask = data::preprocess_mask(ctx, lesion, p);
        // A lesion under half a voxel of the dataset's grid vanishes: named below, since that sample
        // then has no lesion to score maps against.
        if (std::count(mask.begin(), mask.end(), 1) == 0 && std::count(lesion.v.begin(), lesion.v.end(), 1.f) > 0)
          lost_lesions.push_back(item.mask);
      }
      m.label = static_cast<std::int32_t>(std::find(d.class_names.begin(), d.class_names.end(), item.label) - d.class_names.begin());
      m.patient_id = item.patient_id.empty() ? item.source : item.patient_id;
      m.source_path = item.source;
      m.spacing = v.spacing;
      m.original_shape = {v.d, v.h, v.w};
    } catch (const Error& e) {
      d.skipped.emplace_back(item.source, e.what());
      continue;
    }
    writer.add(x.data(), m,
               mask.empty() ? nullptr : mask.data());  // a failed write (full disk) ends the run: it is no bad input to skip
    patients_of_class[item.label].insert(m.patient_id);
    with_mask += mask.empty() ? 0 : 1;
  }
  for (const auto& [path, why] : d.skipped) fmt::print(stderr, "skipped {}: {}\n", path, why);
  if (!lost_lesions.empty())
    fmt::print(stderr,
               "WARNING: {} masks mark a lesion that covers under half a voxel at {}x{}x{} and vanished (e.g. {}); "
               "a larger --size keeps them\n",
               lost_lesions.size(), p.size[0], p.size[1], p.size[2], lost_lesions.front());
  fmt::print("{} samples written, {} inputs skipped\n", writer.count(), d.skipped.size());
  if (writer.count() == 0) {
    fmt::print(stderr, "error: nothing usable in {}; no dataset written\n", a.input);
    return kFailure;
  }
  if (a.strict && !d.skipped.empty()) {
    fmt::print(stderr, "error: --strict and {} inputs were skipped; no dataset written\n", d.skipped.size());
    return kFailure;
  }
  check_folds_fit(patients_of_class, a.folds, a.out);
  writer.finish(a.folds, a.seed);
  fmt::print("wrote {} ({} samples of {}x{}x{}, {} folds{})\n", a.out, writer.count(), p.size[0], p.size[1], p.size[2], a.folds,
             masks ? fmt::format(", {} with a lesion mask", with_mask) : "");
  return kOk;
}

void setup_prepare(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("prepare", "Turn DICOM/NIfTI/PNG/JPEG data into one HDF5 dataset");
  auto a = std::make_shared<PrepareArgs>();
  cmd->add_option("--input", a->input, "Folder of class folders, folder with manifest.csv, or a .csv")->required();
  cmd->add_option("--out", a->out, "The HDF5 file to write")->required();
  cmd->add_option("--modality", a->modality, "ct or xray (default: inferred from the files; a mixture is refused)")
      ->check(CLI::IsMember({"ct", "xray"}));
  cmd->add_option("--size", a->size, "CT: 128 or DxHxW; X-ray: 512 or HxW");
  cmd->add_option("--window", a->window, "CT HU window LO,HI (default lung window -1000,400)");
  cmd->add_option("--folds", a->folds, "Stratified patient folds")->check(CLI::Range(1, 100));
  cmd->add_option("--seed", a->seed, "Seed of the fold split");
  cmd->add_option("--compression", a->compression, "gzip level 0-9 (0 = none)")->check(CLI::Range(0, 9));
  cmd->add_flag("--strict", a->strict, "Fail when any input is skipped");
  cmd->add_option("--path-col", a->columns.path, "Manifest column of the paths (default: path, file, filename or image)");
  cmd->add_option("--label-col", a->columns.label, "Manifest column of the labels (default: label or class)");
  cmd->add_option("--patient-col", a->columns.patient,
                  "Manifest column of the patient IDs (default: patient_id, patient, subject_id or subject)");
  cmd->add_option("--mask-col", a->columns.mask,
                  "Manifest column of the lesion masks (default: mask, mask_path, lesion_mask or segmentation; optional)");
  cmd->callback([&action, a] { action = [a] { return run_prepare(*a); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(25, "prepare", setup_prepare);

}  // namespace cmt::app
