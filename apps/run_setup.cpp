// Run wiring: models + data + engine, for the train/eval/cv subcommands.
#include "apps/run_setup.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "apps/eval_output.h"
#include "apps/plots.h"
#include "apps/resume_config.h"
#include "apps/run_info.h"
#include "apps/task.h"
#include "apps/text_file.h"
#include "data/dataset_identity.h"
#include "data/folds.h"
#include "data/loader.h"
#include "engine/communicator.h"
#include "engine/cuda_runtime.h"
#include "engine/layers/norm.h"
#include "engine/metrics.h"
#include "engine/ops/conv.h"
#include "engine/signals.h"
#include "models/weights.h"

namespace cmt::app {

namespace fs = std::filesystem;

std::unique_ptr<Context> make_context(const RunConfig& c) {
  Device device = resolve_device(c.device);
  // Several ranks per node: each takes the GPU of its local rank (from the launcher's environment).
  if (device.is_cuda() && (c.device == "auto" || c.device == "cuda") && launcher_world_size() > 1 && cuda_status().device_count > 0)
    device = resolve_device(fmt::format("cuda:{}", local_rank() % cuda_status().device_count));
  auto ctx = std::make_unique<Context>(device, PrecisionPolicy::resolve(c.precision, device.is_cuda()));
  ctx->seed = c.seed;
  ctx->recompute = c.recompute;
  ops::set_conv_backend(c.conv_backend == "cudnn" ? ops::ConvBackend::cudnn : ops::ConvBackend::native);
  return ctx;
}

int positive_index(const RunConfig& c, const std::vector<std::string>& names) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
  };
  if (c.positive_class != "auto") {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == c.positive_class) return static_cast<int>(i);
    CMT_THROW("config: 'positive_class' is '" << c.positive_class << "', not a class of the dataset");
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (lower(names[i]).find("covid") != std::string::npos) return static_cast<int>(i);
  // No class names COVID-19: the binary metrics fall back to the first class, which may not be the
  // one the user means; say so rather than report them silently.
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  fmt::print(stderr,
             "cmt: warning: positive_class is auto but no class is named like 'covid' ({}); sensitivity, specificity "
             "and AUC are for '{}' against the rest. Name the positive class with --positive-class.\n",
             all, names.empty() ? std::string("?") : names.front());
  return 0;
}

models::CmtConfig model_config(const RunConfig& c, const DataInfo& info) { return api::model_config(c.to_json(), info); }

LoadedRun read_run(const std::string& run_dir) {
  api::RunFiles files = api::read_run_files(run_dir);
  LoadedRun r;
  try {
    r.config = RunConfig::from_json(files.config);
  } catch (const Error& e) {
    CMT_THROW(run_dir << "/config.json: " << e.what());
  }
  r.info = std::move(files.info);
  return r;
}

TrainerConfig trainer_config(const RunConfig& c, std::int64_t steps_per_epoch) {
  TrainerConfig t;
  t.epochs = c.epochs;
  t.max_steps = c.steps;
  const std::int64_t total = c.steps > 0 ? c.steps : steps_per_epoch * c.epochs;
  t.lr = LrSchedule::parse(fmt::format("{}:lr={},warmup={}{}", c.schedule, c.lr, c.warmup,
                                       c.schedule == "cosine" ? fmt::format(",total={}", std::max<std::int64_t>(total, 1))
                                       : c.schedule == "step" ? fmt::format(",step_size={},gamma=0.1", std::max<std::int64_t>(total / 3, 1))
                                                              : std::string()));
  t.adam.weight_decay = c.weight_decay;
  t.adam.decoupled = c.optimizer == "adamw";
  t.clip_norm = c.clip_norm;
  t.cuda_graph = c.cuda_graph;
  t.augment = AugmentPolicy::parse(c.augment);
  t.seed = c.seed;
  t.out_dir = c.out;
  t.checkpoint_every = c.checkpoint_every;
  t.keep_last_n = c.keep_last_n;
  t.periodic_optimizer = c.checkpoint_optimizer;
  t.checkpoint_steps = c.checkpoint_steps;
  t.checkpoint_minutes = c.checkpoint_minutes;
  t.progress = c.progress;
  t.run_config = c.to_json();
  if (const char* nan = std::getenv("CMT_INJECT_NAN_STEP")) t.inject_nan_at_step = std::stoll(nan);
  return t;
}

