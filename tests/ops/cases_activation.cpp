// Cases of the activation family (ReLU, SiLU, sigmoid) and the elementwise row ops (add, scale,
// channel scale, concatenation, L2 normalisation), f32 and bf16.
#include "engine/ops/activation.h"
#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

std::string n_name(std::int64_t n) { return text("n", n); }

// x ~ N(0, 4^2) reaches both tails of the sigmoid; dy ~ N(0, 1).
std::function<Tensors(std::mt19937_64&)> x_and_dy(Shape s, float x_scale, bool as_bf16) {
  return [=](std::mt19937_64& gen) {
    Tensor x = normal(s, gen, x_scale), dy = normal(s, gen);
    return as_bf16 ? Tensors{{"x", bf16(x)}, {"dy", bf16(dy)}} : Tensors{{"x", x}, {"dy", dy}};
  };
}

std::vector<OpCase> activation_cases() {
  std::vector<OpCase> rows;
  // 256 blocks on the emulated device for the largest.
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, on_emulator(1 << 20, 16)}) {
    const bool small = n <= 1000;
    rows.push_back({.family = "activation", .name = "relu " + n_name(n), .inputs = x_and_dy(Shape{n}, 4.f, false),
                    .run = [](Context& ctx, const Tensors& in) {
                      Tensor y = ops::relu(ctx, in.at("x"));
                      return Tensors{{"y", y}, {"dx", ops::relu_backward(ctx, in.at("dy"), y)}};
                    },
                    .oracle = "relu"});
    rows.push_back({.family = "activation", .name = "silu " + n_name(n), .inputs = x_and_dy(Shape{n}, 4.f, false),
                    .run = [](Context& ctx, const Tensors& in) {
                      return Tensors{{"y", ops::silu(ctx, in.at("x"))}, {"dx", ops::silu_backward(ctx, in.at("dy"), in.at("x"))}};
                    },
                    .check = Check::close(1e-6, 1e-5),
                    .gradients = small ? std::vector<Gradient>{{"x", "y", "dy", "dx"}} : std::vector<Gradient>{},
                    .oracle = "silu"});
    rows.push_back({.family = "activation", .name = "sigmoid " + n_name(n), .inputs = x_and_dy(Shape{n}, 4.f, false),
                    .run = [](Context& ctx, const Tensors& in) {
                      Tensor y = ops::sigmoid(ctx, in.at("x"));
                      return Tensors{{"y", y}, {"dx", ops::sigmoid_backward(ctx, in.at("dy"), y)}};
                    },
                    // y may differ by 2 float ulps between backends (their exps: CUDA's expf, the
                    // CPU's vectorisable exp), and dx = dy y (1 - y) cancels near y = 1:
                    // |d dx| <= |dy| 2.4e-7, below 2e-6 for |dy| < 8.
                    .check = Check::close(1e-6, 1e-5), .checks = {{"dx", Check::close(2e-6, 1e-5)}},
                    .gradients = small ? std::vector<Gradient>{{"x", "y", "dy", "dx"}} : std::vector<Gradient>{},
                    .oracle = "sigmoid"});
  }
  // bf16: computed in float, rounded once. expf differs from the host's exp by an ulp of float: at
  // most one bf16 rounding step apart. Odd length: a partial last block.
  const std::int64_t n = emulated() ? 65537 : 1000003;
  rows.push_back({.family = "activation", .name = "bf16 relu silu sigmoid add " + n_name(n), .inputs = x_and_dy(Shape{n}, 3.f, true),
                  .run = [](Context& ctx, const Tensors& in) {
                    const Tensor &x = in.at("x"), &dy = in.at("dy");
                    return Tensors{{"relu", ops::relu(ctx, x)},       {"add", ops::add(ctx, x, dy)},
                                   {"silu", ops::silu(ctx, x)},       {"sigmoid", ops::sigmoid(ctx, x)},
                                   {"silu_dx", ops::silu_backward(ctx, dy, x)}};
                  },
                  .check = Check::close(1e-6, 8e-3), .checks = {{"relu", Check::exact()}, {"add", Check::exact()}}});
  return rows;
}

