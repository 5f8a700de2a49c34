// Oracle registration of one CMT-CNN training step: initial weights, loss terms and every gradient.
#include "engine/parameters.h"
#include "models/cmt_model.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

// views (2N, D, H, W, 1), labels (2N) i32 -> "loss" [3] (total, cls, cst), "param:<path>", "grad:<path>".
CMT_ORACLE_OP("cmt_step", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  models::CmtConfig c;
  c.backbone.name = args.at("backbone").get<std::string>();
  c.backbone.spatial_dims = args.at("dims").get<int>();
  c.backbone.width = args.at("width").get<double>();
  c.backbone.depth = args.at("depth").get<double>();
  c.backbone.stochastic_depth = 0.f;  // deterministic: no random layers in the comparison
  c.latent_dim = args.at("latent").get<std::int64_t>();
  c.num_classes = args.at("classes").get<std::int64_t>();
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

}  // namespace
}  // namespace cmt::oracle
