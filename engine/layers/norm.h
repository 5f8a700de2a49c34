// BatchNorm: batch statistics in training (running stats updated), running stats in eval.
#pragma once
#include "engine/layer.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"

namespace cmt::layers {

class BatchNorm : public Layer {
 public:
  explicit BatchNorm(std::int64_t channels, float eps = 1e-5f, float momentum = 0.1f);
  std::string type() const override { return "BatchNorm"; }
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor forward(Context& ctx, const Tensor& x) override;
  Tensor backward(Context& ctx, const Tensor& dy) override;
  void clear_saved() override {
    x_ = Tensor();
    saved_ = {};
    sync_saved_ = {};
  }
  // Synchronised statistics over every rank of comm (null: per-rank statistics, the default).
  void set_sync(Communicator* comm) { sync_ = comm; }
  bool synced() const { return sync_ != nullptr; }
  // For recomputation in backward: the last training forward's output again, from the kept input
  // (the same batch statistics, so the same values); running statistics untouched.
  Tensor recompute_output(Context& ctx);
  // At the next forward only, applies `act` in the same pass (a Sequential sets it for the ReLU or
  // SiLU that follows this layer, on the CPU); the backward then takes the activation's gradient too.
  void fuse_next(ops::BnActivation act) { fuse_next_ = act; }

 private:
  std::int64_t channels_;
  float eps_, momentum_;
  Tensor weight_, weight_grad_, bias_, bias_grad_, running_mean_, running_var_;
  Tensor x_;
  ops::BatchNormSaved saved_;
  ops::BnActivation fuse_next_ = ops::BnActivation::none;
  Communicator* sync_ = nullptr;
  ops::SyncBatchNormSaved sync_saved_;
};

// Sets (or with null clears) synchronised statistics on every BatchNorm of the tree; returns how many.
int set_sync_batchnorm(Layer& root, Communicator* comm);

}  // namespace cmt::layers
