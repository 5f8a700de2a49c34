// Run wiring: models + data + engine, for the train/eval/cv subcommands.
#include "apps/run_setup.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "apps/plots.h"
#include "apps/resume_config.h"
#include "apps/run_info.h"
#include "data/dataset_identity.h"
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

namespace {

data::LoaderConfig loader_config(const RunConfig& c, bool training) {
  data::LoaderConfig l;
  l.batch_size = c.batch_size;
  l.shuffle = training;
  l.drop_last = training;
  l.seed = c.seed;
  return l;
}

void write_json(const fs::path& path, const nlohmann::json& j) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << j.dump(2) << "\n";
  fs::rename(tmp, path);
}

// Evaluation files of one fold: eval.json, roc.svg, confusion.svg.
nlohmann::json evaluate_and_write(Trainer& trainer, data::Loader& held_out, const std::vector<std::string>& names, int positive,
                                  const fs::path& dir, int fold, bool write = true) {
  const Evaluation e = trainer.evaluate(held_out);
  CMT_CHECK(!e.labels.empty(), "fold " << fold << " has no held-out samples");
  const int k = static_cast<int>(names.size());
  nlohmann::json m = metrics::evaluate(e.probs, e.labels, k, positive, names);
  m["fold"] = fold;
  m["class_names"] = names;
  std::vector<double> scores;
  std::vector<int> is_pos;
  for (std::size_t i = 0; i < e.labels.size(); ++i) {
    scores.push_back(e.probs[i * static_cast<std::size_t>(k) + static_cast<std::size_t>(positive)]);
    is_pos.push_back(e.labels[i] == positive);
  }
  m["predictions"] = {{"sample_ids", e.sample_ids}, {"labels", e.labels}, {"probs", e.probs}};
  if (!write) return m;  // data parallelism: only rank 0 writes files
  write_json(dir / "eval.json", m);
  const double auc = m["auc"].is_number() ? m["auc"].get<double>() : 0.0;
  write_roc_svg((dir / "roc.svg").string(), metrics::roc_curve(scores, is_pos), auc,
                fmt::format("ROC, {} vs rest, fold {}", names[static_cast<std::size_t>(positive)], fold));
  write_confusion_svg((dir / "confusion.svg").string(), m["confusion"].get<std::vector<std::vector<long long>>>(), names,
                      fmt::format("confusion matrix, fold {}", fold));
  return m;
}

}  // namespace

FoldResult train_fold(const RunConfig& requested, const std::string& resume) {
  auto ctx = make_context(requested);
  // The run records the precision that ran ('auto' resolved), so eval, predict and resume use it too.
  RunConfig c = requested;
  c.precision = ctx->precision.name();
  data::Dataset ds = data::Dataset::open(c.dataset);
  CMT_CHECK(c.fold < ds.num_folds(), "config: 'fold' is " << c.fold << " but " << c.dataset << " has " << ds.num_folds() << " folds");
  const auto train_idx = ds.fold_indices(c.fold, false);
  const auto held_idx = ds.fold_indices(c.fold, true);
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
  const std::string identity = data::dataset_identity(ds);
  recorded["run_info"]["dataset_identity"] = identity;
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
    std::fprintf(stderr, "cmt: %s on %s in %s%s, %zu training / %zu held-out samples (fold %d), %lld parameters\n",
                 model.describe().c_str(), ctx->device().str().c_str(), c.precision.c_str(),
                 requested.precision == "auto" ? (ctx->is_cuda() ? " (auto: TF32 tensor cores; --precision fp32 for exact fp32)" : " (auto)") : "",
                 train_idx.size(), held_idx.size(), c.fold,
                 static_cast<long long>(trainer.store().num_parameters()));
  if (comm->size() > 1)
    std::fprintf(stderr, "cmt: rank %d of %d (%s, %s%s), %lld samples per step in all\n", comm->rank(), comm->size(), comm->name().c_str(),
                 ctx->device().str().c_str(), c.sync_bn ? ", synchronised BN" : "", static_cast<long long>(c.batch_size * comm->size()));
  FoldResult r;
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
    r.status = trainer.fit(train, nullptr);
    if (r.status == TrainStatus::interrupted) return r;
    // The final model is evaluated (the held-out fold is the test set: choosing a checkpoint on it would leak).
    r.metrics = evaluate_and_write(trainer, held_out, ds.class_names(), positive_index(c, ds.class_names()), c.out, c.fold, lead);
  } catch (const std::exception& e) {
    // One rank's error ends every rank now, rather than after the others' collective timeout.
    if (comm->size() > 1) comm->abort_job(std::string("error: ") + e.what() + "; aborting the job");
    throw;
  }
  return r;
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& checkpoint, const std::string& dataset_override) {
  const fs::path dir(run_dir);
  LoadedRun run = read_run(run_dir);
  RunConfig& c = run.config;
  if (!dataset_override.empty()) c.dataset = dataset_override;
  c.progress = false;
  data::Dataset ds = data::Dataset::open(c.dataset);
  CMT_CHECK(ds.class_names() == run.info.class_names, c.dataset << ": classes differ from those the run was trained on");
  auto ctx = make_context(c);
  models::CmtModel model(model_config(c, run.info));
  RunConfig no_files = c;
  no_files.out.clear();
  Trainer trainer(*ctx, model, trainer_config(no_files, 1));
  const std::string path = checkpoint == "best" || checkpoint == "last" ? (dir / (checkpoint + ".h5")).string() : checkpoint;
  // Weights only: a periodic checkpoint may hold no optimizer state, and evaluation needs none.
  const CheckpointState saved = load_checkpoint(path, trainer.store(), nullptr);
  CMT_CHECK(saved.model == model.describe(), "checkpoint " << path << " holds " << saved.model << ", not " << model.describe());
  data::Loader held_out(ds, ds.fold_indices(c.fold, true), loader_config(c, false), *ctx);
  return evaluate_and_write(trainer, held_out, ds.class_names(), positive_index(c, ds.class_names()), dir, c.fold);
}

nlohmann::json summarize_folds(const std::vector<nlohmann::json>& folds) {
  nlohmann::json s;
  s["folds"] = folds.size();
  for (const char* key : {"accuracy", "sensitivity", "specificity", "auc"}) {
    std::vector<double> v;
    for (const auto& f : folds)
      if (f.contains(key) && f[key].is_number()) v.push_back(f[key].get<double>());
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
    std::printf("%-12s %9.2f%% %9.2f%%   %s\n", key, 100 * s["mean"][key].get<double>(), 100 * s["std"][key].get<double>(), per.c_str());
  }
}

}  // namespace cmt::app
