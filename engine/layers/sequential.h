// Sequential: children run in order; the basic composite of the layer graph.
#pragma once
#include <string>
#include <vector>

#include "engine/layer.h"
#include "engine/ops/batchnorm.h"

namespace cmt::layers {

class Sequential : public Layer {
 public:
  Sequential() = default;
  // Appends a child named by its index ("0", "1", ...) unless a name is given; returns it.
  Layer* add(LayerPtr layer, std::string name = "");
  template <typename T, typename... Args>
  T* emplace(Args&&... args) {
    return static_cast<T*>(add(std::make_unique<T>(std::forward<Args>(args)...)));
  }
  // Inserts a child named `name` just before the child named `before` (which must exist); returns it.
  Layer* insert_before(const std::string& before, LayerPtr layer, std::string name);
  std::size_t size() const { return owned_.size(); }
  Layer& at(std::size_t i) { return *owned_[i]; }

  std::string type() const override { return "Sequential"; }
  Shape output_shape(const Shape& in) const override;
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  void set_input_grad(bool needed) override;
  double forward_macs(const Shape& in) const override;

 private:
  // With ctx.recompute, the runs whose kept tensors are dropped after forward and rebuilt in
  // backward from the batch norm's kept input: BN -> activation -> Conv (the activation's output,
  // which the conv keeps), and BN -> SiLU at the end of a run (SiLU keeps its own input).
  // Returns the length of the run starting at child i (3 or 2), or 0.
  std::size_t recompute_run_at(std::size_t i) const;
  // The activation that the batch norm at child i applies in its own pass (ctx.fuse_norm_activation):
  // child i + 1 is a ReLU or SiLU, the data is on the CPU, the statistics per rank, and nothing
  // recomputes or differentiates in eval mode. none otherwise.
  ops::BnActivation fusable_at(std::size_t i, const Context& ctx, const Tensor& x) const;
  std::vector<LayerPtr> owned_;
  std::vector<std::size_t> dropped_;  // per child: length of a run starting here whose tensors were dropped
  std::vector<char> fused_;           // per child: a batch norm that ran the next child's activation
};

}  // namespace cmt::layers
