// Scores of attention maps against lesion masks as `cmt explain-score` prints and writes them.
#include "apps/map_score_report.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "apps/text_file.h"
#include "data/dataset_identity.h"
#include "data/map_scores.h"

namespace cmt::app {

namespace {

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json estimate_json(const data::Estimate& e) {
  return {{"n", e.n}, {"mean", number(e.mean)}, {"std", number(e.std)}, {"ci95", {number(e.ci_lo), number(e.ci_hi)}}};
}

nlohmann::json scores_json(const data::MapsFile& maps, const data::MapScores& s) {
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& x : s.samples)
    samples.push_back(
        {{"sample", x.sample}, {"hit", x.hit}, {"energy_share", number(x.energy_share)}, {"lesion_fraction", x.lesion_fraction}});
  return {{"maps", maps.path()},
          {"run", maps.info().run},
          {"method", maps.info().method},
          {"scored", s.samples.size()},
          {"no_mask", s.no_mask},
          {"empty_mask", s.empty_mask},
          {"zero_maps", s.zero_maps},
          {"pointing_game", estimate_json(s.hit_rate)},
          {"energy_share", estimate_json(s.energy_share)},
          {"lesion_fraction", estimate_json(s.lesion_fraction)},
          {"samples", samples}};
}

void print_scores(const data::MapsFile& maps, const data::MapScores& s) {
  const auto label = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
  fmt::print("{} (run {}, method {}): {} maps, {} scored; not scored: {} without a lesion, {} without a mask\n", maps.path(),
             label(maps.info().run), label(maps.info().method), maps.size(), s.samples.size(), s.empty_mask, s.no_mask);
  const data::Estimate& h = s.hit_rate;
  const auto hits = std::count_if(s.samples.begin(), s.samples.end(), [](const data::SampleScore& x) { return x.hit; });
  fmt::print("  pointing game  {:.3f} ({} of {} hit)  95% CI {:.3f} to {:.3f}\n", h.mean, hits, h.n, h.ci_lo, h.ci_hi);
  const data::Estimate& e = s.energy_share;
  fmt::print("  energy share   {:.3f} (sd {:.3f}, n {})  95% CI {:.3f} to {:.3f}{}\n", e.mean, e.std, e.n, e.ci_lo, e.ci_hi,
             s.zero_maps ? fmt::format("; {} maps that sum to 0 left out", s.zero_maps) : "");
  fmt::print("  lesion share   {:.3f} (the energy share of a uniform map)\n", s.lesion_fraction.mean);
}

// Maps name the dataset they were computed on: another file than the one given (same grid, other
// samples) would score them against the wrong masks. A file no longer there is not checked.
void warn_other_dataset(const data::MapsFile& maps, const std::string& dataset) {
  const std::string& named = maps.info().dataset;
  if (named.empty() || !std::filesystem::is_regular_file(named)) return;
  if (data::identify_dataset(named) == data::identify_dataset(dataset)) return;
  fmt::print(stderr,
             "WARNING: {} was computed on {}, another file than {}: its maps are scored by sample index, so the two must "
             "hold the same samples in the same order\n",
             maps.path(), named, dataset);
}

}  // namespace

void report_map_scores(const MapScoreRequest& a) {
  const data::Dataset ds = data::Dataset::open(a.dataset);
  const data::MapsFile maps = data::MapsFile::open(a.maps);
  warn_other_dataset(maps, a.dataset);
  const data::MapScores scores = data::score_maps(maps, ds, a.tolerance);
  fmt::print("lesion masks of {}, pointing tolerance {} voxels\n", a.dataset, a.tolerance);
  print_scores(maps, scores);
  nlohmann::json out{{"dataset", a.dataset}, {"tolerance", a.tolerance}, {"a", scores_json(maps, scores)}};
  if (!a.compare.empty()) {
    const data::MapsFile other = data::MapsFile::open(a.compare);
    warn_other_dataset(other, a.dataset);
    const data::MapScores b = data::score_maps(other, ds, a.tolerance);
    print_scores(other, b);
    data::PairedComparison c;
    try {
      c = data::compare_scores(scores, b);
    } catch (const Error& e) {
      CMT_THROW(a.maps << " and " << a.compare << ": " << e.what());
    }
    fmt::print("A ({}) against B ({}) on {} samples\n", a.maps, a.compare, c.n);
    fmt::print("  pointing game  both hit {}, A only {}, B only {}, neither {}: exact McNemar p = {:.4g}\n", c.both_hit, c.a_only,
               c.b_only, c.neither, c.mcnemar_p);
    fmt::print("  energy share   A {:.3f}, B {:.3f} (n {}): paired t = {:.3f}, df {}, p = {:.4g}\n", c.energy_mean_a,
               c.energy_mean_b, c.energy_n, c.energy_t.t, c.energy_t.df, c.energy_t.p);
    out["b"] = scores_json(other, b);
    out["paired"] = {{"n", c.n},
                     {"pointing_game",
                      {{"both_hit", c.both_hit},
                       {"a_only", c.a_only},
                       {"b_only", c.b_only},
                       {"neither", c.neither},
                       {"mcnemar_p", number(c.mcnemar_p)}}},
                     {"energy_share",
                      {{"n", c.energy_n},
                       {"mean_a", number(c.energy_mean_a)},
                       {"mean_b", number(c.energy_mean_b)},
                       {"t", number(c.energy_t.t)},
                       {"df", c.energy_t.df},
                       {"p", number(c.energy_t.p)}}}};
  }
  if (!a.json.empty()) write_text_atomic(a.json, out.dump(2) + "\n");
}

}  // namespace cmt::app
