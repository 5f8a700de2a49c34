// Profiler: ranges timed with CUDA events (GPU context) or the steady clock (CPU), NVTX-named.
#include "engine/profiler.h"

#include <chrono>

#include "engine/allocator.h"
#include "engine/check.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#endif

namespace cmt {

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::phase: return "phase";
    case Pass::forward: return "forward";
    case Pass::backward: return "backward";
  }
  return "?";
}

struct Profiler::Mark {
  std::chrono::steady_clock::time_point t0, t1;
#if defined(CMT_WITH_CUDA)
  cudaEvent_t e0 = nullptr, e1 = nullptr;
#endif
};

Profiler::Profiler(Context& ctx) : ctx_(ctx) {}

Profiler::~Profiler() {
  if (active_ == this) active_ = nullptr;
#if defined(CMT_WITH_CUDA)
  for (Mark& m : marks_) {
    if (m.e0) cudaEventDestroy(m.e0);
    if (m.e1) cudaEventDestroy(m.e1);
  }
#endif
}

void Profiler::start() {
  CMT_CHECK(active_ == nullptr || active_ == this, "Profiler: another profiler is already running");
  ranges_.clear();
#if defined(CMT_WITH_CUDA)
  for (Mark& m : marks_) {
    if (m.e0) cudaEventDestroy(m.e0);
    if (m.e1) cudaEventDestroy(m.e1);
  }
#endif
  marks_.clear();
  stack_.clear();
  mem_before_.clear();
  active_ = this;
}

void Profiler::stop() {
  CMT_CHECK(stack_.empty(), "Profiler: stopped with " << stack_.size() << " ranges still open");
  if (active_ == this) active_ = nullptr;
}

std::size_t Profiler::bytes_in_use() const {
  return ctx_.is_cuda() ? device_allocator(ctx_.device().index).stats().bytes_in_use : host_allocator().stats().bytes_in_use;
}

int Profiler::begin(std::string name, std::string type, Pass pass, double macs, const Shape& in_shape) {
  ProfileRange r;
  r.name = std::move(name);
  r.type = std::move(type);
  r.pass = pass;
  r.depth = static_cast<int>(stack_.size());
  r.parent = stack_.empty() ? -1 : stack_.back();
  r.macs = macs;
  r.in_shape = in_shape;
  Mark m;
#if defined(CMT_WITH_CUDA)
  const std::string label = pass == Pass::phase ? r.name : r.name + (pass == Pass::forward ? " fwd" : " bwd");
  nvtxRangePushA(label.c_str());
  if (ctx_.is_cuda()) {
    CUDA_CHECK(cudaEventCreate(&m.e0));
    CUDA_CHECK(cudaEventCreate(&m.e1));
    CUDA_CHECK(cudaEventRecord(m.e0, ctx_.compute_stream()));
  }
#endif
  m.t0 = std::chrono::steady_clock::now();
  ranges_.push_back(std::move(r));
  marks_.push_back(m);
  mem_before_.push_back(bytes_in_use());
  const int index = static_cast<int>(ranges_.size()) - 1;
  stack_.push_back(index);
  return index;
}

void Profiler::end(int index, std::int64_t out_bytes) {
  CMT_CHECK(!stack_.empty() && stack_.back() == index, "Profiler: range " << index << " closed out of order");
  stack_.pop_back();
  Mark& m = marks_[static_cast<std::size_t>(index)];
#if defined(CMT_WITH_CUDA)
  if (ctx_.is_cuda()) CUDA_CHECK(cudaEventRecord(m.e1, ctx_.compute_stream()));
  nvtxRangePop();
#endif
  m.t1 = std::chrono::steady_clock::now();
  ProfileRange& r = ranges_[static_cast<std::size_t>(index)];
  r.out_bytes = out_bytes;
  r.alloc_delta = static_cast<std::int64_t>(bytes_in_use()) - static_cast<std::int64_t>(mem_before_[static_cast<std::size_t>(index)]);
}

