// `cmt predict`: class probabilities per study (a DICOM file, a DICOM series folder, a PNG/JPEG, or a
// folder of them) with the preprocessing the model was trained with; runs on the CPU or a GPU.
#include <algorithm>
#include <filesystem>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/run_setup.h"
#include "data/ingest.h"
#include "engine/ops/basic.h"

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
  LoadedRun run = read_run(a.run);
  run.config.device = a.device;
  auto ctx = make_context(run.config);
  models::CmtModel model(model_config(run.config, run.info));
  RunConfig no_files = run.config;
  no_files.out.clear();
  Trainer trainer(*ctx, model, trainer_config(no_files, 1));
  trainer.resume(a.checkpoint == "best" || a.checkpoint == "last" ? (fs::path(a.run) / (a.checkpoint + ".h5")).string() : a.checkpoint);

  data::Preprocess pre;
  pre.size = {static_cast<int>(run.info.sample_shape[0]), static_cast<int>(run.info.sample_shape[1]),
              static_cast<int>(run.info.sample_shape[2])};
  if (const auto comma = run.info.window.find(','); comma != std::string::npos) {
    pre.window_lo = std::stof(run.info.window.substr(0, comma));
    pre.window_hi = std::stof(run.info.window.substr(comma + 1));
  }
  Context host(Device::cpu());
  nlohmann::json results = nlohmann::json::array();
  int failures = 0;
  for (const auto& input : a.inputs) {
    for (const auto& study : studies(input, run.info.modality)) {
      try {
        bool hu = false;
        const data::Volume v = data::load_item(study, run.info.modality, hu);
        std::vector<float> x = data::preprocess(host, v, hu, pre);
        Tensor t = Tensor::from_vector(x, Shape{1, pre.size[0], pre.size[1], pre.size[2], 1});
        Tensor dev = ctx->device().is_cpu() ? t : t.to(ctx->device());
        ops::add_scalar_(*ctx, dev, -0.5f);  // the shift training applies after augmentation
        const std::vector<float> p = model.predict(*ctx, dev).to_vector<float>();
        const auto best = std::max_element(p.begin(), p.end()) - p.begin();
        nlohmann::json r = {{"study", study.source}, {"predicted", run.info.class_names[static_cast<std::size_t>(best)]}};
        for (std::size_t k = 0; k < p.size(); ++k) r["probabilities"][run.info.class_names[k]] = p[k];
        results.push_back(r);
        if (!a.json) {
          std::string probs;
          for (std::size_t k = 0; k < p.size(); ++k) probs += fmt::format("{}={:.4f} ", run.info.class_names[k], p[k]);
          std::printf("%-12s %s %s\n", run.info.class_names[static_cast<std::size_t>(best)].c_str(), probs.c_str(), study.source.c_str());
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
