// bench/conv: fprop, dgrad and wgrad of every distinct conv of the 2D/3D backbones, native against
// cuDNN in the same run and precision, in TFLOP/s and % of a cuBLAS GEMM ceiling measured here;
// depthwise in GB/s against the copy bandwidth. On the CPU: every layer on cmt's own fast path and on
// oneDNN (bench/compare/conv_cpu.py adds PyTorch). On the
// emulated device (emu/): each pass once, tensor-core work and the emulator's access counters.
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

#include "bench/common/gemm_ceiling.h"
#include "bench/common/timing.h"
#include "engine/allocator.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#include "engine/ops/conv.h"
#include "models/backbone_convs.h"
#if defined(CMT_WITH_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif
#if defined(CMT_EMULATED)
#include "emu/counters.h"
#endif

using namespace cmt;

namespace {

struct Args {
  std::string device = "auto", precision = "both", dims = "both";
  std::vector<int> batch3d{8, 16};
  int batch2d = 64, res3d = 128, res2d = 512, runs = 5;
  double budget_s = 170;  // stop starting new layers after this long (keeps a default run ~3 min)
  bool quick = false, list = false, sized = false;  // sized: a batch or resolution was given
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&] {
      CMT_CHECK(i + 1 < argc, argv[i] << " needs a value");
      return std::string(argv[++i]);
    };
    const std::string s = argv[i];
    if (s == "--device") a.device = next();
    else if (s == "--precision") a.precision = next();
    else if (s == "--dims") a.dims = next();
    else if (s == "--batch3d") a.batch3d = {std::stoi(next())}, a.sized = true;
    else if (s == "--batch2d") a.batch2d = std::stoi(next()), a.sized = true;
    else if (s == "--res3d") a.res3d = std::stoi(next()), a.sized = true;
    else if (s == "--res2d") a.res2d = std::stoi(next()), a.sized = true;
    else if (s == "--runs") a.runs = std::stoi(next());
    else if (s == "--budget-s") a.budget_s = std::stod(next());
    else if (s == "--quick") a.quick = true;
    else if (s == "--list") a.list = true;
    else
      CMT_THROW("usage: cmt_bench_conv [--quick] [--list] [--device auto|cpu|cuda:N] [--precision tf32|bf16|both] [--dims 2|3|both] "
                "[--batch3d N] [--batch2d N] [--res3d N] [--res2d N] [--runs N] [--budget-s S]");
  }
  if (a.quick) {  // sized for tests/gpu/run.sh (120 s for the whole step)
    a.batch3d = {8}, a.res3d = std::min(a.res3d, 64), a.res2d = std::min(a.res2d, 256), a.batch2d = std::min(a.batch2d, 32);
    a.budget_s = std::min(a.budget_s, 60.0), a.runs = std::min(a.runs, 3);
  }
  return a;
}

struct Problem {
  std::string name;
  Shape x, w;
  ops::ConvParams p;
};

// The layer list, interleaved across (dims, net) so that a run cut short by the time budget still
// covers every backbone; --quick keeps every third layer of each list (and every depthwise one of
// every second).
std::vector<Problem> problems(const Args& a) {
  std::vector<std::vector<Problem>> lists;
  auto add = [&](bool three_d, int n, int res) {
    std::map<std::string, std::vector<Problem>> by_net;
    std::map<std::string, int> seen;
    for (const models::ConvLayer& l : models::backbone_layers(res)) {
      if (l.pooled) continue;  // squeeze-excitation 1x1 convs on pooled vectors are GEMV-sized
      Problem pr;
      pr.name = std::string(l.net) + (three_d ? " 3d" : " 2d") + " n" + std::to_string(n) + " " + std::to_string(l.in) + "^" +
                (three_d ? "3" : "2") + " C" + std::to_string(l.C) + " K" + std::to_string(l.K) + " k" + std::to_string(l.k) +
                " s" + std::to_string(l.stride) + (l.groups > 1 ? " dw" : "");
      pr.x = Shape{n, three_d ? l.in : 1, l.in, l.in, l.C};
      pr.w = Shape{l.K, three_d ? l.k : 1, l.k, l.k, l.C / l.groups};
      pr.p.stride = {three_d ? l.stride : 1, l.stride, l.stride};
      pr.p.padding = {three_d ? l.k / 2 : 0, l.k / 2, l.k / 2};
      pr.p.groups = l.groups;
      const int i = seen[std::string(l.net) + (l.groups > 1 ? " dw" : "")]++;
      if (!a.quick || (l.groups > 1 ? i % 2 == 0 : i % 3 == 0)) by_net[l.net].push_back(pr);
    }
    for (auto& [net, list] : by_net) lists.push_back(std::move(list));
  };
  if (a.dims != "2")
    for (int n : a.batch3d) add(true, n, a.res3d);
  if (a.dims != "3") add(false, a.batch2d, a.res2d);
  std::vector<Problem> out;
  for (std::size_t i = 0;; ++i) {
    bool any = false;
    for (const auto& l : lists)
      if (i < l.size()) out.push_back(l[i]), any = true;
    if (!any) break;
  }
  return out;
}

