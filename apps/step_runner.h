// One full CMT-CNN training step on a synthetic batch (augmentation, forward, both losses,
// backward, optimizer), as the Trainer runs it, for `cmt profile` and `cmt bench train`.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/context.h"
#include "engine/model.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"
#include "models/cmt_model.h"

namespace cmt::app {

struct StepSetup {
  std::string backbone = "resnet50";
  int dims = 3;              // 2: X-ray (D = 1), 3: CT
  std::int64_t size = 128;   // side of the image (H = W, and D in 3D)
  std::int64_t batch = 8;    // samples; the step sees 2 x batch views
  double width = 1.0, depth = 1.0;
  std::int64_t latent = 4096;
  std::int64_t classes = 2;
  std::string device = "cpu";
  std::string precision = "fp32";
  std::uint64_t seed = 0;
};

class StepRunner {
 public:
  explicit StepRunner(const StepSetup& s);
  // One training step; phases are ProfileScope ranges (augment, zero_grad, train_step, optimizer).
  // Does not synchronise: the losses' item() calls inside train_step are the step's host syncs.
  StepLosses step();
  Context& ctx() { return *ctx_; }
  models::CmtModel& model() { return *model_; }
  ParameterStore& store() { return *store_; }
  const StepSetup& setup() const { return setup_; }
  // Multiply-accumulates of one step: forward of the 2N views through F and G, times 3 (forward,
  // data gradient, weight gradient), the usual training-FLOP convention.
  double step_macs() const;
  std::int64_t views() const { return 2 * setup_.batch; }
  // Writes the initial parameters (flat f32, the store's layout), the augmented views of the
  // first step and the labels as raw little-endian files plus a JSON index, for the PyTorch side.
  void export_first_step(const std::string& dir);

 private:
  Tensor augmented_views();

  StepSetup setup_;
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<models::CmtModel> model_;
  std::unique_ptr<ParameterStore> store_;
  std::unique_ptr<Adam> adam_;
  Tensor images_;  // (N, D, H, W, 1) in [0, 1], on the device
  Tensor labels_;  // (2N) i32, on the device
  std::vector<std::int64_t> sample_ids_;
};

}  // namespace cmt::app
