// The synthetic training step shared by `cmt profile` and `cmt bench train`.
#include "apps/step_runner.h"

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/augment_policy.h"
#include "engine/host_sync.h"
#include "engine/ops/basic.h"
#include "engine/ops/augment.h"
#include "engine/profiler.h"

namespace cmt::app {

namespace {
void write_raw(const std::string& path, const Tensor& t) {
  const Tensor h = t.to(Device::cpu());
  std::ofstream f(path, std::ios::binary);
  CMT_CHECK(f, "cannot write " << path);
  f.write(static_cast<const char*>(h.raw()), static_cast<std::streamsize>(h.nbytes()));
  CMT_CHECK(f, "writing " << path << " failed");
}

models::CmtConfig model_config(const StepSetup& s) {
  models::CmtConfig mc;
  mc.backbone.name = s.backbone;
  mc.backbone.spatial_dims = s.dims;
  mc.backbone.width = s.width;
  mc.backbone.depth = s.depth;
  mc.backbone.stochastic_depth = s.stochastic_depth;
  mc.latent_dim = s.latent;
  mc.num_classes = s.classes;
  return mc;
}
}  // namespace

void validate_step_setup(const StepSetup& s) {
  CMT_CHECK(s.dims == 2 || s.dims == 3, "step: dims must be 2 or 3, got " << s.dims);
  CMT_CHECK(s.size >= 16 && s.batch >= 1, "step: size must be >= 16 and batch >= 1");
  models::CmtModel model(model_config(s));  // layers hold shapes only: nothing is allocated
  try {
    model.root().output_shape(Shape{2 * s.batch, s.dims == 3 ? s.size : 1, s.size, s.size, 1});
  } catch (const std::exception& e) {
    CMT_THROW("step: size " << s.size << " is too small for " << s.backbone << " in " << s.dims << "D: " << e.what());
  }
}

StepRunner::StepRunner(const StepSetup& s) : setup_(s) {
  validate_step_setup(s);
  const Device device = parse_device(s.device);
  ctx_ = std::make_unique<Context>(device, PrecisionPolicy::resolve(s.precision, device.is_cuda()));
  ctx_->recompute = s.recompute;
  ctx_->seed = s.seed;
  model_ = std::make_unique<models::CmtModel>(model_config(s));
  store_ = std::make_unique<ParameterStore>(*ctx_, model_->root());
  store_->initialize(*ctx_, s.seed);
  adam_ = std::make_unique<Adam>(*ctx_, store_->params().numel(), AdamConfig{});

  const std::int64_t d = s.dims == 3 ? s.size : 1;
  Tensor img = Tensor::empty(Shape{s.batch, d, s.size, s.size, 1}, DType::f32);
  std::mt19937_64 gen(s.seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  float* p = img.data<float>();
  for (std::int64_t i = 0; i < img.numel(); ++i) p[i] = u(gen);
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < s.batch; ++i) {
    sample_ids_.push_back(i);
    const auto l = static_cast<std::int32_t>(i % s.classes);
    labels.push_back(l);
    labels.push_back(l);
  }
  images_ = img.to(ctx_->device());
  labels_ = Tensor::from_vector(labels, Shape{2 * s.batch}).to(ctx_->device());

  bool graph = false;
  if (!s.cuda_graph || !StepGraph::supported(*ctx_)) {
    if (s.cuda_graph && ctx_->is_cuda()) graph_off_reason_ = "CUDA Graph: built without CUDA";
  } else if (!s.plan_memory) {
    graph_off_reason_ = "CUDA Graph off: it needs the memory plan";
  } else {
    graph = true;
    static_views_ = Tensor::empty(model_views_shape(), DType::f32, ctx_->device());
  }
  if (s.plan_memory) steady_ = std::make_unique<SteadyStep>(*ctx_, graph);
}

Shape StepRunner::model_views_shape() const {
  const std::int64_t d = setup_.dims == 3 ? setup_.size : 1;
  return Shape{views(), d, setup_.size, setup_.size, 1};
}

Tensor StepRunner::augmented_views() {
  static const AugmentPolicy policy = AugmentPolicy::parse("genesis");
  return ops::augment_two_views(*ctx_, images_, sample_ids_, policy, setup_.seed, ctx_->epoch, /*shift=*/true);
}

void StepRunner::model_step(const Tensor& views) {
  Context& ctx = *ctx_;
  {
    ProfileScope s("zero_grad");
    store_->zero_grads(ctx);
  }
  {
    ProfileScope s("train_step");
    losses_ = model_->train_step(ctx, views, labels_);
  }
  {
    ProfileScope s("optimizer");
    // The guard is the step's loss slot (a non-finite loss skips the update on the device). Under bf16
    // the same pass rewrites the bf16 compute copies (a fixed block; undefined under fp32: f32 only).
    adam_->apply(ctx, store_->params(), store_->grads(), store_->compute_params(), losses_.values.narrow(StepLosses::total, 1));
  }
}

StepLosses StepRunner::step() {
  Context& ctx = *ctx_;
  ctx.training = true;
  Tensor views;
  {
    ProfileScope s("augment");
    views = augmented_views();
  }
  adam_->prepare(ctx, kLearningRate);  // the step's scalars reach the device before the (captured) update
  if (!steady_) {
    model_step(views);
  } else {
    ctx.upload_step_key();  // dropout keys of this step, read on the device
    if (steady_->uses_graph()) ops::copy(ctx, views, static_views_);  // the graph's fixed input
    const Tensor& input = steady_->uses_graph() ? static_views_ : views;
    steady_->run([&] { model_step(input); });
  }
  ++ctx.step;
  return losses_;
}

std::string StepRunner::execution() const {
  std::string mode = !steady_ ? "eager" : steady_->uses_graph() ? "CUDA Graph" : "memory plan";
  if (!graph_off_reason_.empty()) mode += " (" + graph_off_reason_ + ")";
  return mode;
}

double StepRunner::step_macs() const { return 3.0 * model_->root().forward_macs(model_views_shape()); }

namespace {

// What both exports share: the weights and buffers as raw fp32, and the index's configuration and
// parameter table (bench/compare/train_step.py's Export reads them).
nlohmann::json export_model(const std::string& dir, const StepSetup& setup, ParameterStore& store, const models::CmtModel& model) {
  std::filesystem::create_directories(dir);
  write_raw(dir + "/params.f32", store.params());
  write_raw(dir + "/buffers.f32", store.buffers());
  nlohmann::json j;
  j["backbone"] = setup.backbone;
  j["dims"] = setup.dims;
  j["size"] = setup.size;
  j["batch"] = setup.batch;
  j["width"] = setup.width;
  j["depth"] = setup.depth;
  j["latent"] = setup.latent;
  j["classes"] = setup.classes;
  j["lambda"] = model.config().lambda;
  j["tau"] = model.config().tau;
  j["stochastic_depth"] = setup.stochastic_depth;
  j["num_parameters"] = store.num_parameters();
  for (const auto& r : store.parameter_refs())
    j["parameters"].push_back({{"path", r.path}, {"offset", store.offset_of(r.path)}, {"shape", r.value->shape().str()}});
  return j;
}

}  // namespace

void StepRunner::export_first_step(const std::string& dir) {
  const std::uint32_t step = ctx_->step;
  nlohmann::json j = export_model(dir, setup_, *store_, *model_);
  const Tensor views = augmented_views();
  write_raw(dir + "/views.f32", views);
  write_raw(dir + "/labels.i32", labels_);
  j["views_shape"] = views.shape().str();
  for (int i = 0; i < views.rank(); ++i) j["views_dims"].push_back(views.dim(i));
  j["precision"] = ctx_->precision.name();
  const AdamConfig& ac = adam_->config();
  j["optimizer"] = {{"name", ac.decoupled ? "adamw" : "adam"}, {"lr", kLearningRate}, {"beta1", ac.beta1}, {"beta2", ac.beta2},
                    {"eps", ac.eps}, {"weight_decay", ac.weight_decay}};
  // The first step's losses on these weights and views (train_step is deterministic given them).
  ctx_->training = true;
  store_->zero_grads(*ctx_);
  const HostLosses l = model_->train_step(*ctx_, views, labels_).fetch();
  j["loss"] = {{"total", l.total}, {"classification", l.classification}, {"contrastive", l.contrastive}};
  std::ofstream(dir + "/index.json") << j.dump(2) << "\n";
  ctx_->step = step;
}

void StepRunner::export_inference(const std::string& dir, const Tensor& image, const Tensor& probabilities) {
  nlohmann::json j = export_model(dir, setup_, *store_, *model_);
  write_raw(dir + "/image.f32", image);
  write_raw(dir + "/probabilities.f32", probabilities);
  for (int i = 0; i < image.rank(); ++i) j["image_dims"].push_back(image.dim(i));
  for (int i = 0; i < probabilities.rank(); ++i) j["probabilities_dims"].push_back(probabilities.dim(i));
  j["precision"] = ctx_->precision.name();
  std::ofstream(dir + "/index.json") << j.dump(2) << "\n";
}

}  // namespace cmt::app
