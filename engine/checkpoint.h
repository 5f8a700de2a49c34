// Checkpoints: one HDF5 file with the parameters and buffers by name path, the optimizer state,
// the position in training (epoch, step), the run's config as JSON and the metrics so far.
// Written to a temporary name and renamed, so a crash never leaves a half-written checkpoint.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/parameters.h"

namespace cmt {

class Adam;

// Running sums of the epoch in progress: the epoch's summary line and metrics record average them.
// A mid-epoch checkpoint stores them, so that a resumed epoch reports the whole epoch.
struct EpochTotals {
  double loss = 0, loss_cls = 0, loss_cst = 0, pos_sim = 0;
  std::int64_t steps = 0, correct = 0, seen = 0;  // steps; correct and seen views (accuracy)
  double lr = 0;                                   // the learning rate of the last step
  double seconds = 0;                              // training time of the epoch so far (samples/s)
  nlohmann::json to_json() const;
  static EpochTotals from_json(const nlohmann::json& j);
  bool operator==(const EpochTotals&) const = default;
};

struct CheckpointState {
  std::int64_t epoch = 0;        // epochs completed
  std::int64_t step = 0;         // optimizer steps completed
  std::int64_t step_in_epoch = 0;  // batches of the current epoch already consumed
  std::uint64_t seed = 0;
  nlohmann::json config;         // the run's configuration
  nlohmann::json metrics;        // metrics history so far
  std::string model;             // model description; loading refuses another model
  // Mid-epoch checkpoints only; absent at epoch ends and in checkpoints written before it existed.
  std::optional<EpochTotals> epoch_totals;
};

// Copies device tensors to the host as needed.
void save_checkpoint(const std::string& path, ParameterStore& store, Adam* optimizer, const CheckpointState& state);

// Loads into `store` (and the optimizer when given). Throws cmt::Error naming the file and the
// problem: not HDF5 or corrupt, another model, a missing or mis-shaped parameter.
CheckpointState load_checkpoint(const std::string& path, ParameterStore& store, Adam* optimizer);

// Reads only the state (for `cmt info`-like inspection and model reconstruction).
CheckpointState read_checkpoint_state(const std::string& path);

}  // namespace cmt
