// Cases of dropout and stochastic depth: the CUDA masks are the CPU's Philox masks, bit for bit.
#include "engine/ops/dropout.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {


std::vector<OpCase> dropout_cases() {
  std::vector<OpCase> rows;
  for (std::int64_t n : {1, 7, 4096, 1000003}) {
    rows.push_back({.family = "dropout", .name = text("n", n, " p 0 0.2 0.5"),
                    .inputs = [n](std::mt19937_64& gen) {
                      return Tensors{{"x", normal(Shape{n}, gen)}, {"dy", normal(Shape{n}, gen)}, {"seed", seed_tensor(gen)}};
                    },
                    .run = [](Context& ctx, const Tensors& in) {
                      Tensors out;
                      for (float p : {0.f, 0.2f, 0.5f}) {
                        Tensor mask;
                        const std::string k = text(" p", p);
                        out["y" + k] = ops::dropout_forward(ctx, in.at("x"), p, seed_of(in) + static_cast<std::uint64_t>(p * 10), 2, 11, 5, mask);
                        out["mask" + k] = mask;
                        out["dx" + k] = ops::dropout_backward(ctx, in.at("dy"), mask, p);
                      }
                      return out;
                    }});
  }
  for (bool as_bf16 : {false, true}) {
    rows.push_back({.family = "dropout", .name = std::string(as_bf16 ? "bf16 " : "") + "stochastic depth and dropout 64 samples",
                    .inputs = [as_bf16](std::mt19937_64& gen) {
                      Tensor x = normal(Shape{64, 3, 4, 4, 8}, gen);
                      return Tensors{{"x", as_bf16 ? bf16(x) : x}, {"seed", seed_tensor(gen)}};
                    },
                    .run = [](Context& ctx, const Tensors& in) {
                      Tensor keep, mask;
                      const Tensor& x = in.at("x");
                      Tensor y = ops::stochastic_depth_forward(ctx, x, 0.3f, seed_of(in), 1, 2, 3, keep);
                      Tensor d = ops::dropout_forward(ctx, x, 0.4f, seed_of(in), 1, 2, 3, mask);  // one multiply, one rounding
                      return Tensors{{"y", y}, {"keep", keep}, {"dx", ops::stochastic_depth_backward(ctx, y, keep, 0.3f)},
                                     {"dropout", d}, {"mask", mask}, {"dropout_dx", ops::dropout_backward(ctx, x, mask, 0.4f)}};
                    }});
  }
  return rows;
}

const Rows dropout_rows(dropout_cases);

}  // namespace
}  // namespace cmt::opcase
