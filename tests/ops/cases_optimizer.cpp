// Cases of Adam/AdamW (one launch over the flat block, the bf16 weight copy written in the same
// pass) and gradient-norm clipping.
#include "engine/optimizer.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

constexpr int kSteps = 5;

std::vector<OpCase> optimizer_cases() {
  std::vector<OpCase> rows;
  for (std::int64_t n : {1, 5, 1003, 1 << 20}) {
    for (bool decoupled : {false, true}) {
      rows.push_back({.family = "optimizer", .name = text(decoupled ? "AdamW" : "Adam", " n", n, " 5 steps"),
                      .inputs = [n](std::mt19937_64& gen) {
                        Tensors in{{"p", normal(Shape{n}, gen)}};
                        for (int t = 0; t < kSteps; ++t) in[text("g", t)] = normal(Shape{n}, gen);
                        return in;
                      },
                      .run = [n, decoupled](Context& ctx, const Tensors& in) {
                        AdamConfig cfg;
                        cfg.weight_decay = 0.01;
                        cfg.decoupled = decoupled;
                        Tensor p = clone(in.at("p")), copy = Tensor::empty(Shape{n}, DType::bf16, ctx.device());
                        Adam adam(ctx, n, cfg);
                        for (int t = 0; t < kSteps; ++t) adam.step(ctx, p, in.at(text("g", t)), 1e-2f / static_cast<float>(t + 1), copy);
                        Tensor steps = Tensor::from_vector(std::vector<std::int64_t>{adam.steps()}, Shape{1});
                        return Tensors{{"p", p}, {"m", adam.m()}, {"v", adam.v()}, {"bf16", copy}, {"steps", steps}};
                      },
                      .check = Check::close(1e-7, 1e-6),
                      .checks = {{"m", Check::close(1e-7, 1e-5)}, {"v", Check::close(1e-9, 1e-5)}, {"bf16", Check::close(0, 1e-2)}, {"steps", Check::bytes()}}});
    }
  }
  rows.push_back({.family = "optimizer", .name = "Adam on a misaligned view (scalar path)",
                  .inputs = [](std::mt19937_64& gen) { return Tensors{{"big", normal(Shape{1001}, gen)}, {"g", normal(Shape{1000}, gen)}}; },
                  .run = [](Context& ctx, const Tensors& in) {
                    Tensor p = clone(in.at("big")).narrow(1, 1000);  // offset by one element
                    Adam adam(ctx, 1000, {});
                    adam.step(ctx, p, in.at("g"), 1e-3f);
                    return Tensors{{"p", p}};
                  },
                  .check = Check::close(1e-7, 1e-6)});
  rows.push_back({.family = "optimizer", .name = "clip_grad_norm n3000001",
                  .inputs = [](std::mt19937_64& gen) { return Tensors{{"g", normal(Shape{3000001}, gen)}}; },
                  .run = [](Context& ctx, const Tensors& in) {
                    Tensor g = clone(in.at("g"));
                    const float norm = clip_grad_norm(ctx, g, 10.f);
                    return Tensors{{"g", g}, {"norm", Tensor::from_vector(std::vector<float>{norm}, Shape{1})}};
                  },
                  .check = Check::close(1e-7, 1e-5), .checks = {{"norm", Check::close(0, 1e-6)}}});
  return rows;
}

const Rows optimizer_rows(optimizer_cases);

}  // namespace
}  // namespace cmt::opcase
