#include "apps/study_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include <fmt/core.h>

#include "apps/paired_folds.h"
#include "apps/plots.h"
#include "apps/text_file.h"
#include "engine/metrics.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace {

namespace fs = std::filesystem;

// The paper's columns: all four metrics for the binary task, accuracy alone for the ternary one.
struct Column {
  std::string task;
  const char* metric;
  std::string header;
};

std::vector<Column> table_columns(const StudyPlan& plan) {
  std::vector<Column> cols;
  for (const std::string& task : plan.tasks) {
    if (task == "binary")
      for (const auto& [m, name] : {std::pair<const char*, const char*>{"accuracy", "accuracy"},
                                    {"sensitivity", "sensitivity"},
                                    {"specificity", "specificity"},
                                    {"auc", "AUC"}})
        cols.push_back({task, m, fmt::format("Binary {}", name)});
    else cols.push_back({task, "accuracy", "Ternary accuracy"});
  }
  return cols;
}

nlohmann::json read_json(const fs::path& path) {
  return read_json_file(path.string(), "; run `cmt study` again to finish the cell");
}

const char* modality_name(const std::string& m) { return m == "ct" ? "CT" : "X-ray"; }

struct Results {
  std::map<const StudyCell*, nlohmann::json> cv;
  const nlohmann::json& of(const StudyCell* c) const { return cv.at(c); }
};

// "93.46 ± 1.20" in percent, then the marks.
std::string cell_text(const nlohmann::json& cv, const std::string& dir, const char* metric, const std::string& marks) {
  const metrics::MeanStd ms = metrics::mean_std(per_fold(cv, dir, metric));
  return fmt::format("{:.2f} ± {:.2f}{}{}", 100 * ms.mean, 100 * ms.std, marks.empty() ? "" : " ", marks);
}

// Whether A is significantly above (sign +1) or below (-1) B at alpha; the pairing is checked.
int significant(const nlohmann::json& a, const nlohmann::json& b, const std::string& a_dir, const std::string& b_dir,
                const char* metric, double alpha, nlohmann::json& tests) {
  check_same_folds(a, b, a_dir, b_dir);
  const metrics::TTest t = metrics::paired_t_test(per_fold(a, a_dir, metric), per_fold(b, b_dir, metric));
  tests.push_back({{"a", a_dir},
                   {"b", b_dir},
                   {"metric", metric},
                   {"t", std::isfinite(t.t) ? nlohmann::json(t.t) : nlohmann::json()},
                   {"df", t.df},
                   {"p", std::isfinite(t.p) ? nlohmann::json(t.p) : nlohmann::json()}});
  if (!std::isfinite(t.p) || t.p >= alpha) return 0;
  return t.t > 0 ? 1 : -1;
}

std::string header_row(const std::vector<std::string>& first, const std::vector<Column>& cols) {
  std::string h = "|", rule = "|";
  for (const auto& f : first) h += fmt::format(" {} |", f), rule += "---|";
  for (const auto& c : cols) h += fmt::format(" {} |", c.header), rule += "---:|";
  return h + "\n" + rule + "\n";
}

// Tables 1-2: CMT-CNN per backbone; the last backbone (the paper's EfficientNet) is tested against
// each other one, each with its own mark ('+' the first, '*' the second, as the paper).
std::string backbone_table(const StudyPlan& plan, const Results& r, const std::string& modality, nlohmann::json& tests) {
  static const char* const symbols[] = {"+", "*", "†", "‡"};
  const auto cols = table_columns(plan);
  const std::string& ref = plan.backbones.back();
  std::string md = header_row({"Backbone"}, cols);
  for (const std::string& backbone : plan.backbones) {
    md += fmt::format("| {} |", backbone);
    for (const Column& col : cols) {
      const StudyCell* cell = plan.find(modality, col.task, backbone, Method::cmt_cnn);
      std::string marks;
      if (backbone == ref)
        for (std::size_t i = 0; i + 1 < plan.backbones.size() && i < 4; ++i) {
          const StudyCell* other = plan.find(modality, col.task, plan.backbones[i], Method::cmt_cnn);
          if (significant(r.of(cell), r.of(other), cell->config.out, other->config.out, col.metric, plan.alpha, tests) > 0)
            marks += symbols[i];
        }
      md += fmt::format(" {} |", cell_text(r.of(cell), cell->config.out, col.metric, marks));
    }
    md += "\n";
  }
  if (plan.backbones.size() > 1) {
    md += fmt::format("\nMarks on {}:", ref);
    for (std::size_t i = 0; i + 1 < plan.backbones.size() && i < 4; ++i)
      md += fmt::format(" '{}' significantly better than {}{}", symbols[i], plan.backbones[i],
                        i + 2 < plan.backbones.size() ? ";" : ".");
    md += "\n";
  }
  return md;
}

// Tables 3-4: an ablation per modality and backbone, '↓' where it is significantly below CMT-CNN.
std::string ablation_table(const StudyPlan& plan, const Results& r, Method method, nlohmann::json& tests) {
  const auto cols = table_columns(plan);
  std::string md = header_row({"Modality", "Backbone"}, cols);
  for (const std::string& modality : plan.modalities)
    for (const std::string& backbone : plan.backbones) {
      md += fmt::format("| {} | {} |", modality_name(modality), backbone);
      for (const Column& col : cols) {
        const StudyCell* cell = plan.find(modality, col.task, backbone, method);
        const StudyCell* full = plan.find(modality, col.task, backbone, Method::cmt_cnn);
        const bool below =
            significant(r.of(cell), r.of(full), cell->config.out, full->config.out, col.metric, plan.alpha, tests) < 0;
        md += fmt::format(" {} |", cell_text(r.of(cell), cell->config.out, col.metric, below ? "↓" : ""));
      }
      md += "\n";
    }
  return md;
}

