// Batch normalisation: validation and dispatch to kernels/cpu or kernels/cuda.
#include "engine/ops/batchnorm.h"

#include "engine/ops/validate.h"
#include "kernels/cpu/batchnorm.h"
#if defined(CMT_WITH_CUDA)
#include "kernels/cuda/batchnorm.h"
#endif

namespace cmt::ops {

using namespace detail;

namespace {

// x must be a non-empty (N,D,H,W,C) f32 tensor; returns C.
std::int64_t check_x(const Context& ctx, const Tensor& x, const char* op) {
  require_f32(ctx, x, op, "x");
  require_rank(x, 5, op, "x");
  CMT_CHECK(x.numel() > 0, op << ": 'x' is empty " << x.describe());
  return x.dim(4);
}

}  // namespace

Tensor batchnorm_forward_train(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                               Tensor& running_mean, Tensor& running_var, float momentum, float eps,
                               BatchNormSaved& saved) {
  const char* op = "batchnorm_forward_train";
  const std::int64_t c = check_x(ctx, x, op);
  for (auto [t, name] : {std::pair<const Tensor*, const char*>{&gamma, "gamma"}, {&beta, "beta"},
                         {&running_mean, "running_mean"}, {&running_var, "running_var"}})
    require_vector(ctx, *t, c, op, name);
  const std::int64_t m = x.numel() / c;
  CMT_CHECK(m > 1, op << ": expected more than 1 value per channel when training, got input " << x.describe()
                      << " (N*D*H*W = 1; torch refuses this too)");
  CMT_CHECK(eps > 0 && momentum >= 0 && momentum <= 1, op << ": bad eps " << eps << " or momentum " << momentum);
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  saved.mean = Tensor::empty(Shape{c}, DType::f32, x.device());
  saved.invstd = Tensor::empty(Shape{c}, DType::f32, x.device());
  CMT_DISPATCH(ctx, op,
               {
                 void* ws = ctx.workspace(cuda::batchnorm_workspace_bytes(m, c));
                 cuda::batchnorm_train_stats(x.data<float>(), m, c, momentum, eps, running_mean.data<float>(),
                                             running_var.data<float>(), saved.mean.data<float>(),
                                             saved.invstd.data<float>(), ws, ctx.compute_stream());
                 cuda::batchnorm_apply(x.data<float>(), m, c, saved.mean.data<float>(), saved.invstd.data<float>(),
                                       gamma.data<float>(), beta.data<float>(), y.data<float>(), ctx.compute_stream());
               },
               {
                 cpu::batchnorm_train_stats(x.data<float>(), m, c, momentum, eps, running_mean.data<float>(),
                                            running_var.data<float>(), saved.mean.data<float>(),
                                            saved.invstd.data<float>());
                 cpu::batchnorm_apply(x.data<float>(), m, c, saved.mean.data<float>(), saved.invstd.data<float>(),
                                      gamma.data<float>(), beta.data<float>(), y.data<float>());
               });
  return y;
}

Tensor batchnorm_forward_eval(Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                              const Tensor& running_mean, const Tensor& running_var, float eps) {
  const char* op = "batchnorm_forward_eval";
  const std::int64_t c = check_x(ctx, x, op);
  for (auto [t, name] : {std::pair<const Tensor*, const char*>{&gamma, "gamma"}, {&beta, "beta"},
                         {&running_mean, "running_mean"}, {&running_var, "running_var"}})
    require_vector(ctx, *t, c, op, name);
  CMT_CHECK(eps > 0, op << ": eps must be positive, got " << eps);
  const std::int64_t m = x.numel() / c;
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_eval(x.data<float>(), m, c, running_mean.data<float>(), running_var.data<float>(), eps,
                                    gamma.data<float>(), beta.data<float>(), y.data<float>(), ctx.compute_stream()),
               cpu::batchnorm_eval(x.data<float>(), m, c, running_mean.data<float>(), running_var.data<float>(), eps,
                                   gamma.data<float>(), beta.data<float>(), y.data<float>()));
  return y;
}

BatchNormGrads batchnorm_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& gamma,
                                  const BatchNormSaved& saved) {
  const char* op = "batchnorm_backward";
  const std::int64_t c = check_x(ctx, x, op);
  require_f32(ctx, dy, op, "dy");
  require_same_shape(dy, x, op, "dy", "x");
  require_vector(ctx, gamma, c, op, "gamma");
  require_vector(ctx, saved.mean, c, op, "saved.mean");
  require_vector(ctx, saved.invstd, c, op, "saved.invstd");
  const std::int64_t m = x.numel() / c;
  BatchNormGrads g{Tensor::empty(x.shape(), DType::f32, x.device()), Tensor::empty(Shape{c}, DType::f32, x.device()),
                   Tensor::empty(Shape{c}, DType::f32, x.device())};
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_backward(dy.data<float>(), x.data<float>(), m, c, saved.mean.data<float>(),
                                        saved.invstd.data<float>(), gamma.data<float>(), g.dx.data<float>(),
                                        g.dgamma.data<float>(), g.dbeta.data<float>(),
                                        ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)), ctx.compute_stream()),
               cpu::batchnorm_backward(dy.data<float>(), x.data<float>(), m, c, saved.mean.data<float>(),
                                       saved.invstd.data<float>(), gamma.data<float>(), g.dx.data<float>(),
                                       g.dgamma.data<float>(), g.dbeta.data<float>()));
  return g;
}

}  // namespace cmt::ops
