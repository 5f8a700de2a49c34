// Pointing game, energy share, their intervals and the paired comparison of two models.
#include "data/map_scores.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "kernels/common/check.h"

namespace cmt::data {

namespace {

constexpr double kZ975 = 1.959963984540054;  // the standard normal's 0.975 quantile

// Whether voxel k lies within `tolerance` voxels (Euclidean) of a lesion voxel.
bool near_lesion(const std::uint8_t* mask, const Shape& shape, std::int64_t k, int tolerance) {
  if (mask[k]) return true;
  const std::int64_t d = shape[0], h = shape[1], w = shape[2];
  const std::int64_t z = k / (h * w), y = k / w % h, x = k % w, t = tolerance;
  for (std::int64_t dz = -t; dz <= t; ++dz)
    for (std::int64_t dy = -t; dy <= t; ++dy)
      for (std::int64_t dx = -t; dx <= t; ++dx) {
        const std::int64_t zz = z + dz, yy = y + dy, xx = x + dx;
        if (dz * dz + dy * dy + dx * dx > t * t || zz < 0 || zz >= d || yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        if (mask[(zz * h + yy) * w + xx]) return true;
      }
  return false;
}

}  // namespace

SampleScore score_map(const float* map, const std::uint8_t* mask, const Shape& shape, int tolerance) {
  CMT_CHECK(shape.rank() == 3 && shape.numel() > 0, "score_map: bad shape " << shape.str());
  CMT_CHECK(tolerance >= 0, "the pointing tolerance must be 0 or more voxels, got " << tolerance);
  const std::int64_t n = shape.numel();
  float peak = -INFINITY;
  double total = 0, inside = 0;
  std::int64_t lesion = 0;
  for (std::int64_t k = 0; k < n; ++k) {
    const float v = map[k];
    CMT_CHECK(std::isfinite(v) && v >= 0.f, "map value " << v << " at voxel " << k
                                                         << ": maps must be finite and non-negative "
                                                            "(Grad-CAM after its ReLU, attention weights)");
    CMT_CHECK(mask[k] <= 1, "mask value " << int{mask[k]} << " at voxel " << k << " is not 0 or 1");
    peak = std::max(peak, v);
    total += v;
    if (mask[k]) {
      inside += v;
      ++lesion;
    }
  }
  CMT_CHECK(lesion > 0, "the mask marks no lesion");
  SampleScore s;
  s.hit = true;
  for (std::int64_t k = 0; k < n && s.hit; ++k)
    if (map[k] == peak && !near_lesion(mask, shape, k, tolerance)) s.hit = false;
  s.energy_share = total > 0 ? inside / total : kNaN;
  s.lesion_fraction = static_cast<double>(lesion) / static_cast<double>(n);
  return s;
}

double student_t_quantile(double q, int df) {
  CMT_CHECK(q > 0.5 && q < 1 && df >= 1, "student_t_quantile: q in (0.5, 1) and df >= 1, got " << q << ", " << df);
  const double target = 2 * (1 - q);  // the two-sided p-value at the quantile
  double lo = 0, hi = 1;
  while (metrics::student_t_two_sided_p(hi, df) > target) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (metrics::student_t_two_sided_p(mid, df) > target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Estimate mean_with_ci(const std::vector<double>& values) {
  Estimate e;
  e.n = static_cast<std::int64_t>(values.size());
  if (values.empty()) return e;
  const metrics::MeanStd ms = metrics::mean_std(values);
  e.mean = ms.mean;
  if (e.n < 2) return e;
  e.std = ms.std;
  const double half = student_t_quantile(0.975, static_cast<int>(e.n - 1)) * ms.std / std::sqrt(static_cast<double>(e.n));
  e.ci_lo = ms.mean - half;
  e.ci_hi = ms.mean + half;
  return e;
}

Estimate proportion_with_ci(std::int64_t hits, std::int64_t n) {
  CMT_CHECK(hits >= 0 && hits <= n, "proportion_with_ci: " << hits << " of " << n);
  Estimate e;
  e.n = n;
  if (n == 0) return e;
  const double nn = static_cast<double>(n), p = static_cast<double>(hits) / nn, z2 = kZ975 * kZ975;
  e.mean = p;
  if (n >= 2) e.std = std::sqrt(p * (1 - p) * nn / (nn - 1));
  const double denom = 1 + z2 / nn, centre = (p + z2 / (2 * nn)) / denom;
  const double half = kZ975 * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
  e.ci_lo = std::max(0.0, centre - half);
  e.ci_hi = std::min(1.0, centre + half);
  return e;
}

double exact_mcnemar_p(std::int64_t a_only, std::int64_t b_only) {
  CMT_CHECK(a_only >= 0 && b_only >= 0, "exact_mcnemar_p: negative counts");
  const std::int64_t m = a_only + b_only, k = std::min(a_only, b_only);
  if (m == 0) return 1;
  double tail = 0;  // P(X <= k), X ~ Binomial(m, 1/2), summed in log space (m can be thousands)
  for (std::int64_t i = 0; i <= k; ++i)
    tail +=
        std::exp(std::lgamma(m + 1.0) - std::lgamma(i + 1.0) - std::lgamma(m - i + 1.0) - static_cast<double>(m) * std::log(2.0));
  return std::min(1.0, 2 * tail);
}

MapScores summarize(std::vector<SampleScore> samples) {
  MapScores r;
  r.samples = std::move(samples);
  std::int64_t hits = 0;
  std::vector<double> energy, fraction;
  for (const SampleScore& s : r.samples) {
    hits += s.hit;
    fraction.push_back(s.lesion_fraction);
    if (std::isnan(s.energy_share)) ++r.zero_maps;
    else energy.push_back(s.energy_share);
  }
  r.hit_rate = proportion_with_ci(hits, static_cast<std::int64_t>(r.samples.size()));
  r.energy_share = mean_with_ci(energy);
  r.lesion_fraction = mean_with_ci(fraction);
  return r;
}

MapScores score_maps(const MapsFile& maps, const Dataset& ds, int tolerance) {
  CMT_CHECK(ds.has_masks(),
            ds.path() << ": the dataset holds no lesion masks (give `cmt prepare` a manifest with a mask column)");
  const Shape shape = ds.sample_shape();
  CMT_CHECK(maps.sample_shape() == shape, maps.path() << ": maps of " << maps.sample_shape().str() << ", but the samples of "
                                                      << ds.path() << " are " << shape.str());
  const std::vector<std::int64_t> voxels = ds.mask_voxels();
  const std::vector<std::uint8_t> flags = ds.mask_flags();
  std::vector<float> map(static_cast<std::size_t>(shape.numel()));
  std::vector<std::uint8_t> mask(map.size());
  std::vector<SampleScore> scored;
  std::int64_t no_mask = 0, empty_mask = 0;
  for (std::int64_t k = 0; k < maps.size(); ++k) {
    const std::int64_t i = maps.sample_index()[static_cast<std::size_t>(k)];
    CMT_CHECK(i < ds.size(), maps.path() << ": map " << k << " is of sample " << i << ", but " << ds.path() << " has "
                                         << ds.size() << " samples");
    if (!flags[static_cast<std::size_t>(i)]) {
      ++no_mask;
      continue;
    }
    if (voxels[static_cast<std::size_t>(i)] == 0) {
      ++empty_mask;
      continue;
    }
    maps.read_map(k, map.data());
    ds.read_mask(i, mask.data());
    try {
      SampleScore s = score_map(map.data(), mask.data(), shape, tolerance);
      s.sample = i;
      scored.push_back(s);
    } catch (const Error& e) {
      CMT_THROW(maps.path() << ": the map of sample " << i << ": " << e.what());
    }
  }
  MapScores r = summarize(std::move(scored));
  r.no_mask = no_mask;
  r.empty_mask = empty_mask;
  return r;
}

PairedComparison compare_scores(const MapScores& a, const MapScores& b) {
  std::map<std::int64_t, const SampleScore*> in_b;
  for (const SampleScore& s : b.samples) in_b[s.sample] = &s;
  CMT_CHECK(a.samples.size() == b.samples.size(),
            "the two sets of maps score different samples (" << a.samples.size() << " and " << b.samples.size() << ")");
  PairedComparison c;
  std::vector<double> ea, eb;
  for (const SampleScore& sa : a.samples) {
    const auto it = in_b.find(sa.sample);
    CMT_CHECK(it != in_b.end(), "the two sets of maps score different samples (sample " << sa.sample << " in the first only)");
    const SampleScore& sb = *it->second;
    ++c.n;
    c.both_hit += sa.hit && sb.hit;
    c.a_only += sa.hit && !sb.hit;
    c.b_only += !sa.hit && sb.hit;
    c.neither += !sa.hit && !sb.hit;
    if (std::isnan(sa.energy_share) || std::isnan(sb.energy_share)) continue;
    ea.push_back(sa.energy_share);
    eb.push_back(sb.energy_share);
  }
  c.mcnemar_p = exact_mcnemar_p(c.a_only, c.b_only);
  c.energy_n = static_cast<std::int64_t>(ea.size());
  if (!ea.empty()) {
    c.energy_mean_a = metrics::mean_std(ea).mean;
    c.energy_mean_b = metrics::mean_std(eb).mean;
  }
  if (ea.size() >= 2) c.energy_t = metrics::paired_t_test(ea, eb);
  return c;
}

}  // namespace cmt::data
