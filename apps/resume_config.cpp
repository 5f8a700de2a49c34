// Resume: the saved configuration, with only the changes that keep the run exact.
#include "apps/resume_config.h"

#include <filesystem>
#include <set>

#include "apps/usage_error.h"
#include "engine/checkpoint.h"

namespace cmt::app {

namespace {
// Keys that a resumed run may change: how long it runs, where and on what, and what it writes.
const std::set<std::string>& changeable_on_resume() {
  static const std::set<std::string> keys = {"epochs",
                                             "steps",
                                             "out",
                                             "dataset",
                                             "device",
                                             "comm_timeout",
                                             "progress",
                                             "cuda_graph",
                                             "positive_class",
                                             "checkpoint_every",
                                             "checkpoint_steps",
                                             "checkpoint_minutes",
                                             "keep_last_n",
                                             "checkpoint_optimizer"};
  return keys;
}
}  // namespace

std::string changes_refused_on_resume(const nlohmann::json& saved, const nlohmann::json& now, const std::string& where) {
  std::string refused;
  for (const auto& [key, value] : now.items()) {
    if (key == "precision" && value == "auto") continue;  // the saved run holds what 'auto' resolved to
    if (!changeable_on_resume().count(key) && saved.contains(key) && value != saved[key])
      refused += "\n  " + key + ": " + saved[key].dump() + " " + where + ", " + value.dump() + " now";
  }
  return refused;
}

RunConfig resumed_config(const std::string& checkpoint, const RunConfigOptions& options) {
  nlohmann::json saved = read_checkpoint_state(checkpoint).config;
  if (!saved.is_object() || !saved.contains("backbone")) return options.validated();  // a checkpoint without a run config
  saved.erase("world_size");  // written by the trainer beside the run's keys
  saved.erase("run_info");
  RunConfig from_checkpoint;
  try {
    from_checkpoint = RunConfig::from_json(saved);
  } catch (const Error& e) {
    CMT_THROW("checkpoint " << checkpoint << ": " << e.what());
  }
  nlohmann::json merged = from_checkpoint.to_json();
  const nlohmann::json overrides = as_usage_error([&] { return options.overrides(); });
  const std::string refused = changes_refused_on_resume(merged, overrides, "in the checkpoint");
  for (const auto& [key, value] : overrides.items())
    if (!(key == "precision" && value == "auto")) merged[key] = value;
  if (!refused.empty())
    throw UsageError("--resume " + checkpoint + " continues a run configured otherwise:" + refused +
                     "\nonly epochs, steps, out, dataset, device, progress and the checkpoint keys may change on resume; "
                     "start a new run (--init-from for its weights) to change the others");
  if (!overrides.contains("out")) merged["out"] = std::filesystem::path(checkpoint).parent_path().string();
  if (merged["out"] == "") merged["out"] = ".";
  return as_usage_error([&] {
    RunConfig c = RunConfig::from_json(merged);
    c.validate();
    return c;
  });
}

void check_resumed_dataset(const std::string& checkpoint, const std::string& dataset, const data::DatasetIdentity& identity) {
  const nlohmann::json saved = read_checkpoint_state(checkpoint).config;
  if (!saved.is_object() || !saved.contains("run_info") || !saved["run_info"].contains("dataset_identity")) return;
  const data::DatasetIdentity recorded = data::DatasetIdentity::from_json(saved["run_info"]["dataset_identity"]);
  CMT_CHECK(recorded == identity, "--resume "
                                      << checkpoint << ": " << dataset << " is not the dataset this run was trained on ("
                                      << identity.size << " bytes, header hash " << identity.header_hash << "; the run recorded "
                                      << recorded.size << " bytes, " << recorded.header_hash << " at " << recorded.path
                                      << "): it was replaced or rewritten since; resume on the original dataset, or start a "
                                         "new run (--init-from for the weights)");
}

}  // namespace cmt::app
