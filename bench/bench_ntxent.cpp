// bench/ntxent: NT-Xent forward+backward time and peak memory for 2N x d against a materialised
// cuBLAS baseline (full 2N x 2N similarity matrix, GEMMs + softmax kernel) measured in the same run.
#include <cmath>
#include <cstring>
#include <sstream>

#include "bench/common/timing.h"
#include "engine/allocator.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#include "engine/ops/ntxent.h"
#if defined(CMT_WITH_CUDA)
#include "kernels/ntxent.h"
#endif

using namespace cmt;

namespace {

std::vector<std::int64_t> parse_list(const std::string& s) {
  std::vector<std::int64_t> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(std::stoll(item));
  return v;
}

struct Measured {
  bench::Timing t;
  double peak_mb = 0;
  float loss = 0;
};

// Runs `step` (which returns the loss tensor) in a fresh context: peak memory of one step beyond the
// inputs, then the timing.
template <typename Step>
Measured measure(Device device, PrecisionPolicy precision, int warmup, int runs, Step step) {
  Context ctx(device, precision);
  CachingAllocator& alloc = allocator_for(device);
  const std::size_t before = alloc.stats().bytes_in_use;
  alloc.reset_peak();
  Measured m;
  m.loss = ops::item(step(ctx));
  m.peak_mb = static_cast<double>(alloc.stats().peak_bytes_in_use - before) / (1 << 20);
  auto fn = [&] { step(ctx); };
  m.t = device.is_cuda() ? bench::time_device(ctx, fn, warmup, runs) : bench::time_host(fn, warmup, runs);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_arg = "auto";
  // The default sweep fits tests/gpu/run.sh's 2 minutes on an H100; --full runs the whole grid of docs/ntxent.md.
  std::vector<std::int64_t> rows_list = {16, 128, 1024, 8192}, dims = {128, 4096};
  bool largest = true;  // plus 2N = 65,536 at d = 4,096, the case the materialised version cannot run
  float tau = 0.1f;
  [[maybe_unused]] double materialised_limit_gb = 16;  // read on CUDA only
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) device_arg = argv[++i];
    else if (a == "--rows" && i + 1 < argc) rows_list = parse_list(argv[++i]), largest = false;
    else if (a == "--dims" && i + 1 < argc) dims = parse_list(argv[++i]), largest = false;
    else if (a == "--full") rows_list = {16, 128, 1024, 8192, 65536}, dims = {128, 2048, 4096}, largest = false;
    else if (a == "--tau" && i + 1 < argc) tau = std::stof(argv[++i]);
    else if (a == "--materialised-limit-gb" && i + 1 < argc) materialised_limit_gb = std::stod(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--device auto|cpu|cuda:N] [--rows 16,128,...] [--dims 128,2048,...] [--tau T]"
                           " [--full] [--materialised-limit-gb G]\n", argv[0]);
      return 2;
    }
  }
  try {
    const Device device = resolve_device(device_arg);
    if (device.is_cpu() && device_arg == "auto") {
      std::printf("no GPU: a small CPU measurement only (2N=128, d=128)\n");
      rows_list = {128};
      dims = {128};
      largest = false;
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> sizes;
    for (std::int64_t rows : rows_list)
      for (std::int64_t dim : dims) sizes.emplace_back(rows, dim);
    if (largest) sizes.emplace_back(65536, 4096);
    Context setup(device);
    nlohmann::json report = bench::report_header(setup, "ntxent");
    report["tau"] = tau;
    std::printf("forward+backward (ntxent_forward_backward) in fp32 and tf32, forward alone, and the materialised baseline\n");
    std::printf("%7s %6s | %10s %8s %9s | %10s %9s | %8s | %10s %8s %9s | %7s\n", "2N", "d", "cmt ms", "TFLOP/s", "peak MB",
                "tf32 ms", "TFLOP/s", "fwd ms", "base ms", "TFLOP/s", "peak MB", "speedup");
    for (const auto& [rows, dim] : sizes) {
      Tensor r = Tensor::empty(Shape{rows, dim}, DType::f32, device);
      ops::normal_(setup, r, 7, static_cast<std::uint32_t>(rows + dim));
      setup.synchronize();
      // Forward 2 R^2 d, backward three GEMMs of the same size.
      const double flops = 8.0 * static_cast<double>(rows) * static_cast<double>(rows) * static_cast<double>(dim);
      const int runs = flops > 1e12 ? 3 : flops > 1e10 ? 10 : 20;
      const int warmup = flops > 1e12 ? 1 : 3;
      auto cmt_step = [&](Context& ctx) { return ops::ntxent_forward_backward(ctx, r, tau, 1.f).result.loss; };
      const Measured fp32 = measure(device, PrecisionPolicy{}, warmup, runs, cmt_step);
      const Measured tf32 = measure(device, PrecisionPolicy::parse("tf32"), warmup, runs, cmt_step);
      const Measured fwd = measure(device, PrecisionPolicy{}, warmup, runs,
                                   [&](Context& ctx) { return ops::ntxent_forward(ctx, r, tau).loss; });
      auto entry = [](const Measured& m) {
        return nlohmann::json{{"median_ms", m.t.median_ms}, {"min_ms", m.t.min_ms}, {"peak_mb", m.peak_mb}, {"loss", m.loss}};
      };
      nlohmann::json row = {{"rows", rows}, {"dim", dim}, {"flops", flops}, {"cmt_fp32", entry(fp32)},
                            {"cmt_tf32", entry(tf32)}, {"cmt_forward_only", entry(fwd)}};
      const double tflops = flops / (fp32.t.median_ms * 1e9), tf32_tflops = flops / (tf32.t.median_ms * 1e9);
      const double matrix_gb = static_cast<double>(rows) * static_cast<double>(rows) * 4 / 1e9;
      bool have_base = false;
      Measured base;
#if defined(CMT_WITH_CUDA)
      if (device.is_cuda() && matrix_gb <= materialised_limit_gb) {
        // The baseline: the whole 2N x 2N matrix at once (one stripe), fp32 cuBLAS, forward from the same pass.
        have_base = true;
        base = measure(device, PrecisionPolicy{}, warmup, runs, [&](Context& ctx) {
          NtXentDesc d;
          d.rows_local = d.rows_total = rows;
          d.dim = dim;
          d.tau = tau;
          Tensor dr = Tensor::empty(r.shape(), DType::f32, device), da = Tensor::empty(r.shape(), DType::f32, device);
          Tensor rl = Tensor::empty(Shape{rows}, DType::f32, device), ps = Tensor::empty(Shape{rows}, DType::f32, device);
          Tensor loss = Tensor::empty(Shape{1}, DType::f32, device);
          void* ws = ctx.workspace(cuda::ntxent_backward_workspace_bytes(d, rows));
          cuda::ntxent_backward(d, r.data<float>(), r.data<float>(), 1.f, dr.data<float>(), da.data<float>(), ws,
                                ctx.cublas(), false, ctx.compute_stream(), rows, rl.data<float>(), ps.data<float>());
          ops::axpy(ctx, 1.f, dr, da);
          cuda::ntxent_loss_sum(rl.data<float>(), rows, rows, loss.data<float>(), ctx.compute_stream());
          return loss;
        });
        // Check before trusting the times: both compute the same loss.
        if (std::fabs(base.loss - fp32.loss) > 1e-3f * std::fabs(base.loss) + 1e-4f)
          std::fprintf(stderr, "WARNING 2N=%lld d=%lld: cmt loss %.6f vs baseline %.6f\n", static_cast<long long>(rows),
                       static_cast<long long>(dim), fp32.loss, base.loss);
        row["baseline_materialised"] = entry(base);
      }
#endif
      if (have_base)
        std::printf("%7lld %6lld | %10.3f %8.2f %9.1f | %10.3f %9.2f | %8.3f | %10.3f %8.2f %9.1f | %6.2fx\n",
                    static_cast<long long>(rows), static_cast<long long>(dim), fp32.t.median_ms, tflops, fp32.peak_mb,
                    tf32.t.median_ms, tf32_tflops, fwd.t.median_ms, base.t.median_ms, flops / (base.t.median_ms * 1e9), base.peak_mb,
                    base.t.median_ms / fp32.t.median_ms);
      else
        std::printf("%7lld %6lld | %10.3f %8.2f %9.1f | %10.3f %9.2f | %8.3f | %10s %8s %9s | (matrix %.1f GB)\n",
                    static_cast<long long>(rows), static_cast<long long>(dim), fp32.t.median_ms, tflops, fp32.peak_mb,
                    tf32.t.median_ms, tf32_tflops, fwd.t.median_ms, "-", "-", "-", matrix_gb);
      std::fflush(stdout);
      report["rows"].push_back(row);
      allocator_for(device).empty_cache();
    }
    bench::write_report(report, "ntxent");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_ntxent: %s\n", e.what());
    return 1;
  }
}