// The CPU backends per layer: every pass of every listed layer on cmt's own fast path and on oneDNN
// (when built with it), host medians, and "auto": the timing of the path the default choice takes.
// bench/compare/conv_cpu.py times PyTorch on the same rows.
int run_cpu(const Args& a) {
  Context ctx(Device::cpu());
  nlohmann::json report = bench::report_header(ctx, "conv");
  std::vector<ops::CpuConvBackend> backends{ops::CpuConvBackend::native};
#if defined(CMT_WITH_ONEDNN)
  backends.push_back(ops::CpuConvBackend::onednn);
#endif
  const ops::CpuConvBackend saved = ops::cpu_conv_backend();
  const auto start = std::chrono::steady_clock::now();
  std::printf("%-58s %-7s %10s %10s %10s %9s\n", "layer (CPU, ms)", "backend", "fprop", "dgrad", "wgrad", "GFLOP/s");
  bool first_row = true;
  for (const auto& pr : problems(a)) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > a.budget_s) {
      std::printf("(time budget of %.0f s spent: later layers not timed)\n", a.budget_s);
      break;
    }
    const ConvDesc d = ops::conv_desc(pr.x, pr.w, pr.p);
    Tensor x = Tensor::empty(pr.x, DType::f32), w = Tensor::empty(pr.w, DType::f32);
    Tensor dy = Tensor::empty(Shape{d.N, d.Z, d.P, d.Q, d.K}, DType::f32);
    ops::uniform_(ctx, x, 1, 1), ops::uniform_(ctx, w, 1, 2), ops::uniform_(ctx, dy, 1, 3);
    nlohmann::json row = {{"layer", pr.name},
                          {"x", std::vector<std::int64_t>(pr.x.begin(), pr.x.end())},
                          {"w", std::vector<std::int64_t>(pr.w.begin(), pr.w.end())},
                          {"stride", pr.p.stride},
                          {"padding", pr.p.padding},
                          {"groups", pr.p.groups},
                          {"flops", d.flops()}};
    if (first_row) {
      // Untimed passes on every path first: the process's first convolutions also pay for the
      // thread team's start and the first JIT kernels (the first row read 100x slower without it).
      for (const auto b : backends) {
        ops::set_cpu_conv_backend(b);
        for (int i = 0; i < 3; ++i) {
          ops::conv_forward(ctx, x, w, Tensor(), pr.p);
          ops::conv_backward_data(ctx, dy, w, pr.x, pr.p);
          ops::conv_backward_weight(ctx, x, dy, pr.w, pr.p);
        }
      }
      first_row = false;
    }
    for (const auto b : backends) {
      ops::set_cpu_conv_backend(b);
      const double f = bench::time_host([&] { ops::conv_forward(ctx, x, w, Tensor(), pr.p); }, 1, a.runs).median_ms;
      const double g = bench::time_host([&] { ops::conv_backward_data(ctx, dy, w, pr.x, pr.p); }, 1, a.runs).median_ms;
      const double h = bench::time_host([&] { ops::conv_backward_weight(ctx, x, dy, pr.w, pr.p); }, 1, a.runs).median_ms;
      std::printf("%-58s %-7s %10.3f %10.3f %10.3f %9.1f\n", pr.name.c_str(), ops::cpu_conv_backend_name(b), f, g, h,
                  3 * d.flops() / (f + g + h) / 1e6);
      row[ops::cpu_conv_backend_name(b)] = {{"fprop_ms", f}, {"dgrad_ms", g}, {"wgrad_ms", h}};
    }
