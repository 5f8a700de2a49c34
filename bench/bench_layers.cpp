// bench/layers: batch norm, activations, pooling, elementwise and Adam on the backbones' real tensor sizes, in
// GB/s of minimal traffic against the copy bandwidth measured in the same run; on the GPU when present, else a
// small CPU measurement. PyTorch's kernels on the same card: bench/compare/layers.py.
#include <cstring>

#include "bench/common/timing.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/activation.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "engine/optimizer.h"

using namespace cmt;

namespace {

struct Row {
  std::string op, shape;
  double bytes;
  bench::Timing t;
};

Tensor random(Context& ctx, const Shape& s, std::uint32_t stream) {
  Tensor t = Tensor::empty(s, DType::f32, ctx.device());
  ops::normal_(ctx, t, 17, stream);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device_arg = "auto";
  std::int64_t adam_params = 60'000'000;
  int batch = 32;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc) device_arg = argv[++i];
    else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = std::stoi(argv[++i]);
    else if (std::strcmp(argv[i], "--adam-params") == 0 && i + 1 < argc) adam_params = std::stoll(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--device auto|cpu|cuda:N] [--batch N] [--adam-params N]\n", argv[0]);
      return 2;
    }
  }
  try {
    const Device device = resolve_device(device_arg);
    if (device.is_cpu()) {  // a small measurement: the CPU backend is the reference, not the product
      std::printf("no GPU: a small CPU measurement (run on a GPU machine for the real numbers)\n");
      batch = std::min(batch, 2);
      adam_params = std::min<std::int64_t>(adam_params, 4'000'000);
    }
    Context ctx(device);
    auto run = [&](const std::function<void()>& fn) {
      return device.is_cuda() ? bench::time_device(ctx, fn) : bench::time_host(fn, 1, 3);
    };
    const std::int64_t N = batch;
    // ResNet-50 2D stem (112^2 x 64), a mid stage (28^2 x 512), the 3D stem at 64^3 x 64 (N/8 volumes).
    const Shape shapes[] = {Shape{N, 1, 112, 112, 64}, Shape{N, 1, 28, 28, 512},
                            Shape{std::max<std::int64_t>(1, N / 8), 64, 64, 64, 64}};
    std::vector<Row> rows;
    for (const Shape& s : shapes) {
      const std::int64_t c = s[4], n = s.numel();
      const double b4 = 4.0 * static_cast<double>(n);
      Tensor x = random(ctx, s, 1), dy = random(ctx, s, 2), y = Tensor::empty(s, DType::f32, ctx.device());
      Tensor gamma = random(ctx, Shape{c}, 3), beta = random(ctx, Shape{c}, 4);
      Tensor rm = Tensor::empty(Shape{c}, DType::f32, ctx.device()), rv = Tensor::empty(Shape{c}, DType::f32, ctx.device());
      ops::fill(ctx, rm, 0.0);
      ops::fill(ctx, rv, 1.0);
      ops::BatchNormSaved saved;
      const std::string sh = s.str();
      rows.push_back({"copy", sh, 2 * b4, run([&] { ops::copy(ctx, x, y); })});
      rows.push_back({"bn_train_fwd", sh, 2 * b4, run([&] {
                        ops::batchnorm_forward_train(ctx, x, gamma, beta, rm, rv, 0.1f, 1e-5f, saved);
                      })});
      rows.push_back({"bn_eval_fwd", sh, 2 * b4, run([&] { ops::batchnorm_forward_eval(ctx, x, gamma, beta, rm, rv, 1e-5f); })});
      rows.push_back({"bn_bwd", sh, 3 * b4, run([&] { ops::batchnorm_backward(ctx, dy, x, gamma, saved); })});
      rows.push_back({"relu", sh, 2 * b4, run([&] { ops::relu(ctx, x); })});
      rows.push_back({"silu", sh, 2 * b4, run([&] { ops::silu(ctx, x); })});
      rows.push_back({"silu_bwd", sh, 3 * b4, run([&] { ops::silu_backward(ctx, dy, x); })});
      rows.push_back({"add", sh, 3 * b4, run([&] { ops::add(ctx, x, dy); })});
      Tensor se = random(ctx, Shape{s[0], c}, 5);
      rows.push_back({"channel_scale", sh, 2 * b4, run([&] { ops::channel_scale(ctx, x, se); })});
      rows.push_back({"global_avgpool", sh, b4, run([&] { ops::global_avgpool_forward(ctx, x); })});
      const bool is3d = s[1] > 1;
      const ops::PoolParams p = is3d ? ops::PoolParams{{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}
                                     : ops::PoolParams{{1, 3, 3}, {1, 2, 2}, {0, 1, 1}};
      const double out_b = 4.0 * static_cast<double>(ops::pool_output_shape(s, p).numel());
      Tensor am;
      rows.push_back({"maxpool_fwd", sh, b4 + 2 * out_b, run([&] { ops::maxpool_forward(ctx, x, p, am); })});
      Tensor pdy = random(ctx, ops::pool_output_shape(s, p), 6);
      rows.push_back({"maxpool_bwd", sh, b4 + 2 * out_b, run([&] { ops::maxpool_backward(ctx, pdy, am, s, p); })});
      rows.push_back({"avgpool_bwd", sh, b4 + out_b, run([&] { ops::avgpool_backward(ctx, pdy, s, p); })});
    }
    {
      Tensor params = random(ctx, Shape{adam_params}, 7), grads = random(ctx, Shape{adam_params}, 8);
      Tensor bf16 = Tensor::empty(Shape{adam_params}, DType::bf16, ctx.device());
      Adam adam(ctx, adam_params, AdamConfig{0.9, 0.999, 1e-8, 0.01, true});
      const std::string sh = Shape{adam_params}.str();
      Tensor copy_dst = Tensor::empty(Shape{adam_params}, DType::f32, ctx.device());
      rows.push_back({"copy", sh, 8.0 * adam_params, run([&] { ops::copy(ctx, params, copy_dst); })});
      rows.push_back({"adamw_step", sh, 28.0 * adam_params, run([&] { adam.step(ctx, params, grads, 1e-4f); })});
      rows.push_back({"adamw_step_bf16", sh, 30.0 * adam_params, run([&] { adam.step(ctx, params, grads, 1e-4f, bf16); })});
    }

    nlohmann::json report = bench::report_header(ctx, "layers");
    report["batch"] = batch;
    std::printf("%-16s %-22s %10s %10s %10s\n", "op", "shape", "ms", "GB/s", "% of copy");
    double copy_gbs = 0;
    for (const Row& r : rows) {
      const double gbs = r.bytes / (r.t.median_ms * 1e6);
      if (r.op == "copy") copy_gbs = gbs;  // the copy measured just before, on the same tensor size
      std::printf("%-16s %-22s %10.3f %10.1f %9.1f%%\n", r.op.c_str(), r.shape.c_str(), r.t.median_ms, gbs,
                  100 * gbs / copy_gbs);
      report["rows"].push_back({{"op", r.op}, {"shape", r.shape}, {"median_ms", r.t.median_ms}, {"min_ms", r.t.min_ms},
                                {"runs", r.t.runs}, {"gb_per_s", gbs}, {"fraction_of_copy", gbs / copy_gbs}});
    }
    bench::write_report(report, "layers");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_layers: %s\n", e.what());
    return 1;
  }
}
