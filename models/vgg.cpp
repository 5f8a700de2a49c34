// VGG-19 (configuration E), with or without batch norm; 2D and 3D from one definition.
#include "engine/layers/activation.h"
#include "engine/layers/conv.h"
#include "engine/layers/linear.h"
#include "engine/layers/norm.h"
#include "engine/layers/pool.h"
#include "models/backbone.h"

namespace cmt::models {

Backbone build_vgg(const BackboneConfig& c, bool batch_norm) {
  using namespace layers;
  // Configuration E: conv counts per stage, each stage followed by a 2x max pool.
  const int convs[5] = {2, 2, 4, 4, 4};
  const std::int64_t widths[5] = {64, 128, 256, 512, 512};
  auto features = std::make_unique<Sequential>();
  // Parameter names follow torchvision: features.<index>.weight.
  auto* body = static_cast<Sequential*>(features->add(std::make_unique<Sequential>(), "features"));
  std::int64_t in = c.in_channels;
  for (int s = 0; s < 5; ++s) {
    const std::int64_t out = scaled_channels(widths[s], c.width);
    for (int i = 0; i < scaled_depth(convs[s], c.depth); ++i) {
      ConvConfig cc{c.spatial_dims, in, out, 3, 1, 1, 1, 1, /*bias=*/true, Init::kaiming_normal_fan_out};
      body->emplace<Conv>(cc);
      if (batch_norm) body->emplace<BatchNorm>(out);
      body->emplace<Act>(Activation::relu);
      in = out;
    }
    body->emplace<MaxPool>(pool_params(c.spatial_dims, 2, 2, 0));
  }
  const int side = c.vgg_pool > 0 ? c.vgg_pool : (c.spatial_dims == 2 ? 7 : 2);
  features->add(std::make_unique<AdaptiveAvgPool>(std::array<int, 3>{c.spatial_dims == 2 ? 1 : side, side, side}), "avgpool");
  features->add(std::make_unique<Flatten>(), "flatten");
  Backbone b;
  b.feature_dim = in * side * side * (c.spatial_dims == 2 ? 1 : side);
  b.features = std::move(features);
  return b;
}

}  // namespace cmt::models
