// The training loop.
#include "engine/trainer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include <fmt/core.h>

#include "engine/allocator.h"
#include "engine/checkpoint_schedule.h"
#include "engine/metrics.h"
#include "engine/ops/augment.h"
#include "engine/ops/basic.h"
#include "engine/progress.h"
#include "engine/signals.h"

namespace cmt {

nlohmann::json EpochRecord::to_json() const {
  nlohmann::json j = {{"epoch", epoch},       {"step", step},         {"loss", loss},
                      {"loss_cls", loss_cls}, {"loss_cst", loss_cst}, {"positive_similarity", pos_sim},
                      {"train_accuracy", train_accuracy}, {"lr", lr}, {"samples_per_s", samples_per_s},
                      {"peak_device_bytes", peak_device_bytes}};
  if (!validation.is_null()) j["validation"] = validation;
  return j;
}

Trainer::Trainer(Context& ctx, Model& model, TrainerConfig config) : ctx_(ctx), model_(model), config_(std::move(config)) {
  CMT_CHECK(config_.epochs >= 1 || config_.max_steps > 0, "trainer: epochs must be >= 1");
  store_ = std::make_unique<ParameterStore>(ctx_, model_.root());
  optimizer_ = std::make_unique<Adam>(ctx_, store_->params().numel(), config_.adam);
  if (distributed()) buckets_ = std::make_unique<GradientBuckets>(*store_, *config_.comm, config_.bucket_bytes);
  const std::string off = graph_off_reason();
  if (StepGraph::supported(ctx_) && off.empty()) {
    steady_ = std::make_unique<SteadyStep>(ctx_, /*use_graph=*/true);
  } else if (!off.empty() && writer()) {
    std::fprintf(stderr, "cmt: CUDA Graph %s\n", off.c_str());
  }
  if (!config_.out_dir.empty() && writer()) std::filesystem::create_directories(config_.out_dir);
}

void Trainer::initialize() {
  store_->initialize(ctx_, config_.seed);
  if (distributed()) {  // identical from the seed already; rank 0's copy is the rule all the same
    config_.comm->broadcast(ctx_, store_->params(), 0);
    if (store_->buffers().defined() && store_->buffers().numel() > 0) config_.comm->broadcast(ctx_, store_->buffers(), 0);
    store_->refresh_compute(ctx_);  // the bf16 copies follow rank 0's weights
  }
}

void Trainer::average_over_ranks(Tensor& t) {
  if (!distributed() || !t.defined() || t.numel() == 0) return;
  config_.comm->all_reduce_sum(ctx_, t);
  // y += (1/w - 1) y: exact for w = 2 (and any power of two).
  ops::axpy(ctx_, static_cast<float>(1.0 / config_.comm->size() - 1.0), t, t);
}

bool Trainer::any_rank_stops(bool mine) {
  if (!distributed()) return mine;
  return config_.comm->all_reduce_scalar(mine ? 1.0 : 0.0) > 0;
}

std::string Trainer::checkpoint_path(const std::string& name) const {
  return (std::filesystem::path(config_.out_dir) / (name + ".h5")).string();
}

CheckpointState Trainer::state() const {
  CheckpointState s;
  s.epoch = epoch_;
  s.step = step_;
  s.step_in_epoch = step_in_epoch_;
  s.seed = config_.seed;
  s.config = config_.run_config;
  if (s.config.is_object() || s.config.is_null()) s.config["world_size"] = config_.comm ? config_.comm->size() : 1;
  s.model = model_.describe();
  s.metrics = nlohmann::json::array();
  for (const auto& r : history_) s.metrics.push_back(r.to_json());
  if (step_in_epoch_ > 0) {  // mid-epoch: the resumed epoch's summary must cover the steps before it
    s.epoch_totals = totals_;
    s.epoch_totals->seconds = epoch_seconds();
  }
  return s;
}

double Trainer::epoch_seconds() const {
  return totals_.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_segment_start_).count();
}

void Trainer::save(const std::string& name, bool with_optimizer) {
  if (config_.out_dir.empty() || !writer()) return;
  ctx_.synchronize();
  save_checkpoint(checkpoint_path(name), *store_, with_optimizer ? optimizer_.get() : nullptr, state());
}

