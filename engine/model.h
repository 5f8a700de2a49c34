// Model: what the Trainer trains. A root layer (whose parameters the trainer owns in flat blocks)
// plus the losses; CMT-CNN implements it in models/.
#pragma once
#include <string>

#include "engine/context.h"
#include "engine/layer.h"
#include "engine/tensor.h"

namespace cmt {

// The losses of one step as host numbers.
struct HostLosses {
  float total = 0;           // L = L_cls + lambda * L_cst
  float classification = 0;  // L_cls
  float contrastive = 0;     // L_cst (0 when lambda = 0)
  float positive_similarity = 0;  // mean cosine similarity of the positive pairs
};

// The losses of one step as train_step leaves them: on the device, so that the step itself never
// waits for the GPU (and can be captured into a CUDA Graph). fetch() is the one host read.
struct StepLosses {
  enum Slot { total = 0, classification = 1, contrastive = 2, positive_similarity = 3, slots = 4 };
  Tensor values;  // f32[4] on the device, indexed by Slot
  Tensor probs;   // (2N, classes) on the device, for training accuracy
  HostLosses fetch() const;  // copies `values` to the host (waits for the step)
};

class Model {
 public:
  virtual ~Model() = default;
  virtual Layer& root() = 0;
  virtual std::string describe() const = 0;
  virtual std::int64_t num_classes() const = 0;
  // views: (2N, D, H, W, C), rows 2k and 2k+1 the two views of sample k; labels (2N) i32.
  // Runs forward, both losses and backward; adds the parameter gradients into their grad views.
  virtual StepLosses train_step(Context& ctx, const Tensor& views, const Tensor& labels) = 0;
  // True when train_step keeps to the device (no host sync, no per-step host values), so that one
  // process may replay it from a CUDA Graph.
  virtual bool graph_safe() { return false; }
  // Eval-mode forward of unaugmented images (N, D, H, W, C) -> class probabilities (N, classes) on the host.
  virtual Tensor predict(Context& ctx, const Tensor& images) = 0;
  // Eval-mode latent vectors r (N, d).
  virtual Tensor embed(Context& ctx, const Tensor& images) = 0;
};

}  // namespace cmt
