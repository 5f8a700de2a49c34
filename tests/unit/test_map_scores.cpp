// Attention-map scores against lesion masks: hand-checked pointing game (ties, tolerance), energy
// share, intervals and paired tests (values from scipy 1.10 and by hand, in the comments), and the
// maps file written and scored end to end. tests/oracle/test_map_scores.py cross-checks random maps.
#include <cmath>
#include <filesystem>

#include "data/map_scores.h"
#include "support/testing.h"

using namespace cmt;
namespace fs = std::filesystem;

namespace {
const Shape k3x3{1, 3, 3};
}  // namespace

TEST_CASE("pointing game and energy share on a 3x3 image") {
  // map          mask
  // 0 1 0        0 0 0
  // 0 5 2        0 1 0
  // 0 0 2        0 0 0
  const float map[9] = {0, 1, 0, 0, 5, 2, 0, 0, 2};
  const std::uint8_t mask[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  const data::SampleScore s = data::score_map(map, mask, k3x3, 0);
  CHECK(s.hit);
  CHECK(s.energy_share == doctest::Approx(5.0 / 10.0));
  CHECK(s.lesion_fraction == doctest::Approx(1.0 / 9.0));
  // The lesion moved to the corner: the maximum (centre) misses it, and 2 of 10 is inside.
  const std::uint8_t corner[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
  const data::SampleScore c = data::score_map(map, corner, k3x3, 0);
  CHECK(!c.hit);
  CHECK(c.energy_share == doctest::Approx(0.2));
  CHECK(data::score_map(map, corner, k3x3, 1).hit == false);  // the corner is sqrt(2) from the centre
  CHECK(data::score_map(map, corner, k3x3, 2).hit);
}

TEST_CASE("pointing game: ties count only when every maximum is on the lesion; tolerance is Euclidean") {
  const float tied[9] = {3, 0, 0, 0, 0, 0, 0, 0, 3};
  const std::uint8_t one[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::uint8_t both[9] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(!data::score_map(tied, one, k3x3, 0).hit);
  CHECK(data::score_map(tied, both, k3x3, 0).hit);
  // A constant map: every voxel is a maximum; a miss unless the lesion covers everything.
  const float flat[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(!data::score_map(flat, both, k3x3, 0).hit);
  CHECK(data::score_map(flat, both, k3x3, 2).hit);  // grown by 2 voxels the corners reach every voxel (centre: sqrt(2))
  const data::SampleScore zero = data::score_map(std::vector<float>(9, 0.f).data(), one, k3x3, 0);
  CHECK(std::isnan(zero.energy_share));
  CHECK(!zero.hit);
  // 3D, along z: the maximum two slices above the lesion.
  std::vector<float> map(27, 0.f);
  std::vector<std::uint8_t> mask(27, 0);
  map[2 * 9 + 4] = 1;   // (z 2, y 1, x 1)
  mask[0 * 9 + 4] = 1;  // (z 0, y 1, x 1)
  CHECK(!data::score_map(map.data(), mask.data(), Shape{3, 3, 3}, 1).hit);
  CHECK(data::score_map(map.data(), mask.data(), Shape{3, 3, 3}, 2).hit);
}

TEST_CASE("score_map refuses negative or NaN maps, empty and non-binary masks") {
  float map[9] = {0, 1, 0, 0, 5, 2, 0, 0, 2};
  std::uint8_t mask[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  map[3] = -0.5f;
  CHECK_THROWS_WITH_AS(data::score_map(map, mask, k3x3, 0), doctest::Contains("map value -0.5 at voxel 3"), Error);
  map[3] = NAN;
  CHECK_THROWS_WITH_AS(data::score_map(map, mask, k3x3, 0), doctest::Contains("at voxel 3"), Error);
  map[3] = 0;
  mask[4] = 2;
  CHECK_THROWS_WITH_AS(data::score_map(map, mask, k3x3, 0), doctest::Contains("mask value 2"), Error);
  mask[4] = 0;
  CHECK_THROWS_WITH_AS(data::score_map(map, mask, k3x3, 0), doctest::Contains("marks no lesion"), Error);
  mask[4] = 1;
  CHECK_THROWS_WITH_AS(data::score_map(map, mask, k3x3, -1), doctest::Contains("tolerance"), Error);
}

TEST_CASE("intervals: Student's t quantile, mean and Wilson proportion intervals") {
  CHECK(data::student_t_quantile(0.975, 1) == doctest::Approx(12.706204736).epsilon(1e-9));  // scipy.stats.t.ppf
  CHECK(data::student_t_quantile(0.975, 10) == doctest::Approx(2.2281388519649385).epsilon(1e-9));
  const data::Estimate m = data::mean_with_ci({1, 2, 3, 4});  // 2.5 -/+ 3.182446 * 1.290994 / 2
  CHECK(m.n == 4);
  CHECK(m.mean == doctest::Approx(2.5));
  CHECK(m.std == doctest::Approx(1.2909944487));
  CHECK(m.ci_lo == doctest::Approx(0.445739743239121));
  CHECK(m.ci_hi == doctest::Approx(4.5542602567608785));
  const data::Estimate one = data::mean_with_ci({0.3});
  CHECK(one.mean == doctest::Approx(0.3));
  CHECK(std::isnan(one.ci_lo));
  const data::Estimate p = data::proportion_with_ci(3, 4);  // Wilson: (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
  CHECK(p.mean == doctest::Approx(0.75));
  CHECK(p.ci_lo == doctest::Approx(0.30064184258240184));
  CHECK(p.ci_hi == doctest::Approx(0.9544127391902995));
  CHECK(data::proportion_with_ci(4, 4).ci_lo == doctest::Approx(0.5101091635454027));
  CHECK(data::proportion_with_ci(4, 4).ci_hi == 1.0);
  CHECK(data::proportion_with_ci(0, 5).ci_hi == doctest::Approx(0.43448246478317476));
  CHECK(data::proportion_with_ci(0, 5).ci_lo == 0.0);
}

TEST_CASE("exact McNemar: two-sided binomial tail of the discordant pairs") {
  CHECK(data::exact_mcnemar_p(0, 4) == doctest::Approx(0.125));          // 2 / 16
  CHECK(data::exact_mcnemar_p(1, 5) == doctest::Approx(14.0 / 64.0));    // 2 (1 + 6) / 64
  CHECK(data::exact_mcnemar_p(10, 2) == doctest::Approx(158.0 / 4096));  // 2 (1 + 12 + 66) / 4096
  CHECK(data::exact_mcnemar_p(3, 3) == 1.0);
  CHECK(data::exact_mcnemar_p(0, 0) == 1.0);
  CHECK(data::exact_mcnemar_p(2000, 2000) == 1.0);  // large counts stay finite
  CHECK(data::exact_mcnemar_p(0, 2000) < 1e-300);
}

TEST_CASE("paired comparison of two models over the same samples") {
  const auto score = [](std::int64_t i, bool hit, double e) { return data::SampleScore{i, hit, e, 0.1}; };
  // A: hits on 0, 1, 2; B: hits on 2, 3. Energy A 0.5 0.6 0.7 0.4, B 0.3 0.5 0.2 0.4 (B listed in another order).
  const data::MapScores a =
      data::summarize({score(0, true, 0.5), score(1, true, 0.6), score(2, true, 0.7), score(3, false, 0.4)});
  const data::MapScores b =
      data::summarize({score(3, true, 0.4), score(2, true, 0.2), score(1, false, 0.5), score(0, false, 0.3)});
  CHECK(a.hit_rate.mean == doctest::Approx(0.75));
  const data::PairedComparison c = data::compare_scores(a, b);
  CHECK(c.n == 4);
  CHECK(c.both_hit == 1);
  CHECK(c.a_only == 2);
  CHECK(c.b_only == 1);
  CHECK(c.neither == 0);
  CHECK(c.mcnemar_p == doctest::Approx(1.0));  // 2 (1 + 3) / 8 = 1
  CHECK(c.energy_n == 4);
  CHECK(c.energy_t.t == doctest::Approx(1.851640199545103));  // scipy.stats.ttest_rel
  CHECK(c.energy_t.df == 3);
  CHECK(c.energy_t.p == doctest::Approx(0.16116184721351942));
  // A map that sums to 0 leaves its pair out of the energy test only.
  const data::MapScores z =
      data::summarize({score(3, true, NAN), score(2, true, 0.2), score(1, false, 0.5), score(0, false, 0.3)});
  CHECK(z.zero_maps == 1);
  CHECK(z.energy_share.n == 3);
  CHECK(data::compare_scores(a, z).energy_n == 3);
  const data::MapScores other =
      data::summarize({score(0, true, 0.5), score(1, true, 0.6), score(2, true, 0.7), score(4, false, 0.4)});
  CHECK_THROWS_WITH_AS(data::compare_scores(a, other), doctest::Contains("sample 3 in the first only"), Error);
}

TEST_CASE("maps file: written, read back and scored against a dataset's masks") {
  const fs::path dir = test::temp_dir("maps");
  const std::string ds_path = (dir / "d.h5").string(), maps_path = (dir / "maps.h5").string();
  // Three samples of 1x3x3: a lesion in the centre, none, and no mask at all.
  const std::uint8_t centre[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, none[9] = {};
  {
    data::DatasetWriter w(ds_path, "xray", {"normal", "covid19"}, k3x3, 0, true);
    const float x[9] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};
    data::SampleMeta m;
    m.label = 1;
    m.patient_id = "A";
    w.add(x, m, centre);
    m.label = 0;
    m.patient_id = "B";
    w.add(x, m, none);
    m.patient_id = "C";
    w.add(x, m, nullptr);
    w.finish(1, 0);
  }
  const float map[9] = {0, 1, 0, 0, 5, 2, 0, 0, 2};
  {
    data::MapsWriter w(maps_path, k3x3, {"runs/a", "grad-cam", ds_path});
    for (std::int64_t i : {2, 0, 1}) w.add(i, map);
    CHECK_THROWS_WITH_AS(w.add(0, map), doctest::Contains("sample 0 has a map already"), Error);
    CHECK(!fs::exists(maps_path));  // only complete files appear under the name
    w.finish();
  }
  const data::MapsFile maps = data::MapsFile::open(maps_path);
  CHECK(maps.info().run == "runs/a");
  CHECK(maps.info().method == "grad-cam");
  CHECK(maps.sample_index() == std::vector<std::int64_t>{2, 0, 1});
  std::vector<float> back(9);
  maps.read_map(1, back.data());
  CHECK(back == std::vector<float>(map, map + 9));
  const data::Dataset ds = data::Dataset::open(ds_path);
  const data::MapScores s = data::score_maps(maps, ds, 0);
  REQUIRE(s.samples.size() == 1);
  CHECK(s.samples[0].sample == 0);
  CHECK(s.samples[0].hit);
  CHECK(s.samples[0].energy_share == doctest::Approx(0.5));
  CHECK(s.no_mask == 1);
  CHECK(s.empty_mask == 1);
  // Maps on another grid, and a sample the dataset lacks, are refused naming the file.
  {
    data::MapsWriter w((dir / "wide.h5").string(), Shape{1, 3, 4}, {});
    w.add(0, std::vector<float>(12, 1.f).data());
    w.finish();
  }
  CHECK_THROWS_WITH_AS(data::score_maps(data::MapsFile::open((dir / "wide.h5").string()), ds, 0),
                       doctest::Contains("wide.h5: maps of [1, 3, 4], but the samples of"), Error);
  {
    data::MapsWriter w((dir / "far.h5").string(), k3x3, {});
    w.add(5, map);
    w.finish();
  }
  CHECK_THROWS_WITH_AS(data::score_maps(data::MapsFile::open((dir / "far.h5").string()), ds, 0),
                       doctest::Contains("far.h5: map 0 is of sample 5"), Error);
  CHECK_THROWS_WITH_AS(data::MapsFile::open(ds_path), doctest::Contains("not an attention-map file"), Error);
  fs::remove_all(dir);
}
