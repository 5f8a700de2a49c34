// Oracle registrations of CMT-CNN: one training step (initial weights, loss terms and every gradient)
// and the Grad-CAM maps of the eval-mode model.
#include <random>

#include "engine/ops/basic.h"
#include "engine/parameters.h"
#include "models/cmt_model.h"
#include "models/grad_cam.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

// The model of args backbone, dims, width, depth, latent and classes.
models::CmtConfig small_model(const nlohmann::json& args) {
  models::CmtConfig c;
  c.backbone.name = args.at("backbone").get<std::string>();
  c.backbone.spatial_dims = args.at("dims").get<int>();
  c.backbone.width = args.at("width").get<double>();
  c.backbone.depth = args.at("depth").get<double>();
  c.backbone.stochastic_depth = 0.f;  // deterministic: no random layers in the comparison
  c.latent_dim = args.at("latent").get<std::int64_t>();
  c.num_classes = args.at("classes").get<std::int64_t>();
  return c;
}

// views (2N, D, H, W, 1), labels (2N) i32 -> "loss" [3] (total, cls, cst), "param:<path>", "grad:<path>".
CMT_ORACLE_OP("cmt_step", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  models::CmtConfig c = small_model(args);
  c.lambda = args.at("lambda").get<float>();
  c.tau = args.at("tau").get<float>();
  models::CmtModel model(c);
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, args.at("seed").get<std::uint64_t>());
  TensorMap out;
  for (const auto& r : store.parameter_refs()) out["param:" + r.path] = r.value->to(Device::cpu());
  store.zero_grads(ctx);
  ctx.training = true;
  const HostLosses l = model.train_step(ctx, input(in, "views"), input(in, "labels")).fetch();
  for (const auto& r : store.parameter_refs()) out["grad:" + r.path] = r.grad->to(Device::cpu());
  out["loss"] = Tensor::from_vector(std::vector<float>{l.total, l.classification, l.contrastive}, Shape{3});
  return out;
});

// Grad-CAM / Grad-CAM++ (models/grad_cam.h) with random weights and random batch norm statistics:
// images (N, D, H, W, 1), args: backbone, dims, width, depth, latent, classes, seed, method, targets
// (one class per image) -> "features", "gradient", "cams", "maps", "logits", "param:<path>", "buffer:<path>".
CMT_ORACLE_OP("grad_cam", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  models::CmtModel model(small_model(args));
  ParameterStore store(ctx, model.root());
  const auto seed = args.at("seed").get<std::uint64_t>();
  store.initialize(ctx, seed);
  // Running statistics away from (0, 1), so that eval-mode batch norm is not the identity.
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> mean(-0.3f, 0.3f), var(0.5f, 1.5f);
  TensorMap out;
  for (const auto& r : store.buffer_refs()) {
    std::vector<float> v(static_cast<std::size_t>(r.value->numel()));
    const bool is_var = r.path.size() >= 3 && r.path.compare(r.path.size() - 3, 3, "var") == 0;
    for (float& x : v) x = is_var ? var(rng) : mean(rng);
    const Tensor host = Tensor::from_vector(v, r.value->shape());
    ops::copy(ctx, host, *r.value);
    out["buffer:" + r.path] = host;
  }
  for (const auto& r : store.parameter_refs()) out["param:" + r.path] = r.value->to(Device::cpu());
  const Tensor& images = input(in, "images");
  const std::vector<int> targets = args.at("targets").get<std::vector<int>>();
  const models::CamMethod method = models::parse_cam_method(args.at("method").get<std::string>());
  const models::CmtModel::FeatureMapGradient fg = model.feature_map_gradient(ctx, images, targets);
  out["features"] = fg.features.to(Device::cpu());
  out["gradient"] = fg.gradient.to(Device::cpu());
  const models::CamResult r = models::grad_cam(ctx, model, images, method, targets);
  out["cams"] = r.cams;
  out["maps"] = r.maps;
  out["logits"] = r.logits;
  return out;
});

}  // namespace
}  // namespace cmt::oracle
