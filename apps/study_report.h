// The report of `cmt study`: the paper's Tables 1-4 as Markdown (mean +- std over folds, paired
// t-test marks as `cmt compare` computes them), ROC curves per backbone as SVG, and study.json.
#pragma once
#include <string>

#include "apps/study_plan.h"

namespace cmt::app {

// Reads every cell's cv.json and its folds' eval.json; writes OUT/report.md, OUT/study.json and
// OUT/roc-<modality>-<task>-<backbone>.svg. Returns the report's path.
std::string write_study_report(const StudyPlan& plan);

}  // namespace cmt::app
