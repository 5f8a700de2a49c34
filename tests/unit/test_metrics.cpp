// Metrics: hand-checked values (AUC with ties, rates, t-test) beside the PyTorch/scipy oracle test.
#include <cmath>

#include "engine/metrics.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("metrics: AUC counts ties as one half and needs both classes") {
  // Positives {0.8, 0.5}, negatives {0.5, 0.1}: pairs (0.8>0.5) (0.8>0.1) (0.5=0.5 -> 1/2) (0.5>0.1) -> 3.5/4.
  CHECK(metrics::auc({0.8, 0.5, 0.5, 0.1}, {1, 1, 0, 0}) == doctest::Approx(0.875));
  CHECK(metrics::auc({0.1, 0.2, 0.3}, {0, 0, 1}) == doctest::Approx(1.0));
  CHECK(metrics::auc({0.1, 0.2, 0.3}, {1, 0, 0}) == doctest::Approx(0.0));
  CHECK(std::isnan(metrics::auc({0.1, 0.2}, {1, 1})));
  const auto roc = metrics::roc_curve({0.8, 0.5, 0.5, 0.1}, {1, 1, 0, 0});
  CHECK(roc.front().fpr == 0);
  CHECK(roc.back().fpr == doctest::Approx(1.0));
  CHECK(roc.back().tpr == doctest::Approx(1.0));
  CHECK(roc.size() == 4);  // start, 0.8, the tied 0.5 pair as one point, 0.1
}

TEST_CASE("metrics: confusion-derived rates") {
  // truth:     0 0 0 1 1 2
  // predicted: 0 1 0 1 2 2
  const auto c = metrics::confusion({0, 0, 0, 1, 1, 2}, {0, 1, 0, 1, 2, 2}, 3);
  CHECK(metrics::accuracy(c) == doctest::Approx(4.0 / 6));
  CHECK(metrics::recall(c, 0) == doctest::Approx(2.0 / 3));
  CHECK(metrics::precision(c, 1) == doctest::Approx(1.0 / 2));
  // positive = class 1: negatives are the 4 samples of classes 0 and 2; predicted not-1 for 3 of them.
  CHECK(metrics::specificity(c, 1) == doctest::Approx(3.0 / 4));
  CHECK_THROWS_AS(metrics::confusion({0, 3}, {0, 0}, 3), cmt::Error);
}

TEST_CASE("metrics: paired t-test and Student's t tail") {
  // d = a - b = {1, 2, 3}: mean 2, sd 1, se 1/sqrt(3), t = 2*sqrt(3), df 2.
  const auto r = metrics::paired_t_test({2, 4, 6}, {1, 2, 3});
  CHECK(r.t == doctest::Approx(2 * std::sqrt(3.0)));
  CHECK(r.df == 2);
  // For df = 2 the two-sided p has a closed form: 1 - t / sqrt(t^2 + 2).
  CHECK(r.p == doctest::Approx(1 - r.t / std::sqrt(r.t * r.t + 2)).epsilon(1e-10));
  // df = 1 is the Cauchy distribution: p = 1 - 2 atan(|t|) / pi.
  CHECK(metrics::student_t_two_sided_p(1.7, 1) == doctest::Approx(1 - 2 * std::atan(1.7) / M_PI).epsilon(1e-10));
  CHECK_THROWS_AS(metrics::paired_t_test({1}, {2}), cmt::Error);
  const auto ms = metrics::mean_std({1, 2, 3, 4});
  CHECK(ms.mean == doctest::Approx(2.5));
  CHECK(ms.std == doctest::Approx(std::sqrt(5.0 / 3)));
}
