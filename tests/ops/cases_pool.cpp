// Cases of the pooling family: max (with its argmax), average, adaptive and global average, 2D and
// 3D, f32 (small integers for max: exact; Gaussian for averages) and bf16.
#include <array>

#include "engine/ops/pool.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

struct PoolShape {
  std::string what;
  Shape x;
  ops::PoolParams p;
};

nlohmann::json pool_args(const ops::PoolParams& p) { return {{"kernel", p.kernel}, {"stride", p.stride}, {"padding", p.padding}}; }

Tensors pool_outputs(Context& ctx, const Tensors& in, const ops::PoolParams& p, std::array<int, 3> bins) {
  const Tensor &x = in.at("x"), &xn = in.at("xn");
  Tensor argmax;
  Tensor y = ops::maxpool_forward(ctx, x, p, argmax);
  Tensors out{{"max", y},
              {"argmax", argmax},
              {"max_dx", ops::maxpool_backward(ctx, in.at("dy"), argmax, x.shape(), p)},
              {"avg", ops::avgpool_forward(ctx, xn, p)},
              {"avg_dx", ops::avgpool_backward(ctx, in.at("dyn"), x.shape(), p)},
              {"adaptive", ops::adaptive_avgpool_forward(ctx, xn, bins)},
              {"adaptive_dx", ops::adaptive_avgpool_backward(ctx, in.at("dya"), x.shape())},
              {"global", ops::global_avgpool_forward(ctx, xn)},
              {"global_dx", ops::global_avgpool_backward(ctx, in.at("dyg"), x.shape())}};
  return out;
}

std::vector<OpCase> pool_cases() {
  std::vector<OpCase> rows;
  const std::int64_t stem = on_emulator(112, 2);  // the stem's window and stride at half the side on the emulator
  const PoolShape shapes[] = {
      {"resnet stem", Shape{2, 1, stem, stem, 64}, {{1, 3, 3}, {1, 2, 2}, {0, 1, 1}}},
      {"vgg", Shape{2, 1, 28, 28, 128}, {{1, 2, 2}, {1, 2, 2}, {0, 0, 0}}},
      {"3d odd sizes", Shape{1, 17, 15, 13, 8}, {{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}},
      {"3d C1 padded", Shape{3, 4, 5, 6, 1}, {{2, 2, 2}, {1, 1, 1}, {1, 1, 0}}},
  };
  for (const PoolShape& k : shapes) {
    for (std::array<int, 3> bins : {std::array<int, 3>{1, 7, 7}, std::array<int, 3>{2, 3, 5}}) {
      const Shape x = k.x, y = ops::pool_output_shape(k.x, k.p);
      const ops::PoolParams p = k.p;
      rows.push_back({.family = "pool", .name = text(k.what, " ", dims(x), " bins ", bins[0], bins[1], bins[2]),
                      .inputs = [x, y, bins](std::mt19937_64& gen) {
                        // Max pooling on small integers (ties broken the same way); averages divide: Gaussian.
                        return Tensors{{"x", small_ints(x, gen, 8)},  {"dy", small_ints(y, gen, 4)},
                                       {"xn", normal(x, gen)},        {"dyn", normal(y, gen)},
                                       {"dya", normal(Shape{x[0], bins[0], bins[1], bins[2], x[4]}, gen)},
                                       {"dyg", normal(Shape{x[0], x[4]}, gen)}};
                      },
                      .run = [p, bins](Context& ctx, const Tensors& in) { return pool_outputs(ctx, in, p, bins); },
                      .check = Check::close(1e-6, 1e-5),
                      .checks = {{"max", Check::exact()}, {"argmax", Check::bytes()}, {"max_dx", Check::exact()}, {"global_dx", Check::close(1e-7, 1e-6)}},
                      .gradients = x.numel() < 30000 ? std::vector<Gradient>{{"xn", "avg", "dyn", "avg_dx"}, {"xn", "adaptive", "dya", "adaptive_dx"},
                                                                             {"xn", "global", "dyg", "global_dx"}}
                                                     : std::vector<Gradient>{},
                      .oracle = "pool",
                      .args = {{"pool", pool_args(p)}, {"bins", bins}}});
    }
  }
  // bf16: float sums in another order can round to the neighbouring bf16 value (2^-7 relative).
  const PoolShape bf16_shapes[] = {{"resnet stem", Shape{2, 1, 112, 112, 16}, {{1, 3, 3}, {1, 2, 2}, {0, 1, 1}}},
                                   {"3d odd sizes", Shape{1, 17, 15, 13, 8}, {{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}},
                                   {"3d", Shape{2, 8, 8, 8, 32}, {{2, 2, 2}, {2, 2, 2}, {0, 0, 0}}}};
  for (const PoolShape& k : bf16_shapes) {
    const Shape x = k.x, y = ops::pool_output_shape(k.x, k.p);
    const ops::PoolParams p = k.p;
    const std::array<int, 3> bins{x[1] > 1 ? 2 : 1, 7, 5};
    rows.push_back({.family = "pool", .name = "bf16 " + k.what + " " + dims(x),
                    .inputs = [x, y, bins](std::mt19937_64& gen) {
                      Tensor xb = bf16(normal(x, gen, 2.f));
                      Tensor dy = bf16(normal(y, gen));
                      return Tensors{{"x", xb}, {"dy", dy}, {"xn", xb}, {"dyn", dy},
                                     {"dya", bf16(normal(Shape{x[0], bins[0], bins[1], bins[2], x[4]}, gen))},
                                     {"dyg", bf16(normal(Shape{x[0], x[4]}, gen))}};
                    },
                    .run = [p, bins](Context& ctx, const Tensors& in) { return pool_outputs(ctx, in, p, bins); },
                    .check = Check::close(1e-5, 1.0 / 128),
                    .checks = {{"max", Check::exact()}, {"argmax", Check::bytes()}}});
  }
  return rows;
}

const Rows pool_rows(pool_cases);

}  // namespace
}  // namespace cmt::opcase
