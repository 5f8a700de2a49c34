// `cmt bench train`: whole training steps (augmentation, forward, both losses, backward, Adam) per
// backbone, 2D and 3D, timed after warm-up (CUDA events on a GPU, steady clock on the CPU) against the
// GEMM ceiling measured in the same run; `cmt bench infer`: predict() latency on one image or volume;
// `cmt bench memory`: the largest batch whose training step fits (under --limit / CMT_MEMORY_LIMIT).
// A table on stdout and JSON for bench/compare/train_table.py and memory_table.py.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/output_dir.h"
#include "apps/step_options.h"
#include "apps/step_runner.h"
#include "bench/common/gemm_ceiling.h"
#include "bench/common/timing.h"
#include "engine/allocator.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#include "kernels/cpu/gemm.h"
#include "models/backbone.h"

namespace cmt::app {

namespace {

constexpr double kPaperInferenceS = 0.06;  // the paper's test time per image (TITAN X Pascal)

// StepRunner's first steps are not the steady state: plain (lazy resources), memory-plan record,
// plan replay, CUDA Graph capture (apps/step_runner.h). Timing starts after them.
constexpr int kStepsToSteadyState = 4;

struct BenchArgs {
  StepSetup step;
  std::vector<std::string> backbones{"resnet50"}, dims{"3"}, precisions{"auto"};
  std::string preset = "none", cuda_graph = "both", out_dir, name, export_dir;
  int warmup = kStepsToSteadyState, steps = 10;
  std::string limit;                 // memory: --limit (bytes, K/M/G); empty: CMT_MEMORY_LIMIT
  std::int64_t max_batch = 1024, probe = 0;  // memory: the search's cap; probe > 0: only that batch
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
      if (a.preset == "paper") {  // sides of the paper (3.1), batches of docs/performance.md: CT 128^3 x 8, X-ray 512^2 x 64
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

std::string label(const StepSetup& s, bool with_batch = true) {
  return fmt::format("{} {}D {}^{}{}{}", s.backbone, s.dims, s.size, s.dims, with_batch ? fmt::format(" b{}", s.batch) : "",
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

// Cached blocks go back to the system between configs, so each starts from the same free memory.
void release_cached(Device device) { allocator_for(device).empty_cache(); }

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
    fmt::print("GEMM ceiling {} ({}): {:.2f} TFLOP/s\n", p, ctx.is_cuda() ? std::string("cuBLAS 8192^3") : fmt::format("{} sgemm 1024^3, {} thread(s)", cpu::gemm_library(), cpu::gemm_threads()), ceiling[p]);
  }
  release_cached(device);
  return j;
}

// CUDA Graph on and off on a GPU (the step is never captured on the CPU).
std::vector<bool> graph_modes(const std::string& request, Device device) {
  if (!device.is_cuda() || request == "off") return {false};
  if (request == "on") return {true};
  return {true, false};
}

// Runs every config at every precision and graph mode into report["runs"]; one that throws (e.g. out of
// memory in bench train) is printed and recorded under "failures" and the others still run, each from
// an emptied cache. The JSON is written after each, so a run cut short keeps what finished. Returns the
// number that failed.
int for_each_run(const std::vector<StepSetup>& list, const BenchArgs& a, Device device, nlohmann::json& report, const std::string& json_name,
                 int label_width, bool batch_in_label, const std::function<nlohmann::json(const StepSetup&)>& run) {
  int failed = 0;
  for (const StepSetup& base : list)
    for (const auto& p : a.precisions)
      for (bool graph : graph_modes(a.cuda_graph, device)) {
        StepSetup s = base;
        s.precision = p;
        s.cuda_graph = graph;
        try {
          nlohmann::json r = run(s);
          report["runs"].push_back(std::move(r));
        } catch (const std::exception& e) {
          fmt::print("{:<{}} {:<4} {:<5} FAILED: {}\n", label(s, batch_in_label), label_width, p, graph ? "on" : "off", e.what());
          report["failures"].push_back({{"label", label(s, batch_in_label)}, {"precision", p}, {"cuda_graph", graph}, {"error", e.what()}});
          ++failed;
        }
        release_cached(device);  // the next config starts clean
        write_json(output_dir(a.out_dir, "bench-out"), json_name, report);
      }
  return failed;
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

// "auto" becomes the precision it picks on `device`, so that reports and ceilings name what ran.
void resolve_precisions(BenchArgs& a, Device device) {
  for (auto& p : a.precisions) p = PrecisionPolicy::resolve(p, device.is_cuda()).name();
  std::sort(a.precisions.begin(), a.precisions.end());
  a.precisions.erase(std::unique(a.precisions.begin(), a.precisions.end()), a.precisions.end());
}

int bench_train(BenchArgs a) {
  const Device device = resolve_device(a.step.device);
  a.step.device = device.str();
  resolve_precisions(a, device);
  const std::vector<StepSetup> list = configs(a, false);
  std::map<std::string, double> ceiling;
  nlohmann::json report = header(device, a.precisions, ceiling);
  fmt::print("\n{:<40} {:<4} {:<5} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7} {:>6} {:>10}\n", "config", "prec", "graph", "step ms",
             "min", "p90", "no-aug ms", "steps/s", "samples/s", "TFLOP/s", "%ceil", "peak mem");
  const std::string name = a.name.empty() ? "bench_train" : a.name;
  int failed = for_each_run(list, a, device, report, name, 40, true, [&](const StepSetup& s) { return run_train(s, a, ceiling.at(s.precision)); });
  if (!a.export_dir.empty()) {
    failed += export_steps(list, device, a.export_dir, report);
    write_json(output_dir(a.out_dir, "bench-out"), name, report);
  }
  CMT_CHECK(failed == 0, failed << " run(s) or export(s) failed (see above; the JSON has the rest)");
  return kOk;
}

int bench_infer(BenchArgs a) {
  const Device device = resolve_device(a.step.device);
  a.step.device = device.str();
  resolve_precisions(a, device);
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
      if (!a.export_dir.empty() && p == "fp32") {  // infer.py checks equality in fp32 before timing
        const std::string dir = fmt::format("{}/{}-{}d-{}-infer", a.export_dir, s.backbone, s.dims, s.size);
        runner.export_inference(dir, image, runner.model().predict(ctx, image));
        report["exports"].push_back({{"label", label(s)}, {"dir", dir}});
        fmt::print("exported the model, image and probabilities of {} to {}\n", label(s), dir);
      }
      release_cached(device);
    }
  write_json(output_dir(a.out_dir, "bench-out"), a.name.empty() ? "bench_infer" : a.name, report);
  return kOk;
}

// ---- cmt bench memory: the largest batch whose training step fits ----

struct Probe {
  std::int64_t batch = 0;
  bool fits = false;
  std::size_t peak_bytes = 0;  // the allocator's peak in use (when it failed: at the failing request)
  std::size_t held_before = 0, held_after = 0;  // bytes in use around the probe: equal unless something leaked
  std::string execution, error;
};

// A fresh StepRunner at this batch runs its warm-up (plain, plan record, plan replay, graph capture) and
// one steady step; OutOfMemory anywhere means it does not fit. The runner and every cached block are
// released before the next probe, so each starts from the same free memory.
Probe probe_batch(StepSetup s, std::int64_t batch, int warmup) {
  s.batch = batch;
  const Device device = parse_device(s.device);
  CachingAllocator& alloc = allocator_for(device);
  release_cached(device);
  alloc.reset_peak();
  Probe p;
  p.batch = batch;
  p.held_before = alloc.stats().bytes_in_use;
  try {
    StepRunner runner(s);
    for (int i = 0; i < std::max(warmup, kStepsToSteadyState); ++i) runner.step();
    runner.step().fetch();  // the steady step, waited for
    p.fits = true;
    p.execution = runner.execution();
  } catch (const OutOfMemory& e) {
    p.error = e.what();
  }
  p.peak_bytes = alloc.stats().peak_bytes_in_use;
  release_cached(device);
  p.held_after = alloc.stats().bytes_in_use;
  if (p.held_after != p.held_before)  // later probes would see less memory than this one did
    fmt::print(stderr, "cmt: warning: the probe at batch {} kept {} bytes after it ended\n", batch,
               static_cast<std::int64_t>(p.held_after - p.held_before));
  return p;
}

// Doubling from 1 until a batch does not fit (or the cap fits), then bisection between the largest
// batch that fit and the smallest that did not: the answer fits and answer + 1 does not, unless it is
// the cap; 0 when not even one sample fits.
std::int64_t largest_batch(std::int64_t cap, const std::function<bool(std::int64_t)>& fits) {
  std::int64_t lo = 0, hi = 0;  // lo fits (0: none yet), hi does not
  for (std::int64_t b = 1;; b = std::min(2 * b, cap)) {
    if (!fits(b)) {
      hi = b;
      break;
    }
    lo = b;
    if (b == cap) return cap;
  }
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

nlohmann::json probe_json(const Probe& p) {
  nlohmann::json j = {{"batch", p.batch}, {"fits", p.fits}, {"peak_bytes", p.peak_bytes}, {"bytes_in_use_before", p.held_before},
                      {"bytes_in_use_after", p.held_after}};
  if (!p.fits) j["error"] = p.error;
  return j;
}

void print_probe(const std::string& what, const Probe& p) {
  fmt::print("  {} batch {:>5}: {:<15} peak {}\n", what, p.batch, p.fits ? "fits" : "out of memory", human_bytes(static_cast<double>(p.peak_bytes)));
}

// One config at one precision and graph mode: the search (or the one --probe), its probes, the answer.
nlohmann::json run_memory(const StepSetup& s, const BenchArgs& a) {
  nlohmann::json r = {{"label", label(s, false)}, {"backbone", s.backbone}, {"dims", s.dims}, {"size", s.size}, {"width", s.width},
                      {"depth", s.depth}, {"latent", s.latent}, {"precision", s.precision}, {"cuda_graph", s.cuda_graph}};
  const auto t0 = std::chrono::steady_clock::now();
  std::map<std::int64_t, Probe> probes;
  const auto fits = [&](std::int64_t b) {
    const Probe p = probe_batch(s, b, a.warmup);
    print_probe(label(s, false) + " " + s.precision, p);
    r["probes"].push_back(probe_json(p));
    return probes.emplace(b, p).first->second.fits;
  };
  if (a.probe > 0) {
    r["probe"] = a.probe;
    r["fits"] = fits(a.probe);
    r["peak_bytes"] = probes.at(a.probe).peak_bytes;
    return r;
  }
  const std::int64_t best = largest_batch(a.max_batch, fits);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r["max_batch"] = best;
  r["max_views"] = 2 * best;
  r["capped"] = best == a.max_batch;
  r["search_cap"] = a.max_batch;
  r["peak_bytes"] = best > 0 ? probes.at(best).peak_bytes : 0;
  r["execution"] = best > 0 ? probes.at(best).execution : "";
  r["seconds"] = seconds;
  fmt::print("{:<36} {:<4} {:<5} {:>8}{:<9} {:>6} {:>11} {:>6} {:>8.1f}\n", label(s, false), s.precision, s.cuda_graph ? "on" : "off", best,
             best == a.max_batch ? " (cap)" : "", 2 * best, human_bytes(static_cast<double>(r["peak_bytes"].get<std::size_t>())), probes.size(), seconds);
  return r;
}

int bench_memory(BenchArgs a) {
  const Device device = resolve_device(a.step.device);
  a.step.device = device.str();
  resolve_precisions(a, device);
  const std::vector<StepSetup> list = configs(a, false);
  const std::size_t limit = a.limit.empty() ? memory_limit_from_environment() : parse_byte_size(a.limit, "--limit");
  CMT_CHECK(limit > 0 || device.is_cuda(),
            "bench memory on the CPU needs --limit or CMT_MEMORY_LIMIT (the card to emulate): without one the search would "
            "end in the system's out-of-memory killer, not in an OutOfMemory it can catch");
  nlohmann::json report;
  {
    Context header_ctx(device);  // gone before the first probe: the probes share nothing
    report = bench::report_header(header_ctx, "memory");
  }
  CachingAllocator& alloc = allocator_for(device);
  const std::size_t previous_limit = alloc.limit();
  alloc.set_limit(limit);
  report["limit_bytes"] = limit;
  report["limit_source"] = limit == 0 ? "the device's own memory" : a.limit.empty() ? "CMT_MEMORY_LIMIT" : "--limit";
  for (const auto& d : cuda_devices())
    if (device.is_cuda() && d.index == device.index) report["device_memory_bytes"] = d.total_memory;
  report["steps_per_probe"] = std::max(a.warmup, kStepsToSteadyState) + 1;
  fmt::print("limit: {} ({}); each probe: a fresh step runner, {} steps\n", limit ? human_bytes(static_cast<double>(limit)) : "none",
             report["limit_source"].get<std::string>(), report["steps_per_probe"].get<int>());
  const std::string name = a.name.empty() ? "bench_memory" : a.name;
  if (a.probe == 0)
    fmt::print("\n{:<36} {:<4} {:<5} {:>17} {:>6} {:>11} {:>6} {:>8}\n", "config", "prec", "graph", "largest batch", "views", "peak mem",
               "probes", "seconds");
  // A probe out of memory is an answer; any other error fails the config.
  int failed = for_each_run(list, a, device, report, name, 36, false, [&](const StepSetup& s) { return run_memory(s, a); });
  alloc.set_limit(previous_limit);  // the exports below are no part of the emulated card
  if (!a.export_dir.empty()) {
    std::vector<StepSetup> small = list;
    for (auto& s : small) s.batch = 2;  // train_step.py checks the model on a small batch, then searches its own
    failed += export_steps(small, device, a.export_dir, report);
    write_json(output_dir(a.out_dir, "bench-out"), name, report);
  }
  CMT_CHECK(failed == 0, failed << " config(s) or export(s) failed (see above; the JSON has the rest)");
  return kOk;
}

// The options both subcommands share: what to run, at which sizes, where the JSON goes.
void add_common_options(CLI::App& cmd, BenchArgs& a) {
  std::vector<std::string> names = models::backbone_names();
  names.push_back("all");
  cmd.add_option("--backbone", a.backbones, "vgg19 | vgg19_bn | resnet50 | efficientnet_b4 | all (comma list)")
      ->delimiter(',')->check(CLI::IsMember(names))->capture_default_str();
  cmd.add_option("--dims", a.dims, "2 (X-ray) | 3 (CT) | both")->delimiter(',')->check(CLI::IsMember({"2", "3", "both"}))->capture_default_str();
  cmd.add_option("--precision", a.precisions, "auto (tf32 on a GPU, fp32 on the CPU) | fp32 | tf32 | bf16 (comma list)")
      ->delimiter(',')->check(CLI::IsMember({"auto", "fp32", "tf32", "bf16"}))->capture_default_str();
  auto* preset = cmd.add_option("--preset", a.preset, "paper: CT 128^3 batch 8, X-ray 512^2 batch 64 (infer: one image), full networks")
                     ->check(CLI::IsMember({"none", "paper"}))->capture_default_str();
  add_step_size_options(cmd, a.step);
  for (const char* fixed : {"--size", "--batch-size", "--batch", "--width", "--depth", "--latent-dim"})
    preset->excludes(cmd.get_option(fixed));
  cmd.add_option("--warmup", a.warmup, "untimed runs first (train: at least 4: plain, plan record, plan replay, graph capture)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd.add_option("--out", a.out_dir, "folder for the JSON (default $OUT, else ./bench-out)");
  cmd.add_option("--name", a.name, "JSON file name without .json (default bench_train / bench_infer / bench_memory)");
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
  infer->add_option("--export", i->export_dir, "write each fp32 config's weights, image and probabilities for bench/compare/infer.py");
  infer->add_option("--repeats", i->steps, "timed predictions (median, min, p90 reported)")->check(CLI::PositiveNumber)->capture_default_str();
  infer->callback([&action, i] { action = [i] { return bench_infer(*i); }; });

  auto m = std::make_shared<BenchArgs>();
  m->step.device = "auto";
  m->backbones = {"vgg19", "resnet50", "efficientnet_b4"};  // with the default sizes: the three 3D backbones at 128^3 (docs/performance.md)
  m->cuda_graph = "on";
  auto* memory = cmd->add_subcommand("memory", "The largest batch whose whole training step fits in memory, per backbone");
  add_common_options(*memory, *m);
  for (const char* batch : {"--batch-size", "--batch"})
    memory->remove_option(memory->get_option(batch));  // the batch is what is searched
  memory->add_option("--limit", m->limit, "bytes the allocator may reserve, e.g. 80G (K/M/G: 2^10/2^20/2^30; default CMT_MEMORY_LIMIT, "
                                          "else the card; required on the CPU)");
  auto* cap = memory->add_option("--max-batch", m->max_batch, "the search stops here (samples)")->check(CLI::PositiveNumber)->capture_default_str();
  memory->add_option("--probe", m->probe, "try this one batch (fits or not) instead of searching")->check(CLI::PositiveNumber)->excludes(cap);
  memory->add_option("--cuda-graph", m->cuda_graph, "on | off (GPU only)")->check(CLI::IsMember({"on", "off"}))->capture_default_str();
  memory->add_option("--export", m->export_dir, "write each config's first step at batch 2 (fp32) for train_step.py --max-batch");
  memory->callback([&action, m] { action = [m] { return bench_memory(*m); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(76, "bench", setup_bench);

}  // namespace cmt::app
