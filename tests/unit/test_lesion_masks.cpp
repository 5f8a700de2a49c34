// Lesion masks: the phantom's masks cover exactly where its lesions change the image, NIfTI round
// trip, masks through ingest into the dataset (geometry, version, old files), and bad masks.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/ingest.h"
#include "data/map_scores.h"
#include "data/nifti.h"
#include "data/phantom.h"
#include "data/png_write.h"
#include "data/synth.h"
#include "support/testing.h"

using namespace cmt;
namespace fs = std::filesystem;

namespace {

data::Volume volume(int d, int h, int w) {
  data::Volume v;
  v.d = d;
  v.h = h;
  v.w = w;
  return v;
}

// The same patient with and without the lesions of `label` (anatomy and noise draws are shared; no
// distractor nodules below difficulty 0.25): where the images differ is where the lesions are.
struct Agreement {
  std::int64_t mask = 0, changed = 0, changed_outside_mask = 0, mask_unchanged = 0;
};
Agreement compare_with_normal(const data::Volume& with, const data::Volume& without, const data::Volume& mask) {
  Agreement a;
  for (std::size_t k = 0; k < mask.v.size(); ++k) {
    const bool m = mask.v[k] > 0.5f, changed = with.v[k] != without.v[k];
    a.mask += m;
    a.changed += changed;
    a.changed_outside_mask += changed && !m;
    a.mask_unchanged += m && !changed;
  }
  return a;
}

}  // namespace

TEST_CASE("phantom lesion masks mark where the lesions change the CT and the radiograph") {
  data::PhantomOptions opt;
  opt.seed = test::run_seed();
  opt.difficulty = 0.2;  // strength 0.86, no distractor nodules
  opt.ct_size[0] = opt.ct_size[1] = opt.ct_size[2] = 24;
  opt.xray_size[0] = opt.xray_size[1] = 48;
  for (std::int64_t index : {3, 7}) {
    for (int label : {1, 2}) {
      CAPTURE(index);
      CAPTURE(label);
      const data::Volume ct_mask = data::make_ct_lesion_mask(opt, index, label);
      const Agreement ct =
          compare_with_normal(data::make_ct_phantom(opt, index, label), data::make_ct_phantom(opt, index, 0), ct_mask);
      CHECK(ct.mask > 0);
      CHECK(ct.changed_outside_mask == 0);
      // A lesion's soft edge can change a voxel by less than a float step: a few mask voxels unchanged.
      CHECK(ct.mask_unchanged <= ct.mask / 100);
      const data::Volume xr_mask = data::make_xray_lesion_mask(opt, index, label);
      CHECK(xr_mask.d == 1);
      CHECK(xr_mask.h == 48);
      const Agreement xr =
          compare_with_normal(data::make_xray_phantom(opt, index, label), data::make_xray_phantom(opt, index, 0), xr_mask);
      CHECK(xr.mask > 0);
      CHECK(xr.changed_outside_mask == 0);
      CHECK(xr.mask_unchanged <= xr.mask / 20);  // a ray grazing a lesion's edge: a change below float resolution
      for (float v : ct_mask.v) CHECK((v == 0.f || v == 1.f));
    }
    const data::Volume normal = data::make_ct_lesion_mask(opt, index, 0);
    CHECK(std::all_of(normal.v.begin(), normal.v.end(), [](float v) { return v == 0.f; }));
  }
}

TEST_CASE("NIfTI masks: what write_nifti_u8 writes, read_nifti reads back in the same layout") {
  const fs::path dir = test::temp_dir("nifti-mask");
  data::Volume v = volume(3, 4, 5);
  v.spacing = {2.5, 0.75, 0.5};
  for (int k = 0; k < 60; ++k) v.v.push_back(static_cast<float>((k * 7) % 3 == 0));  // asymmetric along every axis
  for (const char* name : {"m.nii.gz", "m.nii"}) {
    data::write_nifti_u8((dir / name).string(), v);
    const data::Volume r = data::read_nifti((dir / name).string());
    CHECK(r.d == 3);
    CHECK(r.h == 4);
    CHECK(r.w == 5);
    CHECK(r.v == v.v);
    CHECK(r.spacing[0] == doctest::Approx(2.5));
    CHECK(r.spacing[1] == doctest::Approx(0.75));
    CHECK(r.spacing[2] == doctest::Approx(0.5));
  }
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 2);  // no temporary left
  fs::remove_all(dir);
}

