// Batch normalisation: validation and dispatch to kernels/cpu or kernels/cuda (f32 or bf16 data, f32 parameters).
#include "engine/ops/batchnorm.h"

#include "engine/ops/validate.h"
#include "kernels/batchnorm.h"

namespace cmt::ops {

using namespace detail;

namespace {

// x must be a non-empty (N,D,H,W,C) f32 or bf16 tensor; returns C.
std::int64_t check_x(const Context& ctx, const Tensor& x, const char* op) {
  require_f32_or_bf16(ctx, x, op, "x");
  require_rank(x, 5, op, "x");
  CMT_CHECK(x.numel() > 0, op << ": 'x' is empty " << x.describe());
  return x.dim(4);
}

void check_params(const Context& ctx, std::int64_t c, const Tensor& gamma, const Tensor& beta, const Tensor& rm,
                  const Tensor& rv, const char* op) {
  for (auto [t, name] : {std::pair<const Tensor*, const char*>{&gamma, "gamma"}, {&beta, "beta"}, {&rm, "running_mean"},
                         {&rv, "running_var"}})
    require_vector(ctx, *t, c, op, name);
}

cpu::Act kernel_act(BnActivation a) { return a == BnActivation::relu ? cpu::Act::relu : cpu::Act::silu; }

void check_activation(const Context& ctx, BnActivation act, const char* op) {
  CMT_CHECK(act == BnActivation::none || !ctx.is_cuda(), op << ": batch norm with an activation in the same pass is CPU only");
}

template <typename T>
void train_as(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& rm, Tensor& rv,
              float momentum, float eps, BatchNormSaved& saved, Tensor& y, const char* op) {
  const std::int64_t c = x.dim(4), m = x.numel() / c;
  float *mean = saved.mean.data<float>(), *invstd = saved.invstd.data<float>();
  CMT_DISPATCH(ctx, op,
               {
                 void* ws = ctx.workspace(cuda::batchnorm_workspace_bytes(m, c));
                 cuda::batchnorm_train_stats(elems<T>(x), m, c, momentum, eps, rm.data<float>(), rv.data<float>(), mean,
                                             invstd, ws, ctx.compute_stream());
                 cuda::batchnorm_apply(elems<T>(x), m, c, mean, invstd, gamma.data<float>(), beta.data<float>(),
                                       elems<T>(y), ctx.compute_stream());
               },
               {
                 cpu::batchnorm_train_stats(elems<T>(x), m, c, momentum, eps, rm.data<float>(), rv.data<float>(), mean,
                                            invstd);
                 if (saved.act == BnActivation::none)
                   cpu::batchnorm_apply(elems<T>(x), m, c, mean, invstd, gamma.data<float>(), beta.data<float>(), elems<T>(y));
                 else
                   cpu::batchnorm_apply_act(kernel_act(saved.act), elems<T>(x), m, c, mean, invstd, gamma.data<float>(),
                                            beta.data<float>(), elems<T>(y));
               });
}

template <typename T>
void eval_as(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& rm,
             const Tensor& rv, float eps, BnActivation act, Tensor& y, const char* op) {
  const std::int64_t c = x.dim(4), m = x.numel() / c;
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_eval(elems<T>(x), m, c, rm.data<float>(), rv.data<float>(), eps, gamma.data<float>(),
                                    beta.data<float>(), elems<T>(y), ctx.compute_stream()),
               {
                 if (act == BnActivation::none)
                   cpu::batchnorm_eval(elems<T>(x), m, c, rm.data<float>(), rv.data<float>(), eps, gamma.data<float>(),
                                       beta.data<float>(), elems<T>(y));
                 else
                   cpu::batchnorm_eval_act(kernel_act(act), elems<T>(x), m, c, rm.data<float>(), rv.data<float>(), eps,
                                           gamma.data<float>(), beta.data<float>(), elems<T>(y));
               });
}

template <typename T>
void backward_as(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& gamma, const BatchNormSaved& saved,
                 BatchNormGrads& g, const char* op) {
  const std::int64_t c = x.dim(4), m = x.numel() / c;
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_backward(elems<T>(dy), elems<T>(x), m, c, saved.mean.data<float>(),
                                        saved.invstd.data<float>(), gamma.data<float>(), elems<T>(g.dx),
                                        g.dgamma.data<float>(), g.dbeta.data<float>(),
                                        ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.compute_stream()),
               {
                 if (saved.act == BnActivation::none)
                   cpu::batchnorm_backward(elems<T>(dy), elems<T>(x), m, c, saved.mean.data<float>(), saved.invstd.data<float>(),
                                           gamma.data<float>(), elems<T>(g.dx), g.dgamma.data<float>(), g.dbeta.data<float>());
                 else
                   cpu::batchnorm_backward_act(kernel_act(saved.act), elems<T>(dy), elems<T>(x), m, c, saved.mean.data<float>(),
                                               saved.invstd.data<float>(), gamma.data<float>(), saved.beta.data<float>(),
                                               elems<T>(g.dx), g.dgamma.data<float>(), g.dbeta.data<float>());
               });
}

}  // namespace

