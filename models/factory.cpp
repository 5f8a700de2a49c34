// Builds backbones and torchvision-style classifiers by name.
#include <cmath>

#include "engine/layers/activation.h"
#include "engine/layers/linear.h"
#include "models/backbone.h"

namespace cmt::models {

std::int64_t scaled_channels(std::int64_t channels, double width) {
  // torchvision's _make_divisible(v, 8): round to the nearest multiple of 8, never below 8 or 90% of v.
  const double v = static_cast<double>(channels) * width;
  std::int64_t r = std::max<std::int64_t>(8, static_cast<std::int64_t>(v + 4.0) / 8 * 8);
  if (static_cast<double>(r) < 0.9 * v) r += 8;
  return r;
}

int scaled_depth(int blocks, double depth) { return std::max(1, static_cast<int>(std::ceil(blocks * depth))); }

std::vector<std::string> backbone_names() { return {"vgg19", "vgg19_bn", "resnet50", "efficientnet_b4"}; }

Backbone build_backbone(const BackboneConfig& c) {
  CMT_CHECK(c.spatial_dims == 2 || c.spatial_dims == 3, "backbone: spatial_dims must be 2 or 3, got " << c.spatial_dims);
  CMT_CHECK(c.in_channels >= 1, "backbone: in_channels must be >= 1");
  CMT_CHECK(c.width > 0 && c.depth > 0, "backbone: width and depth multipliers must be positive");
  if (c.name == "vgg19") return build_vgg(c, false);
  if (c.name == "vgg19_bn") return build_vgg(c, true);
  if (c.name == "resnet50") return build_resnet50(c);
  if (c.name == "efficientnet_b4") return build_efficientnet_b4(c);
  CMT_THROW("unknown backbone '" << c.name << "' (expected vgg19, vgg19_bn, resnet50 or efficientnet_b4)");
}

std::unique_ptr<layers::Sequential> build_classifier(const BackboneConfig& c, std::int64_t num_classes) {
  using namespace layers;
  Backbone b = build_backbone(c);
  auto net = std::move(b.features);
  auto head = std::make_unique<Sequential>();
  if (c.name.rfind("vgg", 0) == 0) {
    const float p = c.dropout >= 0 ? c.dropout : 0.5f;
    const std::int64_t hidden = scaled_channels(4096, c.width);
    head->add(std::make_unique<Linear>(b.feature_dim, hidden, true, Init::normal_001, Init::zeros));
    head->add(std::make_unique<Act>(Activation::relu));
    head->add(std::make_unique<Dropout>(p));
    head->add(std::make_unique<Linear>(hidden, hidden, true, Init::normal_001, Init::zeros));
    head->add(std::make_unique<Act>(Activation::relu));
    head->add(std::make_unique<Dropout>(p));
    head->add(std::make_unique<Linear>(hidden, num_classes, true, Init::normal_001, Init::zeros));
    net->add(std::move(head), "classifier");
  } else if (c.name == "resnet50") {
    net->add(std::make_unique<Linear>(b.feature_dim, num_classes), "fc");
  } else {
    head->add(std::make_unique<Dropout>(c.dropout >= 0 ? c.dropout : 0.4f));
    head->add(std::make_unique<Linear>(b.feature_dim, num_classes, true, Init::uniform_fan_out, Init::zeros));
    net->add(std::move(head), "classifier");
  }
  return net;
}

}  // namespace cmt::models
