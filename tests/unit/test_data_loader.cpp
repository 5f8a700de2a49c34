// Data path round trip on the CPU: phantoms -> ingest -> HDF5 -> Dataset -> Loader; folds; bad input.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/dataset.h"
#include "data/dicom.h"
#include "data/image_io.h"
#include "data/ingest.h"
#include "data/loader.h"
#include "data/phantom.h"
#include "data/synth.h"
#include "support/testing.h"

using namespace cmt;
namespace fs = std::filesystem;

namespace {

// Writes `count` X-ray phantoms, prepares them and returns the dataset path.
std::string make_dataset(const fs::path& dir, int count) {
  data::SynthOptions opt;
  opt.modality = "xray";
  opt.format = "png";
  opt.count = count;
  opt.phantom.seed = test::run_seed();
  opt.phantom.xray_size[0] = opt.phantom.xray_size[1] = 16;
  data::write_synthetic(dir.string(), opt);
  const data::Discovery d = data::discover((dir / "xray" / "png").string(), "xray");
  REQUIRE(d.items.size() == static_cast<std::size_t>(count));
  Context ctx;
  const std::string out = (dir / "x.h5").string();
  data::DatasetWriter w(out, "xray", d.class_names, Shape{1, 16, 16}, 1);
  data::Preprocess p;
  p.size = {1, 16, 16};
  for (const auto& item : d.items) {
    bool hu = false;
    const auto v = data::load_item(item, "xray", hu);
    const auto x = data::preprocess(ctx, v, hu, p);
    data::SampleMeta m;
    m.label = static_cast<std::int32_t>(std::find(d.class_names.begin(), d.class_names.end(), item.label) - d.class_names.begin());
    m.patient_id = item.patient_id;
    m.source_path = item.source;
    w.add(x.data(), m);
  }
  w.finish(4, 7);
  return out;
}

}  // namespace

TEST_CASE("phantoms are deterministic and the classes differ") {
  data::PhantomOptions opt;
  opt.seed = test::run_seed();
  const auto a = data::make_ct_phantom(opt, 3, 1), b = data::make_ct_phantom(opt, 3, 1);
  CHECK(a.v == b.v);
  const auto n = data::make_ct_phantom(opt, 3, 0);
  CHECK(a.v != n.v);
  // COVID-like lesions raise lung density: more voxels in the ground-glass range than in the normal scan.
  auto ggo = [](const data::Volume& v) { return std::count_if(v.v.begin(), v.v.end(), [](float h) { return h > -650 && h < -350; }); };
  CHECK(ggo(a) > ggo(n));
  const auto x = data::make_xray_phantom(opt, 3, 2);
  CHECK(x.d == 1);
  CHECK(*std::min_element(x.v.begin(), x.v.end()) >= 0.f);
  CHECK(*std::max_element(x.v.begin(), x.v.end()) <= 1.f);
}

