// bench/augment: views per second and GB/s of the two-view augmentation for a batch of X-rays
// (64 x 512^2) and of CT volumes (8 x 128^3), per policy, against the copy bandwidth measured in
// the same run and against the CPU path (docs/augmentation.md).
#include <cstring>

#include "bench/common/timing.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/augment.h"
#include "engine/ops/basic.h"

using namespace cmt;

namespace {

struct Case {
  std::string name;
  std::int64_t n, d, s;  // batch, depth, side
};

std::vector<std::string> policies() {
  std::vector<std::string> p{"none", "genesis", "paper", "genesis,per_slice=1",
                             "genesis,fill=noise,poisson_prob=0.5,rotate_prob=0.5"};
  for (Transform t : kAllTransforms) p.emplace_back(transform_name(t));
  p.emplace_back("bezier+outpaint");
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_arg = "auto";
  std::int64_t xray_batch = 64, ct_batch = 8, xray_side = 512, ct_side = 128;
  bool cpu_compare = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) device_arg = argv[++i];
    else if (a == "--xray-batch" && i + 1 < argc) xray_batch = std::stoll(argv[++i]);
    else if (a == "--ct-batch" && i + 1 < argc) ct_batch = std::stoll(argv[++i]);
    else if (a == "--xray-side" && i + 1 < argc) xray_side = std::stoll(argv[++i]);
    else if (a == "--ct-side" && i + 1 < argc) ct_side = std::stoll(argv[++i]);
    else if (a == "--no-cpu") cpu_compare = false;
    else {
      std::fprintf(stderr, "usage: %s [--device auto|cpu|cuda:N] [--xray-batch N] [--ct-batch N] [--xray-side N] [--ct-side N] [--no-cpu]\n", argv[0]);
      return 2;
    }
  }
  try {
    const Device device = resolve_device(device_arg);
    if (device.is_cpu() && device_arg == "auto") {  // no GPU: a small CPU measurement
      xray_batch = std::min<std::int64_t>(xray_batch, 2);
      ct_batch = 1;
      ct_side = std::min<std::int64_t>(ct_side, 64);
      cpu_compare = false;
      std::printf("no GPU: measuring the CPU backend on a small batch\n");
    }
    Context ctx(device), host;
    auto run = [&](const std::function<void()>& fn) { return device.is_cuda() ? bench::time_device(ctx, fn) : bench::time_host(fn, 1, 3); };
    nlohmann::json report = bench::report_header(ctx, "augment");
    std::printf("%-6s %-52s %10s %12s %10s %10s\n", "data", "policy", "ms", "views/s", "GB/s", "% of copy");
    for (const Case& c : {Case{"xray", xray_batch, 1, xray_side}, Case{"ct", ct_batch, ct_side, ct_side}}) {
      Tensor x = Tensor::empty(Shape{c.n, c.d, c.s, c.s, 1}, DType::f32, device);
      ops::uniform_(ctx, x, 1, 1);
      std::vector<std::int64_t> ids(static_cast<std::size_t>(c.n));
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int64_t>(i);
      const double out_bytes = 2.0 * static_cast<double>(x.nbytes());  // two views
      // Baseline: copying the output's worth of bytes (read + write), same device, same run.
      Tensor src = Tensor::empty(Shape{2 * c.n, c.d, c.s, c.s, 1}, DType::f32, device);
      Tensor dst = Tensor::empty(src.shape(), DType::f32, device);
      const bench::Timing tc = run([&] { ops::copy(ctx, src, dst); });
      const double copy_gbs = 2 * out_bytes / (tc.median_ms * 1e6);
      std::printf("%-6s %-52s %10.3f %12s %10.1f %9.1f%%\n", c.name.c_str(), "(copy baseline)", tc.median_ms, "-", copy_gbs, 100.0);
      report["baseline"][c.name] = {{"copy_ms", tc.median_ms}, {"copy_gb_per_s", copy_gbs}};
      for (const std::string& spec : policies()) {
        const AugmentPolicy pol = AugmentPolicy::parse(spec);
        const bench::Timing t = run([&] { ops::augment_two_views(ctx, x, ids, pol, 7, 1, true); });
        const double gbs = 2 * out_bytes / (t.median_ms * 1e6), vps = 2.0 * static_cast<double>(c.n) / (t.median_ms * 1e-3);
        std::printf("%-6s %-52s %10.3f %12.0f %10.1f %9.1f%%\n", c.name.c_str(), spec.c_str(), t.median_ms, vps, gbs, 100 * gbs / copy_gbs);
        nlohmann::json row = {{"data", c.name}, {"policy", spec}, {"batch", c.n}, {"depth", c.d}, {"side", c.s},
                              {"median_ms", t.median_ms}, {"min_ms", t.min_ms}, {"runs", t.runs}, {"views_per_s", vps},
                              {"gb_per_s", gbs}, {"fraction_of_copy", gbs / copy_gbs}};
        if (cpu_compare && device.is_cuda() && (spec == "genesis" || spec == "none")) {
          // The CPU path on one sample, scaled to views per second.
          Tensor hx = x.narrow(0, 1).to(Device::cpu());
          const bench::Timing th = bench::time_host([&] { ops::augment_two_views(host, hx, {0}, pol, 7, 1, true); }, 1, 3);
          row["cpu_views_per_s"] = 2.0 / (th.median_ms * 1e-3);
          std::printf("%-6s %-52s %10.3f %12.0f %10s %10s\n", c.name.c_str(), ("  cpu backend, 1 sample: " + spec).c_str(),
                      th.median_ms, 2.0 / (th.median_ms * 1e-3), "-", "-");
        }
        report["rows"].push_back(row);
      }
    }
    bench::write_report(report, "augment");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_augment: %s\n", e.what());
    return 1;
  }
}
