#include "apps/study_plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include <fmt/core.h>

#include "apps/usage_error.h"

namespace cmt::app {

namespace fs = std::filesystem;

const char* method_folder(Method m) {
  return m == Method::cmt_cnn ? "cmt-cnn" : m == Method::ce_only ? "ce-only" : "contrastive-only";
}
const char* method_label(Method m) {
  return m == Method::cmt_cnn ? "CMT-CNN" : m == Method::ce_only ? "CE-only" : "contrastive-only";
}

const StudyCell* StudyPlan::find(const std::string& modality, const std::string& task, const std::string& backbone,
                                 Method m) const {
  for (const StudyCell& c : cells)
    if (c.modality == modality && c.task == task && c.backbone == backbone && c.method == m) return &c;
  return nullptr;
}

namespace {

nlohmann::json read_json_file(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw UsageError(fmt::format("{}: cannot read the {}", path, what));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(fmt::format("{}: the {} is not valid JSON: {}", path, what, e.what()));
  }
}

std::vector<std::string> string_list(const nlohmann::json& j, const char* key, std::vector<std::string> fallback,
                                     const std::set<std::string>& allowed, const std::string& file) {
  if (!j.contains(key)) return fallback;
  const auto& v = j[key];
  if (!v.is_array() || v.empty() || !std::all_of(v.begin(), v.end(), [](const auto& x) { return x.is_string(); }))
    throw UsageError(fmt::format("{}: '{}' must be a non-empty list of names, got {}", file, key, v.dump()));
  std::vector<std::string> out;
  for (const auto& x : v) {
    const std::string name = x.get<std::string>();
    if (!allowed.empty() && !allowed.count(name)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw UsageError(fmt::format("{}: '{}' holds '{}', expected some of {}", file, key, name, list));
    }
    if (std::find(out.begin(), out.end(), name) != out.end())
      throw UsageError(fmt::format("{}: '{}' names '{}' twice", file, key, name));
    out.push_back(name);
  }
  return out;
}

// KEY=VALUE: VALUE as JSON when it parses (numbers, true/false), else as a string.
void apply_set(nlohmann::json& run, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError("--set '" + kv + "': expected KEY=VALUE (a run key, e.g. epochs=50)");
  const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
  const nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  run[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
}

RunConfig cell_config(const nlohmann::json& base, const std::string& where) {
  try {
    RunConfig c = RunConfig::from_json(base);
    c.validate();
    return c;
  } catch (const Error& e) {
    throw UsageError(where + ": " + e.what());
  }
}

}  // namespace

StudyPlan read_study_plan(const std::string& path, const StudyOverrides& flags) {
  const nlohmann::json j = read_json_file(path, "study file");
  if (!j.is_object()) throw UsageError(path + ": the study file must be a JSON object");
  static const std::set<std::string> known = {"datasets", "backbones", "tasks", "ablations", "folds", "run", "out", "alpha"};
  for (const auto& [key, value] : j.items())
    if (!known.count(key))
      throw UsageError(
          fmt::format("{}: unknown key '{}' (expected datasets, backbones, tasks, ablations, folds, run, out, alpha)", path,
                      key));
  for (const auto& [key, ok] : {std::pair<const char*, bool>{"folds", !j.contains("folds") || j["folds"].is_number_integer()},
                                {"alpha", !j.contains("alpha") || j["alpha"].is_number()},
                                {"out", !j.contains("out") || j["out"].is_string()}})
    if (!ok) throw UsageError(fmt::format("{}: '{}' has the wrong type ({})", path, key, j[key].dump()));
  StudyPlan plan;
  plan.out = !flags.out.empty() ? flags.out : j.value("out", std::string("runs/study"));
  plan.folds = flags.folds >= 0 ? flags.folds : j.value("folds", 0);
  plan.alpha = flags.alpha >= 0 ? flags.alpha : j.value("alpha", 0.05);
  if (plan.folds < 0 || plan.folds == 1)
    throw UsageError(fmt::format("{}: 'folds' is {}: 0 (all) or 2 or more", path, plan.folds));
  if (!(plan.alpha > 0 && plan.alpha < 1)) throw UsageError(fmt::format("{}: 'alpha' must be in (0, 1)", path));
  plan.tasks = string_list(j, "tasks", {"binary", "ternary"}, {"binary", "ternary"}, path);
  plan.backbones = string_list(j, "backbones", {"vgg19", "resnet50", "efficientnet_b4"}, {}, path);
  const auto ablations = string_list(j, "ablations", {"contrastive_only"}, {"contrastive_only", "none"}, path);
  plan.methods = {Method::cmt_cnn, Method::ce_only};
  if (std::find(ablations.begin(), ablations.end(), "contrastive_only") != ablations.end())
    plan.methods.push_back(Method::contrastive_only);

  if (!j.contains("datasets") || !j["datasets"].is_object() || j["datasets"].empty())
    throw UsageError(path + ": 'datasets' is required: {\"ct\": \"ct.h5\", \"xray\": \"xray.h5\"} (one or both)");
  nlohmann::json run = j.value("run", nlohmann::json::object());
  if (!run.is_object()) throw UsageError(path + ": 'run' must be an object of run keys (docs/training.md)");
  for (const std::string& kv : flags.sets) apply_set(run, kv);
  for (const char* fixed : {"dataset", "backbone", "task", "out", "fold"})
    if (run.contains(fixed)) throw UsageError(fmt::format("{}: 'run' sets '{}', which the study sets per cell", path, fixed));

  for (const char* modality : {"ct", "xray"}) {
    if (!j["datasets"].contains(modality)) continue;
    const auto& d = j["datasets"][modality];
    std::string dataset, config_file;
    if (d.is_string()) dataset = d.get<std::string>();
    else if (d.is_object() && d.contains("dataset") && d["dataset"].is_string()) {
      dataset = d["dataset"].get<std::string>();
      config_file = d.value("config", std::string());
    } else {
      throw UsageError(
          fmt::format("{}: datasets.{} must be a file name or {{\"dataset\": FILE, \"config\": RUN_CONFIG}}", path, modality));
    }
    plan.modalities.push_back(modality);
    // The modality's run settings (e.g. configs/ct.json), then the study's 'run' keys and --set.
    nlohmann::json base = RunConfig().to_json();
    if (!config_file.empty()) {
      nlohmann::json file = read_json_file(config_file, "run configuration");
      if (file.is_object()) file.erase("run_info");
      base.update(file);
    }
    base.update(run);
    base["dataset"] = dataset;
    for (const std::string& task : plan.tasks)
      for (const std::string& backbone : plan.backbones)
        for (Method m : plan.methods) {
          nlohmann::json k = base;
          k["task"] = task;
          k["backbone"] = backbone;
          if (m == Method::ce_only) k["lambda"] = 0;  // everything else unchanged (paper 4.4)
          k["out"] = (fs::path(plan.out) / modality / task / backbone / method_folder(m)).string();
          StudyCell cell{modality, task, backbone, m,
                         cell_config(k, fmt::format("{} ({} {} {} {})", path, modality, task, backbone, method_label(m)))};
          if (m == Method::cmt_cnn && cell.config.lambda == 0)
            throw UsageError(path +
                             ": 'lambda' is 0, so CMT-CNN would be the CE-only baseline; give the contrastive weight (0.25)");
          plan.cells.push_back(std::move(cell));
        }
  }
  if (plan.modalities.empty()) throw UsageError(path + ": 'datasets' names neither 'ct' nor 'xray'");
  for (const auto& [key, value] : j["datasets"].items())
    if (key != "ct" && key != "xray") throw UsageError(fmt::format("{}: datasets.{}: expected 'ct' or 'xray'", path, key));
  return plan;
}

}  // namespace cmt::app
