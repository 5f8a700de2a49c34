// `cmt ablate`: the paper's ablations (4.4) on one fold: lambda sweep chosen on validation accuracy
// (lambda = 0 is classification only), contrastive-only pretraining followed by a linear probe on
// frozen features (across folds: `cmt cv --probe`), and the Fig. 4 grid of single transformations
// and ordered pairs, drawn as a heatmap of the accuracy gain.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/plots.h"
#include "apps/probe.h"
#include "apps/run_setup.h"
#include "engine/augment_policy.h"

namespace cmt::app {

namespace {

namespace fs = std::filesystem;

struct AblateArgs {
  RunConfigOptions config;
  std::string mode;  // lambda | probe | grid
  std::string transforms = "bezier,shuffle,poisson,inpaint,outpaint,rotate,flip";
  std::vector<float> lambdas{0.f, 0.25f, 0.5f, 0.75f, 1.f};
  bool both_branches = false;  // grid: transform both views (default: one, SimCLR's protocol)
};

double accuracy_of(const RunConfig& c) {
  const FoldResult r = train_fold(c, "");
  CMT_CHECK(r.status == TrainStatus::finished, "interrupted by a signal");
  return r.metrics.value("accuracy", 0.0);
}

RunConfig variant(const RunConfig& base, const std::string& name) {
  RunConfig c = base;
  c.out = (fs::path(base.out) / name).string();
  return c;
}

void save(const fs::path& path, const nlohmann::json& j) { std::ofstream(path) << j.dump(2) << "\n"; }

// The paper picks lambda on validation accuracy (4.1): each lambda trains on the training folds less a
// validation part, and the held-out fold only reports the chosen lambda's (and, for reference, every) score.
int run_lambda(RunConfig base, const std::vector<float>& lambdas) {
  if (base.val_fraction <= 0) {
    base.val_fraction = 0.2;
    std::fprintf(stderr, "cmt ablate lambda: choosing lambda on a validation part of the training folds (--val-fraction 0.2)\n");
  }
  nlohmann::json out;
  int chosen = -1;
  double chosen_val = -1;
  std::printf("%-8s %14s %14s\n", "lambda", "val accuracy", "test accuracy");
  for (float l : lambdas) {
    RunConfig c = variant(base, fmt::format("lambda{}", l));
    c.lambda = l;
    const FoldResult r = train_fold(c, "");
    CMT_CHECK(r.status == TrainStatus::finished, "interrupted by a signal");
    const double val = r.validation.value("accuracy", 0.0), test = r.metrics.value("accuracy", 0.0);
    if (val > chosen_val) {
      chosen_val = val;
      chosen = static_cast<int>(out["lambda"].size());
    }
    out["lambda"].push_back(l);
    out["val_accuracy"].push_back(val);
    out["accuracy"].push_back(test);
    std::printf("%-8.2f %13.2f%% %13.2f%%\n", l, 100 * val, 100 * test);
  }
  out["val_fraction"] = base.val_fraction;
  out["chosen_lambda"] = out["lambda"][static_cast<std::size_t>(chosen)];
  out["chosen_test_accuracy"] = out["accuracy"][static_cast<std::size_t>(chosen)];
  std::printf("chosen on validation: lambda = %.2f (held-out accuracy %.2f%%)\n", out["chosen_lambda"].get<double>(),
              100 * out["chosen_test_accuracy"].get<double>());
  save(fs::path(base.out) / "lambda.json", out);
  return kOk;
}

int run_probe(const RunConfig& base) {
  const FoldResult probe = pretrain_and_probe(base, variant(base, "contrastive").out, variant(base, "probe").out);
  CMT_CHECK(probe.status == TrainStatus::finished, "interrupted by a signal");
  const double probe_acc = probe.metrics.value("accuracy", 0.0);
  RunConfig baseline = variant(base, "classification-only");
  baseline.lambda = 0.f;
  const double base_acc = accuracy_of(baseline);
  std::printf("classification only (lambda = 0):          %.2f%%\n", 100 * base_acc);
  std::printf("contrastive only + linear probe (frozen F): %.2f%%\n", 100 * probe_acc);
  save(fs::path(base.out) / "probe.json", {{"classification_only", base_acc}, {"contrastive_linear_probe", probe_acc}});
  return kOk;
}

// Fig. 4: the gain in accuracy of each single transformation (diagonal) and ordered pair (row T1,
// column T2) over the baseline (lambda = 0, no augmentation). SimCLR's protocol (one branch
// transformed, the other the identity) unless both_branches. A last row trains each column's
// transformation without the contrastive loss (lambda = 0), separating the augmentation's effect on
// L_cls from the contrastive one; a last column averages each row, as the paper's figure does.
int run_grid(const RunConfig& base, const std::string& list, bool both_branches) {
  std::vector<std::string> names;
  std::stringstream ss(list);
  for (std::string t; std::getline(ss, t, ',');) {
    transform_from_name(t);  // validates the name
    names.push_back(t);
  }
  CMT_CHECK(!names.empty(), "--transforms: no transformation named");
  const std::string protocol = both_branches ? "" : ",one_branch=1";
  RunConfig baseline = variant(base, "baseline");
  baseline.lambda = 0.f;
  baseline.augment = "none";
  const double base_acc = accuracy_of(baseline);
  const std::size_t k = names.size();
  std::vector<std::vector<double>> gain(k + 1, std::vector<double>(k + 1, std::nan("")));
  nlohmann::json out = {{"baseline_accuracy", base_acc},
                        {"transforms", names},
                        {"protocol", both_branches ? "both branches transformed" : "one branch transformed (SimCLR)"}};
  auto cell = [&](std::size_t row, std::size_t col, const std::string& policy, float lambda, const std::string& key) {
    RunConfig c = variant(base, "grid-" + key);
    c.augment = policy + protocol;
    c.lambda = lambda;
    const double acc = accuracy_of(c);
    gain[row][col] = 100 * (acc - base_acc);
    out["accuracy"][key] = acc;
    std::fprintf(stderr, "cmt ablate: %-24s accuracy %.2f%% (gain %+.2f points)\n", key.c_str(), 100 * acc, gain[row][col]);
  };
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) {
      // Diagonal: the single transformation; (i, j): T1 = names[i] then T2 = names[j].
      const std::string policy = i == j ? names[i] : names[i] + "+" + names[j];
      cell(i, j, policy, base.lambda, policy);
    }
  for (std::size_t j = 0; j < k; ++j) cell(k, j, names[j], 0.f, "no-contrastive-" + names[j]);
  for (auto& row : gain) {
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) sum += row[j];
    row[k] = sum / static_cast<double>(k);
  }
  out["gain_points"] = gain;
  std::vector<std::string> rows = names, cols = names;
  rows.push_back("no L_cst");
  cols.push_back("average");
  out["rows"] = rows;
  out["columns"] = cols;
  save(fs::path(base.out) / "grid.json", out);
  write_heatmap_svg((fs::path(base.out) / "grid.svg").string(), gain, rows, cols,
                    fmt::format("accuracy gain over the baseline ({:.1f}%), points: row T1, column T2", 100 * base_acc));
  std::printf("wrote %s/grid.json and grid.svg\n", base.out.c_str());
  return kOk;
}

int run_ablate(const AblateArgs& a) {
  RunConfig base = a.config.validated();
  fs::create_directories(base.out);
  if (a.mode == "lambda") return run_lambda(base, a.lambdas);
  if (a.mode == "probe") return run_probe(base);
  return run_grid(base, a.transforms, a.both_branches);
}

void setup_ablate(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("ablate", "Ablations on one fold: lambda sweep, contrastive-only + linear probe, Fig. 4 grid");
  auto args = std::make_shared<AblateArgs>();
  cmd->add_option("MODE", args->mode, "lambda | probe | grid")->required()->check(CLI::IsMember({"lambda", "probe", "grid"}));
  args->config.add_to(*cmd);
  cmd->add_option("--transforms", args->transforms, "grid: comma-separated transformations (default: all seven)");
  cmd->add_option("--lambdas", args->lambdas, "lambda: the values to try")->delimiter(',');
  cmd->add_flag("--both-branches", args->both_branches, "grid: transform both views (default: one view, SimCLR's protocol)");
  cmd->callback([&action, args] { action = [args] { return run_ablate(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(62, "ablate", setup_ablate);

}  // namespace cmt::app
