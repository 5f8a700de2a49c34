// Cases of the basic op family: fill and copy of every dtype, casts, axpy, sums, Philox fills.
#include "engine/ops/basic.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

std::string n_name(const char* what, std::int64_t n) { return text(what, " n", n); }

std::vector<OpCase> basic_cases() {
  std::vector<OpCase> rows;
  rows.push_back({.family = "basic", .name = "fill and copy every dtype",
                  .inputs = [](std::mt19937_64& gen) { return Tensors{{"value", small_ints(Shape{1}, gen, 100)}}; },
                  .run = [](Context& ctx, const Tensors& in) {
                    Tensors out;
                    const double value = in.at("value").to(Device::cpu()).data<float>()[0] + 0.5;
                    for (DType t : {DType::f32, DType::bf16, DType::f16, DType::u8, DType::i16, DType::i32, DType::i64}) {
                      Tensor d = Tensor::empty(Shape{3, 1001}, t, ctx.device());
                      ops::fill(ctx, d, value < 0 ? -value : value);  // u8 holds no negatives
                      Tensor host = Tensor::empty(Shape{3, 1001}, t);
                      ops::copy(ctx, d, host);
                      out[std::string(dtype_name(t))] = host;
                    }
                    return out;
                  },
                  .check = Check::bytes()});
  rows.push_back({.family = "basic", .name = "cast f32 bf16 f16 round trip",
                  .inputs = [](std::mt19937_64& gen) { return Tensors{{"x", normal(Shape{7, 1234}, gen, 100.f)}}; },
                  .run = [](Context& ctx, const Tensors& in) {
                    Tensor b = ops::cast(ctx, in.at("x"), DType::bf16), h = ops::cast(ctx, in.at("x"), DType::f16);
                    return Tensors{{"bf16", b}, {"f16", h}, {"bf16_back", ops::cast(ctx, b, DType::f32)}, {"f16_back", ops::cast(ctx, h, DType::f32)}};
                  },
                  .check = Check::bytes()});
  // Sums: the CPU sums in double; the device's float tree stays within 1e-6 relative.
  for (std::int64_t n : {1, 31, 1000, 65537, 3000001}) {
    rows.push_back({.family = "basic", .name = n_name("axpy add_scalar sum mean", n),
                    .inputs = [n](std::mt19937_64& gen) { return Tensors{{"x", normal(Shape{n}, gen)}, {"y", normal(Shape{n}, gen)}}; },
                    .run = [](Context& ctx, const Tensors& in) {
                      Tensor y = clone(in.at("y"));
                      ops::axpy(ctx, 0.3f, in.at("x"), y);
                      ops::add_scalar_(ctx, y, -0.5f);
                      return Tensors{{"y", y}, {"sum", ops::sum(ctx, y)}, {"mean", ops::mean(ctx, y)}};
                    },
                    .checks = {{"sum", Check::close(1e-6, 1e-6)}, {"mean", Check::close(1e-8, 1e-5)}}});
  }
  // Philox: element i depends only on (seed, stream, i); normal draws differ by float rounding of log/cos.
  for (std::int64_t n : {1, 7, 4096, 1000003}) {
    rows.push_back({.family = "basic", .name = n_name("philox uniform normal", n),
                    .inputs = [](std::mt19937_64& gen) {
                      return Tensors{{"seed", seed_tensor(gen)}};
                    },
                    .run = [n](Context& ctx, const Tensors& in) {
                      const std::uint64_t seed = seed_of(in);
                      Tensor u = Tensor::empty(Shape{n}, DType::f32, ctx.device()), g = Tensor::empty(Shape{n}, DType::f32, ctx.device());
                      ops::uniform_(ctx, u, seed, 9, -2.f, 5.f);
                      ops::normal_(ctx, g, seed, 10, 1.f, 3.f);
                      return Tensors{{"uniform", u}, {"normal", g}};
                    },
                    .checks = {{"normal", Check::close(1e-5, 1e-5)}}});
  }
  rows.push_back({.family = "basic", .name = "axpy bf16 x into f32 y, cast into bf16",
                  .inputs = [](std::mt19937_64& gen) {
                    return Tensors{{"x", bf16(normal(Shape{1000003}, gen))}, {"y", normal(Shape{1000003}, gen)}};
                  },
                  .run = [](Context& ctx, const Tensors& in) {
                    Tensor y = clone(in.at("y"));
                    ops::axpy(ctx, -0.5f, in.at("x"), y);
                    Tensor into = Tensor::empty(Shape{1000003}, DType::bf16, ctx.device());
                    ops::cast(ctx, y, into);
                    return Tensors{{"y", y}, {"into", into}};
                  }});
  return rows;
}

const Rows basic_rows(basic_cases);

}  // namespace
}  // namespace cmt::opcase
