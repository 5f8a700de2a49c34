// Cases of the x2 up-sampling transposed convolution of one channel: 2D (kernel 1x2x2) and 3D
// (2x2x2), forward and the three gradients, sizes that leave partial blocks.
#include "engine/ops/transposed_conv.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

std::vector<OpCase> transposed_conv_cases() {
  std::vector<OpCase> rows;
  const std::pair<Shape, std::int64_t> problems[] = {
      {Shape{2, 1, 7, 7, 1}, 1}, {Shape{3, 1, 5, 9, 1}, 1}, {Shape{2, 3, 4, 5, 1}, 2}, {Shape{1, 2, 7, 7, 1}, 2}};
  for (const auto& [shape, kd] : problems) {
    const Shape xs = shape, ws{kd, 2, 2}, ys{xs[0], kd * xs[1], 2 * xs[2], 2 * xs[3], 1};
    rows.push_back({.family = "transposed_conv", .name = text(kd == 2 ? "3d " : "2d ", dims(xs)),
                    .inputs = [xs, ws, ys](std::mt19937_64& gen) {
                      return Tensors{{"x", normal(xs, gen)}, {"w", normal(ws, gen)}, {"b", normal(Shape{1}, gen)}, {"dy", normal(ys, gen)}};
                    },
                    .run = [](Context& ctx, const Tensors& in) {
                      const Tensor &x = in.at("x"), &w = in.at("w");
                      const ops::TransposedConv2xGrads g = ops::transposed_conv2x_backward(ctx, in.at("dy"), x, w);
                      return Tensors{{"y", ops::transposed_conv2x(ctx, x, w, in.at("b"))}, {"dx", g.dx}, {"dw", g.dw}, {"db", g.db}};
                    },
                    .check = Check::close(1e-6, 1e-6),  // FMA contraction on the device: an ulp
                    .checks = {{"dw", Check::close(1e-5, 1e-6)}, {"db", Check::close(1e-5, 1e-6)}},
                    .gradients = {{"x", "y", "dy", "dx"}, {"w", "y", "dy", "dw"}, {"b", "y", "dy", "db"}},
                    .oracle = "transposed_conv",
                    .args = {{"kd", kd}}});
  }
  return rows;
}

const Rows transposed_conv_rows(transposed_conv_cases);

}  // namespace
}  // namespace cmt::opcase
