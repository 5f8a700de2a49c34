// Adam/AdamW over the flat parameter block (one fused kernel on CUDA) and gradient clipping by global norm.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt {

// Doubles, like torch's Python floats: 1 - beta2 in float would already differ from torch by 1e-5 relative.
struct AdamConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled = false;  // false: Adam (L2 added to the gradient); true: AdamW (p *= 1 - lr*wd)
};

// torch.optim.Adam / AdamW (amsgrad=False, maximize=False) on one flat f32 parameter block.
class Adam {
 public:
  Adam(Context& ctx, std::int64_t num_params, AdamConfig config);  // m, v zero, on ctx's device

  // params, grads: flat f32 [num_params] on ctx's device.
  void step(Context& ctx, Tensor& params, const Tensor& grads, float lr);
  // Same, and writes the updated parameters rounded to bf16 into params_bf16 (same numel) in the same pass.
  void step(Context& ctx, Tensor& params, const Tensor& grads, float lr, Tensor& params_bf16);

  // step() in two halves, for a step captured into a CUDA Graph: prepare() counts the step and copies
  // its scalars (learning rate, bias corrections) to the device, outside the graph; apply() is the
  // device-only update, inside it. A defined `finite_guard` (a one-element f32 device tensor, the
  // step's loss) skips the whole update on the device when it is not finite.
  void prepare(Context& ctx, float lr);
  void apply(Context& ctx, Tensor& params, const Tensor& grads, Tensor& params_bf16, const Tensor& finite_guard = Tensor());

  std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps);
  Tensor& m() { return m_; }  // for checkpoints
  Tensor& v() { return v_; }
  const AdamConfig& config() const { return config_; }

 private:
  AdamConfig config_;
  std::int64_t num_params_;
  std::int64_t steps_ = 0;
  Tensor m_, v_;
  Tensor scalars_;  // the current step's cpu::AdamStep, as bytes on ctx's device
};

// Scales grads in place by max_norm / (norm + 1e-6) when the global L2 norm exceeds max_norm (like
// torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
float clip_grad_norm(Context& ctx, Tensor& grads, float max_norm);
// The same without a host read (the Trainer's planned and captured step): the norm before clipping as
// a one-element tensor on grads' device.
Tensor clip_grad_norm_on_device(Context& ctx, Tensor& grads, float max_norm);

}  // namespace cmt
