// A tiny CMT-CNN configuration (width 1/8, depth 1/3; ResNet-50 in 2D unless told) shared by the model tests.
#pragma once
#include "models/cmt_model.h"

namespace cmt::test {

inline models::CmtConfig tiny_cmt_config(std::int64_t latent_dim, std::int64_t num_classes, const char* backbone = "resnet50",
                                         int spatial_dims = 2) {
  models::CmtConfig c;
  c.backbone.name = backbone;
  c.backbone.spatial_dims = spatial_dims;
  c.backbone.width = 0.125;
  c.backbone.depth = 0.34;
  c.latent_dim = latent_dim;
  c.num_classes = num_classes;
  return c;
}

}  // namespace cmt::test
