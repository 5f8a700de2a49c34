// Oracle registrations of the evaluation metrics (AUC, ROC, confusion-derived rates, paired t-test).
#include "engine/metrics.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

std::vector<double> as_doubles(const Tensor& t) {
  const auto v = t.to_vector<float>();
  return {v.begin(), v.end()};
}

Tensor scalar(double v) { return Tensor::from_vector(std::vector<float>{static_cast<float>(v)}, Shape{1}); }

// scores (N) f32, positive (N) f32 0/1 -> auc
CMT_ORACLE_OP("auc", [](Context&, const TensorMap& in, const nlohmann::json&) {
  const auto scores = as_doubles(input(in, "scores"));
  std::vector<int> pos;
  for (double p : as_doubles(input(in, "positive"))) pos.push_back(p > 0.5);
  return TensorMap{{"auc", scalar(metrics::auc(scores, pos))}};
});

// truth, predicted (N) as f32 class indices -> accuracy, per-class recall/precision, specificity of class `positive`
CMT_ORACLE_OP("rates", [](Context&, const TensorMap& in, const nlohmann::json& args) {
  std::vector<int> t, p;
  for (double v : as_doubles(input(in, "truth"))) t.push_back(static_cast<int>(v));
  for (double v : as_doubles(input(in, "predicted"))) p.push_back(static_cast<int>(v));
  const int k = args.at("classes").get<int>(), positive = args.at("positive").get<int>();
  const metrics::Confusion c = metrics::confusion(t, p, k);
  std::vector<float> rec, prec;
  for (int i = 0; i < k; ++i) {
    rec.push_back(static_cast<float>(metrics::recall(c, i)));
    prec.push_back(static_cast<float>(metrics::precision(c, i)));
  }
  return TensorMap{{"accuracy", scalar(metrics::accuracy(c))},
                   {"specificity", scalar(metrics::specificity(c, positive))},
                   {"recall", Tensor::from_vector(rec, Shape{k})},
                   {"precision", Tensor::from_vector(prec, Shape{k})}};
});

// a, b (folds) -> t, p of the paired t-test
CMT_ORACLE_OP("paired_t_test", [](Context&, const TensorMap& in, const nlohmann::json&) {
  const metrics::TTest r = metrics::paired_t_test(as_doubles(input(in, "a")), as_doubles(input(in, "b")));
  return TensorMap{{"t", scalar(r.t)}, {"p", scalar(r.p)}};
});

}  // namespace
}  // namespace cmt::oracle
