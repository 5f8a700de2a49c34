// Oracle registrations of the layer op families (docs/layer_ops.md): each runs forward and backward on given inputs.
#include "engine/lr_schedule.h"
#include "engine/ops/activation.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/cross_entropy.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"
#include "engine/ops/pool.h"
#include "engine/optimizer.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

using nlohmann::json;

Tensor clone(Context& ctx, const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  ops::copy(ctx, t, out);
  return out;
}

std::array<int, 3> triple(const json& args, const char* key, int fallback) {
  if (!args.contains(key)) return {fallback, fallback, fallback};
  const auto v = args.at(key).get<std::vector<int>>();
  return {v.at(0), v.at(1), v.at(2)};
}

const Tensor& optional(const TensorMap& in, const std::string& name) {
  static const Tensor none;
  auto it = in.find(name);
  return it == in.end() ? none : it->second;
}

CMT_ORACLE_OP("batchnorm_train", [](Context& ctx, const TensorMap& in, const json& args) {
  const Tensor& x = input(in, "x");
  Tensor rm = clone(ctx, input(in, "running_mean")), rv = clone(ctx, input(in, "running_var"));
  ops::BatchNormSaved saved;
  Tensor y = ops::batchnorm_forward_train(ctx, x, input(in, "gamma"), input(in, "beta"), rm, rv,
                                          args.at("momentum").get<float>(), args.at("eps").get<float>(), saved);
  auto g = ops::batchnorm_backward(ctx, input(in, "dy"), x, input(in, "gamma"), saved);
  return TensorMap{{"y", y}, {"running_mean", rm}, {"running_var", rv}, {"dx", g.dx}, {"dgamma", g.dgamma},
                   {"dbeta", g.dbeta}};
});

CMT_ORACLE_OP("batchnorm_eval", [](Context& ctx, const TensorMap& in, const json& args) {
  return TensorMap{{"y", ops::batchnorm_forward_eval(ctx, input(in, "x"), input(in, "gamma"), input(in, "beta"),
                                                     input(in, "running_mean"), input(in, "running_var"),
                                                     args.at("eps").get<float>())}};
});

CMT_ORACLE_OP("activation", [](Context& ctx, const TensorMap& in, const json& args) {
  const std::string kind = args.at("kind").get<std::string>();
  const Tensor& x = input(in, "x");
  const Tensor& dy = input(in, "dy");
  if (kind == "relu") {
    Tensor y = ops::relu(ctx, x);
    return TensorMap{{"y", y}, {"dx", ops::relu_backward(ctx, dy, y)}};
  }
  if (kind == "silu") return TensorMap{{"y", ops::silu(ctx, x)}, {"dx", ops::silu_backward(ctx, dy, x)}};
  CMT_CHECK(kind == "sigmoid", "activation: unknown kind " << kind);
  Tensor y = ops::sigmoid(ctx, x);
  return TensorMap{{"y", y}, {"dx", ops::sigmoid_backward(ctx, dy, y)}};
});

CMT_ORACLE_OP("pool", [](Context& ctx, const TensorMap& in, const json& args) {
  const std::string kind = args.at("kind").get<std::string>();
  const Tensor& x = input(in, "x");
  const Tensor& dy = input(in, "dy");
  if (kind == "global") {
    return TensorMap{{"y", ops::global_avgpool_forward(ctx, x)}, {"dx", ops::global_avgpool_backward(ctx, dy, x.shape())}};
  }
  if (kind == "adaptive") {
    return TensorMap{{"y", ops::adaptive_avgpool_forward(ctx, x, triple(args, "out", 1))},
                     {"dx", ops::adaptive_avgpool_backward(ctx, dy, x.shape())}};
  }
  ops::PoolParams p{triple(args, "kernel", 1), triple(args, "stride", 1), triple(args, "padding", 0)};
  if (kind == "max") {
    Tensor argmax;
    Tensor y = ops::maxpool_forward(ctx, x, p, argmax);
    return TensorMap{{"y", y}, {"argmax", argmax}, {"dx", ops::maxpool_backward(ctx, dy, argmax, x.shape(), p)}};
  }
  CMT_CHECK(kind == "avg", "pool: unknown kind " << kind);
  return TensorMap{{"y", ops::avgpool_forward(ctx, x, p)}, {"dx", ops::avgpool_backward(ctx, dy, x.shape(), p)}};
});

CMT_ORACLE_OP("linear", [](Context& ctx, const TensorMap& in, const json&) {
  const Tensor& b = optional(in, "bias");
  TensorMap out{{"y", ops::linear_forward(ctx, input(in, "x"), input(in, "w"), b)}};
  auto g = ops::linear_backward(ctx, input(in, "dy"), input(in, "x"), input(in, "w"), b.defined());
  out["dx"] = g.dx;
  out["dw"] = g.dw;
  if (b.defined()) out["db"] = g.db;
  return out;
});