data::LoaderConfig loader_config(const RunConfig& c, bool training) {
  data::LoaderConfig l;
  l.batch_size = c.batch_size;
  l.shuffle = training;
  l.drop_last = training;
  l.seed = c.seed;
  return l;
}

namespace {

void write_json(const fs::path& path, const nlohmann::json& j) { write_text_atomic(path.string(), j.dump(2) + "\n"); }

// Loads best.h5 (the epoch of best validation accuracy, which the trainer wrote) and returns that
// epoch's validation metrics.
nlohmann::json select_best_on_validation(Trainer& trainer, Communicator& comm) {
  nlohmann::json best;
  for (const EpochRecord& e : trainer.history())  // the first epoch of the highest accuracy, as the trainer keeps
    if (e.validation.is_object() && (best.is_null() || e.validation.value("accuracy", 0.0) > best.value("accuracy", 0.0))) {
      best = {{"epoch", e.epoch},
              {"accuracy", e.validation.value("accuracy", 0.0)},
              {"samples", e.validation.value("samples", 0)}};
    }
  comm.barrier();  // rank 0 wrote best.h5
  load_checkpoint(trainer.checkpoint_path("best"), trainer.store(), nullptr);
  return best;
}

}  // namespace

FoldResult train_fold(const RunConfig& requested, const std::string& resume) {
  auto ctx = make_context(requested);
  // The run records the precision that ran ('auto' resolved), so eval, predict and resume use it too.
  RunConfig c = requested;
  c.precision = ctx->precision.name();
  data::Dataset ds = open_task_dataset(c);
  CMT_CHECK(c.fold < ds.num_folds(), "config: 'fold' is " << c.fold << " but " << c.dataset << " has " << ds.num_folds() << " folds");
  const Shape sample = ds.sample_shape();
  CMT_CHECK(!AugmentPolicy::parse(c.augment).may_rotate() || sample[1] == sample[2],
            "config: 'augment' is '" << c.augment << "', which rotates by quarter turns and needs square images, but "
                                     << c.dataset << " holds " << sample[1] << "x" << sample[2]
                                     << " images; use a policy without rotation (e.g. --augment "
                                     << "paper,rotate_prob=0)");
  const auto held_idx = ds.fold_indices(c.fold, true);
  // The validation part comes out of the training folds, by patient and per class; the held-out
  // fold is only read once, at the end.
  const data::TrainValidationSplit split = data::split_validation(ds.fold_indices(c.fold, false), ds.labels(), ds.patient_ids(),
                                                                  c.val_fraction, c.seed, static_cast<std::uint32_t>(c.fold));
  const auto& train_idx = split.train;
  CMT_CHECK(c.val_fraction == 0 || !split.validation.empty(),
            "config: 'val_fraction' " << c.val_fraction << " leaves no validation patient in the training folds of fold "
                                      << c.fold);
  // Data parallelism (docs/distributed.md): each rank trains on its shard with batch_size samples;
  // rank 0 alone writes files and prints progress.
  const std::unique_ptr<Communicator> comm = make_communicator(c.comm, ctx.get());
  comm->set_timeout(c.comm_timeout);
  const bool lead = comm->rank() == 0;
  CMT_CHECK(static_cast<std::int64_t>(train_idx.size()) >= c.batch_size * comm->size(),
            "fold " << c.fold << " has " << train_idx.size() << " training samples, fewer than one batch of " << c.batch_size << " on each of "
                    << comm->size() << " rank(s)");
  const DataInfo info = DataInfo::from_dataset(ds, c.class_weights == "balanced", train_idx);
  models::CmtModel model(model_config(c, info));
  model.set_communicator(comm.get());
  if (c.sync_bn && comm->size() > 1) layers::set_sync_batchnorm(model.root(), comm.get());  // one rank: plain BN is the same
  data::LoaderConfig train_cfg = loader_config(c, true);
  train_cfg.rank = comm->rank();
  train_cfg.world_size = comm->size();
  data::Loader train(ds, train_idx, train_cfg, *ctx);
  data::Loader held_out(ds, held_idx, loader_config(c, false), *ctx);  // every rank evaluates all of it
  nlohmann::json recorded = c.to_json();
  recorded["run_info"] = run_info(ctx->device().str());
  std::unique_ptr<data::Loader> validation;
  if (!split.validation.empty()) validation = std::make_unique<data::Loader>(ds, split.validation, loader_config(c, false), *ctx);
  const data::DatasetIdentity identity = data::identify_dataset(c.dataset);
  recorded["run_info"]["dataset_identity"] = identity.to_json();
  if (lead) {
    fs::create_directories(c.out);
    write_json(fs::path(c.out) / "config.json", recorded);
    write_json(fs::path(c.out) / "data.json", info.to_json());
  }
  TrainerConfig tc = trainer_config(c, train.batches_per_epoch());
  tc.run_config = recorded;  // the checkpoints hold it too
  tc.comm = comm.get();
  tc.progress = c.progress && lead;
  Trainer trainer(*ctx, model, tc);
  if (lead)
    std::fprintf(stderr,
                 "cmt: %s on %s in %s%s, %zu training / %zu validation / %zu held-out samples (fold %d), %lld parameters\n",
                 model.describe().c_str(), ctx->device().str().c_str(), c.precision.c_str(),
                 requested.precision == "auto"
                     ? (ctx->is_cuda() ? " (auto: TF32 tensor cores; --precision fp32 for exact fp32)" : " (auto)")
                     : "",
                 train_idx.size(), split.validation.size(), held_idx.size(), c.fold,
                 static_cast<long long>(trainer.store().num_parameters()));
  if (comm->size() > 1)
    std::fprintf(stderr, "cmt: rank %d of %d (%s, %s%s), %lld samples per step in all\n", comm->rank(), comm->size(), comm->name().c_str(),
                 ctx->device().str().c_str(), c.sync_bn ? ", synchronised BN" : "", static_cast<long long>(c.batch_size * comm->size()));
  FoldResult r;
  r.lead = lead;
  try {
    if (!resume.empty()) {
      check_resumed_dataset(resume, c.dataset, identity);
      trainer.resume(resume);
    } else {
      trainer.initialize();
      // Weights only (no optimizer state or position): pretrained features for a probe or fine-tuning.
      if (!c.init_from.empty()) load_checkpoint(c.init_from, trainer.store(), nullptr);
      if (!c.init_weights.empty()) {
        // torchvision's classifier layers are replaced by CMT-CNN's latent and head.
        models::WeightLoadOptions opt;
        opt.prefix = "backbone.";
        opt.skip_prefixes = {"fc.", "classifier."};
        const int n = models::load_torchvision_weights(*ctx, trainer.store(), c.init_weights, opt);
        if (lead) std::fprintf(stderr, "cmt: %d backbone tensors from %s\n", n, c.init_weights.c_str());
      }
    }
    install_stop_handlers();
    r.status = trainer.fit(train, validation.get());
    if (r.status == TrainStatus::interrupted) return r;
    // The held-out fold is the test set: a checkpoint is chosen on validation, never on it.
    if (validation) r.validation = select_best_on_validation(trainer, *comm);
    EvalTarget target{c.out, "", fmt::format("fold {}", c.fold), c.fold, lead};
    target.extra = {{"checkpoint", validation ? "best (validation accuracy)" : "final"}};
    if (validation) target.extra["validation"] = r.validation;
    r.metrics = evaluate_and_write(trainer, held_out, ds, positive_index(c, ds.class_names()), target);
  } catch (const std::exception& e) {
    // One rank's error ends every rank now, rather than after the others' collective timeout.
    if (comm->size() > 1) comm->abort_job(std::string("error: ") + e.what() + "; aborting the job");
    throw;
  }
  return r;
}

