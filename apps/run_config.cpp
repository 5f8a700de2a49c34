// RunConfig: JSON round trip, validation, command-line flags.
#include "apps/run_config.h"

#include <fstream>
#include <set>
#include <type_traits>

#include "apps/flag_names.h"
#include "apps/json_numbers.h"
#include "apps/usage_error.h"
#include "engine/augment_policy.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace {

// Floats as their shortest decimal; everything else as is.
template <typename T>
nlohmann::json to_json_value(const T& v) {
  if constexpr (std::is_same_v<T, float>) return json_float(v);
  else return v;
}

// Integers must be whole numbers (4.5 is refused, not truncated to 4).
template <typename T>
void from_json_value(const nlohmann::json& j, const char* key, T& out) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (j.is_number()) {
      out = static_cast<T>(json_integer(j, std::string("config: key '") + key + "'"));
      return;
    }
  }
  j.get_to(out);
}

}  // namespace

// The keys, one line per group (kept as laid out by hand).
// clang-format off
#define CMT_RUN_CONFIG_KEYS(X)                                                                                        \
  X(dataset) X(fold) X(task) X(val_fraction) X(backbone) X(width) X(depth) X(latent_dim) X(lambda) X(tau) X(label_smoothing) X(class_weights) \
  X(cls_weight) X(cls_views) X(init_from) X(init_weights) X(freeze_features) X(attention_head)                         \
  X(batch_size) X(epochs) X(steps) X(optimizer) X(lr) X(weight_decay) X(clip_norm) X(schedule) X(warmup) X(augment)   \
  X(precision) X(device) X(conv_backend) X(seed) X(out) X(positive_class) X(progress)                                 \
  X(checkpoint_every) X(keep_last_n) X(checkpoint_optimizer) X(checkpoint_steps) X(checkpoint_minutes)                \
  X(comm) X(sync_bn) X(comm_timeout) X(cuda_graph) X(recompute)
// clang-format on

nlohmann::json RunConfig::to_json() const {
  nlohmann::json j;
#define CMT_TO_JSON(key) j[#key] = to_json_value(key);
  CMT_RUN_CONFIG_KEYS(CMT_TO_JSON)
#undef CMT_TO_JSON
  return j;
}

