// The small model the checkpoint and weight targets load into: a "backbone" of a batch norm (with
// buffers) and a linear layer, so that the seed files stay a few kilobytes.
#pragma once
#include <memory>

#include "engine/context.h"
#include "engine/layers/linear.h"
#include "engine/layers/norm.h"
#include "engine/layers/sequential.h"
#include "engine/parameters.h"

namespace cmt::fuzz {

struct SmallModel {
  Context ctx{Device::cpu()};
  layers::Sequential root;
  std::unique_ptr<ParameterStore> store;
  SmallModel() {
    auto backbone = std::make_unique<layers::Sequential>();
    backbone->emplace<layers::BatchNorm>(2);
    backbone->emplace<layers::Linear>(2, 3);
    root.add(std::move(backbone), "backbone");
    store = std::make_unique<ParameterStore>(ctx, root);
    store->initialize(ctx, 1);
  }
};

inline SmallModel& small_model() {
  static SmallModel m;
  return m;
}

}  // namespace cmt::fuzz