void Trainer::save_periodic() {
  save(fmt::format("epoch{:04d}", epoch_), config_.periodic_optimizer);
  if (config_.keep_last_n <= 0 || config_.out_dir.empty() || !writer()) return;
  // The names sort by epoch (four digits, zero-padded): everything before the newest N goes.
  std::vector<std::filesystem::path> periodic;
  for (const auto& e : std::filesystem::directory_iterator(config_.out_dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() == 12 && n.rfind("epoch", 0) == 0 && n.substr(9) == ".h5") periodic.push_back(e.path());
  }
  std::sort(periodic.begin(), periodic.end());
  const std::size_t keep = static_cast<std::size_t>(config_.keep_last_n);
  for (std::size_t i = 0; i + keep < periodic.size(); ++i) std::filesystem::remove(periodic[i]);
}

namespace {
// Keeps the first line (a header, when `header`) and the lines `keep` accepts; rewritten to a
// temporary name and renamed, as checkpoints are.
void keep_lines(const std::filesystem::path& path, bool header, const std::function<bool(const std::string&)>& keep) {
  if (!std::filesystem::exists(path)) return;
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ifstream in(path);
    std::ofstream out(tmp);
    std::string line;
    for (bool first = true; std::getline(in, line); first = false)
      if ((first && header) || (!line.empty() && keep(line))) out << line << "\n";
  }
  std::filesystem::rename(tmp, path);
}

// A line cut short by a killed process is dropped: its first field may not parse, its JSON won't.
bool first_field_at_most(const std::string& csv_line, std::int64_t limit) {
  std::int64_t v = 0;
  const auto [end, error] = std::from_chars(csv_line.data(), csv_line.data() + csv_line.size(), v);
  return error == std::errc{} && end != csv_line.data() + csv_line.size() && *end == ',' && v <= limit;
}
bool json_epoch_at_most(const std::string& line, std::int64_t limit) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("epoch", std::int64_t{0}) <= limit;
}
}  // namespace

void Trainer::drop_logs_after(std::int64_t step, std::int64_t epoch) {
  if (config_.out_dir.empty() || !writer()) return;
  const std::filesystem::path dir(config_.out_dir);
  keep_lines(dir / "steps.csv", true, [&](const std::string& l) { return first_field_at_most(l, step); });
  keep_lines(dir / "metrics.csv", true, [&](const std::string& l) { return first_field_at_most(l, epoch); });
  keep_lines(dir / "metrics.jsonl", false, [&](const std::string& l) { return json_epoch_at_most(l, epoch); });
}

void Trainer::resume(const std::string& checkpoint) {
  const CheckpointState s = load_checkpoint(checkpoint, *store_, optimizer_.get());
  CMT_CHECK(s.model == model_.describe(), "checkpoint " << checkpoint << " holds " << s.model << ", not " << model_.describe());
  epoch_ = static_cast<int>(s.epoch);
  step_ = s.step;
  step_in_epoch_ = s.step_in_epoch;
  config_.seed = s.seed;
  totals_ = s.epoch_totals.value_or(EpochTotals{});
  if (step_in_epoch_ > 0 && !s.epoch_totals && writer() && !config_.out_dir.empty())  // training on, not `cmt eval`
    std::fprintf(stderr, "cmt: %s holds no running totals of epoch %lld (an older checkpoint): its summary will average only the steps after the resume\n",
                 checkpoint.c_str(), static_cast<long long>(epoch_ + 1));
  // Mid-epoch positions count global batches of the writing run's world size: only the same world
  // size continues mid-epoch; another world size resumes from an epoch boundary.
  const int saved_world = s.config.is_object() ? s.config.value("world_size", 1) : 1;
  const int world = config_.comm ? config_.comm->size() : 1;
  CMT_CHECK(step_in_epoch_ == 0 || saved_world == world,
            "checkpoint " << checkpoint << " was written mid-epoch by " << saved_world << " rank(s); resume it on " << saved_world
                          << " rank(s), or resume an end-of-epoch checkpoint on " << world);
  drop_logs_after(s.step, s.epoch);  // steps and epochs after the checkpoint are redone and logged again
  history_.clear();
  best_score_ = -1e300;
  for (const auto& m : s.metrics) {
    EpochRecord r;
    r.epoch = m.value("epoch", 0);
    r.step = m.value("step", std::int64_t{0});
    r.loss = m.value("loss", 0.0);
    r.loss_cls = m.value("loss_cls", 0.0);
    r.loss_cst = m.value("loss_cst", 0.0);
    r.pos_sim = m.value("positive_similarity", 0.0);
    r.train_accuracy = m.value("train_accuracy", 0.0);
    r.lr = m.value("lr", 0.0);
    r.samples_per_s = m.value("samples_per_s", 0.0);
    if (m.contains("validation")) r.validation = m["validation"];
    history_.push_back(r);
    best_score_ = std::max(best_score_, best_score(r));  // best.h5 is replaced only by a better epoch
  }
}

