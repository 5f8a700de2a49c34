// Cases of batch normalisation: training forward (output, running statistics, saved statistics),
// backward and eval forward, on real-sized and odd shapes, a mean far from zero, and bf16 data.
#include <cmath>

#include "engine/ops/batchnorm.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

Tensors batchnorm_outputs(Context& ctx, const Tensors& in) {
  Tensor rm = clone(in.at("running_mean")), rv = clone(in.at("running_var"));
  ops::BatchNormSaved saved;
  const Tensor &x = in.at("x"), &gamma = in.at("gamma"), &beta = in.at("beta");
  Tensor y = ops::batchnorm_forward_train(ctx, x, gamma, beta, rm, rv, 0.1f, 1e-5f, saved);
  const auto g = ops::batchnorm_backward(ctx, in.at("dy"), x, gamma, saved);
  return Tensors{{"y", y},          {"running_mean", rm}, {"running_var", rv}, {"mean", saved.mean}, {"invstd", saved.invstd},
                 {"dx", g.dx},      {"dgamma", g.dgamma}, {"dbeta", g.dbeta},
                 {"eval", ops::batchnorm_forward_eval(ctx, x, gamma, beta, rm, rv, 1e-3f)}};
}

// x ~ N(shift, 2^2) (bf16 when asked); running variance in [1, 1.3].
std::function<Tensors(std::mt19937_64&)> batchnorm_inputs(Shape s, float shift, bool as_bf16) {
  return [=](std::mt19937_64& gen) {
    const std::int64_t c = s[4];
    Tensor x = normal(s, gen, 2.f), rv = normal(Shape{c}, gen, 0.1f);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += shift;
    for (std::int64_t j = 0; j < c; ++j) rv.data<float>()[j] = 1.f + std::fabs(rv.data<float>()[j]);
    Tensor dy = normal(s, gen);
    return Tensors{{"x", as_bf16 ? bf16(x) : x}, {"dy", as_bf16 ? bf16(dy) : dy}, {"gamma", normal(Shape{c}, gen)},
                   {"beta", normal(Shape{c}, gen)}, {"running_mean", normal(Shape{c}, gen)}, {"running_var", rv}};
  };
}

std::vector<OpCase> batchnorm_cases() {
  std::vector<OpCase> rows;
  const std::int64_t side = on_emulator(56, 2);  // still ~100 chunks of rows on the emulator
  for (Shape s : {Shape{2, 1, 5, 7, 3}, Shape{8, 1, side, side, 64}, Shape{2, 8, 16, 16, 32}, Shape{3, 1, 1, 1, 33}, Shape{1, 1, 7, 7, 2048}}) {
    const bool small = s.numel() < 300;
    rows.push_back({.family = "batchnorm", .name = dims(s), .inputs = batchnorm_inputs(s, 0.f, false), .run = batchnorm_outputs,
                    .check = Check::close(1e-6, 1e-5),
                    .checks = {{"y", Check::close(1e-4, 1e-4)}, {"dbeta", Check::close(1e-3, 1e-4)}, {"dgamma", Check::close(1e-3, 1e-4)},
                               {"dx", Check::close(1e-4, 1e-3)}, {"eval", Check::close(1e-5, 1e-5)}},
                    .gradients = small ? std::vector<Gradient>{{"x", "y", "dy", "dx"}, {"gamma", "y", "dy", "dgamma"}, {"beta", "y", "dy", "dbeta"}}
                                       : std::vector<Gradient>{},
                    .oracle = "batchnorm"});
  }
  // Σx² − (Σx)² would lose everything at a mean of 50: the two-pass moments keep it.
  rows.push_back({.family = "batchnorm", .name = "mean far from zero 16x1x32x32x48", .inputs = batchnorm_inputs(Shape{16, 1, 32, 32, 48}, 50.f, false),
                  .run = batchnorm_outputs,
                  .check = Check::close(1e-4, 1e-3),
                  .checks = {{"mean", Check::close(1e-5, 1e-6)}, {"invstd", Check::close(0, 1e-3)}, {"y", Check::close(2e-3, 1e-3)},
                             {"running_mean", Check::close(1e-5, 1e-6)}, {"running_var", Check::close(1e-4, 1e-4)}, {"eval", Check::close(2e-3, 1e-3)},
                             {"dgamma", Check::close(1e-2, 1e-3)}, {"dbeta", Check::close(1e-3, 1e-4)}},
                  .oracle = "batchnorm"});
  rows.push_back({.family = "batchnorm", .name = "bf16 8x1x28x28x96", .inputs = batchnorm_inputs(Shape{8, 1, 28, 28, 96}, 0.f, true),
                  .run = batchnorm_outputs,
                  .check = Check::close(1e-6, 1e-5),
                  .checks = {{"y", Check::close(1e-2, 8e-3)}, {"dx", Check::close(1e-2, 8e-3)}, {"eval", Check::close(1e-2, 8e-3)},
                             {"dgamma", Check::close(1e-3, 1e-4)}, {"dbeta", Check::close(1e-3, 1e-4)}}});
  return rows;
}

const Rows batchnorm_rows(batchnorm_cases);

}  // namespace
}  // namespace cmt::opcase
