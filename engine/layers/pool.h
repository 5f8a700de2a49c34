// Pooling layers: MaxPool, AvgPool, AdaptiveAvgPool (VGG's 7x7 head), GlobalAvgPool (-> N,C), Flatten.
#pragma once
#include <array>

#include "engine/layer.h"
#include "engine/ops/pool.h"

namespace cmt::layers {

// kernel/stride/padding on (H, W) for 2D (spatial_dims 2), on (D, H, W) for 3D.
ops::PoolParams pool_params(int spatial_dims, int kernel, int stride, int padding);

class MaxPool : public Layer {
 public:
  explicit MaxPool(ops::PoolParams p) : p_(p) {}
  std::string type() const override { return "MaxPool"; }
  Shape output_shape(const Shape& in) const override { return ops::pool_output_shape(in, p_); }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  void clear_saved() override { argmax_ = Tensor(); }

 private:
  ops::PoolParams p_;
  Tensor argmax_;
  Shape x_shape_;
};

class AvgPool : public Layer {
 public:
  explicit AvgPool(ops::PoolParams p) : p_(p) {}
  std::string type() const override { return "AvgPool"; }
  Shape output_shape(const Shape& in) const override { return ops::pool_output_shape(in, p_); }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;

 private:
  ops::PoolParams p_;
  Shape x_shape_;
};

class AdaptiveAvgPool : public Layer {
 public:
  explicit AdaptiveAvgPool(std::array<int, 3> out_dhw) : out_(out_dhw) {}
  std::string type() const override { return "AdaptiveAvgPool"; }
  Shape output_shape(const Shape& in) const override { return Shape{in[0], out_[0], out_[1], out_[2], in[4]}; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;

 private:
  std::array<int, 3> out_;
  Shape x_shape_;
};

// (N, D, H, W, C) -> (N, C)
class GlobalAvgPool : public Layer {
 public:
  std::string type() const override { return "GlobalAvgPool"; }
  Shape output_shape(const Shape& in) const override { return Shape{in[0], in[4]}; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;

 private:
  Shape x_shape_;
};

// (N, ...) -> (N, prod(...)); channels-last, so torchvision's flatten order differs (documented in docs/models.md).
class Flatten : public Layer {
 public:
  std::string type() const override { return "Flatten"; }
  Shape output_shape(const Shape& in) const override { return Shape{in[0], in.numel() / std::max<std::int64_t>(in[0], 1)}; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;

 private:
  Shape x_shape_;
};

}  // namespace cmt::layers
