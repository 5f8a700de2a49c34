// Cases of the preprocessing ops: resampling (antialiased or not), HU window, per-sample min-max.
#include "engine/ops/resample.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

std::vector<OpCase> resample_cases() {
  std::vector<OpCase> rows;
  for (auto [in, out] : {std::pair{Shape{2, 9, 17, 13, 1}, Shape{4, 8, 20}}, std::pair{Shape{1, 1, 64, 48, 3}, Shape{1, 16, 11}},
                         std::pair{Shape{3, 32, 32, 32, 1}, Shape{16, 16, 16}}}) {
    for (bool antialias : {true, false}) {
      const Shape x = in, o = out;
      rows.push_back({.family = "resample", .name = text(dims(x), " to ", dims(o), antialias ? " antialiased" : ""),
                      .inputs = [x](std::mt19937_64& gen) { return Tensors{{"x", normal(x, gen)}, {"hu", normal(x, gen, 800.f)}}; },
                      .run = [o, antialias](Context& ctx, const Tensors& in_) {
                        const Tensor& hu = in_.at("hu");
                        return Tensors{{"y", ops::resample(ctx, in_.at("x"), o[0], o[1], o[2], antialias)},
                                       {"window", ops::hu_window(ctx, hu, -1000.f, 400.f)},
                                       {"minmax", ops::minmax_scale(ctx, hu)}};
                      },
                      .check = Check::close(1e-5, 1e-5),  // FMA contraction on the device: a few ulps
                      .checks = {{"window", Check::close(1e-6, 1e-6)}, {"minmax", Check::close(1e-6, 1e-5)}}});
    }
  }
  return rows;
}

const Rows resample_rows(resample_cases);

}  // namespace
}  // namespace cmt::opcase
