// Metric implementations (double precision throughout).
#include "engine/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/common/check.h"

namespace cmt::metrics {

std::int64_t Confusion::total() const { return std::accumulate(counts.begin(), counts.end(), std::int64_t{0}); }

Confusion confusion(const std::vector<int>& truth, const std::vector<int>& predicted, int classes) {
  CMT_CHECK(truth.size() == predicted.size(), "confusion: " << truth.size() << " labels for " << predicted.size() << " predictions");
  CMT_CHECK(classes >= 2, "confusion: need at least 2 classes");
  Confusion c;
  c.classes = classes;
  c.counts.assign(static_cast<std::size_t>(classes * classes), 0);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    CMT_CHECK(truth[i] >= 0 && truth[i] < classes && predicted[i] >= 0 && predicted[i] < classes,
              "confusion: label out of range at " << i);
    ++c.counts[static_cast<std::size_t>(truth[i] * classes + predicted[i])];
  }
  return c;
}

double accuracy(const Confusion& c) {
  std::int64_t right = 0;
  for (int k = 0; k < c.classes; ++k) right += c.at(k, k);
  const auto n = c.total();
  return n ? static_cast<double>(right) / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

double recall(const Confusion& c, int cls) {
  std::int64_t row = 0;
  for (int k = 0; k < c.classes; ++k) row += c.at(cls, k);
  return row ? static_cast<double>(c.at(cls, cls)) / static_cast<double>(row) : std::numeric_limits<double>::quiet_NaN();
}

double precision(const Confusion& c, int cls) {
  std::int64_t col = 0;
  for (int k = 0; k < c.classes; ++k) col += c.at(k, cls);
  return col ? static_cast<double>(c.at(cls, cls)) / static_cast<double>(col) : std::numeric_limits<double>::quiet_NaN();
}

double specificity(const Confusion& c, int positive) {
  std::int64_t negatives = 0, true_negatives = 0;
  for (int t = 0; t < c.classes; ++t) {
    if (t == positive) continue;
    for (int p = 0; p < c.classes; ++p) {
      negatives += c.at(t, p);
      if (p != positive) true_negatives += c.at(t, p);
    }
  }
  return negatives ? static_cast<double>(true_negatives) / static_cast<double>(negatives) : std::numeric_limits<double>::quiet_NaN();
}

double auc(const std::vector<double>& scores, const std::vector<int>& is_positive) {
  CMT_CHECK(scores.size() == is_positive.size(), "auc: " << scores.size() << " scores for " << is_positive.size() << " labels");
  // Rank statistic with average ranks for ties.
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  std::vector<double> rank(scores.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && scores[order[j + 1]] == scores[order[i]]) ++j;
    const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t k = i; k <= j; ++k) rank[order[k]] = avg;
    i = j + 1;
  }
  double pos = 0, neg = 0, rank_sum = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (is_positive[i]) {
      pos += 1;
      rank_sum += rank[i];
    } else {
      neg += 1;
    }
  }
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& is_positive) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  double pos = 0, neg = 0;
  for (int p : is_positive) (p ? pos : neg) += 1;
  std::vector<RocPoint> curve{{0, 0, std::numeric_limits<double>::infinity()}};
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    (is_positive[order[i]] ? tp : fp) += 1;
    const bool last_of_tie = i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]];
    if (last_of_tie) curve.push_back({neg ? fp / neg : 0, pos ? tp / pos : 0, scores[order[i]]});
  }
  return curve;
}

MeanStd mean_std(const std::vector<double>& v) {
  MeanStd r;
  if (v.empty()) return r;
  r.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - r.mean) * (x - r.mean);
    r.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return r;
}

namespace {
// Continued fraction of the regularised incomplete beta function (modified Lentz).
double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < 1e-15) break;
  }
  return h;
}

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}
}  // namespace

double student_t_two_sided_p(double t, int df) {
  if (std::isnan(t) || df <= 0) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return 0;
  return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

TTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  CMT_CHECK(a.size() == b.size() && a.size() >= 2, "paired t-test needs two equal-length samples of at least 2, got "
                                                       << a.size() << " and " << b.size());
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  const MeanStd ms = mean_std(d);
  TTest r;
  r.df = static_cast<int>(d.size()) - 1;
  const double se = ms.std / std::sqrt(static_cast<double>(d.size()));
  r.t = se > 0 ? ms.mean / se : (ms.mean == 0 ? std::numeric_limits<double>::quiet_NaN() : std::copysign(INFINITY, ms.mean));
  r.p = student_t_two_sided_p(r.t, r.df);
  return r;
}

nlohmann::json evaluate(const std::vector<float>& probs, const std::vector<int>& truth, int classes, int positive,
                        const std::vector<std::string>& class_names) {
  const std::size_t n = truth.size();
  CMT_CHECK(probs.size() == n * static_cast<std::size_t>(classes), "evaluate: " << probs.size() << " probabilities for " << n
                                                                                   << " samples of " << classes << " classes");
  std::vector<int> predicted(n);
  std::vector<double> scores(n);
  std::vector<int> is_pos(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = probs.data() + i * static_cast<std::size_t>(classes);
    predicted[i] = static_cast<int>(std::max_element(row, row + classes) - row);
    scores[i] = row[positive];
    is_pos[i] = truth[i] == positive;
  }
  const Confusion c = confusion(truth, predicted, classes);
  nlohmann::json j;
  j["samples"] = n;
  j["accuracy"] = accuracy(c);
  j["positive_class"] = positive < static_cast<int>(class_names.size()) ? class_names[static_cast<std::size_t>(positive)] : std::to_string(positive);
  j["sensitivity"] = recall(c, positive);
  j["specificity"] = specificity(c, positive);
  j["auc"] = auc(scores, is_pos);
  for (int k = 0; k < classes; ++k) {
    const std::string name = k < static_cast<int>(class_names.size()) ? class_names[static_cast<std::size_t>(k)] : std::to_string(k);
    j["per_class"][name] = {{"precision", precision(c, k)}, {"recall", recall(c, k)}};
  }
  j["confusion"] = nlohmann::json::array();
  for (int t = 0; t < classes; ++t) {
    nlohmann::json row = nlohmann::json::array();
    for (int p = 0; p < classes; ++p) row.push_back(c.at(t, p));
    j["confusion"].push_back(row);
  }
  return j;
}

}  // namespace cmt::metrics
