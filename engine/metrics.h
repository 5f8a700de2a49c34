// Evaluation metrics of the paper (3.4): accuracy, sensitivity, specificity, AUC, plus per-class
// precision/recall, the confusion matrix, ROC curves and the paired t-test over folds.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmt::metrics {

struct Confusion {
  int classes = 0;
  std::vector<std::int64_t> counts;  // counts[true * classes + predicted]
  std::int64_t at(int truth, int predicted) const { return counts[static_cast<std::size_t>(truth * classes + predicted)]; }
  std::int64_t total() const;
};

Confusion confusion(const std::vector<int>& truth, const std::vector<int>& predicted, int classes);
double accuracy(const Confusion& c);
double recall(const Confusion& c, int cls);     // sensitivity of class cls
double precision(const Confusion& c, int cls);
// Binary view "positive class against the rest": specificity = recall of the rest.
double specificity(const Confusion& c, int positive);

// Area under the ROC curve of scores for `positive` (true 1) vs the rest; ties count one half
// (the Mann-Whitney statistic, what scikit-learn's roc_auc_score computes). NaN without both classes.
double auc(const std::vector<double>& scores, const std::vector<int>& is_positive);

struct RocPoint {
  double fpr, tpr, threshold;
};
std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<int>& is_positive);

struct MeanStd {
  double mean = 0, std = 0;  // sample standard deviation (n - 1)
};
MeanStd mean_std(const std::vector<double>& values);

struct TTest {
  double t = 0;
  int df = 0;
  double p = 1;  // two-sided
};
// Paired t-test of a - b (as scipy.stats.ttest_rel).
TTest paired_t_test(const std::vector<double>& a, const std::vector<double>& b);
// Two-sided p-value of Student's t with df degrees of freedom.
double student_t_two_sided_p(double t, int df);

// All metrics of one evaluation: probs (N x classes, row-major), truth labels; `positive` is the
// COVID-19 class index for the binary metrics (sensitivity, specificity, AUC against the rest).
nlohmann::json evaluate(const std::vector<float>& probs, const std::vector<int>& truth, int classes, int positive,
                        const std::vector<std::string>& class_names);

}  // namespace cmt::metrics