// Best by validation accuracy when the epoch was validated, else by training loss.
double Trainer::best_score(const EpochRecord& r) {
  return r.validation.is_object() ? r.validation.value("accuracy", 0.0) : -r.loss;
}

namespace {
// Labels of the 2N views: each sample's label twice, on the device.
Tensor view_labels(const Batch& b, Device device) {
  std::vector<std::int32_t> two;
  two.reserve(b.host_labels.size() * 2);
  for (std::int32_t l : b.host_labels) {
    two.push_back(l);
    two.push_back(l);
  }
  Tensor t = Tensor::from_vector(two, Shape{static_cast<std::int64_t>(two.size())});
  return device.is_cpu() ? t : t.to(device);
}

std::int64_t count_correct(const Tensor& probs, const std::vector<std::int32_t>& labels_once) {
  const std::vector<float> p = probs.to_vector<float>();
  const std::int64_t k = probs.dim(1);
  std::int64_t right = 0;
  for (std::int64_t i = 0; i < probs.dim(0); ++i) {
    const float* row = p.data() + i * k;
    const auto pred = std::max_element(row, row + k) - row;
    right += pred == labels_once[static_cast<std::size_t>(i / 2)];
  }
  return right;
}

double peak_bytes(Device d) {
  return static_cast<double>(d.is_cuda() ? device_allocator(d.index).stats().peak_bytes_in_use : host_allocator().stats().peak_bytes_in_use);
}
}  // namespace

