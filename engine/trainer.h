// Trainer: runs training steps of a Model over a BatchSource (augmentation, forward, both losses,
// backward, optimizer), evaluates, logs metrics (console, JSONL, CSV), writes atomic checkpoints
// (periodic, last, best, and mid-epoch every N steps or minutes), resumes exactly, and stops cleanly
// on SIGTERM/SIGUSR1 or a NaN loss.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/augment_policy.h"
#include "engine/batch_source.h"
#include "engine/checkpoint.h"
#include "engine/grad_buckets.h"
#include "engine/communicator.h"
#include "engine/lr_schedule.h"
#include "engine/model.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"
#include "engine/step_graph.h"

namespace cmt {

struct TrainerConfig {
  int epochs = 1;
  std::int64_t max_steps = 0;  // > 0: stop after this many optimizer steps in all
  LrSchedule lr;
  AdamConfig adam;
  float clip_norm = 0.f;       // > 0: clip the global gradient norm
  AugmentPolicy augment = AugmentPolicy::parse("genesis");
  std::uint64_t seed = 0;
  std::string out_dir;         // empty: no files (tests)
  int checkpoint_every = 1;    // epochs between periodic checkpoints (0: only last/best)
  int keep_last_n = 0;         // > 0: only the newest N periodic checkpoints stay on disk
  bool periodic_optimizer = true;  // periodic checkpoints hold the optimizer state (resumable), not only weights
  // Mid-epoch last.h5 (engine/checkpoint_schedule.h): every N global steps and/or at most every N
  // minutes of wall-clock time; 0 turns either off.
  std::int64_t checkpoint_steps = 0;
  double checkpoint_minutes = 0;
  bool progress = true;
  bool cuda_graph = true;      // GPU, one process: planned memory + CUDA Graph replay of the step
  std::int64_t inject_nan_at_step = -1;  // testing aid: poison the loss at this global step
  nlohmann::json run_config;   // stored in checkpoints and metrics
  // Data parallelism (null or size 1: one process). Each rank's BatchSource yields its shard; the
  // model must hold the same communicator (global losses); gradients are averaged over ranks after
  // backward, metrics are reduced, only rank 0 writes files and prints progress.
  Communicator* comm = nullptr;
  std::size_t bucket_bytes = std::size_t{25} << 20;  // gradient all-reduce bucket size
};

struct EpochRecord {
  int epoch = 0;
  std::int64_t step = 0;
  double loss = 0, loss_cls = 0, loss_cst = 0, pos_sim = 0, train_accuracy = 0, lr = 0, samples_per_s = 0;
  double peak_device_bytes = 0;
  nlohmann::json validation;  // metrics::evaluate output, when a validation source is given
  nlohmann::json to_json() const;
};

struct Evaluation {
  std::vector<float> probs;  // N x classes
  std::vector<int> labels;
  std::vector<std::int64_t> sample_ids;
};

enum class TrainStatus { finished, interrupted };

class Trainer {
 public:
  Trainer(Context& ctx, Model& model, TrainerConfig config);

  ParameterStore& store() { return *store_; }
  Adam& optimizer() { return *optimizer_; }
  const std::vector<EpochRecord>& history() const { return history_; }
  std::int64_t global_step() const { return step_; }

  void initialize();                         // fresh weights from the seed
  void resume(const std::string& checkpoint);  // continue exactly where it stopped
  TrainStatus fit(BatchSource& train, BatchSource* validation);
  Evaluation evaluate(BatchSource& source);
  nlohmann::json evaluate_metrics(BatchSource& source, const std::vector<std::string>& class_names, int positive);

  // Losses of every step so far (for resume-equality tests and plots).
  const std::vector<float>& step_losses() const { return step_losses_; }
  std::string checkpoint_path(const std::string& name) const;  // <out_dir>/<name>.h5
  void save(const std::string& name, bool with_optimizer = true);

 private:
  CheckpointState state() const;
  void save_periodic();          // epochNNNN.h5, then the older ones beyond keep_last_n are removed
  double epoch_seconds() const;  // training time of the current epoch, before and since a resume
  void write_metrics(const EpochRecord& r);
  void drop_logs_after(std::int64_t step, std::int64_t epoch);  // a resume rewinds steps.csv, metrics.*
  void log_step(const HostLosses& l, double lr);
  bool distributed() const { return config_.comm != nullptr && config_.comm->size() > 1; }
  bool writer() const { return config_.comm == nullptr || config_.comm->rank() == 0; }
  void average_over_ranks(Tensor& t);  // in place: the mean over ranks (no-op on one process)
  bool any_rank_stops(bool mine);     // a signal on any rank stops every rank at the same step
  static double best_score(const EpochRecord& r);  // the higher, the better; best.h5 keeps the first maximum

  Context& ctx_;
  Model& model_;
  TrainerConfig config_;
  std::unique_ptr<ParameterStore> store_;
  std::unique_ptr<Adam> optimizer_;
  std::unique_ptr<GradientBuckets> buckets_;  // data parallelism only
  // The steady-state step on a GPU (docs/performance.md): plain, then recorded into a memory plan,
  // replayed eagerly once, then captured and replayed as a CUDA Graph. Batches of another shape
  // (an epoch's last, smaller batch) run eagerly.
  StepLosses graph_step(const Tensor& views, const Tensor& labels, double lr);
  std::string graph_off_reason();  // empty when the steady-state step may run
  std::unique_ptr<SteadyStep> steady_;  // null: eager steps (CPU, or the graph is off)
  Tensor graph_views_, graph_labels_;
  StepLosses graph_losses_;
  std::vector<EpochRecord> history_;
  std::vector<float> step_losses_;
  int epoch_ = 0;                 // current (0-based) epoch
  std::int64_t step_ = 0;         // optimizer steps done
  std::int64_t step_in_epoch_ = 0;
  EpochTotals totals_;            // of the current epoch (restored by a mid-epoch resume)
  std::chrono::steady_clock::time_point epoch_segment_start_;  // when this process began the epoch's steps
  double best_score_ = -1e300;
};

}  // namespace cmt