const std::vector<ProfileRange>& Profiler::finish() {
  CMT_CHECK(stack_.empty(), "Profiler: finish() with " << stack_.size() << " ranges still open");
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    Mark& m = marks_[i];
#if defined(CMT_WITH_CUDA)
    if (m.e0) {
      CUDA_CHECK(cudaEventSynchronize(m.e1));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, m.e0, m.e1));
      ranges_[i].ms = ms;
      continue;
    }
#endif
    ranges_[i].ms = std::chrono::duration<double, std::milli>(m.t1 - m.t0).count();
  }
  return ranges_;
}

double Profiler::top_level_ms() const {
  double ms = 0;
  for (const auto& r : ranges_)
    if (r.parent < 0) ms += r.ms;
  return ms;
}

nlohmann::json Profiler::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : ranges_)
    rows.push_back({{"name", r.name}, {"type", r.type}, {"pass", pass_name(r.pass)}, {"depth", r.depth}, {"parent", r.parent},
                    {"ms", r.ms}, {"macs", r.macs}, {"out_bytes", r.out_bytes}, {"alloc_delta_bytes", r.alloc_delta},
                    {"in_shape", r.in_shape.str()}});
  return {{"device", ctx_.device().str()}, {"ranges", rows}};
}

nlohmann::json Profiler::trace_json() const {
  // Start times: a child starts where its previous sibling ended (or at its parent's start); the
  // durations are the measured ones, so the trace shows nesting and shares, not host launch times.
  std::vector<double> start(ranges_.size(), 0), cursor(ranges_.size(), 0);
  double top = 0;
  nlohmann::json events = nlohmann::json::array();
  for (std::size_t i = 0; i < ranges_.size(); ++i) {
    const auto& r = ranges_[i];
    double& c = r.parent < 0 ? top : cursor[static_cast<std::size_t>(r.parent)];
    start[i] = c;
    cursor[i] = c;
    c += r.ms;
    events.push_back({{"name", r.pass == Pass::phase ? r.name : r.name + (r.pass == Pass::forward ? " fwd" : " bwd")},
                      {"cat", r.type},
                      {"ph", "X"},
                      {"ts", start[i] * 1000.0},
                      {"dur", r.ms * 1000.0},
                      {"pid", 0},
                      {"tid", 0},
                      {"args", {{"macs", r.macs}, {"out_bytes", r.out_bytes}, {"in_shape", r.in_shape.str()}}}});
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

ProfileScope::ProfileScope(const char* name, const char* type) : p_(Profiler::active()) {
  if (p_) index_ = p_->begin(name, type, Pass::phase);
}

ProfileScope::~ProfileScope() {
  if (p_ && Profiler::active() == p_) p_->end(index_);
}

namespace {
std::string row_name(const Layer& layer) { return layer.path().empty() ? layer.type() : layer.path(); }
}  // namespace

Tensor profiled_forward(Context& ctx, Layer& layer, const Tensor& x) {
  Profiler& p = *Profiler::active();
  const int i = p.begin(row_name(layer), layer.type(), Pass::forward, layer.forward_macs(x.shape()), x.shape());
  Tensor y = layer.forward(ctx, x);
  p.end(i, static_cast<std::int64_t>(y.nbytes()));
  return y;
}

Tensor profiled_backward(Context& ctx, Layer& layer, const Tensor& dy) {
  Profiler& p = *Profiler::active();
  // The backward's input shape is not kept; its work is counted as twice the forward's (data and weight gradients).
  const int i = p.begin(row_name(layer), layer.type(), Pass::backward, 0, dy.shape());
  Tensor dx = layer.backward(ctx, dy);
  p.end(i, dx.defined() ? static_cast<std::int64_t>(dx.nbytes()) : 0);
  return dx;
}

}  // namespace cmt
