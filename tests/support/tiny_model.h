// A tiny 2D CMT-CNN configuration (ResNet-50 at width 1/8, depth 1/3) shared by the model tests.
#pragma once
#include "models/cmt_model.h"

namespace cmt::test {

inline models::CmtConfig tiny_cmt_config(std::int64_t latent_dim, std::int64_t num_classes) {
  models::CmtConfig c;
  c.backbone.name = "resnet50";
  c.backbone.spatial_dims = 2;
  c.backbone.width = 0.125;
  c.backbone.depth = 0.34;
  c.latent_dim = latent_dim;
  c.num_classes = num_classes;
  return c;
}

}  // namespace cmt::test
