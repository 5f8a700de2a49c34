// Cases of the fully connected layer (cuBLASLt with fused bias on CUDA, OpenBLAS on the CPU):
// small integers (exact fp32), tf32 within its rounding, misaligned row views, bf16.
#include <cmath>

#include "engine/ops/linear.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

struct Dims {
  std::int64_t n, in, out;
  std::string str() const { return text(n, "x", in, "->", out); }
};

Tensors linear_outputs(Context& ctx, const Tensors& in, bool bias) {
  const Tensor b = bias ? in.at("b") : Tensor();
  const auto g = ops::linear_backward(ctx, in.at("dy"), in.at("x"), in.at("w"), bias);
  Tensors out{{"y", ops::linear_forward(ctx, in.at("x"), in.at("w"), b)}, {"dx", g.dx}, {"dw", g.dw}};
  if (bias) out["db"] = g.db;
  return out;
}

std::vector<OpCase> linear_cases() {
  std::vector<OpCase> rows;
  for (Dims d : {Dims{1, 1, 1}, Dims{8, 4096, 2}, Dims{32, 2048, 3}, Dims{17, 33, 65}, Dims{64, 25088, 64}}) {
    for (bool bias : {true, false}) {
      const bool small = d.n * d.in < 5000;
      rows.push_back({.family = "linear", .name = d.str() + (bias ? " bias" : " no bias"),
                      .inputs = [d](std::mt19937_64& gen) {
                        return Tensors{{"x", small_ints(Shape{d.n, d.in}, gen, 2)}, {"w", small_ints(Shape{d.out, d.in}, gen, 2)},
                                       {"b", small_ints(Shape{d.out}, gen)}, {"dy", small_ints(Shape{d.n, d.out}, gen, 2)}};
                      },
                      .run = [bias](Context& ctx, const Tensors& in) { return linear_outputs(ctx, in, bias); },
                      .gradients = small && bias ? std::vector<Gradient>{{"x", "y", "dy", "dx"}, {"w", "y", "dy", "dw"}, {"b", "y", "dy", "db"}}
                                                 : std::vector<Gradient>{},
                      .oracle = "linear",
                      .args = {{"bias", bias}}});
    }
  }
  rows.push_back({.family = "linear", .name = "tf32 16x512->10",
                  .inputs = [](std::mt19937_64& gen) {
                    return Tensors{{"x", normal(Shape{16, 512}, gen)}, {"w", normal(Shape{10, 512}, gen, 0.05f)}, {"b", normal(Shape{10}, gen)}};
                  },
                  .run = [](Context& ctx, const Tensors& in) { return Tensors{{"y", ops::linear_forward(ctx, in.at("x"), in.at("w"), in.at("b"))}}; },
                  .check = Check::close(2e-2, 2e-2),
                  .precision = PrecisionPolicy{ComputePrecision::tf32}});
  rows.push_back({.family = "linear", .name = "rows not 16-byte aligned",
                  .inputs = [](std::mt19937_64& gen) {
                    return Tensors{{"all", small_ints(Shape{9, 3}, gen)}, {"w", small_ints(Shape{5, 3}, gen)}, {"b", small_ints(Shape{5}, gen)}};
                  },
                  .run = [](Context& ctx, const Tensors& in) {
                    return Tensors{{"y", ops::linear_forward(ctx, in.at("all").narrow(1, 8), in.at("w"), in.at("b"))}};  // starts 12 bytes in
                  }});
  // bf16 GEMMs with fp32 accumulation: sums in another order differ by ~1e-6 relative before the one
  // rounding to bf16, so results are equal or neighbours (2^-7 relative), near 0 within atol.
  for (Dims d : {Dims{8, 96, 24}, Dims{8, 24, 96}, Dims{16, 2048, 64}, Dims{3, 5, 7}}) {  // SE's fc1/fc2, a latent, odd sizes
    const double atol = 1e-4 * std::sqrt(static_cast<double>(std::max(d.in, d.n)));
    rows.push_back({.family = "linear", .name = "bf16 " + d.str(),
                    .inputs = [d](std::mt19937_64& gen) {
                      return Tensors{{"x", bf16(normal(Shape{d.n, d.in}, gen))}, {"w", bf16(normal(Shape{d.out, d.in}, gen))},
                                     {"b", bf16(normal(Shape{d.out}, gen))}, {"dy", bf16(normal(Shape{d.n, d.out}, gen))}};
                    },
                    .run = [](Context& ctx, const Tensors& in) { return linear_outputs(ctx, in, true); },
                    .check = Check::close(atol, 1.0 / 128)});
  }
  return rows;
}

const Rows linear_rows(linear_cases);

}  // namespace
}  // namespace cmt::opcase