namespace {
// A digest of a fold's held-out samples (class names, then each sample id with its label, in id
// order): two cross-validations with equal digests held out the same samples in that fold.
std::string held_out_digest(const nlohmann::json& fold) {
  CMT_CHECK(fold.contains("predictions") && fold.contains("class_names"),
            "fold " << fold.value("fold", -1) << ": its evaluation has no predictions to identify the held-out samples");
  const auto ids = fold["predictions"]["sample_ids"].get<std::vector<std::int64_t>>();
  const auto labels = fold["predictions"]["labels"].get<std::vector<int>>();
  std::vector<std::pair<std::int64_t, int>> rows;
  for (std::size_t i = 0; i < ids.size() && i < labels.size(); ++i) rows.emplace_back(ids[i], labels[i]);
  std::sort(rows.begin(), rows.end());
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a, 64 bits
  auto mix = [&h](std::uint64_t v) {
    for (int b = 0; b < 8; ++b) h = (h ^ ((v >> (8 * b)) & 0xFFu)) * 1099511628211ull;
  };
  for (const auto& name : fold["class_names"]) {
    for (char ch : name.get<std::string>()) mix(static_cast<unsigned char>(ch));
    mix(0xFFFFu);
  }
  for (const auto& [id, label] : rows) {
    mix(static_cast<std::uint64_t>(id));
    mix(static_cast<std::uint64_t>(label));
  }
  return fmt::format("{:016x}", h);
}
}  // namespace

