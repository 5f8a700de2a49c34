// Benchmark timing and the JSON report (bench/common/timing.h).
#include "bench/common/timing.h"

#include <filesystem>
#include <fstream>

#include "engine/cuda_runtime.h"
#include "engine/tensor.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt::bench {

namespace {
Timing summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.runs = static_cast<int>(ms.size());
  t.min_ms = ms.front();
  t.max_ms = ms.back();
  t.median_ms = ms[ms.size() / 2];
  t.p90_ms = ms[(9 * ms.size() + 9) / 10 - 1];  // nearest rank: the ceil(0.9 n)-th smallest
  return t;
}
}  // namespace

Timing time_host(const std::function<void()>& fn, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return summarize(ms);
}

Timing time_device(Context& ctx, const std::function<void()>& fn, int warmup, int runs) {
#if defined(CMT_WITH_CUDA)
  // A buffer larger than any L2 (H200: 60 MB) written before each run evicts the operands.
  Tensor flush = Tensor::empty(Shape{256 << 20}, DType::u8, ctx.device());
  cudaStream_t s = ctx.compute_stream();
  for (int i = 0; i < warmup; ++i) fn();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    CUDA_CHECK(cudaMemsetAsync(flush.raw(), i & 0xff, flush.nbytes(), s));
    CUDA_CHECK(cudaEventRecord(start, s));
    fn();
    CUDA_CHECK(cudaEventRecord(stop, s));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float elapsed = 0;
    CUDA_CHECK(cudaEventElapsedTime(&elapsed, start, stop));
    ms.push_back(elapsed);
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return summarize(ms);
#else
  (void)ctx;
  return time_host(fn, warmup, runs);
#endif
}

std::string result_path(const std::string& name) {
  const char* out = std::getenv("OUT");
  std::filesystem::path dir = out && *out ? std::filesystem::path(out) : std::filesystem::path("bench-results");
  std::filesystem::create_directories(dir);
  return (dir / (name + ".json")).string();
}

nlohmann::json report_header(Context& ctx, const std::string& bench_name) {
  nlohmann::json j;
  j["bench"] = bench_name;
  j["device"] = ctx.device().str();
  for (const auto& o : build_options()) j["build"][o.name] = o.value;
  for (const auto& l : library_versions()) j["libraries"][l.name] = l.value;
  for (const auto& d : cuda_devices())
    if (ctx.is_cuda() && d.index == ctx.device().index) {
      j["card"] = d.name;
      j["sm"] = std::to_string(d.cc_major) + std::to_string(d.cc_minor);
    }
  return j;
}

void write_report(const nlohmann::json& report, const std::string& name) {
  const std::string path = result_path(name);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << report.dump(2) << "\n";
  }
  std::filesystem::rename(tmp, path);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace cmt::bench
