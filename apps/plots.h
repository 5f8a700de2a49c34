// Small SVG plots for evaluation: ROC curve, confusion matrix, and a labelled heatmap (Fig. 4 grid).
#pragma once
#include <string>
#include <vector>

#include "engine/metrics.h"

namespace cmt::app {

void write_roc_svg(const std::string& path, const std::vector<metrics::RocPoint>& roc, double auc, const std::string& title);
struct RocCurve {
  std::string label;  // legend text before "AUC = ..." (empty: none)
  std::vector<metrics::RocPoint> points;
  double auc = 0;
};
// Several curves on one set of axes, each in its own colour with its AUC.
void write_roc_curves_svg(const std::string& path, const std::vector<RocCurve>& curves, const std::string& title);
void write_confusion_svg(const std::string& path, const std::vector<std::vector<long long>>& counts,
                         const std::vector<std::string>& names, const std::string& title);
// values[row][col]; NaN cells are drawn grey.
void write_heatmap_svg(const std::string& path, const std::vector<std::vector<double>>& values,
                       const std::vector<std::string>& row_names, const std::vector<std::string>& col_names,
                       const std::string& title);

}  // namespace cmt::app
