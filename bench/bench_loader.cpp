// `cmt_bench_loader [--count N] [--size S] [--batch B]`: loader throughput (samples/s, MB/s) from a
// phantom CT dataset, to the device when a GPU is present, else to host memory.
#include <fmt/core.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "data/dataset.h"
#include "data/ingest.h"
#include "data/loader.h"
#include "data/synth.h"
#include "engine/cuda_runtime.h"

using namespace cmt;

int main(int argc, char** argv) {
  int count = 48, size = 64, batch = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--count") count = std::atoi(argv[i + 1]);
    if (a == "--size") size = std::atoi(argv[i + 1]);
    if (a == "--batch") batch = std::atoi(argv[i + 1]);
  }
  const auto dir = std::filesystem::temp_directory_path() / ("cmt-bench-loader-" + std::to_string(::getpid()));
  data::SynthOptions opt;
  opt.modality = "ct";
  opt.format = "dicom";
  opt.count = count;
  opt.phantom.ct_size[0] = opt.phantom.ct_size[1] = opt.phantom.ct_size[2] = size;
  data::write_synthetic(dir.string(), opt);
  Context host;
  const data::Discovery d = data::discover((dir / "ct" / "dicom").string(), "ct");
  const std::string path = (dir / "ct.h5").string();
  {
    data::DatasetWriter w(path, "ct", d.class_names, Shape{size, size, size}, 1);
    data::Preprocess p;
    p.size = {size, size, size};
    for (const auto& item : d.items) {
      bool hu = false;
      const auto v = data::load_item(item, "ct", hu);
      data::SampleMeta m;
      m.patient_id = item.patient_id;
      m.label = static_cast<std::int32_t>(std::find(d.class_names.begin(), d.class_names.end(), item.label) - d.class_names.begin());
      w.add(data::preprocess(host, v, hu, p).data(), m);
    }
    w.finish(5, 0);
  }
  const data::Dataset ds = data::Dataset::open(path);
  Context ctx(default_device());
  std::vector<std::int64_t> idx(static_cast<std::size_t>(ds.size()));
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<std::int64_t>(i);
  data::LoaderConfig cfg;
  cfg.batch_size = batch;
  data::Loader loader(ds, idx, cfg, ctx);
  Batch b;
  std::int64_t samples = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < 3; ++epoch) {
    loader.start_epoch(epoch);
    while (loader.next(b)) samples += b.images.dim(0);
  }
  ctx.synchronize();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double mb = static_cast<double>(samples) * size * size * size * 4 / 1e6;
  fmt::print("loader to {}: {} samples of {}^3 in {:.3f} s: {:.1f} samples/s, {:.1f} MB/s (batch {})\n", ctx.device().str(), samples,
             size, s, samples / s, mb / s, batch);
  std::filesystem::remove_all(dir);
  return 0;
}
