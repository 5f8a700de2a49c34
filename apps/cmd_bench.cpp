// `cmt bench train`: whole training steps (augmentation, forward, both losses, backward, Adam) per
// backbone, 2D and 3D, timed after warm-up (CUDA events on a GPU, steady clock on the CPU) against the
// GEMM ceiling measured in the same run; `cmt bench infer`: predict() latency on one image or volume.
// A table on stdout and JSON for bench/compare/train_table.py.
#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/step_options.h"
#include "apps/step_runner.h"
#include "common/timing_impl.h"  // bench/common: timing and the report header, shared with the kernel benchmarks
#include "common/gemm_ceiling.h"
#include "engine/allocator.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#include "models/backbone.h"

namespace cmt::app {

namespace {

constexpr double kPaperInferenceS = 0.06;  // the paper's test time per image (TITAN X Pascal)

// StepRunner's first steps are not the steady state: plain (lazy resources), memory-plan record,
// plan replay, CUDA Graph capture (apps/step_runner.h). Timing starts after them.
constexpr int kStepsToSteadyState = 4;

struct BenchArgs {
  StepSetup step;
  std::vector<std::string> backbones{"resnet50"}, dims{"3"}, precisions{"fp32"};
  std::string preset = "none", cuda_graph = "both", out_dir, name, export_dir;
  int warmup = kStepsToSteadyState, steps = 10;
};

// Every (backbone, dims) the options ask for, with the preset's sizes applied.
std::vector<StepSetup> configs(const BenchArgs& a, bool infer) {
  std::vector<std::string> backbones;
  for (const auto& b : a.backbones)
    for (const auto& name : b == "all" ? models::backbone_names() : std::vector<std::string>{b}) backbones.push_back(name);
  std::vector<int> dims;
  for (const auto& d : a.dims)
    for (int v : d == "both" ? std::vector<int>{2, 3} : std::vector<int>{std::stoi(d)}) dims.push_back(v);
  std::vector<StepSetup> out;
  for (int d : dims)
    for (const auto& b : backbones) {
      StepSetup s = a.step;
      s.backbone = b, s.dims = d;
      s.stochastic_depth = 0.f;  // the PyTorch reference has none; the step must be deterministic to compare
      if (a.preset == "paper") {  // sides of the paper (3.1), batches of issue 11: CT 128^3 x 8, X-ray 512^2 x 64
        s.size = d == 3 ? 128 : 512;
        s.batch = infer ? 1 : d == 3 ? 8 : 64;
        s.width = s.depth = 1.0;
        s.latent = 4096;
      }
      validate_step_setup(s);  // every config checked before the first one runs
      out.push_back(s);
    }
  return out;
}

std::string label(const StepSetup& s) {
  return fmt::format("{} {}D {}^{} b{}{}", s.backbone, s.dims, s.size, s.dims, s.batch,
                     s.width == 1.0 && s.depth == 1.0 ? "" : fmt::format(" w{} d{}", s.width, s.depth));
}

std::string human_bytes(double b) {
  if (b >= 1 << 30) return fmt::format("{:.2f} GiB", b / (1 << 30));
  return fmt::format("{:.1f} MiB", b / (1 << 20));
}

nlohmann::json timing_json(const bench::Timing& t) {
  return {{"median", t.median_ms}, {"min", t.min_ms}, {"p90", t.p90_ms}, {"max", t.max_ms}, {"runs", t.runs}};
}

bench::Timing time_on(Context& ctx, const std::function<void()>& fn, int warmup, int runs) {
  return ctx.is_cuda() ? bench::time_device(ctx, fn, warmup, runs) : bench::time_host(fn, warmup, runs);
}

// Cached device blocks go back to the driver between configs, so each starts from the same free memory.
void release_cached(Device device) {
  if (device.is_cuda()) device_allocator(device.index).empty_cache();
}

std::string output_dir(const std::string& requested) {
  if (!requested.empty()) return requested;
  const char* out = std::getenv("OUT");
  return out && *out ? out : "bench-out";
}

void write_json(const std::string& dir, const std::string& name, const nlohmann::json& j) {
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name + ".json";
  std::ofstream f(path);
  CMT_CHECK(f, "cannot write " << path);
  f << j.dump(1) << "\n";
  CMT_CHECK(f, "writing " << path << " failed");
  fmt::print("wrote {}\n", path);
}

// The machine and versions (bench/common's header) plus the GEMM ceiling at each precision.
nlohmann::json header(Device device, const std::vector<std::string>& precisions, std::map<std::string, double>& ceiling) {
  Context ctx(device);
  nlohmann::json j = bench::report_header(ctx, "train");
  j["timer"] = ctx.is_cuda() ? "cuda_events" : "steady_clock";
  for (const auto& p : precisions) {
    ctx.precision = PrecisionPolicy::parse(p);
    ceiling[p] = bench::gemm_ceiling_tflops(ctx);
    j["gemm_ceiling_tflops"][p] = ceiling[p];
    fmt::print("GEMM ceiling {} ({}): {:.2f} TFLOP/s\n", p, ctx.is_cuda() ? "cuBLAS 8192^3" : "OpenBLAS sgemm 1024^3", ceiling[p]);
  }
  release_cached(device);
  return j;
}

// One configuration at one precision and graph mode: peak memory over the warm-up and over one
// steady-state step, then the timed steps and the augmentation phase alone.
nlohmann::json run_train(const StepSetup& s, const BenchArgs& a, double ceiling) {
  StepRunner runner(s);
  Context& ctx = runner.ctx();
  CachingAllocator& alloc = allocator_for(ctx.device());
  alloc.reset_peak();
  const int warmup = std::max(a.warmup, kStepsToSteadyState);
  StepLosses losses;
  for (int i = 0; i < warmup; ++i) losses = runner.step();
  ctx.synchronize();
  const std::size_t peak = alloc.stats().peak_bytes_in_use;
  alloc.reset_peak();
  losses = runner.step();
  ctx.synchronize();
  const std::size_t steady_peak = alloc.stats().peak_bytes_in_use;
  const bench::Timing step = time_on(ctx, [&] { losses = runner.step(); }, 0, a.steps);
  const bench::Timing aug = time_on(ctx, [&] { runner.augmented_views(); }, 1, a.steps);
  const HostLosses l = losses.fetch();
  CMT_CHECK(std::isfinite(l.total), label(s) << " " << s.precision << ": the step's loss is " << l.total);

  const double macs = runner.step_macs(), no_aug_ms = std::max(step.median_ms - aug.median_ms, 1e-9);
  const double tflops = 2 * macs / (step.median_ms * 1e9), steps_per_s = 1e3 / step.median_ms;
  const std::int64_t params = runner.store().num_parameters();
  const bool graph = runner.graph_active();
  nlohmann::json r = {{"label", label(s)}, {"backbone", s.backbone}, {"dims", s.dims}, {"size", s.size}, {"batch", s.batch},
                      {"views", runner.views()}, {"width", s.width}, {"depth", s.depth}, {"latent", s.latent},
                      {"precision", s.precision}, {"cuda_graph", graph}, {"execution", runner.execution()}, {"warmup", warmup},
                      {"steps", a.steps}, {"step_ms", timing_json(step)}, {"augment_ms", timing_json(aug)},
                      {"step_without_augment_ms", no_aug_ms}, {"steps_per_s", steps_per_s},
                      {"samples_per_s", steps_per_s * static_cast<double>(s.batch)},
                      {"views_per_s", steps_per_s * static_cast<double>(runner.views())}, {"step_macs", macs}, {"tflops", tflops},
                      {"tflops_without_augment", 2 * macs / (no_aug_ms * 1e9)}, {"gemm_ceiling_tflops", ceiling},
                      {"fraction_of_gemm_ceiling", tflops / ceiling}, {"peak_bytes", peak}, {"steady_peak_bytes", steady_peak},
                      {"plan_arena_bytes", runner.memory_plan() ? runner.memory_plan()->arena_bytes() : 0},
                      {"num_parameters", params}, {"parameter_bytes", params * 4},
                      {"loss", {{"total", l.total}, {"classification", l.classification}, {"contrastive", l.contrastive}}}};
  fmt::print("{:<40} {:<4} {:<5} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>8.2f} {:>9.1f} {:>7.3f} {:>5.1f}% {:>10}\n", label(s), s.precision,
             graph ? "on" : "off", step.median_ms, step.min_ms, step.p90_ms, no_aug_ms, steps_per_s, steps_per_s * s.batch, tflops,
             100 * tflops / ceiling, human_bytes(static_cast<double>(peak)));
  if (s.cuda_graph && !graph) fmt::print("  ({})\n", runner.execution());
  return r;
}

// CUDA Graph on and off on a GPU (the step is never captured on the CPU).
std::vector<bool> graph_modes(const std::string& request, Device device) {
  if (!device.is_cuda() || request == "off") return {false};
  if (request == "on") return {true};
  return {true, false};
}

// Writes each config's first step (fp32) for train_step.py; returns the configs that failed.
int export_steps(const std::vector<StepSetup>& list, Device device, const std::string& root, nlohmann::json& report) {
  int failed = 0;
  for (StepSetup s : list) {
    s.precision = "fp32";  // the PyTorch side checks equality in fp32 before timing
    s.plan_memory = s.cuda_graph = false;  // no steps run: no arena, no graph input buffer
    const std::string dir = fmt::format("{}/{}-{}d-{}-b{}", root, s.backbone, s.dims, s.size, s.batch);
    try {
      StepRunner(s).export_first_step(dir);
      report["exports"].push_back({{"label", label(s)}, {"dir", dir}});
      fmt::print("exported the first step of {} to {}\n", label(s), dir);
    } catch (const std::exception& e) {  // e.g. out of memory in fp32 at the paper's size: the timings stand
      report["exports"].push_back({{"label", label(s)}, {"dir", dir}, {"error", e.what()}});
      fmt::print(stderr, "cmt: export of {} failed: {}\n", label(s), e.what());
      ++failed;
    }
    release_cached(device);
  }
  return failed;
}

int bench_train(BenchArgs a) {
  const Device device = resolve_device(a.step.device);
  a.step.device = device.str();
  const std::vector<StepSetup> list = configs(a, false);
  std::map<std::string, double> ceiling;
  nlohmann::json report = header(device, a.precisions, ceiling);
  fmt::print("\n{:<40} {:<4} {:<5} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7} {:>6} {:>10}\n", "config", "prec", "graph", "step ms",
             "min", "p90", "no-aug ms", "steps/s", "samples/s", "TFLOP/s", "%ceil", "peak mem");
  int failed = 0;
  for (const StepSetup& base : list)
    for (const auto& p : a.precisions)
      for (bool graph : graph_modes(a.cuda_graph, device)) {
        StepSetup s = base;
        s.precision = p;
        s.cuda_graph = graph;
        try {
          report["runs"].push_back(run_train(s, a, ceiling.at(p)));
        } catch (const std::exception& e) {  // one config out of memory must not lose the others' numbers
          fmt::print("{:<40} {:<4} {:<5} FAILED: {}\n", label(s), p, graph ? "on" : "off", e.what());
          report["failures"].push_back({{"label", label(s)}, {"precision", p}, {"cuda_graph", graph}, {"error", e.what()}});
          ++failed;
        }
        release_cached(device);  // the next config starts clean
      }
  if (!a.export_dir.empty()) failed += export_steps(list, device, a.export_dir, report);
  write_json(output_dir(a.out_dir), a.name.empty() ? "bench_train" : a.name, report);
  CMT_CHECK(failed == 0, failed << " run(s) or export(s) failed (see above; the JSON has the rest)");
  return kOk;
}

int bench_infer(BenchArgs a) {
  const Device device = resolve_device(a.step.device);
  a.step.device = device.str();
  const std::vector<StepSetup> list = configs(a, true);
  Context probe(device);
  nlohmann::json report = bench::report_header(probe, "infer");
  report["paper_seconds_per_image"] = kPaperInferenceS;
  fmt::print("{:<40} {:<4} {:>11} {:>11} {:>11} {:>16}\n", "config (b: images per call)", "prec", "median ms", "min ms", "p90 ms", "x paper's 0.06 s");
  for (const StepSetup& base : list)
    for (const auto& p : a.precisions) {
      StepSetup s = base;
      s.precision = p;
      StepRunner runner(s);
      Context& ctx = runner.ctx();
      Tensor image = Tensor::empty(Shape{s.batch, s.dims == 3 ? s.size : 1, s.size, s.size, 1}, DType::f32, ctx.device());
      ops::uniform_(ctx, image, s.seed, 1);
      // predict() returns host probabilities, so each call ends with the device's results on the host.
      const bench::Timing t = bench::time_host([&] { runner.model().predict(ctx, image); }, a.warmup, a.steps);
      const double per_image_ms = t.median_ms / static_cast<double>(s.batch), speedup = kPaperInferenceS * 1e3 / per_image_ms;
      fmt::print("{:<40} {:<4} {:>11.3f} {:>11.3f} {:>11.3f} {:>15.1f}x\n", label(s), p, t.median_ms, t.min_ms, t.p90_ms, speedup);
      report["runs"].push_back({{"label", label(s)}, {"backbone", s.backbone}, {"dims", s.dims}, {"size", s.size}, {"width", s.width},
                                {"depth", s.depth}, {"latent", s.latent}, {"precision", p}, {"batch", s.batch},
                                {"latency_ms", timing_json(t)}, {"ms_per_image", per_image_ms}, {"speedup_over_paper", speedup}, {"target_speedup", 100}});
      release_cached(device);
    }
  write_json(output_dir(a.out_dir), a.name.empty() ? "bench_infer" : a.name, report);
  return kOk;
}

// The options both subcommands share: what to run, at which sizes, where the JSON goes.
void add_common_options(CLI::App& cmd, BenchArgs& a) {
  std::vector<std::string> names = models::backbone_names();
  names.push_back("all");
  cmd.add_option("--backbone", a.backbones, "vgg19 | vgg19_bn | resnet50 | efficientnet_b4 | all (comma list)")
      ->delimiter(',')->check(CLI::IsMember(names))->capture_default_str();
  cmd.add_option("--dims", a.dims, "2 (X-ray) | 3 (CT) | both")->delimiter(',')->check(CLI::IsMember({"2", "3", "both"}))->capture_default_str();
  cmd.add_option("--precision", a.precisions, "fp32 | tf32 | bf16 (comma list)")
      ->delimiter(',')->check(CLI::IsMember({"fp32", "tf32", "bf16"}))->capture_default_str();
  auto* preset = cmd.add_option("--preset", a.preset, "paper: CT 128^3 batch 8, X-ray 512^2 batch 64 (infer: one image), full networks")
                     ->check(CLI::IsMember({"none", "paper"}))->capture_default_str();
  add_step_size_options(cmd, a.step);
  for (const char* fixed : {"--size", "--batch", "--width", "--depth", "--latent-dim"}) preset->excludes(cmd.get_option(fixed));
  cmd.add_option("--warmup", a.warmup, "untimed runs first (train: at least 4: plain, plan record, plan replay, graph capture)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd.add_option("--out", a.out_dir, "folder for the JSON (default $OUT, else ./bench-out)");
  cmd.add_option("--name", a.name, "JSON file name without .json (default bench_train / bench_infer)");
}

void setup_bench(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("bench", "Whole-step training and inference benchmarks (JSON for bench/compare/train_table.py)");
  cmd->require_subcommand(1);
  auto t = std::make_shared<BenchArgs>();
  t->step.device = "auto";
  auto* train = cmd->add_subcommand("train", "Time full training steps (augment, forward, losses, backward, Adam) per backbone");
  add_common_options(*train, *t);
  train->add_option("--steps", t->steps, "timed steps (median, min, p90 reported)")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--cuda-graph", t->cuda_graph, "on | off | both (GPU only)")->check(CLI::IsMember({"on", "off", "both"}))->capture_default_str();
  train->add_option("--export", t->export_dir, "write each config's first step (fp32 weights, views, labels, losses) for train_step.py");
  train->callback([&action, t] { action = [t] { return bench_train(*t); }; });

  auto i = std::make_shared<BenchArgs>();
  i->step.device = "auto";
  i->step.batch = 1;  // latency of one image; --preset paper keeps 1
  i->step.plan_memory = i->step.cuda_graph = false;  // no training steps run
  i->warmup = 3;
  i->steps = 20;
  auto* infer = cmd->add_subcommand("infer", "predict() latency on one X-ray or CT volume, beside the paper's 0.06 s");
  add_common_options(*infer, *i);
  infer->add_option("--repeats", i->steps, "timed predictions (median, min, p90 reported)")->check(CLI::PositiveNumber)->capture_default_str();
  infer->callback([&action, i] { action = [i] { return bench_infer(*i); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(76, "bench", setup_bench);

}  // namespace cmt::app