// Every fold's held-out predictions of a cell pooled: one ROC curve of the positive class.
RocCurve pooled_roc(const StudyCell& cell, const nlohmann::json& cv) {
  std::vector<double> scores;
  std::vector<int> positive;
  for (const auto& fold : cv["fold_ids"]) {
    const nlohmann::json e = read_json(fs::path(cell.config.out) / fmt::format("fold{}", fold.get<int>()) / "eval.json");
    const auto names = e["class_names"].get<std::vector<std::string>>();
    const int classes = static_cast<int>(names.size());
    int pos = 0;
    while (pos < classes && names[static_cast<std::size_t>(pos)] != e["positive_class"].get<std::string>()) ++pos;
    CMT_CHECK(pos < classes, cell.config.out << ": fold " << fold << " names no positive class");
    const auto probs = e["predictions"]["probs"].get<std::vector<double>>();
    const auto labels = e["predictions"]["labels"].get<std::vector<int>>();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      scores.push_back(probs[i * static_cast<std::size_t>(classes) + static_cast<std::size_t>(pos)]);
      positive.push_back(labels[i] == pos ? 1 : 0);
    }
  }
  return {method_label(cell.method), metrics::roc_curve(scores, positive), metrics::auc(scores, positive)};
}

std::string roc_section(const StudyPlan& plan, const Results& r) {
  std::string md;
  for (const std::string& modality : plan.modalities)
    for (const std::string& task : plan.tasks)
      for (const std::string& backbone : plan.backbones) {
        std::vector<RocCurve> curves;
        for (Method m : plan.methods)
          curves.push_back(pooled_roc(*plan.find(modality, task, backbone, m), r.of(plan.find(modality, task, backbone, m))));
        const std::string name = fmt::format("roc-{}-{}-{}.svg", modality, task, backbone);
        const std::string title = fmt::format("{} {} {}", modality_name(modality), task, backbone);
        write_roc_curves_svg((fs::path(plan.out) / name).string(), curves, title);
        md += fmt::format("![ROC, {}]({})\n", title, name);
      }
  return md;
}

}  // namespace

std::string write_study_report(const StudyPlan& plan) {
  Results r;
  nlohmann::json cells = nlohmann::json::array(), tests = nlohmann::json::array();
  for (const StudyCell& c : plan.cells) {
    r.cv[&c] = read_json(fs::path(c.config.out) / "cv.json");
    cells.push_back({{"modality", c.modality},
                     {"task", c.task},
                     {"backbone", c.backbone},
                     {"method", method_label(c.method)},
                     {"folder", c.config.out},
                     {"per_fold", r.of(&c)["per_fold"]},
                     {"mean", r.of(&c)["mean"]},
                     {"std", r.of(&c)["std"]}});
  }
  const int folds = static_cast<int>(r.of(&plan.cells.front())["fold_ids"].size());
  std::string md = "# Study report\n\n";
  md += fmt::format(
      "Every cell is a {}-fold cross-validation; each value is the mean ± standard deviation (n - 1) over the folds, in "
      "percent. Marks come from a two-sided paired t-test over the folds at p < {} (as `cmt compare`). The binary task is "
      "COVID-19 against the other classes; the ternary task reports accuracy, as the paper does.\n\n",
      folds, plan.alpha);
  for (const std::string& modality : plan.modalities)  // the paper's Table 1 is CT, Table 2 X-ray
    md += fmt::format("## Table {}: CMT-CNN on {}\n\n", modality == "ct" ? 1 : 2, modality_name(modality)) +
          backbone_table(plan, r, modality, tests) + "\n";
  md += "## Table 3: classification loss only (CE-only, lambda = 0)\n\n" + ablation_table(plan, r, Method::ce_only, tests) +
        "\n'↓': significantly below CMT-CNN with the same backbone, task and folds.\n\n";
  if (std::find(plan.methods.begin(), plan.methods.end(), Method::contrastive_only) != plan.methods.end())
    md += "## Table 4: contrastive loss only, then a linear probe\n\n" +
          ablation_table(plan, r, Method::contrastive_only, tests) +
          "\n'↓': significantly below CMT-CNN with the same backbone, task and folds.\n\n";
  md += "## ROC curves\n\nEvery fold's held-out predictions pooled, for the positive class against the rest.\n\n" +
        roc_section(plan, r) + "\n## Runs\n\n| Modality | Task | Backbone | Method | Folder |\n|---|---|---|---|---|\n";
  for (const StudyCell& c : plan.cells)
    md += fmt::format("| {} | {} | {} | {} | {} |\n", modality_name(c.modality), c.task, c.backbone, method_label(c.method),
                      c.config.out);
  const std::string path = (fs::path(plan.out) / "report.md").string();
  write_text_atomic(path, md);
  write_text_atomic((fs::path(plan.out) / "study.json").string(),
                    nlohmann::json{{"alpha", plan.alpha}, {"folds", folds}, {"cells", cells}, {"t_tests", tests}}.dump(2) + "\n");
  return path;
}

}  // namespace cmt::app