nlohmann::json summarize_folds(const std::vector<nlohmann::json>& folds) {
  nlohmann::json s;
  s["folds"] = folds.size();
  for (const auto& f : folds) {
    s["fold_ids"].push_back(f.value("fold", -1));
    s["held_out"].push_back(held_out_digest(f));
  }
  for (const char* key : {"accuracy", "sensitivity", "specificity", "auc"}) {
    std::vector<double> v;
    // A fold without a number (e.g. AUC when the fold holds no positive sample) cannot be dropped:
    // the paired t-test pairs folds by position.
    for (const auto& f : folds) {
      CMT_CHECK(f.contains(key) && f[key].is_number() && std::isfinite(f[key].get<double>()),
                "fold " << f.value("fold", -1) << ": '" << key << "' is " << (f.contains(key) ? f[key].dump() : "missing")
                        << ", not a number (does the held-out fold hold both positive and negative samples?)");
      v.push_back(f[key].get<double>());
    }
    const auto ms = metrics::mean_std(v);
    s["per_fold"][key] = v;
    s["mean"][key] = ms.mean;
    s["std"][key] = ms.std;
  }
  return s;
}

void print_metrics_table(const nlohmann::json& s) {
  std::printf("%-12s %10s %10s   per fold\n", "metric", "mean", "std");
  for (const char* key : {"accuracy", "sensitivity", "specificity", "auc"}) {
    std::string per;
    for (const auto& v : s["per_fold"][key]) per += fmt::format("{:.3f} ", v.get<double>());
    if (std::string(key) == "auc")  // a probability-like score, not a percentage
      std::printf("%-12s %10.4f %10.4f   %s\n", key, s["mean"][key].get<double>(), s["std"][key].get<double>(), per.c_str());
    else
      std::printf("%-12s %9.2f%% %9.2f%%   %s\n", key, 100 * s["mean"][key].get<double>(), 100 * s["std"][key].get<double>(),
                  per.c_str());
  }
}

}  // namespace cmt::app
