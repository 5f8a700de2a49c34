// Backbones: VGG-19 (with or without batch norm), ResNet-50 and EfficientNet-B4, each one
// definition serving 2D (X-ray) and 3D (CT). With 3 input channels, 1000 classes and width/depth 1
// in 2D, the classifier networks have exactly torchvision's parameter counts.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/layers/sequential.h"

namespace cmt::models {

struct BackboneConfig {
  std::string name = "resnet50";  // vgg19 | vgg19_bn | resnet50 | efficientnet_b4
  int spatial_dims = 3;           // 2 for X-ray (D = 1), 3 for CT
  std::int64_t in_channels = 1;
  double width = 1.0;             // channel multiplier (the small CPU demo uses e.g. 0.125)
  double depth = 1.0;             // block-count multiplier
  float dropout = -1.f;           // < 0: the model's default (VGG 0.5, EfficientNet-B4 0.4)
  float stochastic_depth = -1.f;  // < 0: the model's default (EfficientNet-B4 0.2)
  int vgg_pool = -1;              // VGG's adaptive pool side; < 0: 7 in 2D, 2 in 3D (docs/models.md)
};

// The feature extractor: input (N, D, H, W, C) -> features (N, F), pooled and flattened.
// For VGG the features are the flattened adaptive pool (the classifier's FC layers are not included).
struct Backbone {
  std::unique_ptr<layers::Sequential> features;
  std::int64_t feature_dim = 0;
};

Backbone build_backbone(const BackboneConfig& config);

// The whole torchvision-style classifier (features + its own head with num_classes outputs).
std::unique_ptr<layers::Sequential> build_classifier(const BackboneConfig& config, std::int64_t num_classes);

std::vector<std::string> backbone_names();

// Per model (implemented in vgg.cpp, resnet.cpp, efficientnet.cpp).
Backbone build_vgg(const BackboneConfig& config, bool batch_norm);
Backbone build_resnet50(const BackboneConfig& config);
Backbone build_efficientnet_b4(const BackboneConfig& config);

// Channel count after a width multiplier, rounded like torchvision's _make_divisible (multiple of 8).
std::int64_t scaled_channels(std::int64_t channels, double width);
int scaled_depth(int blocks, double depth);

}  // namespace cmt::models
