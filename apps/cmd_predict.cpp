// `cmt predict`: class probabilities per study (a DICOM file, a DICOM series folder, a PNG/JPEG, or a
// folder of them) with the preprocessing the model was trained with; runs on the CPU or a GPU. A
// study that cannot be predicted is an "error" entry and makes the exit code 1.
#include <fmt/core.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "apps/attention_output.h"
#include "apps/commands.h"
#include "apps/flag_names.h"
#include "apps/usage_error.h"
#include "cmt/inference.h"

namespace cmt::app {

namespace {

struct PredictArgs {
  std::string run, checkpoint = "last", device = "auto";
  std::vector<std::string> inputs;
  std::string attention_out;  // non-empty: write each study's attention map here
  bool json = false;
};

int run_predict(const PredictArgs& a) {
  // The public inference API (include/cmt/inference.h): what embedding programs get is what this prints.
  const InferenceModel model = InferenceModel::load(a.run, {a.checkpoint, a.device});
  const auto& names = model.class_names();
  if (!a.attention_out.empty()) {
    if (!model.has_attention_head())
      throw UsageError("--attention-out: the run " + a.run + " was trained without attention_head (no attention decoder)");
    std::error_code ec;
    std::filesystem::create_directories(a.attention_out, ec);
    CMT_CHECK(!ec && std::filesystem::is_directory(a.attention_out), a.attention_out << ": cannot create the folder: " << ec.message());
  }
  nlohmann::json results = nlohmann::json::array();
  int failures = 0;
  auto fail = [&](const std::string& source, const std::string& error) {
    ++failures;
    results.push_back({{"study", source}, {"error", error}});
    std::fprintf(stderr, "cmt predict: skipped %s: %s\n", source.c_str(), error.c_str());
  };
  for (const auto& input : a.inputs) {
    // The API's folder rules (InferenceModel::studies): one prediction per series, file or stack.
    for (const Study& study : model.studies(input)) {
      if (!study.error.empty()) {
        fail(study.source, study.error);
        continue;
      }
      try {
        const Prediction p = model.predict_files(study.files, study.source);
        nlohmann::json r = {{"study", study.source}, {"predicted", p.predicted_class}};
        for (std::size_t k = 0; k < p.probabilities.size(); ++k) r["probabilities"][names[k]] = p.probabilities[k];
        if (!p.warnings.empty()) r["warnings"] = p.warnings;
        if (!a.attention_out.empty())
          r["attention"] = write_attention(a.attention_out, model.attention_map_files(study.files, study.source));
        results.push_back(r);
        for (const auto& w : p.warnings) std::fprintf(stderr, "cmt predict: warning: %s\n", w.c_str());
        if (!a.json) {
          std::string probs;
          for (std::size_t k = 0; k < p.probabilities.size(); ++k) probs += fmt::format("{}={:.4f} ", names[k], p.probabilities[k]);
          std::printf("%-12s %s %s\n", p.predicted_class.c_str(), probs.c_str(), study.source.c_str());
        }
      } catch (const Error& e) {
        fail(study.source, e.what());
      }
    }
  }
  if (a.json) std::printf("%s\n", results.dump(2).c_str());
  return failures ? kFailure : kOk;
}

void setup_predict(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("predict", "Class probabilities for DICOM/PNG/JPEG studies with a trained run");
  auto args = std::make_shared<PredictArgs>();
  cmd->add_option("--run", args->run, "run folder of `cmt train`")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--checkpoint", args->checkpoint, "last, best or a checkpoint path");
  cmd->add_option("--device", args->device, kDeviceHelp)->check(device_check());
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_option("--attention-out", args->attention_out,
                  "write each study's attention map here (runs trained with attention_head): PNG renderings and a .npy");
  cmd->add_option("INPUT", args->inputs, "DICOM file, DICOM series folder, PNG/JPEG, or a folder of them")->required();
  cmd->callback([&action, args] { action = [args] { return run_predict(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(70, "predict", setup_predict);

}  // namespace cmt::app