#if defined(CMT_WITH_ONEDNN)
    // The default (automatic) choice per pass, from the two timings above.
    ops::set_cpu_conv_backend(ops::CpuConvBackend::automatic);
    for (const auto pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad}) {
      const std::string key = std::string(conv_pass_name(pass)) + "_ms";
      const char* from = ops::cpu_conv_uses_onednn(pass, d) ? "onednn" : "native";
      row["auto"][key] = row[from][key];
      row["auto"][std::string(conv_pass_name(pass)) + "_path"] = from;
    }
#endif
    report["cpu_rows"].push_back(row);
  }
  ops::set_cpu_conv_backend(saved);
  report["plans"] = ops::conv_plan_report();
  bench::write_report(report, "conv");
  return 0;
}

}  // namespace

#if defined(CMT_WITH_CUDA)
namespace {

using bench::random_tensor;

double copy_gbs(Context& ctx) {
  const std::int64_t n = std::int64_t{1} << 28;  // 1 GiB of f32
  Tensor a = Tensor::empty(Shape{n}, DType::f32, ctx.device()), b = Tensor::empty(Shape{n}, DType::f32, ctx.device());
  ops::fill(ctx, a, 1.0);
  const auto t = bench::time_device(ctx, [&] { ops::copy(ctx, a, b); }, 2, 10);
  return 2.0 * 4 * static_cast<double>(n) / (t.median_ms * 1e6);
}

Tensor run_pass(Context& ctx, ConvPass pass, const Problem& pr, const Tensor& x, const Tensor& w, const Tensor& dy) {
  switch (pass) {
    case ConvPass::fprop: return ops::conv_forward(ctx, x, w, Tensor(), pr.p);
    case ConvPass::dgrad: return ops::conv_backward_data(ctx, dy, w, pr.x, pr.p);
    case ConvPass::wgrad: return ops::conv_backward_weight(ctx, x, dy, pr.w, pr.p);
  }
  return {};
}

// Native against cuDNN on a small copy of the layer (N=2, spatial <= 12): max |a-b| / max |b|.
double check_layer(Context& ctx, ConvPass pass, Problem pr, DType t) {
  const bool three_d = pr.x[1] > 1;
  const std::int64_t s = std::min<std::int64_t>(pr.x[2], 12);
  pr.x = Shape{2, three_d ? s : 1, s, s, pr.x[4]};
  const ConvDesc d = ops::conv_desc(pr.x, pr.w, pr.p);
  Tensor x = random_tensor(ctx, pr.x, t, 11), w = random_tensor(ctx, pr.w, t, 12);
  Tensor dy = random_tensor(ctx, Shape{d.N, d.Z, d.P, d.Q, d.K}, t, 13);
  ops::set_conv_backend(ops::ConvBackend::native);
  const auto a = run_pass(ctx, pass, pr, x, w, dy).to_float_vector();
  std::vector<float> b;
  try {  // cuDNN may not support a shape (its errors are not ours): NaN means "not compared"
    ops::set_conv_backend(ops::ConvBackend::cudnn);
    b = run_pass(ctx, pass, pr, x, w, dy).to_float_vector();
  } catch (const std::exception&) {
    return std::nan("");
  }
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(double(a[i]) - b[i])), scale = std::max(scale, std::fabs(double(b[i])));
  return diff / std::max(scale, 1e-30);
}

