// bench/ops: the basic op family (copy, fill, cast, axpy, sum) in GB/s against the copy bandwidth
// measured in the same run; on the GPU when present, else on the CPU backend.
#include <cstring>

#include "bench/common/timing.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

using namespace cmt;

int main(int argc, char** argv) {
  std::string device_arg = "auto";
  std::int64_t n = 64 << 20;  // 256 MB of f32: far beyond any L2
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) device_arg = argv[++i];
    else if (std::strcmp(argv[i], "--elements") == 0 && i + 1 < argc) n = std::stoll(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--device auto|cpu|cuda:N] [--elements N]\n", argv[0]);
      return 2;
    }
  }
  try {
    const Device device = resolve_device(device_arg);
    if (device.is_cpu() && device_arg == "auto") n = std::min<std::int64_t>(n, 16 << 20);
    Context ctx(device);
    Tensor x = Tensor::empty(Shape{n}, DType::f32, device);
    Tensor y = Tensor::empty(Shape{n}, DType::f32, device);
    ops::uniform_(ctx, x, 1, 1);
    ops::uniform_(ctx, y, 2, 1);
    const double bytes4 = static_cast<double>(n) * 4;
    auto run = [&](const std::function<void()>& fn) { return device.is_cuda() ? bench::time_device(ctx, fn) : bench::time_host(fn); };

    struct Row { std::string op; double bytes; bench::Timing t; };
    std::vector<Row> rows;
    rows.push_back({"copy", 2 * bytes4, run([&] { ops::copy(ctx, x, y); })});
    rows.push_back({"fill", bytes4, run([&] { ops::fill(ctx, y, 0.5); })});
    rows.push_back({"cast_f32_bf16", bytes4 * 1.5, run([&] { ops::cast(ctx, x, DType::bf16); })});
    rows.push_back({"axpy", 3 * bytes4, run([&] { ops::axpy(ctx, 0.5f, x, y); })});
    rows.push_back({"sum", bytes4, run([&] { ops::sum(ctx, x); })});

    nlohmann::json report = bench::report_header(ctx, "ops");
    report["elements"] = n;
    const double copy_gbs = rows[0].bytes / (rows[0].t.median_ms * 1e6);
    std::printf("%-16s %10s %10s %12s\n", "op", "ms", "GB/s", "% of copy");
    for (const Row& r : rows) {
      const double gbs = r.bytes / (r.t.median_ms * 1e6);
      std::printf("%-16s %10.3f %10.1f %11.1f%%\n", r.op.c_str(), r.t.median_ms, gbs, 100 * gbs / copy_gbs);
      report["rows"].push_back({{"op", r.op}, {"median_ms", r.t.median_ms}, {"min_ms", r.t.min_ms}, {"runs", r.t.runs},
                                {"gb_per_s", gbs}, {"fraction_of_copy", gbs / copy_gbs}});
    }
    bench::write_report(report, "ops");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_ops: %s\n", e.what());
    return 1;
  }
}
