// `cmt explain-score --maps MAPS.h5 --dataset DS.h5 [--compare MAPS_B.h5]`: how well attention maps
// point at the dataset's lesion masks (data/map_scores.h; docs/study.md, "Fig. 5 measured").
#include <memory>

#include "apps/commands.h"
#include "apps/map_score_report.h"

namespace cmt::app {

namespace {

void setup_explain_score(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("explain-score", "Score attention maps against the lesion masks of a dataset");
  auto a = std::make_shared<MapScoreRequest>();
  cmd->add_option("--maps", a->maps, "The attention-map file (docs/dataset-format.md)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--dataset", a->dataset, "The dataset with lesion masks the maps were computed on")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--compare", a->compare, "A second map file on the same samples: paired comparison A against B")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tolerance", a->tolerance, "Pointing game: voxels the maximum may lie from the lesion (default 0)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--json", a->json, "Also write every score and test to this JSON file");
  cmd->callback([&action, a] {
    action = [a] {
      report_map_scores(*a);
      return kOk;
    };
  });
}

}  // namespace

CMT_REGISTER_COMMAND(67, "explain-score", setup_explain_score);

}  // namespace cmt::app
