// Recomputation of batch norm + activation outputs in backward, and batch norm applying the activation
// in its own pass (CPU): the same step, bit for bit, with less activation memory kept between forward
// and backward, for every backbone.
#include <cstring>
#include <random>

#include "engine/allocator.h"
#include "engine/ops/basic.h"
#include "engine/parameters.h"
#include "models/cmt_model.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {
struct StepResult {
  HostLosses losses;
  std::vector<float> grads, buffers;
  std::size_t kept = 0;  // bytes held between the backbone's forward and its backward
};

enum class Mode { separate, recompute, fused };

StepResult one_step(const models::CmtConfig& config, PrecisionPolicy precision, Mode mode, const Tensor& views,
                    const Tensor& labels) {
  Context ctx(Device::cpu(), precision);
  ctx.training = true;
  ctx.recompute = mode == Mode::recompute;
  ctx.fuse_norm_activation = mode == Mode::fused;
  models::CmtModel model(config);
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, 21);
  store.zero_grads(ctx);
  StepResult r;
  {
    Layer& backbone = *model.root().children().front().second;
    const std::size_t before = host_allocator().stats().bytes_in_use;
    const Tensor features = backbone.forward(ctx, ops::cast(ctx, views, ctx.precision.activation_dtype()));
    r.kept = host_allocator().stats().bytes_in_use - before;
    Tensor ones = Tensor::empty(features.shape(), features.dtype());
    ops::fill(ctx, ones, 1.0);
    backbone.backward(ctx, ones);
  }
  // A fresh model for the step itself (the probe above moved the running statistics).
  models::CmtModel fresh(config);
  ParameterStore fresh_store(ctx, fresh.root());
  fresh_store.initialize(ctx, 21);
  fresh_store.zero_grads(ctx);
  r.losses = fresh.train_step(ctx, views, labels).fetch();
  r.grads = fresh_store.grads().to_vector<float>();
  r.buffers = fresh_store.buffers().to_vector<float>();  // running statistics: updated once, not twice
  return r;
}
}  // namespace

TEST_CASE("recompute and fused batch norm + activation: the same losses, gradients and running statistics bit for bit, with fewer activations kept (fp32 and bf16)") {
  std::mt19937_64 gen(test::run_seed() + 77);
  for (const char* backbone : {"resnet50", "vgg19_bn", "efficientnet_b4"}) {
    for (int dims : {2, 3}) {
      models::CmtConfig c = test::tiny_cmt_config(16, 2, backbone, dims);
      c.backbone.stochastic_depth = 0.f;
      const std::int64_t side = std::string(backbone) == "vgg19_bn" ? 32 : 16;
      const Tensor views = test::random_normal(dims == 3 ? Shape{4, side, side, side, 1} : Shape{4, 1, 2 * side, 2 * side, 1}, gen);
      const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4});
      for (PrecisionPolicy p : {PrecisionPolicy{}, PrecisionPolicy{ComputePrecision::bf16}}) {
        INFO(std::string(backbone) << " " << dims << "D " << p.name());
        const StepResult keep = one_step(c, p, Mode::separate, views, labels);
        for (Mode mode : {Mode::recompute, Mode::fused}) {
          const StepResult again = one_step(c, p, mode, views, labels);
          const char* what = mode == Mode::recompute ? "recompute" : "fused";
          INFO(what);
          CHECK(again.losses.total == keep.losses.total);
          CHECK(again.grads == keep.grads);
          CHECK(again.buffers == keep.buffers);
          // Fused, the activation keeps nothing: its input (SiLU) or an output that no conv holds (before pooling).
          CHECK(again.kept < keep.kept);
          MESSAGE(std::string(backbone) << " " << dims << "D " << p.name() << " activations kept " << keep.kept / 1024 << " KiB -> "
                                        << again.kept / 1024 << " KiB " << std::string(what));
        }
      }
    }
  }
}
