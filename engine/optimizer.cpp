// Adam/AdamW over the flat parameter block and gradient clipping by global norm.
#include "engine/optimizer.h"

#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/validate.h"
#include "kernels/optimizer.h"

namespace cmt {

using namespace ops::detail;

Adam::Adam(Context& ctx, std::int64_t num_params, AdamConfig config) : config_(config), num_params_(num_params) {
  CMT_CHECK(num_params > 0, "Adam: num_params must be positive, got " << num_params);
  CMT_CHECK(config.beta1 >= 0 && config.beta1 < 1 && config.beta2 >= 0 && config.beta2 < 1 && config.eps > 0 &&
                config.weight_decay >= 0,
            "Adam: bad config beta1 " << config.beta1 << ", beta2 " << config.beta2 << ", eps " << config.eps
                                      << ", weight_decay " << config.weight_decay);
  m_ = Tensor::empty(Shape{num_params}, DType::f32, ctx.device());
  v_ = Tensor::empty(Shape{num_params}, DType::f32, ctx.device());
  ops::fill(ctx, m_, 0.0);
  ops::fill(ctx, v_, 0.0);
}

void Adam::set_steps(std::int64_t steps) {
  CMT_CHECK(steps >= 0, "Adam::set_steps: negative step count " << steps);
  steps_ = steps;
}

void Adam::step(Context& ctx, Tensor& params, const Tensor& grads, float lr) {
  Tensor none;
  step(ctx, params, grads, lr, none);
}

void Adam::step(Context& ctx, Tensor& params, const Tensor& grads, float lr, Tensor& params_bf16) {
  prepare(ctx, lr);
  apply(ctx, params, grads, params_bf16);
}

void Adam::prepare(Context& ctx, float lr) {
  ++steps_;
  // Host scalars in double, as torch computes them in Python, then rounded once.
  const double t = static_cast<double>(steps_), b1 = config_.beta1, b2 = config_.beta2;
  const double bc1 = 1.0 - std::pow(b1, t), bc2 = 1.0 - std::pow(b2, t);
  const auto f = [](double v) { return static_cast<float>(v); };
  const cpu::AdamStep s{f(b1),
                        f(1.0 - b1),
                        f(b2),
                        f(1.0 - b2),
                        f(config_.eps),
                        f(config_.weight_decay),
                        f(1.0 - static_cast<double>(lr) * config_.weight_decay),
                        f(static_cast<double>(lr) / bc1),
                        f(std::sqrt(bc2)),
                        config_.decoupled};
  if (!scalars_.defined()) scalars_ = Tensor::empty(Shape{static_cast<std::int64_t>(sizeof(s))}, DType::u8, ctx.device());
  ctx.upload(&s, sizeof(s), scalars_);
}

void Adam::apply(Context& ctx, Tensor& params, const Tensor& grads, Tensor& params_bf16, const Tensor& finite_guard) {
  const char* op = "Adam::apply";
  require_f32(ctx, params, op, "params");
  require_f32(ctx, grads, op, "grads");
  CMT_CHECK(params.numel() == num_params_ && grads.numel() == num_params_,
            op << ": params " << params.describe() << " and grads " << grads.describe() << " must hold " << num_params_
               << " elements");
  CMT_CHECK(scalars_.defined(), op << ": prepare() was not called for this step");
  std::uint16_t* bf16 = nullptr;
  if (params_bf16.defined()) {
    require_on(ctx, params_bf16, op, "params_bf16");
    require_dtype(params_bf16, DType::bf16, op, "params_bf16");
    CMT_CHECK(params_bf16.numel() == num_params_, op << ": params_bf16 " << params_bf16.describe() << " has the wrong size");
    bf16 = params_bf16.data_u16();
  }
  const float* guard = nullptr;
  if (finite_guard.defined()) {
    require_f32(ctx, finite_guard, op, "finite_guard");
    CMT_CHECK(finite_guard.numel() >= 1, op << ": empty finite_guard");
    guard = finite_guard.data<float>();
  }
  const auto* s = static_cast<const cpu::AdamStep*>(scalars_.raw());
  CMT_DISPATCH(ctx, op,
               cuda::adam_step(s, guard, params.data<float>(), grads.data<float>(), m_.data<float>(), v_.data<float>(), bf16,
                               num_params_, ctx.compute_stream()),
               cpu::adam_step(*s, guard, params.data<float>(), grads.data<float>(), m_.data<float>(), v_.data<float>(), bf16,
                              num_params_));
}

namespace {
// The CPU side of clip_grad_norm_on_device: the norm from a double sum, then the same scaling.
void clip_by_norm_cpu(float* g, std::int64_t n, float max_norm, float* norm_out) {
  const auto norm = static_cast<float>(std::sqrt(cpu::sum_squares(g, n)));
  *norm_out = norm;
  const float coef = max_norm / (norm + 1e-6f);
  if (!(coef < 1.f)) return;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) g[i] = coef * g[i];
}
}  // namespace

Tensor clip_grad_norm_on_device(Context& ctx, Tensor& grads, float max_norm) {
  const char* op = "clip_grad_norm";
  require_f32(ctx, grads, op, "grads");
  CMT_CHECK(max_norm > 0, op << ": max_norm must be positive, got " << max_norm);
  Tensor norm = Tensor::empty(Shape{1}, DType::f32, grads.device());
  CMT_DISPATCH(ctx, op,
               {
                 Tensor sq = Tensor::empty(Shape{1}, DType::f32, grads.device());
                 cuda::sum_squares(grads.data<float>(), grads.numel(), sq.data<float>(),
                                   ctx.workspace(cuda::sum_squares_workspace_bytes(grads.numel())),
                                   ctx.compute_stream());
                 cuda::clip_by_norm(grads.data<float>(), grads.numel(), sq.data<float>(), max_norm, norm.data<float>(),
                                    ctx.compute_stream());
               },
               clip_by_norm_cpu(grads.data<float>(), grads.numel(), max_norm, norm.data<float>()));
  return norm;
}

float clip_grad_norm(Context& ctx, Tensor& grads, float max_norm) {
  return ops::item(clip_grad_norm_on_device(ctx, grads, max_norm));
}

}  // namespace cmt
