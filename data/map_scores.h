// How well attention maps point at known lesions (docs/study.md, "Fig. 5 measured"): the pointing
// game and the share of map energy inside the lesion, per sample, over a set of samples with 95%
// confidence intervals, and two models compared on the same samples.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "data/dataset.h"
#include "data/maps_file.h"
#include "engine/metrics.h"
#include "engine/shape.h"

namespace cmt::data {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct SampleScore {
  std::int64_t sample = -1;    // dataset row
  bool hit = false;            // pointing game
  double energy_share = kNaN;  // sum(map inside the lesion) / sum(map); NaN for a map that sums to 0
  double lesion_fraction = 0;  // lesion voxels / voxels: what a uniform map's energy share would be
};

// One map against one mask, both (D, H, W) = `shape`, the map finite and >= 0, the mask 0/1 with at
// least one lesion voxel (each checked: cmt::Error otherwise).
// Pointing game: a hit when the map's maximum lies within `tolerance` voxels (Euclidean, in voxel
// units) of a lesion voxel; tolerance 0 asks for the maximum on the lesion itself. A maximum shared
// by several voxels is a hit only when every one of them is; so a constant map is a miss unless
// the lesion (grown by the tolerance) covers the whole image.
SampleScore score_map(const float* map, const std::uint8_t* mask, const Shape& shape, int tolerance);

// Mean, sample standard deviation (n - 1) and a two-sided 95% confidence interval.
struct Estimate {
  std::int64_t n = 0;
  double mean = kNaN, std = kNaN, ci_lo = kNaN, ci_hi = kNaN;
};
// The interval of a mean: mean -/+ t(0.975, n - 1) * std / sqrt(n). n < 2 leaves std and the interval NaN.
Estimate mean_with_ci(const std::vector<double>& values);
// The interval of a proportion hits / n: Wilson's score interval (stays inside [0, 1], sensible at 0 and n).
Estimate proportion_with_ci(std::int64_t hits, std::int64_t n);
// The quantile of Student's t with df degrees of freedom at probability q in (0.5, 1).
double student_t_quantile(double q, int df);

struct MapScores {
  std::vector<SampleScore> samples;          // every scored map, in the order given
  std::int64_t no_mask = 0, empty_mask = 0;  // maps not scored: their sample has no mask, or no lesion
  std::int64_t zero_maps = 0;                // scored maps that sum to 0 (pointing game only)
  Estimate hit_rate, energy_share, lesion_fraction;
};
// The aggregates of `samples` (their energy share over the maps that do not sum to 0).
MapScores summarize(std::vector<SampleScore> samples);

// Every map of `maps` against its sample's mask in `ds`. Throws cmt::Error naming the file: a map
// grid other than the dataset's, a sample index outside it, a map with NaN or negative values, a
// dataset without masks.
MapScores score_maps(const MapsFile& maps, const Dataset& ds, int tolerance);

// Model A against model B on the samples both scored (the same set is required).
struct PairedComparison {
  std::int64_t n = 0;  // paired samples (pointing game)
  std::int64_t both_hit = 0, a_only = 0, b_only = 0, neither = 0;
  double mcnemar_p = kNaN;    // exact McNemar (two-sided sign test on a_only vs b_only)
  std::int64_t energy_n = 0;  // pairs where neither map sums to 0
  double energy_mean_a = kNaN, energy_mean_b = kNaN;
  metrics::TTest energy_t{kNaN, 0, kNaN};  // paired t-test of A - B (NaN with fewer than 2 pairs)
};
PairedComparison compare_scores(const MapScores& a, const MapScores& b);
// Two-sided exact McNemar p-value: min(1, 2 * P(X <= min(b, c))) for X ~ Binomial(b + c, 1/2); 1 when b + c = 0.
double exact_mcnemar_p(std::int64_t a_only, std::int64_t b_only);

}  // namespace cmt::data
