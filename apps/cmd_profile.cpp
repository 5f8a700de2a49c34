// `cmt profile`: one training step (or one predict() call, --infer) timed per phase and per layer, with
// NVTX ranges of the same names for Nsight Systems, a table, and the JSON and Chrome trace in --out.
#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/output_dir.h"
#include "apps/step_options.h"
#include "apps/step_runner.h"
#include "apps/text_file.h"
#include "engine/allocator.h"
#include "engine/cuda_runtime.h"
#include "engine/ops/basic.h"
#include "engine/profiler.h"

namespace cmt::app {

namespace {

struct ProfileArgs {
  StepSetup step;
  int warmup = 1;
  int max_depth = 3;
  bool infer = false;  // one predict() call (eval mode, forward only) instead of a training step
  std::string out_dir, json_path, trace_path;
};

// One table row: a layer's forward and backward ranges (or a phase), by name.
struct Row {
  std::string name, type;
  int depth = 0;
  double fwd_ms = 0, bwd_ms = 0, macs = 0;
  std::int64_t fwd_bytes = 0, bwd_bytes = 0, kept_bytes = 0;
};

std::vector<Row> merge_rows(const std::vector<ProfileRange>& ranges) {
  std::vector<Row> rows;
  std::map<std::string, std::size_t> by_name;
  for (const auto& r : ranges) {
    const std::string key = r.name + "|" + r.type;
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      it = by_name.emplace(key, rows.size()).first;
      rows.push_back({r.name, r.type, r.depth});
    }
    Row& row = rows[it->second];
    if (r.pass == Pass::backward) {
      row.bwd_ms += r.ms;
      row.bwd_bytes += r.out_bytes;
    } else {
      row.fwd_ms += r.ms;
      row.fwd_bytes += r.out_bytes;
      row.macs += r.macs;
      row.kept_bytes += r.alloc_delta;
    }
  }
  return rows;
}

std::string human_bytes(double b) {
  if (b < 0) return "-" + human_bytes(-b);
  if (b >= 1 << 30) return fmt::format("{:.2f} GiB", b / (1 << 30));
  if (b >= 1 << 20) return fmt::format("{:.1f} MiB", b / (1 << 20));
  return fmt::format("{:.0f} KiB", b / 1024);
}

void write_json(const std::string& path, const nlohmann::json& j) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  write_text_atomic(path, j.dump(1) + "\n");
  fmt::print("wrote {}\n", path);
}

