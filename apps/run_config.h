// The run configuration of `cmt train/eval/cv`: every key has a default; a JSON config file and
// command-line flags override them; validate() rejects bad values before any work, naming the key.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace cmt::app {

struct RunConfig {
  // data
  std::string dataset;             // HDF5 file from `cmt prepare`
  int fold = 0;                    // held-out fold
  std::string task = "ternary";    // ternary: the dataset's classes | binary: COVID-19 against the rest (apps/task.h)
  double val_fraction = 0;         // > 0: validation patients carved out of the training folds (best.h5, lambda)
  // model
  std::string backbone = "resnet50";
  double width = 1.0, depth = 1.0;
  std::int64_t latent_dim = 4096;
  float lambda = 0.25f, tau = 0.1f;
  float label_smoothing = 0.f;
  std::string class_weights = "none";  // none | balanced
  float cls_weight = 1.f;              // 0: contrastive-only training of F (ablation)
  std::string cls_views = "both";      // both | first: which views the classification loss sees
  std::string init_from;               // start from these weights (a checkpoint), not from the seed
  std::string init_weights;            // backbone weights exported from torchvision (tools/export_torchvision.py)
  bool freeze_features = false;        // train only the head on frozen features (linear probe)
  bool attention_head = false;         // the attention decoder of the paper's Fig. 5 (docs/models.md)
  // optimisation
  std::int64_t batch_size = 8;
  int epochs = 1;
  std::int64_t steps = 0;          // > 0: stop after this many steps
  std::string optimizer = "adam";  // adam | adamw
  float lr = 1e-3f, weight_decay = 0.f, clip_norm = 0.f;
  std::string schedule = "constant";  // constant | cosine | step
  std::int64_t warmup = 0;
  std::string augment = "paper";  // all seven transformations (docs/augmentation.md)
  // run
  std::string precision = "auto";  // auto (tf32 on a GPU, fp32 on the CPU) | fp32 | tf32 | bf16
  std::string device = "auto";     // auto | cpu | cuda[:N]
  std::string conv_backend = "native";
  std::uint64_t seed = 0;
  std::string out = "runs/run";
  int checkpoint_every = 0;           // > 0: also epochNNNN.h5 every N epochs (last.h5 and best.h5 always)
  int keep_last_n = 0;                // > 0: only the newest N of those stay on disk
  bool checkpoint_optimizer = false;  // epochNNNN.h5 with the optimizer state (resumable), not weights only
  std::int64_t checkpoint_steps = 0;  // > 0: also a mid-epoch last.h5 every N steps
  double checkpoint_minutes = 0;      // > 0: also a mid-epoch last.h5 at most every N minutes
  std::string positive_class = "auto";  // class name for the binary metrics; auto: the COVID-like class
  bool progress = true;
  bool cuda_graph = true;
  bool recompute = false;  // rebuild BN + activation outputs in backward (docs/performance.md)  // GPU: memory-planned step replayed as a CUDA Graph (docs/performance.md)
  // data parallelism (docs/distributed.md): batch_size is per rank
  std::string comm = "auto";       // auto | single | mpi | nccl
  bool sync_bn = false;            // synchronised batch-norm statistics
  double comm_timeout = 600;       // seconds before a stuck collective aborts the job (0: never)

  nlohmann::json to_json() const;
  static RunConfig from_json(const nlohmann::json& j);  // unknown keys are errors
  void validate() const;                                // throws cmt::Error naming the key
};

// Adds --config FILE and a flag per key to `cmd`. After parsing, finalize() loads the file (if any)
// and applies the flags given on the command line over it.
class RunConfigOptions {
 public:
  void add_to(CLI::App& cmd);
  RunConfig finalize() const;
  // The keys the config file and the flags given set (flags win), without the defaults.
  nlohmann::json overrides() const;
  // finalize() and RunConfig::validate(); a bad value or config file is a UsageError (exit 2).
  RunConfig validated() const;

 private:
  std::string config_file_;
  RunConfig flags_;
  CLI::App* cmd_ = nullptr;
};

}  // namespace cmt::app
