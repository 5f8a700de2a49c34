// Cases of the channel-map family: the mean over the channels and the product with a one-channel map
// broadcast over the channels, forward and backward, 2D and 3D, channel counts below, at and past a
// warp's width.
#include "engine/ops/channel_map.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

Shape map_of(const Shape& x) { return Shape{x[0], x[1], x[2], x[3], 1}; }

std::vector<OpCase> channel_map_cases() {
  std::vector<OpCase> rows;
  // The last: EfficientNet-B4's last feature map of a batch of 8 512^2 X-rays (the paper's Fig. 5),
  // in the long sweep only.
  const Shape shapes[] = {Shape{2, 1, 7, 7, 64}, Shape{2, 3, 4, 5, 48}, Shape{1, 2, 3, 3, 1}, Shape{2, 1, 5, 6, 70},
                          Shape{8, 1, 16, 16, 1792}};
  for (const Shape& s : shapes) {
    const Shape xs = s, ms = map_of(s);
    const bool paper_size = s[4] == 1792;
    rows.push_back({.family = "channel_map", .name = dims(xs),
                    .inputs = [xs, ms](std::mt19937_64& gen) {
                      return Tensors{{"x", normal(xs, gen)}, {"m", normal(ms, gen)}, {"dy", normal(xs, gen)}, {"dym", normal(ms, gen)}};
                    },
                    .run = [](Context& ctx, const Tensors& in) {
                      const Tensor &x = in.at("x"), &m = in.at("m"), &dy = in.at("dy");
                      const ops::MapScaleGrads g = ops::map_scale_backward(ctx, dy, x, m);
                      return Tensors{{"mean", ops::channel_mean(ctx, x)},
                                     {"mean_dx", ops::channel_mean_backward(ctx, in.at("dym"), x.shape())},
                                     {"scaled", ops::map_scale(ctx, x, m)},
                                     {"scaled_dx", g.dx},
                                     {"scaled_dm", g.dm}};
                    },
                    // The device sums the channels in float in another order.
                    .check = Check::close(1e-6, 1e-6),
                    .checks = {{"mean", Check::close(1e-6, 1e-5)}, {"scaled_dm", Check::close(1e-5, 1e-5)}},
                    .gradients = {{"x", "mean", "dym", "mean_dx"}, {"x", "scaled", "dy", "scaled_dx"}, {"m", "scaled", "dy", "scaled_dm"}},
                    .oracle = "channel_map",
                    .full_only = paper_size});
  }
  return rows;
}

const Rows channel_map_rows(channel_map_cases);

}  // namespace
}  // namespace cmt::opcase
