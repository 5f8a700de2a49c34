// `cmt explain`: attention maps (Grad-CAM, Grad-CAM++) of one run, or of two side by side, for
// studies (as `cmt predict` reads them) or samples of a prepared dataset; maps as HDF5, overlays as
// PNG, and explain.json (docs/explain.md). With --score, the dataset samples' maps are also written as
// maps files and scored against the dataset's lesion masks (docs/study.md, "Fig. 5 measured").
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/explain_maps.h"
#include "apps/explain_render.h"
#include "apps/flag_names.h"
#include "apps/map_score_report.h"
#include "apps/text_file.h"
#include "apps/usage_error.h"
#include "cmt/inference.h"
#include "data/dataset.h"
#include "data/maps_file.h"

namespace cmt::app {

namespace {

namespace fs = std::filesystem;

struct ExplainArgs {
  std::string run, compare, out, method = "gradcam", target, device = "auto", checkpoint, dataset;
  std::vector<std::string> inputs;
  std::vector<std::int64_t> samples;
  bool score = false;
  int tolerance = 0;
};

struct LoadedRun {
  std::string dir, label, checkpoint;
  InferenceModel model;
  ExplainOptions options;
};

// The checkpoint cmt explain reads by default: best.h5 when the run has one, else last.h5.
std::string default_checkpoint(const std::string& run) { return fs::exists(fs::path(run) / "best.h5") ? "best" : "last"; }

// --class as a class index of the run: a class name, or an index.
int class_index(const std::vector<std::string>& names, const std::string& target, const std::string& run) {
  const auto named = std::find(names.begin(), names.end(), target);
  if (named != names.end()) return static_cast<int>(named - names.begin());
  std::size_t used = 0;
  int index = -1;
  try {
    index = std::stoi(target, &used);
  } catch (const std::exception&) {
  }
  if (used == target.size() && index >= 0 && index < static_cast<int>(names.size())) return index;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw UsageError(
      fmt::format("--class {}: {} has the classes {} (give a name or an index 0 to {})", target, run, list, names.size() - 1));
}

// The last `parts` names of a run folder's path: its label in the pictures.
std::string run_label(const std::string& dir, int parts) {
  std::vector<std::string> names;
  for (const auto& p : fs::path(dir).lexically_normal())
    if (!p.empty() && p != "." && p != "/") names.push_back(p.string());
  std::string label;
  for (std::size_t i = names.size() > static_cast<std::size_t>(parts) ? names.size() - parts : 0; i < names.size(); ++i)
    label += (label.empty() ? "" : "/") + names[i];
  return label.empty() ? dir : label;
}

LoadedRun load_run(const std::string& dir, const ExplainArgs& a) {
  const std::string checkpoint = a.checkpoint.empty() ? default_checkpoint(dir) : a.checkpoint;
  LoadedRun r{dir, run_label(dir, 1), checkpoint, InferenceModel::load(dir, {checkpoint, a.device}), {a.method, -1}};
  if (!a.target.empty()) r.options.target_class = class_index(r.model.class_names(), a.target, dir);
  return r;
}

// One thing to explain: a study's files, or a dataset sample's pixels.
struct Item {
  std::string source, stem;  // stem: the name of its output files
  std::vector<std::string> files;
  std::vector<float> image;          // a dataset sample, preprocessed
  std::optional<std::string> label;  // a dataset sample's class
  std::string error;
  std::int64_t sample = -1;  // a dataset sample's index
};

// Characters a file name can keep; the others become '_'.
std::string file_stem(std::size_t index, const std::string& source) {
  std::string s = fs::path(source).stem().string();
  if (s.empty()) s = "input";
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return fmt::format("{:03d}-{}", index, s);
}

std::vector<Item> collect_items(const ExplainArgs& a, const InferenceModel& model) {
  std::vector<Item> items;
  for (const auto& input : a.inputs)
    for (const Study& s : model.studies(input)) items.push_back({s.source, s.source, s.files, {}, std::nullopt, s.error});
  if (!a.dataset.empty()) {
    const data::Dataset ds = data::Dataset::open(a.dataset);
    const Shape shape = ds.sample_shape();
    const auto size = model.input_size();
    CMT_CHECK(ds.modality() == model.modality() && shape[0] == size[0] && shape[1] == size[1] && shape[2] == size[2],
              a.dataset << ": " << ds.modality() << " samples of " << shape[0] << "x" << shape[1] << "x" << shape[2] << ", but "
                        << a.run << " takes " << model.modality() << " inputs of " << size[0] << "x" << size[1] << "x"
                        << size[2]);
    if (a.score && !ds.has_masks())
      throw UsageError(fmt::format("--score: {} has no lesion masks (cmt prepare carries them from a manifest's mask column, "
                                   "docs/data.md)", a.dataset));
    const auto labels = ds.labels();
    const auto names = ds.class_names();
    for (const std::int64_t i : a.samples) {
      if (i < 0 || i >= ds.size())
        throw UsageError(fmt::format("--samples {}: {} holds {} samples (0 to {})", i, a.dataset, ds.size(), ds.size() - 1));
      Item item{fmt::format("{}#{}", a.dataset, i),
                fmt::format("{}-{}", fs::path(a.dataset).stem().string(), i),
                {},
                std::vector<float>(static_cast<std::size_t>(shape.numel())),
                {},
                ""};
      ds.read_sample(i, item.image.data());
      item.sample = i;
      item.label = names[static_cast<std::size_t>(labels[static_cast<std::size_t>(i)])];
      items.push_back(std::move(item));
    }
  }
  for (std::size_t i = 0; i < items.size(); ++i) items[i].stem = file_stem(i, items[i].stem);
  return items;
}

Explanation explain(const LoadedRun& r, const Item& item) {
  return item.files.empty() ? r.model.explain_image(item.image, item.source, r.options)
                            : r.model.explain_files(item.files, item.source, r.options);
}

nlohmann::json result_json(const LoadedRun& r, const Explanation& e) {
  nlohmann::json j = {{"run", r.dir},
                      {"predicted", e.prediction.predicted_class},
                      {"class", e.target_class_name},
                      {"score", e.score},
                      {"peak", {{"z", e.peak[0]}, {"y", e.peak[1]}, {"x", e.peak[2]}}},
                      {"feature_size", e.feature_size}};
  for (std::size_t k = 0; k < e.prediction.probabilities.size(); ++k)
    j["probabilities"][r.model.class_names()[k]] = e.prediction.probabilities[k];
  if (!e.prediction.warnings.empty()) j["warnings"] = e.prediction.warnings;
  return j;
}

int run_explain(const ExplainArgs& a) {
  if (a.dataset.empty() != a.samples.empty()) throw UsageError("--dataset and --samples go together");
  if (a.inputs.empty() && a.dataset.empty())
    throw UsageError("nothing to explain: give INPUT files or --dataset FILE --samples I,J");
  if (a.score && a.dataset.empty())
    throw UsageError("--score scores the maps of --dataset samples against its lesion masks: give --dataset FILE --samples I,J");
  std::vector<LoadedRun> runs;
  runs.push_back(load_run(a.run, a));
  if (!a.compare.empty()) {
    runs.push_back(load_run(a.compare, a));
    const InferenceModel &m0 = runs[0].model, &m1 = runs[1].model;
    if (m0.modality() != m1.modality() || m0.input_size() != m1.input_size())
      throw UsageError(fmt::format("--compare {}: {} inputs of {}x{}x{}, but {} takes {} inputs of {}x{}x{}", a.compare,
                                   m1.modality(), m1.input_size()[0], m1.input_size()[1], m1.input_size()[2], a.run,
                                   m0.modality(), m0.input_size()[0], m0.input_size()[1], m0.input_size()[2]));
    // Two folds of one name (cmt-cnn/fold0 against ce-only/fold0) are told apart by their parents.
    for (int parts = 2; runs[1].label == runs[0].label && parts <= 4; ++parts)
      for (LoadedRun& r : runs) r.label = run_label(r.dir, parts);
    if (runs[1].label == runs[0].label) runs[1].label += " (compare)";
  }
  const std::vector<Item> items = collect_items(a, runs[0].model);
  fs::create_directories(a.out);
  nlohmann::json report = {{"method", a.method}, {"layer", "the output of the backbone's last stage"}};
  for (const LoadedRun& r : runs)
    report["runs"].push_back({{"run", r.dir}, {"label", r.label}, {"checkpoint", r.checkpoint}, {"model", r.model.describe()}});
  // --score: the dataset samples' maps of each run as a maps file (data/maps_file.h), scored at the end.
  std::vector<std::unique_ptr<data::MapsWriter>> maps;
  const auto maps_path = [&](std::size_t k) { return (fs::path(a.out) / (k == 0 ? "maps.h5" : "maps-compare.h5")).string(); };
  if (a.score) {
    const auto size = runs[0].model.input_size();
    for (std::size_t k = 0; k < runs.size(); ++k)
      maps.push_back(std::make_unique<data::MapsWriter>(maps_path(k), Shape{size[0], size[1], size[2]},
                                                        data::MapsInfo{runs[k].dir, a.method, a.dataset}));
  }
  int failures = 0;
  for (const Item& item : items) {
    nlohmann::json entry = {{"source", item.source}};
    if (item.label) entry["true_class"] = *item.label;
    try {
      CMT_CHECK(item.error.empty(), item.error);
      std::vector<Explanation> found;
      for (const LoadedRun& r : runs) found.push_back(explain(r, item));
      std::vector<NamedExplanation> named;
      std::vector<MapView> views;
      for (std::size_t k = 0; k < runs.size(); ++k) {
        named.push_back({k == 0 ? "" : "_compare", runs[k].dir, &found[k]});
        views.push_back({runs[k].label, &found[k].map, found[k].peak});
        entry["results"].push_back(result_json(runs[k], found[k]));
      }
      if (a.score && item.sample >= 0)
        for (std::size_t k = 0; k < runs.size(); ++k) maps[k]->add(item.sample, found[k].map.data());
      const Explanation& e = found.front();
      write_map_file((fs::path(a.out) / (item.stem + ".h5")).string(), item.source, a.method, named);
      write_overview_png((fs::path(a.out) / (item.stem + ".png")).string(), e.image, e.size, views);
      entry["files"] = {{"maps", item.stem + ".h5"}, {"overview", item.stem + ".png"}};
      if (e.size[0] > 1) {
        write_montage_png((fs::path(a.out) / (item.stem + "-montage.png")).string(), e.image, e.size, views);
        entry["files"]["montage"] = item.stem + "-montage.png";
      }
      std::string line;
      for (std::size_t k = 0; k < runs.size(); ++k)
        line += fmt::format("{}{}: {} (explained {}, peak z={} y={} x={})", k ? "; " : "", runs[k].label,
                            found[k].prediction.predicted_class, found[k].target_class_name, found[k].peak[0], found[k].peak[1],
                            found[k].peak[2]);
      std::printf("%s  %s\n", item.source.c_str(), line.c_str());
    } catch (const Error& e) {
      ++failures;
      entry["error"] = e.what();
      std::fprintf(stderr, "cmt explain: skipped %s: %s\n", item.source.c_str(), e.what());
    }
    report["inputs"].push_back(entry);
  }
  if (a.score) {
    for (auto& m : maps) m->finish();
    const std::string scores = (fs::path(a.out) / "scores.json").string();
    report_map_scores({maps_path(0), a.dataset, maps.size() > 1 ? maps_path(1) : "", scores, a.tolerance});
    report["scores"] = {{"maps", "maps.h5"}, {"json", "scores.json"}, {"tolerance", a.tolerance}};
    if (maps.size() > 1) report["scores"]["compare_maps"] = "maps-compare.h5";
  }
  write_text_atomic((fs::path(a.out) / "explain.json").string(), report.dump(2) + "\n");
  std::printf("wrote %s\n", (fs::path(a.out) / "explain.json").string().c_str());
  return failures ? kFailure : kOk;
}

void setup_explain(CLI::App& app, Action& action) {
  auto* cmd =
      app.add_subcommand("explain", "Attention maps (Grad-CAM, Grad-CAM++) of a trained run for studies or dataset samples");
  auto args = std::make_shared<ExplainArgs>();
  cmd->add_option("--run", args->run, "run folder of `cmt train`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--compare", args->compare, "a second run, shown side by side")->check(CLI::ExistingDirectory);
  cmd->add_option("--out", args->out, "folder for the maps, the pictures and explain.json")->required();
  cmd->add_option("--method", args->method, "gradcam or gradcampp")->check(CLI::IsMember({"gradcam", "gradcampp"}));
  cmd->add_option("--class", args->target, "class to explain, by name or index (default: the predicted class)");
  cmd->add_option("--checkpoint", args->checkpoint,
                  "last, best or a checkpoint path (default: best when the run has it, else last)");
  cmd->add_option("--device", args->device, kDeviceHelp)->check(device_check());
  cmd->add_option("--dataset", args->dataset, "a prepared dataset whose --samples to explain")->check(CLI::ExistingFile);
  cmd->add_option("--samples", args->samples, "sample indices of --dataset, e.g. 0,5,9")->delimiter(',');
  cmd->add_option("INPUT", args->inputs, "DICOM file, DICOM series folder, PNG/JPEG, or a folder of them");
  cmd->add_flag("--score", args->score,
                "also write the dataset samples' maps (maps.h5, maps-compare.h5) and score them against its lesion masks "
                "(scores.json)");
  cmd->add_option("--tolerance", args->tolerance, "--score: voxels the map's maximum may lie from the lesion (default 0)")
      ->check(CLI::Range(0, 1000));
  cmd->callback([&action, args] { action = [args] { return run_explain(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(72, "explain", setup_explain);

}  // namespace cmt::app
