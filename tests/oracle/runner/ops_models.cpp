// Oracle registrations of whole models: a torchvision-style classifier with exported weights.
#include "engine/layers/sequential.h"
#include "engine/parameters.h"
#include "models/backbone.h"
#include "models/weights.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

// x (N, H, W, 3) channels-last -> eval-mode logits (N, classes) of `model` with the weights in `weights`.
CMT_ORACLE_OP("classifier_logits", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  models::BackboneConfig b;
  b.name = args.at("model").get<std::string>();
  b.spatial_dims = 2;
  b.in_channels = 3;
  auto net = models::build_classifier(b, args.at("classes").get<std::int64_t>());
  ParameterStore store(ctx, *net);
  models::WeightLoadOptions opt;
  models::load_torchvision_weights(ctx, store, args.at("weights").get<std::string>(), opt);
  const Tensor& x = input(in, "x");
  ctx.training = false;
  return TensorMap{{"logits", net->forward(ctx, x.view(Shape{x.dim(0), 1, x.dim(1), x.dim(2), x.dim(3)}))}};
});

// Loads weights into a model and reports the error (for the mismatch test).
CMT_ORACLE_OP("load_weights", [](Context& ctx, const TensorMap&, const nlohmann::json& args) {
  models::BackboneConfig b;
  b.name = args.at("model").get<std::string>();
  b.spatial_dims = 2;
  b.in_channels = args.value("channels", 3);
  auto net = models::build_classifier(b, args.at("classes").get<std::int64_t>());
  ParameterStore store(ctx, *net);
  models::WeightLoadOptions opt;
  const int n = models::load_torchvision_weights(ctx, store, args.at("weights").get<std::string>(), opt);
  return TensorMap{{"loaded", Tensor::from_vector(std::vector<float>{static_cast<float>(n)}, Shape{1})}};
});

}  // namespace
}  // namespace cmt::oracle