TrainStatus Trainer::fit(BatchSource& train, BatchSource* validation) {
  const auto steps_done = [&] { return config_.max_steps > 0 && step_ >= config_.max_steps; };
  CheckpointSchedule mid_epoch(config_.checkpoint_steps, config_.checkpoint_minutes);
  while (epoch_ < config_.epochs && !steps_done()) {
    train.start_epoch(epoch_);
    Batch batch;
    for (std::int64_t i = 0; i < step_in_epoch_; ++i)  // resume mid-epoch: skip what was consumed
      CMT_CHECK(train.next(batch), "resume: the data source has fewer batches than the checkpoint consumed");
    const std::int64_t total = train.batches_per_epoch();
    Progress progress(fmt::format("epoch {}/{}", epoch_ + 1, config_.epochs), total, config_.progress && writer());
    const auto finish = [&](const std::string& summary) {  // the epoch record: rank 0 prints it
      if (writer()) progress.finish(summary);
    };
    epoch_segment_start_ = std::chrono::steady_clock::now();
    while (!steps_done() && train.next(batch)) {
      ctx_.training = true;
      ctx_.seed = config_.seed;
      ctx_.epoch = static_cast<std::uint32_t>(epoch_);
      ctx_.step = static_cast<std::uint32_t>(step_);
      if (steady_) ctx_.upload_step_key();  // dropout keys read on the device (the captured step's too)
      const Tensor views = ops::augment_two_views(ctx_, batch.images, batch.sample_ids, config_.augment, config_.seed,
                                                  static_cast<std::uint32_t>(epoch_), /*shift=*/true);
      store_->zero_grads(ctx_);
      // The losses are global already (the model reduces them). Gradients are all-reduced in buckets
      // that start while the backward pass still runs, then averaged (docs/distributed.md).
      if (buckets_) buckets_->begin_step();
      const double lr = config_.lr.at(step_);
      const bool steady = steady_ && (!graph_views_.defined() || views.shape() == graph_views_.shape());
      const StepLosses step_losses = steady ? graph_step(views, view_labels(batch, ctx_.device()), lr)
                                            : model_.train_step(ctx_, views, view_labels(batch, ctx_.device()));
      if (buckets_) buckets_->finish(ctx_);
      // The step's host read. Eagerly the NaN check comes before the update; in the steady-state step
      // the update already ran on the device and skipped itself on a non-finite loss (Adam's guard).
      HostLosses l = step_losses.fetch();
      if (step_ == config_.inject_nan_at_step) l.total = std::numeric_limits<float>::quiet_NaN();
      if (!std::isfinite(l.total)) {
        finish("stopped");
        CMT_THROW("non-finite loss at epoch " << epoch_ + 1 << " step " << step_ + 1 << " (L_cls " << l.classification << ", L_cst "
                                              << l.contrastive << "); parameters not updated; the last good checkpoint is "
                                              << (config_.out_dir.empty() ? std::string("(none written)") : checkpoint_path("last")));
      }
      if (!steady) {
        if (config_.clip_norm > 0) clip_grad_norm_on_device(ctx_, store_->grads(), config_.clip_norm);
        // Under bf16 precision the same pass rewrites the bf16 compute copies (undefined otherwise: f32 only).
        optimizer_->step(ctx_, store_->params(), store_->grads(), static_cast<float>(lr), store_->compute_params());
      }
      ++step_;
      ++step_in_epoch_;
      step_losses_.push_back(l.total);
      log_step(l, lr);
      EpochTotals& t = totals_;
      ++t.steps;
      t.loss += l.total;
      t.loss_cls += l.classification;
      t.loss_cst += l.contrastive;
      t.pos_sim += l.positive_similarity;
      t.lr = lr;
      if (distributed()) {
        const double c = static_cast<double>(count_correct(step_losses.probs, batch.host_labels));
        t.correct += static_cast<std::int64_t>(config_.comm->all_reduce_scalar(c));
        t.seen += static_cast<std::int64_t>(config_.comm->all_reduce_scalar(static_cast<double>(step_losses.probs.dim(0))));
      } else {
        t.correct += count_correct(step_losses.probs, batch.host_labels);
        t.seen += step_losses.probs.dim(0);
      }
      const double n = static_cast<double>(t.steps);
      progress.update(step_in_epoch_, fmt::format("loss {:.4f} (cls {:.4f} cst {:.4f}) acc {:.3f}", t.loss / n, t.loss_cls / n,
                                                  t.loss_cst / n, static_cast<double>(t.correct) / static_cast<double>(t.seen)));
      const int sig = stop_requested();
      if (any_rank_stops(sig != 0)) {
        finish(sig ? fmt::format("signal {}: checkpoint and stop", sig) : std::string("a signal on another rank: checkpoint and stop"));
        save("last");
        return TrainStatus::interrupted;
      }
      // A mid-epoch last.h5 (the same file and resume as the signal's); the epoch's last step is
      // followed by the end-of-epoch checkpoint anyway. Only rank 0 writes: no collective here.
      if (mid_epoch.enabled() && step_in_epoch_ < total && !steps_done() && mid_epoch.due(step_)) {
        save("last");
        mid_epoch.restart();
      }
    }
    const double seconds = epoch_seconds();
    const EpochTotals& t = totals_;
    EpochRecord r;
    r.epoch = epoch_ + 1;
    r.step = step_;
    if (t.steps > 0) {
      const double n = static_cast<double>(t.steps);
      r.loss = t.loss / n;
      r.loss_cls = t.loss_cls / n;
      r.loss_cst = t.loss_cst / n;
      r.pos_sim = t.pos_sim / n;
      r.train_accuracy = static_cast<double>(t.correct) / static_cast<double>(t.seen);
    }
    r.lr = t.lr;
    r.samples_per_s = seconds > 0 ? static_cast<double>(t.seen / 2) / seconds : 0;
    r.peak_device_bytes = peak_bytes(ctx_.device());
    // Per-rank BN running statistics (the default) differ: checkpoints and evaluation get their mean.
    average_over_ranks(store_->buffers());
    if (validation) r.validation = evaluate_metrics(*validation, {}, 0);
    finish(fmt::format("loss {:.4f} (cls {:.4f} cst {:.4f}) train acc {:.3f}{} {:.1f} samples/s", r.loss, r.loss_cls,
                                r.loss_cst, r.train_accuracy,
                                validation ? fmt::format(" val acc {:.3f}", r.validation.value("accuracy", 0.0)) : "",
                                r.samples_per_s));
    history_.push_back(r);
    write_metrics(r);
    ++epoch_;
    step_in_epoch_ = 0;
    totals_ = {};
    const double score = best_score(r);
    if (score > best_score_) {
      best_score_ = score;
      save("best");
    }
    if (config_.checkpoint_every > 0 && epoch_ % config_.checkpoint_every == 0) save_periodic();
    save("last");
    mid_epoch.restart();
  }
  return TrainStatus::finished;
}

Evaluation Trainer::evaluate(BatchSource& source) {
  Evaluation e;
  const bool was_training = ctx_.training;
  ctx_.training = false;
  source.start_epoch(0);
  Batch batch;
  while (source.next(batch)) {
    Tensor x = Tensor::empty(batch.images.shape(), DType::f32, batch.images.device());
    ops::copy(ctx_, batch.images, x);
    ops::add_scalar_(ctx_, x, -0.5f);  // the same shift as training, without augmentation
    const std::vector<float> p = model_.predict(ctx_, x).to_vector<float>();
    e.probs.insert(e.probs.end(), p.begin(), p.end());
    e.labels.insert(e.labels.end(), batch.host_labels.begin(), batch.host_labels.end());
    e.sample_ids.insert(e.sample_ids.end(), batch.sample_ids.begin(), batch.sample_ids.end());
  }
  ctx_.training = was_training;
  return e;
}

