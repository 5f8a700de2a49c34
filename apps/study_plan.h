// The grid of `cmt study` (docs/study.md): for each prepared dataset (CT and/or X-ray), task
// (binary, ternary), backbone and method (CMT-CNN, CE-only, and Table 4's contrastive-only when
// chosen), one cross-validation in OUT/<modality>/<task>/<backbone>/<method>.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/run_config.h"

namespace cmt::app {

// The methods of the paper's tables: CMT-CNN (Tables 1-2), classification loss only (Table 3),
// contrastive loss only then a linear probe (Table 4).
enum class Method { cmt_cnn, ce_only, contrastive_only };
const char* method_folder(Method m);  // "cmt-cnn", "ce-only", "contrastive-only"
const char* method_label(Method m);   // "CMT-CNN", "CE-only", "contrastive-only"

struct StudyCell {
  std::string modality, task, backbone;
  Method method = Method::cmt_cnn;
  RunConfig config;  // config.out is the cell's cross-validation folder
  bool probe() const { return method == Method::contrastive_only; }
};

struct StudyPlan {
  std::string out;
  int folds = 0;  // 0: every fold of the datasets
  double alpha = 0.05;
  std::vector<std::string> modalities, tasks, backbones;  // in the order of the tables
  std::vector<Method> methods;
  std::vector<StudyCell> cells;
  // The cell of these coordinates, or nullptr when the grid has none.
  const StudyCell* find(const std::string& modality, const std::string& task, const std::string& backbone, Method m) const;
};

// What the command line adds to the study file: flags win over the file's keys.
struct StudyOverrides {
  std::string out;
  int folds = -1;                 // < 0: the file's
  double alpha = -1;              // < 0: the file's
  std::vector<std::string> sets;  // KEY=VALUE run keys for every cell
};

// Reads the study file (JSON), applies the overrides and lays out the cells. A bad file or key is
// a UsageError naming the file and the key.
StudyPlan read_study_plan(const std::string& path, const StudyOverrides& flags);

}  // namespace cmt::app
