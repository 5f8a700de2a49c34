// `cmt predict`: class probabilities per study (a DICOM file, a DICOM series folder, a PNG/JPEG, or a
// folder of them) with the preprocessing the model was trained with; runs on the CPU or a GPU.
#include <algorithm>
#include <filesystem>

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "cmt/inference.h"
#include "data/ingest.h"

namespace cmt::app {

namespace {

namespace fs = std::filesystem;

struct PredictArgs {
  std::string run, checkpoint = "last", device = "auto";
  std::vector<std::string> inputs;
  bool json = false;
};

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// One input path -> studies. A folder of files is one CT series (or slice stack); for X-ray each
// file is a study. A folder of folders holds one study per subfolder.
std::vector<data::SourceItem> studies(const std::string& input, const std::string& modality) {
  const fs::path p(input);
  CMT_CHECK(fs::exists(p), input << ": no such file or folder");
  std::vector<data::SourceItem> out;
  if (fs::is_regular_file(p)) {
    out.push_back({"", "", {p.string()}, p.string()});
    return out;
  }
  std::vector<fs::path> subdirs;
  for (const auto& e : fs::directory_iterator(p))
    if (e.is_directory()) subdirs.push_back(e.path());
  std::sort(subdirs.begin(), subdirs.end());
  const auto files = files_in(p);
  if (!files.empty()) {
    if (modality == "ct") out.push_back({"", "", files, p.string()});
    else
      for (const auto& f : files) out.push_back({"", "", {f}, f});
  }
  for (const auto& d : subdirs)
    for (auto& s : studies(d.string(), modality)) out.push_back(std::move(s));
  CMT_CHECK(!out.empty(), input << ": no files found");
  return out;
}

int run_predict(const PredictArgs& a) {
  // The public inference API (include/cmt/inference.h): what embedding programs get is what this prints.
  const InferenceModel model = InferenceModel::load(a.run, {a.checkpoint, a.device});
  const auto& names = model.class_names();
  nlohmann::json results = nlohmann::json::array();
  int failures = 0;
  for (const auto& input : a.inputs) {
    for (const auto& study : studies(input, model.modality())) {
      try {
        const Prediction p = model.predict_files(study.files, study.source);
        nlohmann::json r = {{"study", study.source}, {"predicted", p.predicted_class}};
        for (std::size_t k = 0; k < p.probabilities.size(); ++k) r["probabilities"][names[k]] = p.probabilities[k];
        if (!p.warnings.empty()) r["warnings"] = p.warnings;
        results.push_back(r);
        for (const auto& w : p.warnings) std::fprintf(stderr, "cmt predict: warning: %s\n", w.c_str());
        if (!a.json) {
          std::string probs;
          for (std::size_t k = 0; k < p.probabilities.size(); ++k) probs += fmt::format("{}={:.4f} ", names[k], p.probabilities[k]);
          std::printf("%-12s %s %s\n", p.predicted_class.c_str(), probs.c_str(), study.source.c_str());
        }
      } catch (const Error& e) {
        ++failures;
        std::fprintf(stderr, "cmt predict: skipped %s: %s\n", study.source.c_str(), e.what());
      }
    }
  }
  if (a.json) std::printf("%s\n", results.dump(2).c_str());
  return results.empty() ? kFailure : (failures ? kFailure : kOk);
}

void setup_predict(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("predict", "Class probabilities for DICOM/PNG/JPEG studies with a trained run");
  auto args = std::make_shared<PredictArgs>();
  cmd->add_option("--run", args->run, "run folder of `cmt train`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--checkpoint", args->checkpoint, "last, best or a checkpoint path");
  cmd->add_option("--device", args->device, "auto | cpu | cuda[:N]");
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_option("INPUT", args->inputs, "DICOM file, DICOM series folder, PNG/JPEG, or a folder of them")->required();
  cmd->callback([&action, args] { action = [args] { return run_predict(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(70, "predict", setup_predict);

}  // namespace cmt::app
