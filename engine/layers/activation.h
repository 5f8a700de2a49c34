// Pointwise activation layers: ReLU, SiLU, Sigmoid.
#pragma once
#include "engine/layer.h"

namespace cmt::layers {

enum class Activation { relu, silu, sigmoid };

class Act : public Layer {
 public:
  explicit Act(Activation kind) : kind_(kind) {}
  std::string type() const override;
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  void clear_saved() override { saved_ = Tensor(); }
  bool keeps_input() const { return kind_ == Activation::silu; }  // else it keeps its output
  Activation kind() const { return kind_; }

 private:
  Activation kind_;
  Tensor saved_;  // relu/sigmoid keep their output, silu its input
};

}  // namespace cmt::layers
