// Sequential composite.
#include "engine/layers/sequential.h"

#include "engine/profiler.h"

namespace cmt::layers {

Layer* Sequential::add(LayerPtr layer, std::string name) {
  if (name.empty()) name = std::to_string(owned_.size());
  owned_.push_back(std::move(layer));
  add_child(std::move(name), owned_.back().get());
  return owned_.back().get();
}

Shape Sequential::output_shape(const Shape& in) const {
  Shape s = in;
  for (const auto& l : owned_) s = l->output_shape(s);
  return s;
}

Tensor Sequential::forward(Context& ctx, const Tensor& x) {
  Tensor h = x;
  for (auto& l : owned_) h = run_forward(ctx, *l, h);
  return h;
}

Tensor Sequential::backward(Context& ctx, const Tensor& dy) {
  Tensor g = dy;
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) g = run_backward(ctx, **it, g);
  return g;
}

double Sequential::forward_macs(const Shape& in) const {
  double macs = 0;
  Shape s = in;
  for (const auto& l : owned_) {
    macs += l->forward_macs(s);
    s = l->output_shape(s);
  }
  return macs;
}

}  // namespace cmt::layers
