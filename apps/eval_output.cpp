// Evaluation files: metrics JSON, plots and the per-sample predictions table.
#include "apps/eval_output.h"

#include <algorithm>
#include <filesystem>

#include <fmt/core.h>

#include "apps/json_numbers.h"
#include "apps/plots.h"
#include "apps/text_file.h"
#include "engine/metrics.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace fs = std::filesystem;

namespace {

// RFC 4180 quoting: paths and patient IDs may hold commas or quotes.
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out(1, '"');
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// patient_id,source_path,label,predicted,p_<class>...: which patient was misclassified, at a glance.
std::string predictions_csv(const Evaluation& e, const data::Dataset& ds) {
  const auto names = ds.class_names();
  const auto patients = ds.patient_ids();
  const auto sources = ds.source_paths();
  const std::size_t k = names.size();
  std::string s = "patient_id,source_path,label,predicted";
  for (const auto& n : names) s += fmt::format(",{}", csv_cell("p_" + n));
  s += "\n";
  for (std::size_t i = 0; i < e.labels.size(); ++i) {
    const auto row = static_cast<std::size_t>(e.sample_ids[i]);
    const float* p = e.probs.data() + i * k;
    const std::size_t best = static_cast<std::size_t>(std::max_element(p, p + k) - p);
    s += fmt::format("{},{},{},{}", csv_cell(patients[row]), csv_cell(sources[row]),
                     csv_cell(names[static_cast<std::size_t>(e.labels[i])]), csv_cell(names[best]));
    for (std::size_t c = 0; c < k; ++c) s += fmt::format(",{}", p[c]);
    s += "\n";
  }
  return s;
}

}  // namespace

std::vector<std::string> eval_file_names(const std::string& suffix) {
  return {"eval" + suffix + ".json", "predictions" + suffix + ".csv", "roc" + suffix + ".svg", "confusion" + suffix + ".svg"};
}

nlohmann::json evaluate_and_write(Trainer& trainer, data::Loader& samples, const data::Dataset& ds, int positive,
                                  const EvalTarget& target) {
  const Evaluation e = trainer.evaluate(samples);
  CMT_CHECK(!e.labels.empty(), target.what << " has no samples to evaluate");
  const std::vector<std::string> names = ds.class_names();
  const int k = static_cast<int>(names.size());
  nlohmann::json m = metrics::evaluate(e.probs, e.labels, k, positive, names);
  m["fold"] = target.fold;
  m["dataset"] = ds.path();
  m["class_names"] = names;
  m["positive_class"] = names[static_cast<std::size_t>(positive)];
  std::vector<double> scores;
  std::vector<int> is_pos;
  for (std::size_t i = 0; i < e.labels.size(); ++i) {
    scores.push_back(e.probs[i * static_cast<std::size_t>(k) + static_cast<std::size_t>(positive)]);
    is_pos.push_back(e.labels[i] == positive);
  }
  m["predictions"] = {{"sample_ids", e.sample_ids}, {"labels", e.labels}, {"probs", json_floats(e.probs)}};
  m.update(target.extra);
  if (!target.write) return m;  // data parallelism: only rank 0 writes files
  const std::vector<std::string> files = eval_file_names(target.suffix);
  const fs::path dir(target.dir);
  write_text_atomic((dir / files[0]).string(), m.dump(2) + "\n");
  write_text_atomic((dir / files[1]).string(), predictions_csv(e, ds));
  const double auc = m["auc"].is_number() ? m["auc"].get<double>() : 0.0;
  write_roc_svg((dir / files[2]).string(), metrics::roc_curve(scores, is_pos), auc,
                fmt::format("ROC, {} vs rest, {}", names[static_cast<std::size_t>(positive)], target.what));
  write_confusion_svg((dir / files[3]).string(), m["confusion"].get<std::vector<std::vector<long long>>>(), names,
                      fmt::format("confusion matrix, {}", target.what));
  return m;
}

}  // namespace cmt::app