int run_profile(const ProfileArgs& a) {
  // Every layer timed eagerly: no graph (it hides the layers) and no plan (the activation-memory
  // column reads the caching allocator).
  StepSetup setup = a.step;
  setup.device = resolve_device(setup.device).str();  // "auto" as everywhere else
  setup.plan_memory = false;
  setup.cuda_graph = false;
  StepRunner runner(setup);
  Context& ctx = runner.ctx();
  fmt::print("{} | {} views of {}^{} | {} | {}\n", runner.model().describe(), runner.views(), a.step.size, a.step.dims,
             ctx.device().str(), ctx.precision.name());
  Tensor image;
  if (a.infer) {
    image = Tensor::empty(Shape{a.step.batch, a.step.dims == 3 ? a.step.size : 1, a.step.size, a.step.size, 1}, DType::f32,
                          ctx.device());
    ops::uniform_(ctx, image, a.step.seed, 1);
  }
  const auto run_once = [&] {
    if (a.infer) runner.model().predict(ctx, image);
    else runner.step();
  };
  for (int i = 0; i < a.warmup; ++i) run_once();
  ctx.synchronize();

  Profiler prof(ctx);
  const auto t0 = std::chrono::steady_clock::now();
  prof.start();
  {
    ProfileScope s(a.infer ? "predict" : "step");
    run_once();
  }
  prof.stop();
  ctx.synchronize();
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const auto& ranges = prof.finish();
  const double step_ms = prof.top_level_ms();
  const std::vector<Row> rows = merge_rows(ranges);

  if (a.infer) fmt::print("predict {:.3f} ms (profiled; host wall clock {:.3f} ms)\n\n", step_ms, wall_ms);
  else
    fmt::print("step {:.3f} ms (profiled; host wall clock {:.3f} ms), {:.2f} GMAC per step\n\n", step_ms, wall_ms,
               runner.step_macs() / 1e9);
  fmt::print("{:<48} {:<16} {:>10} {:>10} {:>7} {:>9} {:>12} {:>11}\n", "range", "type", "fwd ms", "bwd ms", "share", "GMAC",
             "TFLOP/s|GB/s", "kept");
  for (const Row& r : rows) {
    if (r.depth > a.max_depth) continue;
    const double ms = r.fwd_ms + r.bwd_ms;
    std::string rate = "";
    // Forward 2*MACs FLOPs, backward twice that; elementwise layers: bytes read + written (estimate).
    if (r.macs > 0 && ms > 0) rate = fmt::format("{:.3f} TF", (r.bwd_ms > 0 ? 6 : 2) * r.macs / (ms * 1e9));
    else if (r.type != "phase" && ms > 0) rate = fmt::format("{:.1f} GB/s", (2.0 * r.fwd_bytes + 3.0 * r.bwd_bytes) / (ms * 1e6));
    const std::string label = std::string(static_cast<std::size_t>(2 * r.depth), ' ') + r.name;
    fmt::print("{:<48} {:<16} {:>10.3f} {:>10.3f} {:>6.1f}% {:>9.3f} {:>12} {:>11}\n", label.substr(0, 48), r.type.substr(0, 16),
               r.fwd_ms, r.bwd_ms, step_ms > 0 ? 100 * ms / step_ms : 0.0, r.macs / 1e9, rate,
               r.type == "phase" ? "" : human_bytes(static_cast<double>(r.kept_bytes)));
  }
  const auto& stats = ctx.is_cuda() ? device_allocator(ctx.device().index).stats() : host_allocator().stats();
  fmt::print("\npeak memory in use {} ({} raw allocations so far)\n", human_bytes(static_cast<double>(stats.peak_bytes_in_use)),
             stats.raw_allocations);

  const std::string dir = output_dir(a.out_dir, "profile-out");
  const std::string json_path = a.json_path.empty() ? dir + "/profile.json" : a.json_path;
  const std::string trace_path = a.trace_path.empty() ? dir + "/profile_trace.json" : a.trace_path;
  {
    nlohmann::json j = prof.to_json();
    j["model"] = runner.model().describe();
    j["views"] = runner.views();
    j["size"] = a.step.size;
    j["dims"] = a.step.dims;
    j["precision"] = ctx.precision.name();
    j["step_ms"] = step_ms;
    j["wall_ms"] = wall_ms;
    j["mode"] = a.infer ? "predict" : "train";
    if (!a.infer) j["step_macs"] = runner.step_macs();
    j["peak_bytes_in_use"] = stats.peak_bytes_in_use;
    write_json(json_path, j);
  }
  write_json(trace_path, prof.trace_json());
  return kOk;
}

void setup_profile(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("profile", "Per-layer forward/backward times of one training step (NVTX ranges, JSON trace)");
  auto a = std::make_shared<ProfileArgs>();
  a->step.size = 32;
  a->step.batch = 2;
  a->step.width = 0.25;
  a->step.depth = 0.34;
  a->step.latent = 64;
  add_step_options(*cmd, a->step);
  cmd->add_flag("--infer", a->infer, "profile one predict() call (eval mode, batch --batch-size) instead of a training step");
  cmd->add_option("--warmup", a->warmup, "steps before the profiled one")->capture_default_str();
  cmd->add_option("--max-depth", a->max_depth, "deepest nesting level printed (the JSON has all)")->capture_default_str();
  cmd->add_option("--out", a->out_dir, "folder for profile.json and profile_trace.json (default $OUT, else ./profile-out)");
  cmd->add_option("--json", a->json_path, "ranges and step summary as JSON here instead (default OUT/profile.json)");
  cmd->add_option("--trace", a->trace_path, "Chrome/Perfetto trace here instead (default OUT/profile_trace.json)");
  cmd->callback([&action, a] { action = [a] { return run_profile(*a); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(75, "profile", setup_profile);

}  // namespace cmt::app
