// Cases of softmax cross-entropy: loss, probabilities and gradient, weighted and label-smoothed.
#include <cmath>

#include "engine/ops/cross_entropy.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

std::vector<OpCase> cross_entropy_cases() {
  std::vector<OpCase> rows;
  // Each row runs the four forms: plain, class-weighted, label-smoothed, both.
  for (std::int64_t n : {1, 7, 256, 1000})
    for (std::int64_t k : {2, 3, 10}) {
      std::vector<Gradient> gradients;
      if (n <= 256)
        for (const char* form : {"", " weighted", " smoothed", " weighted smoothed"})
          gradients.push_back({.input = "logits", .output = text("loss", form), .grad = text("dlogits", form), .scale = 0.7});
      rows.push_back({.family = "cross_entropy", .name = text("n", n, " k", k),
                      .inputs = [n, k](std::mt19937_64& gen) {
                        Tensor w = normal(Shape{k}, gen);
                        for (std::int64_t j = 0; j < k; ++j) w.data<float>()[j] = 0.2f + std::fabs(w.data<float>()[j]);
                        return Tensors{{"logits", normal(Shape{n, k}, gen, 3.f)}, {"labels", labels(n, k, gen)}, {"weight", w}};
                      },
                      .run = [](Context& ctx, const Tensors& in) {
                        Tensors out;
                        for (bool weighted : {false, true})
                          for (float smoothing : {0.f, 0.1f}) {
                            const std::string form = text(weighted ? " weighted" : "", smoothing > 0 ? " smoothed" : "");
                            const Tensor w = weighted ? in.at("weight") : Tensor();
                            auto r = ops::cross_entropy_forward(ctx, in.at("logits"), in.at("labels"), w, smoothing);
                            out["loss" + form] = r.loss;
                            out["probs" + form] = r.probs;
                            out["dlogits" + form] = ops::cross_entropy_backward(ctx, r, in.at("labels"), w, smoothing, 0.7f);
                          }
                        return out;
                      },
                      .check = Check::close(1e-7, 1e-6),
                      .checks = {{"dlogits", Check::close(1e-7, 1e-5)}, {"dlogits weighted", Check::close(1e-7, 1e-5)},
                                 {"dlogits smoothed", Check::close(1e-7, 1e-5)}, {"dlogits weighted smoothed", Check::close(1e-7, 1e-5)}},
                      .gradients = gradients,
                      .oracle = "cross_entropy",
                      .args = {{"scale", 0.7}}});
    }
  return rows;
}

const Rows cross_entropy_rows(cross_entropy_cases);

}  // namespace
}  // namespace cmt::opcase
