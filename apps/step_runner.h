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
#include "engine/step_graph.h"
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
  std::string precision = "auto";  // tf32 on a GPU, fp32 on the CPU
  std::uint64_t seed = 0;
  // Steady-state execution (docs/performance.md): the step's activation memory planned once
  // (engine/memory_plan.h), and on a GPU the step captured into a CUDA Graph and replayed
  // (engine/step_graph.h). cmt profile turns both off: it times every layer eagerly.
  bool plan_memory = true;
  bool cuda_graph = true;  // GPU only; needs plan_memory
  bool recompute = false;  // Context::recompute: BN + activation outputs rebuilt in backward
  // EfficientNet-B4's per-sample residual drop; < 0: the backbone's default (0.2). `cmt bench train`
  // sets 0 so that its step is the deterministic one the PyTorch reference computes.
  float stochastic_depth = -1.f;
};

// Throws a clear error for a setup the step cannot run (bad dims, a side too small for the backbone).
void validate_step_setup(const StepSetup& s);

class StepRunner {
 public:
  static constexpr float kLearningRate = 1e-4f;  // Adam's, as the Trainer's default

  explicit StepRunner(const StepSetup& s);
  // One training step; phases are ProfileScope ranges (augment, zero_grad, train_step, optimizer).
  // Asynchronous: nothing in it waits for the device (fetch() the losses to wait). The first step
  // runs plainly (lazy resources), the second records the memory plan, the third replays it
  // eagerly (validating it), the fourth captures the CUDA Graph; later steps replay.
  StepLosses step();
  // "eager", "memory plan", or "CUDA Graph", with the reason when a requested mode is off.
  std::string execution() const;
  bool graph_active() const { return steady_ && steady_->captured(); }
  const StepMemoryPlan* memory_plan() const { return steady_ ? &steady_->plan() : nullptr; }
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
  // The model alone for bench/compare/infer.py: the weights, `image` and the probabilities predict()
  // returns for it (fp32), with an index.json naming the configuration and every parameter.
  void export_inference(const std::string& dir, const Tensor& image, const Tensor& probabilities);
  // The augmentation phase of step() alone: the two views (2N, D, H, W, 1) of the synthetic batch.
  Tensor augmented_views();

 private:
  Shape model_views_shape() const;  // (2N, D, H, W, 1)
  void model_step(const Tensor& views);  // zero_grad, train_step, Adam apply

  std::unique_ptr<SteadyStep> steady_;  // null: plain eager steps (plan_memory off)
  std::string graph_off_reason_;
  Tensor static_views_;    // the captured graph's input: each step's views are copied here
  StepLosses losses_;      // the last step's losses (the graph's fixed outputs when captured)

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