TEST_CASE("masks through ingest: the synth manifest's masks reach the dataset on the image's grid") {
  const fs::path dir = test::temp_dir("mask-ingest");
  data::SynthOptions opt;
  opt.modality = "ct";
  opt.format = "png";
  opt.count = 6;
  opt.phantom.seed = test::run_seed();
  opt.phantom.difficulty = 0.1;
  opt.phantom.ct_size[0] = opt.phantom.ct_size[1] = opt.phantom.ct_size[2] = 12;
  data::write_synthetic(dir.string(), opt);
  const data::Discovery d = data::discover((dir / "ct" / "png").string(), "ct");
  REQUIRE(d.items.size() == 6);
  Context ctx;
  for (int size : {12, 8}) {  // the synth grid (no resampling), then a coarser one
    CAPTURE(size);
    data::Preprocess p;
    p.size = {size, size, size};
    const std::string out = (dir / (std::to_string(size) + "-ct.h5")).string();
    data::DatasetWriter w(out, "ct", d.class_names, Shape{size, size, size}, 1, true);
    std::vector<std::vector<std::uint8_t>> written;
    for (const auto& item : d.items) {
      REQUIRE(!item.mask.empty());
      bool hu = false;
      const data::Volume v = data::load_item(item, "ct", hu);
      const data::Volume m = data::load_mask(item, "ct", v);
      written.push_back(data::preprocess_mask(ctx, m, p));
      data::SampleMeta meta;
      meta.label =
          static_cast<std::int32_t>(std::find(d.class_names.begin(), d.class_names.end(), item.label) - d.class_names.begin());
      meta.patient_id = item.patient_id;
      const std::vector<float> x = data::preprocess(ctx, v, hu, p);
      // The last sample goes in without its mask.
      w.add(x.data(), meta, written.size() < d.items.size() ? written.back().data() : nullptr);
    }
    w.finish(2, 1);
    const data::Dataset ds = data::Dataset::open(out);
    REQUIRE(ds.has_masks());
    const auto flags = ds.mask_flags();
    const auto voxels = ds.mask_voxels();
    std::vector<std::uint8_t> mask(static_cast<std::size_t>(size * size * size));
    for (std::int64_t i = 0; i < ds.size(); ++i) {
      CAPTURE(i);
      const bool last = i == ds.size() - 1;
      CHECK(flags[static_cast<std::size_t>(i)] == (last ? 0 : 1));
      if (last) {
        CHECK(!ds.read_mask(i, mask.data()));
        CHECK(voxels[static_cast<std::size_t>(i)] == 0);
        continue;
      }
      REQUIRE(ds.read_mask(i, mask.data()));
      CHECK(mask == written[static_cast<std::size_t>(i)]);
      CHECK(std::count(mask.begin(), mask.end(), 1) == voxels[static_cast<std::size_t>(i)]);
      const std::string pid = ds.patient_ids()[static_cast<std::size_t>(i)];
      const std::int64_t index = std::stoll(pid.substr(1));
      const int label = ds.labels()[static_cast<std::size_t>(i)];
      // Normal patients have empty masks; at 8^3 a small opacity can cover under half a voxel and vanish.
      const bool normal = d.class_names[static_cast<std::size_t>(label)] == "normal";
      if (normal || size == 12) CHECK((voxels[static_cast<std::size_t>(i)] > 0) == !normal);
      if (size == 12) {  // no resampling: exactly the phantom's own mask
        const data::Volume truth = data::make_ct_lesion_mask(opt.phantom, index, data::phantom_label(index));
        for (std::size_t k = 0; k < mask.size(); ++k) REQUIRE(mask[k] == (truth.v[k] > 0.5f ? 1 : 0));
      }
    }
  }
  fs::remove_all(dir);
}