int run_gpu(const Args& a, Device device) {
  Context ctx(device);
  nlohmann::json report = bench::report_header(ctx, "conv");
  const auto t0 = std::chrono::steady_clock::now();
  const double copy = copy_gbs(ctx);
  report["copy_gb_per_s"] = copy;
  std::vector<std::string> precs;
  for (const char* p : {"tf32", "bf16"})
    if (a.precision == "both" || a.precision == p) precs.push_back(p);
  std::map<std::string, double> ceiling, log_sum, log_sum_dw;
  std::map<std::string, int> count, count_dw;
  for (const auto& prec : precs) {
    ctx.precision = PrecisionPolicy::parse(prec);
    ceiling[prec] = bench::gemm_ceiling_tflops(ctx);
    report["gemm_ceiling_tflops"][prec] = ceiling[prec];
    std::printf("cuBLAS GEMM ceiling %s: %.1f TFLOP/s\n", prec.c_str(), ceiling[prec]);
  }
  const auto list = problems(a);
  std::printf("copy bandwidth %.0f GB/s; %zu layers x 3 passes x %zu precisions\n%-50s %-4s %-5s %9s %9s %7s %6s %7s %8s\n", copy,
              list.size(), precs.size(), "layer", "prec", "pass", "native ms", "cudnn ms", "TFLOP/s", "%ceil", "x cudnn", "check");
  bool out_of_time = false;
  for (const Problem& pr : list) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > a.budget_s) {
      out_of_time = true;
      break;
    }
    const ConvDesc d = ops::conv_desc(pr.x, pr.w, pr.p);
    for (const auto& prec : precs) try {
      ctx.precision = PrecisionPolicy::parse(prec);
      const bool bf16 = prec == "bf16";
      const DType t = bf16 ? DType::bf16 : DType::f32;
      Tensor x = random_tensor(ctx, pr.x, t, 1), w = random_tensor(ctx, pr.w, t, 2);
      Tensor dy = random_tensor(ctx, Shape{d.N, d.Z, d.P, d.Q, d.K}, t, 3);
      double dw_native = 0, dw_cudnn = 0;
      for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad}) {
        const double err = check_layer(ctx, pass, pr, t);
        const bool ok = !(err >= (bf16 ? 3e-2 : 1e-2));  // NaN: cuDNN could not run it
        ops::set_conv_backend(ops::ConvBackend::native);
        const double tn = bench::time_device(ctx, [&] { run_pass(ctx, pass, pr, x, w, dy); }, 2, a.runs).median_ms;
        double tc = std::nan("");
        try {
          ops::set_conv_backend(ops::ConvBackend::cudnn);
          tc = bench::time_device(ctx, [&] { run_pass(ctx, pass, pr, x, w, dy); }, 2, a.runs).median_ms;
        } catch (const std::exception& e) {
          report["cudnn_failures"].push_back({{"layer", pr.name}, {"precision", prec}, {"pass", conv_pass_name(pass)}, {"error", e.what()}});
          ctx.synchronize();
        }
        const double tflops = d.flops() / (tn * 1e9), ratio = tc / tn;
        nlohmann::json row = {{"layer", pr.name}, {"precision", prec}, {"pass", conv_pass_name(pass)}, {"native_ms", tn},
                              {"cudnn_ms", tc}, {"native_tflops", tflops}, {"cudnn_tflops", d.flops() / (tc * 1e9)},
                              {"fraction_of_gemm_ceiling", tflops / ceiling[prec]}, {"native_over_cudnn_speed", ratio},
                              {"check_max_rel_diff", err}, {"check_ok", ok}};
        if (d.depthwise()) {
          const double bytes = static_cast<double>(d.x_elems() + d.y_elems() + d.w_elems()) * dtype_size(t);
          row["native_gb_per_s"] = bytes / (tn * 1e6);
          row["fraction_of_copy"] = bytes / (tn * 1e6) / copy;
          dw_native += tn, dw_cudnn += tc;  // NaN when cuDNN failed: the layer drops out of the mean
        } else if (std::isfinite(ratio)) {
          log_sum[prec] += std::log(ratio), ++count[prec];
        }
        std::printf("%-50s %-4s %-5s %9.3f %9.3f %7.1f %5.1f%% %7.2f %8s\n", pr.name.c_str(), prec.c_str(), conv_pass_name(pass), tn,
                    tc, tflops, 100 * tflops / ceiling[prec], ratio, std::isnan(err) ? "no-cudnn" : ok ? "ok" : "MISMATCH");
        report["rows"].push_back(row);
      }
      if (d.depthwise() && std::isfinite(dw_cudnn)) log_sum_dw[prec] += std::log(dw_cudnn / dw_native), ++count_dw[prec];
    } catch (const std::exception& e) {  // e.g. a shape cuDNN does not support: record it, go on
      std::printf("%-50s %-4s FAILED: %s\n", pr.name.c_str(), prec.c_str(), e.what());
      report["failures"].push_back({{"layer", pr.name}, {"precision", prec}, {"error", e.what()}});
      ctx.synchronize();
    }
    device_allocator(ctx.device().index).empty_cache();  // big layers follow small ones: no hoarding
  }
  for (const auto& prec : precs) {
    const double gm = count[prec] ? std::exp(log_sum[prec] / count[prec]) : 0;
    const double gm_dw = count_dw[prec] ? std::exp(log_sum_dw[prec] / count_dw[prec]) : 0;
    std::printf("%s geometric mean native/cuDNN speed: %.2f over %d dense passes; depthwise fwd+bwd %.2f over %d layers\n",
                prec.c_str(), gm, count[prec], gm_dw, count_dw[prec]);
    report["geomean_native_over_cudnn"][prec] = gm;
    report["geomean_depthwise_fwd_bwd"][prec] = gm_dw;
  }
  if (out_of_time) std::printf("time budget (--budget-s %.0f) reached: later layers were not timed\n", a.budget_s);
  report["budget_reached"] = out_of_time;
  report["plans"] = ops::conv_plan_report();
  std::printf("\nkernel choices:\n%s", ops::conv_plan_report().c_str());
  bench::write_report(report, "conv");
  return 0;
}