TEST_CASE("prepare -> HDF5 -> loader: every sample, label and patient arrives; same seed, same batches") {
  const fs::path dir = test::temp_dir("loader");
  const std::string path = make_dataset(dir, 18);
  const data::Dataset ds = data::Dataset::open(path);
  CHECK(ds.size() == 18);
  CHECK(ds.sample_shape() == Shape{1, 16, 16});
  CHECK(ds.class_names() == std::vector<std::string>{"normal", "covid19", "pneumonia"});
  const auto labels = ds.labels();
  const auto pids = ds.patient_ids();
  for (int i = 0; i < 18; ++i) {  // patient P000i has class i % 3
    char pid[16];
    std::snprintf(pid, sizeof(pid), "P%04d", i);
    const int idx = static_cast<int>(std::find(pids.begin(), pids.end(), std::string(pid)) - pids.begin());
    REQUIRE(idx < 18);
    CHECK(labels[static_cast<std::size_t>(idx)] == i % 3);
  }
  // Folds: disjoint by patient, each class spread, train + held out = all.
  CHECK(ds.num_folds() == 4);
  std::set<std::int64_t> all;
  for (int f = 0; f < 4; ++f) {
    const auto held = ds.fold_indices(f, true), train = ds.fold_indices(f, false);
    CHECK(held.size() + train.size() == 18);
    all.insert(held.begin(), held.end());
  }
  CHECK(all.size() == 18);

  Context ctx;
  std::vector<std::int64_t> idx(18);
  for (int i = 0; i < 18; ++i) idx[static_cast<std::size_t>(i)] = i;
  data::LoaderConfig cfg;
  cfg.batch_size = 4;
  cfg.drop_last = false;
  cfg.seed = 11;
  data::Loader a(ds, idx, cfg, ctx), b(ds, idx, cfg, ctx);
  CHECK(a.batches_per_epoch() == 5);
  std::multiset<std::int64_t> seen;
  Batch ba, bb;
  std::vector<float> sample(256);
  while (a.next(ba)) {
    REQUIRE(b.next(bb));
    CHECK(ba.sample_ids == bb.sample_ids);
    CHECK(ba.images.to_vector<float>() == bb.images.to_vector<float>());
    const auto imgs = ba.images.to_vector<float>();
    for (std::size_t k = 0; k < ba.sample_ids.size(); ++k) {
      seen.insert(ba.sample_ids[k]);
      ds.read_sample(ba.sample_ids[k], sample.data());
      CHECK(std::equal(sample.begin(), sample.end(), imgs.begin() + static_cast<std::ptrdiff_t>(k * 256)));
      CHECK(ba.host_labels[k] == labels[static_cast<std::size_t>(ba.sample_ids[k])]);
      CHECK(ba.labels.to_vector<std::int32_t>()[k] == ba.host_labels[k]);
    }
  }
  CHECK(seen.size() == 18);
  CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 18);
  // A new epoch reshuffles; sharding gives disjoint rank slices.
  a.start_epoch(1);
  REQUIRE(a.next(ba));
  cfg.world_size = 2;
  const auto r0 = data::epoch_order(idx, cfg, 3);
  cfg.rank = 1;
  const auto r1 = data::epoch_order(idx, cfg, 3);
  CHECK(r0.size() == 9);
  std::set<std::int64_t> u(r0.begin(), r0.end());
  u.insert(r1.begin(), r1.end());
  CHECK(u.size() == 18);
  fs::remove_all(dir);
}

TEST_CASE("bad input: clear errors naming the file") {
  const fs::path dir = test::temp_dir("bad");
  std::ofstream(dir / "junk.png") << "\x89PNG\r\n\x1a\n" << "not really";
  CHECK_THROWS_WITH_AS(data::read_image((dir / "junk.png").string()), doctest::Contains("junk.png"), Error);
  std::ofstream(dir / "junk.dcm") << "nothing";
  CHECK_THROWS_WITH_AS(data::read_dicom((dir / "junk.dcm").string()), doctest::Contains("junk.dcm"), Error);
  CHECK_THROWS_WITH_AS(data::Dataset::open((dir / "junk.png").string()), doctest::Contains("not an HDF5 file"), Error);
  // 16-bit PNG and JPEG read back.
  std::vector<std::uint16_t> px(6 * 5);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint16_t>(i * 2000 + 7);
  data::write_png16((dir / "a.png").string(), 6, 5, px);
  const auto v = data::read_image((dir / "a.png").string());
  for (std::size_t i = 0; i < px.size(); ++i) CHECK(v.v[i] == static_cast<float>(px[i]));
  std::vector<std::uint8_t> g(16 * 8, 128);
  data::write_jpeg_grey((dir / "a.jpg").string(), 16, 8, g, 95);
  const auto j = data::read_image((dir / "a.jpg").string());
  CHECK(j.w == 16);
  CHECK(j.h == 8);
  for (float p : j.v) CHECK(std::abs(p - 128.f) <= 1.f);
  fs::remove_all(dir);
}
