// Profiler: named, nested time ranges (step phases and every layer's forward/backward) with NVTX
// ranges of the same names on CUDA builds, CUDA-event timing on a GPU context and wall-clock
// timing on the CPU. Off by default: the layer hooks cost one pointer test when no profiler runs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/context.h"
#include "engine/layer.h"

namespace cmt {

enum class Pass { phase, forward, backward };
const char* pass_name(Pass p);

struct ProfileRange {
  std::string name;   // layer path ("backbone.layer1.0.body.0") or phase ("optimizer")
  std::string type;   // layer type, or "phase"
  Pass pass = Pass::phase;
  int depth = 0;      // nesting depth when it opened (0 for the outermost ranges)
  int parent = -1;    // index of the enclosing range, -1 at the top
  double ms = 0;      // filled by Profiler::finish()
  double macs = 0;    // multiply-accumulates of the work (forward MACs; backward counts 2x forward)
  std::int64_t out_bytes = 0;     // bytes of the layer's output (forward) or input gradient (backward)
  std::int64_t alloc_delta = 0;   // bytes in use after minus before (activations kept by the layer)
  Shape in_shape;
};

class Profiler {
 public:
  explicit Profiler(Context& ctx);
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  // The running profiler, or null (the hot-path test of the hooks).
  static Profiler* active() noexcept { return active_; }
  void start();   // makes this the active profiler (one at a time) and clears earlier ranges
  void stop();    // no longer active; ranges are kept

  // Opens a range; returns its index for end().
  int begin(std::string name, std::string type, Pass pass, double macs = 0, const Shape& in_shape = {});
  void end(int index, std::int64_t out_bytes = 0);

  // Waits for the device and fills every range's ms; the ranges in opening order.
  const std::vector<ProfileRange>& finish();
  const std::vector<ProfileRange>& ranges() const { return ranges_; }
  // Sum of the ms of the ranges with no parent.
  double top_level_ms() const;
  nlohmann::json to_json() const;  // {"ranges": [...]}; Chrome-trace form is written by trace_json()
  nlohmann::json trace_json() const;  // chrome://tracing / Perfetto "traceEvents" (durations laid end to end)

 private:
  struct Mark;
  std::size_t bytes_in_use() const;

  static inline Profiler* active_ = nullptr;
  Context& ctx_;
  std::vector<ProfileRange> ranges_;
  std::vector<Mark> marks_;  // per range: start/end events or times
  std::vector<int> stack_;
  std::vector<std::size_t> mem_before_;
};

// RAII phase range: Profiler::active() at construction, nothing when none runs.
class ProfileScope {
 public:
  ProfileScope(const char* name, const char* type = "phase");
  ~ProfileScope();
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  Profiler* p_;
  int index_ = -1;
};

// A child's forward/backward as the composites call it: timed and NVTX-named when a profiler runs.
Tensor profiled_forward(Context& ctx, Layer& layer, const Tensor& x);
Tensor profiled_backward(Context& ctx, Layer& layer, const Tensor& dy);
inline Tensor run_forward(Context& ctx, Layer& layer, const Tensor& x) {
  return Profiler::active() ? profiled_forward(ctx, layer, x) : layer.forward(ctx, x);
}
inline Tensor run_backward(Context& ctx, Layer& layer, const Tensor& dy) {
  return Profiler::active() ? profiled_backward(ctx, layer, dy) : layer.backward(ctx, dy);
}

}  // namespace cmt