RunConfig RunConfig::from_json(const nlohmann::json& j) {
  CMT_CHECK(j.is_object(), "config: expected a JSON object");
  RunConfig c;
  static const std::set<std::string> known = {
#define CMT_NAME(key) #key,
      CMT_RUN_CONFIG_KEYS(CMT_NAME)
#undef CMT_NAME
  };
  // run_info (apps/run_info.h) records how a run was made: a saved config.json is read back without it.
  for (const auto& [key, value] : j.items())
    CMT_CHECK(known.count(key) || key == "run_info", "config: unknown key '" << key << "'");
#define CMT_FROM_JSON(key)                                                                              \
  if (j.contains(#key)) {                                                                               \
    try {                                                                                               \
      from_json_value(j.at(#key), #key, c.key);                                                         \
    } catch (const nlohmann::json::exception& e) {                                                      \
      CMT_THROW("config: key '" #key "' has the wrong type (" << j.at(#key).dump() << "): " << e.what()); \
    }                                                                                                   \
  }
  CMT_RUN_CONFIG_KEYS(CMT_FROM_JSON)
#undef CMT_FROM_JSON
  return c;
}

void RunConfig::validate() const {
  auto one_of = [](const std::string& key, const std::string& v, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += std::string(list.empty() ? "" : ", ") + a;
    }
    CMT_THROW("config: '" << key << "' is '" << v << "', expected one of " << list);
  };
  CMT_CHECK(!dataset.empty(), "config: 'dataset' is required (an HDF5 file from `cmt prepare`)");
  CMT_CHECK(fold >= 0, "config: 'fold' must be >= 0, got " << fold);
  one_of("task", task, {"ternary", "binary"});
  CMT_CHECK(val_fraction >= 0 && val_fraction <= 0.5, "config: 'val_fraction' must be in [0, 0.5], got " << val_fraction);
  one_of("backbone", backbone, {"vgg19", "vgg19_bn", "resnet50", "efficientnet_b4"});
  CMT_CHECK(width > 0 && width <= 4, "config: 'width' must be in (0, 4], got " << width);
  CMT_CHECK(depth > 0 && depth <= 4, "config: 'depth' must be in (0, 4], got " << depth);
  CMT_CHECK(latent_dim >= 2, "config: 'latent_dim' must be >= 2, got " << latent_dim);
  CMT_CHECK(lambda >= 0, "config: 'lambda' must be >= 0, got " << lambda);
  CMT_CHECK(tau > 0, "config: 'tau' must be > 0, got " << tau);
  CMT_CHECK(label_smoothing >= 0 && label_smoothing < 1, "config: 'label_smoothing' must be in [0, 1), got " << label_smoothing);
  one_of("class_weights", class_weights, {"none", "balanced"});
  one_of("cls_views", cls_views, {"both", "first"});
  CMT_CHECK(cls_weight >= 0, "config: 'cls_weight' must be >= 0, got " << cls_weight);
  CMT_CHECK(cls_weight > 0 || lambda > 0, "config: 'cls_weight' and 'lambda' are both 0: nothing to train");
  CMT_CHECK(!freeze_features || !init_from.empty(), "config: 'freeze_features' needs 'init_from' (a checkpoint to probe)");
  CMT_CHECK(batch_size >= 2, "config: 'batch_size' must be >= 2 (contrastive pairs need negatives), got " << batch_size);
  CMT_CHECK(epochs >= 1, "config: 'epochs' must be >= 1, got " << epochs);
  CMT_CHECK(steps >= 0, "config: 'steps' must be >= 0, got " << steps);
  one_of("optimizer", optimizer, {"adam", "adamw"});
  CMT_CHECK(lr > 0, "config: 'lr' must be > 0, got " << lr);
  CMT_CHECK(weight_decay >= 0, "config: 'weight_decay' must be >= 0");
  CMT_CHECK(clip_norm >= 0, "config: 'clip_norm' must be >= 0");
  one_of("schedule", schedule, {"constant", "cosine", "step"});
  CMT_CHECK(warmup >= 0, "config: 'warmup' must be >= 0");
  try {
    AugmentPolicy::parse(augment);
  } catch (const Error& e) {
    CMT_THROW("config: 'augment' is '" << augment << "': " << e.what());
  }
  one_of("precision", precision, {"auto", "fp32", "tf32", "bf16"});
  one_of("conv_backend", conv_backend, {"native", "cudnn"});
  CMT_CHECK(device == "auto" || device == "cpu" || device.rfind("cuda", 0) == 0,
            "config: 'device' is '" << device << "', expected auto, cpu, cuda or cuda:N");
  CMT_CHECK(!out.empty(), "config: 'out' must name a folder");
  CMT_CHECK(checkpoint_every >= 0, "config: 'checkpoint_every' must be >= 0");
  CMT_CHECK(keep_last_n >= 0, "config: 'keep_last_n' must be >= 0 (0: keep every periodic checkpoint), got " << keep_last_n);
  CMT_CHECK(checkpoint_steps >= 0, "config: 'checkpoint_steps' must be >= 0 (0: off), got " << checkpoint_steps);
  CMT_CHECK(checkpoint_minutes >= 0, "config: 'checkpoint_minutes' must be >= 0 (0: off), got " << checkpoint_minutes);
  one_of("comm", comm, {"auto", "single", "mpi", "nccl"});
  CMT_CHECK(comm_timeout >= 0, "config: 'comm_timeout' must be >= 0 seconds (0: wait forever), got " << comm_timeout);
}

namespace {
// A flag's check (a bad value is a bad command line, exit 2). Not a number: the type check says so.
std::string non_negative(const std::string& value) {
  try {
    if (std::stod(value) >= 0) return {};
  } catch (const std::exception&) {
    return {};
  }
  return "must be >= 0 (0: off), got " + value;
}
}  // namespace

void RunConfigOptions::add_to(CLI::App& cmd) {
  cmd_ = &cmd;
  cmd.add_option("--config", config_file_, "JSON config file (every key optional; flags override it)")->check(CLI::ExistingFile);
  RunConfig& f = flags_;
  cmd.add_option("--dataset", f.dataset, "HDF5 dataset from `cmt prepare`");
  cmd.add_option("--fold", f.fold, "held-out fold");
  cmd.add_option("--task", f.task, "ternary (the dataset's classes) | binary (COVID-19 against the other classes)");
  cmd.add_option("--val-fraction", f.val_fraction,
                 "share of the training folds' patients held for validation (per class; 0: none)");
  cmd.add_option("--backbone", f.backbone, "vgg19 | vgg19_bn | resnet50 | efficientnet_b4");
  cmd.add_option("--width", f.width, "channel multiplier");
  cmd.add_option("--depth", f.depth, "block-count multiplier");
  cmd.add_option("--latent-dim", f.latent_dim, "dimension d of the latent r");
  cmd.add_option("--lambda", f.lambda, "weight of the contrastive loss");
  cmd.add_option("--tau", f.tau, "NT-Xent temperature");
  cmd.add_option("--label-smoothing", f.label_smoothing, "label smoothing of the classification loss");
  cmd.add_option("--class-weights", f.class_weights, "none | balanced");
  cmd.add_option("--cls-weight", f.cls_weight, "weight of the classification loss (0: contrastive-only ablation)");
  cmd.add_option("--cls-views", f.cls_views, "both | first: views of the classification loss");
  cmd.add_option("--init-weights", f.init_weights, "2D backbone weights exported from torchvision (ImageNet, ...)");
  cmd.add_option("--init-from", f.init_from, "initial weights from this checkpoint");
  cmd.add_flag("--freeze-features", f.freeze_features, "train only the head on frozen features (linear probe)");
  cmd.add_flag("--attention-head", f.attention_head, "add the attention decoder of the paper's Fig. 5 (cmt predict --attention-out)");
  cmd.add_option("--batch-size", f.batch_size, "samples per step (each gives two views)");
  cmd.add_option("--epochs", f.epochs, "epochs");
  cmd.add_option("--steps", f.steps, "stop after this many steps (0: run all epochs)");
  cmd.add_option("--optimizer", f.optimizer, "adam | adamw");
  cmd.add_option("--lr", f.lr, "learning rate");
  cmd.add_option("--weight-decay", f.weight_decay, "weight decay");
  cmd.add_option("--clip-norm", f.clip_norm, "clip the global gradient norm (0: off)");
  cmd.add_option("--schedule", f.schedule, "constant | cosine | step");
  cmd.add_option("--warmup", f.warmup, "warm-up steps");
  cmd.add_option("--augment", f.augment, "augmentation policy (paper, genesis, none, rotate, poisson+flip, ...)");
  cmd.add_option("--precision", f.precision, "auto (default: tf32 on a GPU, fp32 on the CPU) | fp32 | tf32 | bf16");
  cmd.add_option("--device", f.device, kDeviceHelp)->check(device_check());
  cmd.add_option("--conv-backend", f.conv_backend, "native | cudnn");
  cmd.add_option("--seed", f.seed, "random seed");
  cmd.add_option("--out", f.out, "output folder");
  cmd.add_option("--checkpoint-every", f.checkpoint_every, "also keep epochNNNN.h5 every N epochs (0: last.h5 and best.h5 only)");
  cmd.add_option("--keep-last-n", f.keep_last_n, "keep only the newest N epochNNNN.h5 (0: all of them)");
  cmd.add_flag("--checkpoint-optimizer", f.checkpoint_optimizer,
               "epochNNNN.h5 also hold the optimizer state, so that they can be resumed (default: weights only)");
  cmd.add_option("--checkpoint-steps", f.checkpoint_steps, "also write last.h5 mid-epoch every N steps (0: off)")
      ->check(non_negative);
  cmd.add_option("--checkpoint-minutes", f.checkpoint_minutes, "also write last.h5 mid-epoch at most every N minutes (0: off)")
      ->check(non_negative);
  cmd.add_option("--positive-class", f.positive_class, "class name for sensitivity/specificity/AUC (auto: COVID-like)");
  cmd.add_flag("--progress,!--no-progress", f.progress,
               "progress bar on a terminal, else a timestamped line every 10 s (default on)");
  cmd.add_flag("--recompute", f.recompute, "recompute batch-norm + activation outputs in backward: less activation memory");
  cmd.add_flag("--cuda-graph,!--no-cuda-graph", f.cuda_graph,
               "GPU: plan the step's memory once and replay the step as a CUDA Graph (default on)");
  cmd.add_option("--comm", f.comm, "data parallelism: auto | single | mpi | nccl (auto: nccl on GPUs, mpi on CPUs when launched by mpirun/srun)");
  cmd.add_flag("--sync-bn", f.sync_bn, "batch-norm statistics over every rank's batch (default: per rank)");
  cmd.add_option("--comm-timeout", f.comm_timeout, "seconds a collective may wait for the other ranks before the job aborts (0: forever)");
}

RunConfig RunConfigOptions::validated() const {
  return as_usage_error([&] {
    RunConfig c = finalize();
    c.validate();
    return c;
  });
}

nlohmann::json RunConfigOptions::overrides() const {
  nlohmann::json set = nlohmann::json::object();
  if (!config_file_.empty()) {
    std::ifstream in(config_file_);
    CMT_CHECK(in, "cannot open config file " << config_file_);
    try {
      set = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      CMT_THROW("config file " << config_file_ << " is not valid JSON: " << e.what());
    }
    try {
      RunConfig::from_json(set);  // unknown keys and wrong types, named with the file
    } catch (const Error& e) {
      CMT_THROW(config_file_ << ": " << e.what());
    }
  }
  // Flags given on the command line win over the file.
  const nlohmann::json flags = flags_.to_json();
  for (const auto& [key, value] : flags.items()) {
    std::string flag = "--" + key;
    for (auto& ch : flag)
      if (ch == '_') ch = '-';
    const bool negatable = key == "progress" || key == "cuda_graph";
    if (negatable ? (cmd_->count(flag) + cmd_->count("--no-" + flag.substr(2))) > 0 : cmd_->count(flag) > 0) set[key] = value;
  }
  return set;
}

RunConfig RunConfigOptions::finalize() const {
  nlohmann::json merged = RunConfig().to_json();
  merged.update(overrides());
  return RunConfig::from_json(merged);
}

}  // namespace cmt::app
