// The attention decoder of the paper's Fig. 5 (section 4): on the last feature map F (N, D, H, W, C),
// A = the mean over the channels (N, D, H, W, 1); two x2 up-sampling transposed convolutions give
// U (N, kd*kd*D, 4H, 4W, 1) (kd = 2 in 3D, 1 in 2D); two x2 mean poolings bring U back to P
// (N, D, H, W, 1); the output F * P (P broadcast over the channels) replaces F, so the model's
// losses train the decoder. U, resized to the input and passed through a sigmoid, is the map shown
// (models/attention_map.h). The decoder computes in f32 (a bf16 F is widened, its output rounded back).
#pragma once
#include "engine/layer.h"
#include "engine/ops/pool.h"

namespace cmt::layers {

// x2 up-sampling transposed convolution of one channel, kernel 2, stride 2, with bias (PyTorch's
// ConvTranspose2d/3d(1, 1, 2, stride=2) and its default initialisation). f32 input and output.
class TransposedConv2x : public Layer {
 public:
  explicit TransposedConv2x(int spatial_dims);
  std::string type() const override { return "TransposedConv2x"; }
  Shape output_shape(const Shape& in) const override { return Shape{in[0], kd_ * in[1], 2 * in[2], 2 * in[3], 1}; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  double forward_macs(const Shape& in) const override { return static_cast<double>(in.numel()) * 4 * static_cast<double>(kd_); }
  void clear_saved() override { x_ = Tensor(); }

 private:
  std::int64_t kd_;
  Tensor weight_, weight_grad_, bias_, bias_grad_;
  Tensor x_;
};

class AttentionDecoder : public Layer {
 public:
  explicit AttentionDecoder(int spatial_dims);
  std::string type() const override { return "AttentionDecoder"; }
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  double forward_macs(const Shape& in) const override;
  void clear_saved() override;

  // With keep_map on, each forward keeps U (the map before resizing and sigmoid) for last_map().
  void set_keep_map(bool keep) { keep_map_ = keep; }
  const Tensor& last_map() const { return map_; }

 private:
  ops::PoolParams pool_;  // the x2 mean pooling (2x2, or 2x2x2 in 3D)
  TransposedConv2x up1_, up2_;
  bool keep_map_ = false;
  Tensor map_;
  // Kept for backward (f32): the input, the decoder's map at F's size, and the shapes of U's poolings.
  Tensor x_, p_;
  Shape u_shape_, half_shape_;
  DType in_dtype_ = DType::f32;
};

}  // namespace cmt::layers