// Tensor-core FLOPs issued so far: the emulated device counts them, a GPU does not.
std::uint64_t mma_flops_so_far() {
  std::uint64_t f = 0;
#if defined(CMT_EMULATED)
  for (const auto& [kernel, c] : emu::kernel_counters()) f += c.mma_flops;
#endif
  return f;
}

// The emulated device (emu/) times nothing: each pass of each layer runs once, and the tensor-core
// FLOPs its kernels issued are set against the problem's (above 1: padding of tiles and k). The
// emulator's counters table (cp.async sectors and shared wavefronts per warp request) follows.
int run_emulated(const Args& a, Device device) {
  Context ctx(device);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> precs;
  for (const char* p : {"tf32", "bf16"})
    if (a.precision == "both" || a.precision == p) precs.push_back(p);
  std::printf("emulated device: every pass once, tensor-core work against the problem's FLOPs\n%-50s %-4s %-5s %10s %10s %8s\n", "layer",
              "prec", "pass", "MFLOP", "mma MFLOP", "mma/prob");
  ops::set_conv_backend(ops::ConvBackend::native);
  for (const Problem& pr : problems(a)) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > a.budget_s) {
      std::printf("time budget (--budget-s %.0f) reached: later layers were not run\n", a.budget_s);
      break;
    }
    const ConvDesc d = ops::conv_desc(pr.x, pr.w, pr.p);
    for (const auto& prec : precs) {
      ctx.precision = PrecisionPolicy::parse(prec);
      const DType t = prec == "bf16" ? DType::bf16 : DType::f32;
      Tensor x = random_tensor(ctx, pr.x, t, 1), w = random_tensor(ctx, pr.w, t, 2);
      Tensor dy = random_tensor(ctx, Shape{d.N, d.Z, d.P, d.Q, d.K}, t, 3);
      for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad}) {
        ctx.synchronize();
        const std::uint64_t before = mma_flops_so_far();
        run_pass(ctx, pass, pr, x, w, dy);
        ctx.synchronize();
        const double mma = static_cast<double>(mma_flops_so_far() - before);
        std::printf("%-50s %-4s %-5s %10.3f %10.3f %8.2f\n", pr.name.c_str(), prec.c_str(), conv_pass_name(pass), d.flops() / 1e6, mma / 1e6,
                    mma / d.flops());
      }
    }
  }
  std::printf("\nkernel choices:\n%s\n", ops::conv_plan_report().c_str());
  std::fflush(stdout);
#if defined(CMT_EMULATED)
  emu::report_counters(nullptr);
#endif
  return 0;
}

}  // namespace
#endif

int main(int argc, char** argv) {
  try {
    Args a = parse(argc, argv);
    const Device device = resolve_device(a.device);
    if (device.is_cpu() && !a.sized) a.batch3d = {2}, a.res3d = 32, a.batch2d = 4, a.res2d = 128;  // CPU-sized defaults
    if (a.list) {  // the layers a run would time, in order
      for (const auto& pr : problems(a)) std::printf("%s\n", pr.name.c_str());
      return 0;
    }
    if (device.is_cpu()) return run_cpu(a);
#if defined(CMT_WITH_CUDA)
#if defined(CMT_EMULATED)
    constexpr bool emulated = true;
#else
    constexpr bool emulated = false;
#endif
    return emulated ? run_emulated(a, device) : run_gpu(a, device);
#else
    return run_cpu(a);
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_conv: %s\n", e.what());
    return 1;
  }
}