nlohmann::json Trainer::evaluate_metrics(BatchSource& source, const std::vector<std::string>& class_names, int positive) {
  const Evaluation e = evaluate(source);
  CMT_CHECK(!e.labels.empty(), "evaluation source yielded no samples");
  return metrics::evaluate(e.probs, e.labels, static_cast<int>(model_.num_classes()), positive, class_names);
}

std::string Trainer::graph_off_reason() {
  if (!StepGraph::supported(ctx_)) return "";  // CPU: nothing to say
  if (!config_.cuda_graph) return "off by configuration";
  if (distributed()) return "off: data parallelism (the gradient buckets run on the host)";
  if (config_.inject_nan_at_step >= 0) return "off: NaN injection is a host-side test aid";
  if (!model_.graph_safe()) return "off: the model classifies the first view only (host-side row picks)";
  return {};
}

StepLosses Trainer::graph_step(const Tensor& views, const Tensor& labels, double lr) {
  if (!graph_views_.defined()) {
    graph_views_ = Tensor::empty(views.shape(), views.dtype(), ctx_.device());
    graph_labels_ = Tensor::empty(labels.shape(), labels.dtype(), ctx_.device());
  }
  ops::copy(ctx_, views, graph_views_);  // fixed addresses: the graph reads its inputs from here
  ops::copy(ctx_, labels, graph_labels_);
  optimizer_->prepare(ctx_, static_cast<float>(lr));  // lr and bias corrections reach the device first
  const auto body = [&] {
    store_->zero_grads(ctx_);
    graph_losses_ = model_.train_step(ctx_, graph_views_, graph_labels_);
    if (config_.clip_norm > 0) clip_grad_norm_on_device(ctx_, store_->grads(), config_.clip_norm);
    // bf16: the update rewrites the compute copies too (a block at a fixed address, safe in the graph).
    optimizer_->apply(ctx_, store_->params(), store_->grads(), store_->compute_params(),
                      graph_losses_.values.narrow(StepLosses::total, 1));
  };
  const bool first_capture = !steady_->captured();
  steady_->run(body);
  if (first_capture && steady_->captured() && writer())
    std::fprintf(stderr, "cmt: training step captured as a CUDA Graph (%s)\n", steady_->plan().summary().c_str());
  return graph_losses_;
}

void Trainer::log_step(const HostLosses& l, double lr) {
  if (config_.out_dir.empty() || !writer()) return;
  // Per-step losses; the hexadecimal column is exact, for bit-for-bit resume comparisons.
  const auto path = std::filesystem::path(config_.out_dir) / "steps.csv";
  const bool fresh = !std::filesystem::exists(path);
  std::ofstream f(path, std::ios::app);
  if (fresh) f << "step,epoch,loss,loss_cls,loss_cst,lr,loss_hex\n";
  char hex[64];
  std::snprintf(hex, sizeof(hex), "%a", static_cast<double>(l.total));
  f << fmt::format("{},{},{},{},{},{},{}\n", step_, epoch_ + 1, l.total, l.classification, l.contrastive, lr, hex);
}

void Trainer::write_metrics(const EpochRecord& r) {
  if (config_.out_dir.empty() || !writer()) return;
  const auto dir = std::filesystem::path(config_.out_dir);
  std::ofstream(dir / "metrics.jsonl", std::ios::app) << r.to_json().dump() << "\n";
  const auto csv = dir / "metrics.csv";
  const bool fresh = !std::filesystem::exists(csv);
  std::ofstream f(csv, std::ios::app);
  if (fresh) f << "epoch,step,loss,loss_cls,loss_cst,positive_similarity,train_accuracy,lr,samples_per_s,peak_device_bytes,val_accuracy,val_auc\n";
  auto val = [&](const char* k) { return r.validation.is_object() && r.validation[k].is_number() ? fmt::format("{}", r.validation[k].get<double>()) : std::string(); };
  f << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", r.epoch, r.step, r.loss, r.loss_cls, r.loss_cst, r.pos_sim, r.train_accuracy,
                   r.lr, r.samples_per_s, r.peak_device_bytes, val("accuracy"), val("auc"));
}

}  // namespace cmt