std::vector<OpCase> elementwise_cases() {
  std::vector<OpCase> rows;
  for (Shape s : {Shape{2, 1, 7, 7, 3}, Shape{4, 1, 14, 14, 672}, Shape{2, 4, 8, 8, 96}}) {
    // Small integers: sums below 2^24 are exact in any order.
    rows.push_back({.family = "elementwise", .name = "add scale channel_scale concat " + dims(s),
                    .inputs = [s](std::mt19937_64& gen) {
                      return Tensors{{"a", small_ints(s, gen)}, {"b", small_ints(s, gen)}, {"s", small_ints(Shape{s[0], s[4]}, gen)}};
                    },
                    .run = [](Context& ctx, const Tensors& in) {
                      const Tensor &a = in.at("a"), &b = in.at("b"), &sc = in.at("s");
                      Tensor inplace = clone(a);
                      ops::add_(ctx, inplace, b);
                      const auto g = ops::channel_scale_backward(ctx, b, a, sc);
                      return Tensors{{"add", ops::add(ctx, a, b)},
                                     {"add_", inplace},
                                     {"scale", ops::scale(ctx, a, 0.5f)},
                                     {"channel_scale", ops::channel_scale(ctx, a, sc)},
                                     {"channel_scale_dx", g.dx},
                                     {"channel_scale_ds", g.ds},
                                     {"concat", ops::concat_rows(ctx, a, b)}};
                    },
                    .oracle = "elementwise"});
  }
  for (Shape s : {Shape{1, 1}, Shape{64, 4096}, Shape{7, 129}}) {
    rows.push_back({.family = "elementwise", .name = "l2_normalize_rows " + dims(s),
                    .inputs = [s](std::mt19937_64& gen) { return Tensors{{"x", normal(s, gen)}, {"dy", normal(s, gen)}}; },
                    .run = [](Context& ctx, const Tensors& in) {
                      return Tensors{{"y", ops::l2_normalize_rows(ctx, in.at("x"), 1e-12f)},
                                     {"dx", ops::l2_normalize_rows_backward(ctx, in.at("dy"), in.at("x"), 1e-12f)}};
                    },
                    .check = Check::close(1e-7, 1e-5), .checks = {{"dx", Check::close(1e-6, 1e-4)}},
                    .gradients = s[1] > 1 && s[0] * s[1] < 10000 ? std::vector<Gradient>{{"x", "y", "dy", "dx"}} : std::vector<Gradient>{},
                    .oracle = "l2_normalize_rows"});
  }
  // bf16 channel scale (squeeze-excitation shapes, 2D and 3D): float partial sums against the
  // CPU's double for ds, one bf16 ulp apart.
  for (Shape s : {Shape{4, 1, 14, 14, 672}, Shape{2, 8, 8, 8, 96}}) {
    rows.push_back({.family = "elementwise", .name = "bf16 channel_scale " + dims(s),
                    .inputs = [s](std::mt19937_64& gen) {
                      return Tensors{{"x", bf16(normal(s, gen))}, {"dy", bf16(normal(s, gen))}, {"s", bf16(normal(Shape{s[0], s[4]}, gen))}};
                    },
                    .run = [](Context& ctx, const Tensors& in) {
                      const auto g = ops::channel_scale_backward(ctx, in.at("dy"), in.at("x"), in.at("s"));
                      return Tensors{{"y", ops::channel_scale(ctx, in.at("x"), in.at("s"))}, {"dx", g.dx}, {"ds", g.ds}};
                    },
                    .checks = {{"ds", Check::close(1e-4, 1.0 / 128)}}});
  }
  return rows;
}

const Rows activation_rows(activation_cases);
const Rows elementwise_rows(elementwise_cases);

}  // namespace
}  // namespace cmt::opcase