TEST_CASE("datasets without masks: version 1 files, no masks to read") {
  const fs::path dir = test::temp_dir("mask-none");
  const std::string out = (dir / "x.h5").string();
  {
    data::DatasetWriter w(out, "xray", {"a", "b"}, Shape{1, 2, 2}, 0);
    const float x[4] = {0.f, 0.25f, 0.5f, 1.f};
    const std::vector<std::string> patients{"P0", "P1"};
    for (int i = 0; i < 2; ++i) {
      data::SampleMeta m;
      m.label = i;
      m.patient_id = patients[static_cast<std::size_t>(i)];
      w.add(x, m);
    }
    std::uint8_t mask[4] = {0, 1, 0, 0};
    CHECK_THROWS_WITH_AS(w.add(x, data::SampleMeta{}, mask), doctest::Contains("opened without masks"), Error);
    w.finish(2, 0);
  }
  const data::Dataset ds = data::Dataset::open(out);
  CHECK(!ds.has_masks());
  CHECK(ds.mask_flags() == std::vector<std::uint8_t>{0, 0});
  std::uint8_t mask[4] = {7, 7, 7, 7};
  CHECK(!ds.read_mask(1, mask));
  CHECK(mask[0] == 7);
  {
    data::MapsWriter maps((dir / "maps.h5").string(), Shape{1, 2, 2}, {});
    maps.add(0, std::vector<float>(4, 1.f).data());
    maps.finish();
  }
  CHECK_THROWS_WITH_AS(data::score_maps(data::MapsFile::open((dir / "maps.h5").string()), ds, 0),
                       doctest::Contains("x.h5: the dataset holds no lesion masks"), Error);
  fs::remove_all(dir);
}

TEST_CASE("bad masks: a clear error naming the mask file") {
  const fs::path dir = test::temp_dir("mask-bad");
  data::Volume image = volume(1, 4, 6);
  image.v.assign(24, 0.5f);
  const auto png = [&](const std::string& name, int w, int h, std::vector<std::uint8_t> px) {
    data::write_png((dir / name).string(), w, h, 1, px);
    return data::SourceItem{"covid19", "P1", {(dir / "image.png").string()}, "image.png", (dir / name).string()};
  };
  std::vector<std::uint8_t> binary(24, 0);
  binary[7] = binary[8] = 255;
  const data::Volume ok = data::load_mask(png("ok.png", 6, 4, binary), "xray", image);
  CHECK(std::count(ok.v.begin(), ok.v.end(), 1.f) == 2);
  CHECK_THROWS_WITH_AS(data::load_mask(png("small.png", 4, 4, std::vector<std::uint8_t>(16, 0)), "xray", image),
                       doctest::Contains("small.png: size 1x4x4 (D, H, W) differs from the image's 1x4x6"), Error);
  std::vector<std::uint8_t> labels = binary;
  labels[9] = 128;
  CHECK_THROWS_WITH_AS(data::load_mask(png("labels.png", 6, 4, labels), "xray", image),
                       doctest::Contains("labels.png: not a binary mask (values 0, 255 and 128"), Error);
  data::SourceItem missing{"covid19", "P1", {}, "image.png", (dir / "gone.png").string()};
  CHECK_THROWS_WITH_AS(data::load_mask(missing, "xray", image), doctest::Contains("gone.png"), Error);

  // In a manifest: a missing mask file sets the row aside, naming the mask and the line.
  data::write_png((dir / "image.png").string(), 6, 4, 1, std::vector<std::uint8_t>(24, 9));
  std::ofstream(dir / "m.csv") << "path,label,patient_id,mask\nimage.png,covid19,P1,nowhere.png\n";
  const data::Discovery d = data::discover((dir / "m.csv").string(), "xray");
  CHECK(d.items.empty());
  REQUIRE(d.skipped.size() == 1);
  CHECK(d.skipped[0].second.find("nowhere.png") != std::string::npos);
  CHECK(d.skipped[0].second.find("m.csv:2") != std::string::npos);
  fs::remove_all(dir);
}
