// Sequential composite.
#include "engine/layers/sequential.h"

#include <algorithm>

#include "engine/layers/activation.h"
#include "engine/layers/conv.h"
#include "engine/layers/norm.h"
#include "engine/profiler.h"

namespace cmt::layers {

Layer* Sequential::add(LayerPtr layer, std::string name) {
  if (name.empty()) name = std::to_string(owned_.size());
  owned_.push_back(std::move(layer));
  add_child(std::move(name), owned_.back().get());
  return owned_.back().get();
}

Layer* Sequential::insert_before(const std::string& before, LayerPtr layer, std::string name) {
  auto& kids = children();
  const auto it = std::find_if(kids.begin(), kids.end(), [&](const auto& child) { return child.first == before; });
  CMT_CHECK(it != kids.end(), "Sequential: no child named '" << before << "' to insert '" << name << "' before");
  const auto at = it - kids.begin();
  Layer* raw = layer.get();
  owned_.insert(owned_.begin() + at, std::move(layer));
  kids.insert(kids.begin() + at, {std::move(name), raw});
  return raw;
}

Shape Sequential::output_shape(const Shape& in) const {
  Shape s = in;
  for (const auto& l : owned_) s = l->output_shape(s);
  return s;
}

std::size_t Sequential::recompute_run_at(std::size_t i) const {
  if (i + 1 >= owned_.size()) return 0;
  const auto* bn = dynamic_cast<const BatchNorm*>(owned_[i].get());
  const auto* act = dynamic_cast<const Act*>(owned_[i + 1].get());
  if (bn == nullptr || bn->synced() || act == nullptr) return 0;  // synchronised BN would need another all-reduce
  if (i + 2 < owned_.size() && dynamic_cast<const Conv*>(owned_[i + 2].get()) != nullptr) return 3;
  // A ReLU/sigmoid keeps its output, which the next layer keeps too: dropping it frees nothing.
  return act->keeps_input() ? 2 : 0;
}

ops::BnActivation Sequential::fusable_at(std::size_t i, const Context& ctx, const Tensor& x) const {
  if (!ctx.fuse_norm_activation || ctx.recompute || ctx.keep_for_backward || x.is_cuda() || i + 1 >= owned_.size())
    return ops::BnActivation::none;
  const auto* bn = dynamic_cast<const BatchNorm*>(owned_[i].get());
  const auto* act = dynamic_cast<const Act*>(owned_[i + 1].get());
  if (bn == nullptr || bn->synced() || act == nullptr) return ops::BnActivation::none;
  switch (act->kind()) {
    case Activation::relu: return ops::BnActivation::relu;
    case Activation::silu: return ops::BnActivation::silu;
    default: return ops::BnActivation::none;
  }
}

Tensor Sequential::forward(Context& ctx, const Tensor& x) {
  dropped_.assign(owned_.size(), 0);
  fused_.assign(owned_.size(), 0);
  const bool recompute = ctx.training && ctx.recompute;
  Tensor h = x;
  for (std::size_t i = 0; i < owned_.size(); ++i) {
    if (const ops::BnActivation act = fusable_at(i, ctx, h); act != ops::BnActivation::none) {
      static_cast<BatchNorm&>(*owned_[i]).fuse_next(act);
      h = run_forward(ctx, *owned_[i], h);
      fused_[i] = 1;
      ++i;  // the activation ran inside the batch norm
      continue;
    }
    h = run_forward(ctx, *owned_[i], h);
    // Once the last layer of a run has its output, drop what the run keeps beyond BN's input.
    for (std::size_t len : {std::size_t{2}, std::size_t{3}}) {
      if (!recompute || i + 1 < len || recompute_run_at(i + 1 - len) != len) continue;
      const std::size_t start = i + 1 - len;
      owned_[start + 1]->clear_saved();
      if (len == 3) static_cast<Conv&>(*owned_[i]).restore_input(Tensor());
      dropped_[start] = len;
    }
  }
  return h;
}

void Sequential::set_input_grad(bool needed) {
  Layer::set_input_grad(needed);
  if (!owned_.empty()) owned_.front()->set_input_grad(needed);
}

Tensor Sequential::backward(Context& ctx, const Tensor& dy) {
  Tensor g = dy;
  for (std::size_t j = owned_.size(); j-- > 0;) {
    // Entering a dropped run from its end: BN's output again from its kept input and statistics, the
    // activation forward again (keeping what its backward needs), the conv's input back in place.
    for (std::size_t len : {std::size_t{2}, std::size_t{3}}) {
      if (j + 1 < len || dropped_.size() <= j + 1 - len || dropped_[j + 1 - len] != len) continue;
      const std::size_t start = j + 1 - len;
      const Tensor y = owned_[start + 1]->forward(ctx, static_cast<BatchNorm&>(*owned_[start]).recompute_output(ctx));
      if (len == 3) static_cast<Conv&>(*owned_[j]).restore_input(y);
      dropped_[start] = 0;
    }
    if (j > 0 && fused_.size() == owned_.size() && fused_[j - 1]) continue;  // its batch norm takes its gradient
    g = run_backward(ctx, *owned_[j], g);
  }
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