Tensor batchnorm_forward_train(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                               Tensor& running_mean, Tensor& running_var, float momentum, float eps,
                               BatchNormSaved& saved, BnActivation act) {
  const char* op = "batchnorm_forward_train";
  const std::int64_t c = check_x(ctx, x, op);
  check_activation(ctx, act, op);
  check_params(ctx, c, gamma, beta, running_mean, running_var, op);
  CMT_CHECK(x.numel() / c > 1, op << ": expected more than 1 value per channel when training, got input "
                                  << x.describe() << " (N*D*H*W = 1; torch refuses this too)");
  CMT_CHECK(eps > 0 && momentum >= 0 && momentum <= 1, op << ": bad eps " << eps << " or momentum " << momentum);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  saved.mean = Tensor::empty(Shape{c}, DType::f32, x.device());
  saved.invstd = Tensor::empty(Shape{c}, DType::f32, x.device());
  saved.act = act;
  saved.beta = act == BnActivation::none ? Tensor() : beta;
  if (x.dtype() == DType::bf16)
    train_as<std::uint16_t>(ctx, x, gamma, beta, running_mean, running_var, momentum, eps, saved, y, op);
  else train_as<float>(ctx, x, gamma, beta, running_mean, running_var, momentum, eps, saved, y, op);
  return y;
}

Tensor batchnorm_forward_eval(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean, const Tensor& running_var, float eps, BnActivation act) {
  const char* op = "batchnorm_forward_eval";
  const std::int64_t c = check_x(ctx, x, op);
  check_activation(ctx, act, op);
  check_params(ctx, c, gamma, beta, running_mean, running_var, op);
  CMT_CHECK(eps > 0, op << ": eps must be positive, got " << eps);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.dtype() == DType::bf16) eval_as<std::uint16_t>(ctx, x, gamma, beta, running_mean, running_var, eps, act, y, op);
  else eval_as<float>(ctx, x, gamma, beta, running_mean, running_var, eps, act, y, op);
  return y;
}

BatchNormGrads batchnorm_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                  const BatchNormSaved& saved, bool dx_into_dy) {
  const char* op = "batchnorm_backward";
  const std::int64_t c = check_x(ctx, x, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  require_same_dtype(dy, x, op, "dy", "x");
  require_same_shape(dy, x, op, "dy", "x");
  require_vector(ctx, gamma, c, op, "gamma");
  require_vector(ctx, saved.mean, c, op, "saved.mean");
  require_vector(ctx, saved.invstd, c, op, "saved.invstd");
  check_activation(ctx, saved.act, op);
  if (saved.act != BnActivation::none) require_vector(ctx, saved.beta, c, op, "saved.beta");
  // In place (CPU), dx[i] is written after every read of dy (the sums first, then one element each).
  BatchNormGrads g{dx_into_dy && !x.is_cuda() ? dy : Tensor::empty(x.shape(), x.dtype(), x.device()),
                   Tensor::empty(Shape{c}, DType::f32, x.device()), Tensor::empty(Shape{c}, DType::f32, x.device())};
  if (x.dtype() == DType::bf16) backward_as<std::uint16_t>(ctx, dy, x, gamma, saved, g, op);
  else backward_as<float>(ctx, dy, x, gamma, saved, g, op);
  return g;
}

}  // namespace cmt::ops