CMT_ORACLE_OP("dropout", [](Context& ctx, const TensorMap& in, const json& args) {
  const float p = args.at("p").get<float>();
  const auto seed = args.at("seed").get<std::uint64_t>();
  const auto epoch = args.at("epoch").get<std::uint32_t>(), step = args.at("step").get<std::uint32_t>();
  const auto op = args.at("op").get<std::uint32_t>();
  Tensor mask, keep;
  Tensor y = ops::dropout_forward(ctx, input(in, "x"), p, seed, epoch, step, op, mask);
  Tensor z = ops::stochastic_depth_forward(ctx, input(in, "x"), p, seed, epoch, step, op, keep);
  return TensorMap{{"y", y},
                   {"mask", mask},
                   {"dx", ops::dropout_backward(ctx, input(in, "dy"), mask, p)},
                   {"sd_y", z},
                   {"keep", keep},
                   {"sd_dx", ops::stochastic_depth_backward(ctx, input(in, "dy"), keep, p)}};
});

CMT_ORACLE_OP("elementwise", [](Context& ctx, const TensorMap& in, const json& args) {
  const Tensor& x = input(in, "x");
  const Tensor& dy = input(in, "dy");
  const Tensor& s = input(in, "s");
  Tensor acc = clone(ctx, x);
  ops::add_(ctx, acc, dy);
  auto g = ops::channel_scale_backward(ctx, dy, x, s);
  const Tensor& rows = input(in, "rows");
  const Tensor& drows = input(in, "drows");
  const float eps = args.at("eps").get<float>();
  return TensorMap{{"add", ops::add(ctx, x, dy)},
                   {"add_", acc},
                   {"scale", ops::scale(ctx, x, args.at("alpha").get<float>())},
                   {"channel_scale", ops::channel_scale(ctx, x, s)},
                   {"channel_scale_dx", g.dx},
                   {"channel_scale_ds", g.ds},
                   {"concat", ops::concat_rows(ctx, rows, drows)},
                   {"normalize", ops::l2_normalize_rows(ctx, rows, eps)},
                   {"normalize_dx", ops::l2_normalize_rows_backward(ctx, drows, rows, eps)}};
});

CMT_ORACLE_OP("cross_entropy", [](Context& ctx, const TensorMap& in, const json& args) {
  const float ls = args.at("label_smoothing").get<float>(), dloss = args.at("dloss").get<float>();
  const Tensor& w = optional(in, "weight");
  auto r = ops::cross_entropy_forward(ctx, input(in, "logits"), input(in, "labels"), w, ls);
  return TensorMap{{"loss", r.loss}, {"probs", r.probs},
                   {"dlogits", ops::cross_entropy_backward(ctx, r, input(in, "labels"), w, ls, dloss)}};
});

// grads (steps, P): one optimizer step per row; lrs [steps].
CMT_ORACLE_OP("adam", [](Context& ctx, const TensorMap& in, const json& args) {
  Tensor p = clone(ctx, input(in, "params"));
  const Tensor& grads = input(in, "grads");
  const auto lrs = input(in, "lrs").to_vector<float>();
  AdamConfig cfg{args.at("beta1").get<double>(), args.at("beta2").get<double>(), args.at("eps").get<double>(),
                 args.at("weight_decay").get<double>(), args.at("decoupled").get<bool>()};
  Adam adam(ctx, p.numel(), cfg);
  Tensor bf16 = Tensor::empty(p.shape(), DType::bf16, p.device());
  for (std::int64_t t = 0; t < grads.dim(0); ++t)
    adam.step(ctx, p, grads.narrow(t, 1).view(p.shape()), lrs[static_cast<std::size_t>(t)], bf16);
  return TensorMap{{"params", p}, {"m", adam.m()}, {"v", adam.v()}, {"bf16", bf16}};
});

CMT_ORACLE_OP("clip_grad_norm", [](Context& ctx, const TensorMap& in, const json& args) {
  Tensor g = clone(ctx, input(in, "grads"));
  const float norm = clip_grad_norm(ctx, g, args.at("max_norm").get<float>());
  return TensorMap{{"grads", g}, {"norm", Tensor::from_vector<float>({norm}, Shape{1})}};
});

CMT_ORACLE_OP("lr_schedule", [](Context&, const TensorMap&, const json& args) {
  const LrSchedule s = LrSchedule::parse(args.at("spec").get<std::string>());
  const auto steps = args.at("steps").get<std::int64_t>();
  std::vector<float> lrs;
  for (std::int64_t t = 0; t < steps; ++t) lrs.push_back(s.at(t));
  return TensorMap{{"lr", Tensor::from_vector(lrs, Shape{steps})}};
});

}  // namespace
}  // namespace cmt::oracle
