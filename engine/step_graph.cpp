// StepGraph: stream capture, instantiation and replay of one training step.
#include "engine/step_graph.h"

#include "engine/host_sync.h"
#include "engine/profiler.h"
#include "kernels/common/check.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>

#include "engine/cuda_runtime.h"
#endif

namespace cmt {

StepGraph::StepGraph(Context& ctx) : ctx_(ctx) {}

StepGraph::~StepGraph() {
#if defined(CMT_WITH_CUDA)
  if (exec_ != nullptr) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_ != nullptr) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
#endif
}

bool StepGraph::supported(const Context& ctx) {
#if defined(CMT_WITH_CUDA)
  return ctx.device().is_cuda();
#else
  (void)ctx;
  return false;
#endif
}

void StepGraph::capture(const std::function<void()>& body) {
  CMT_CHECK(supported(ctx_), "CUDA Graph capture needs a CUDA context, got " << ctx_.device().str());
  CMT_CHECK(exec_ == nullptr, "StepGraph: already captured");
#if defined(CMT_WITH_CUDA)
  cudaStream_t stream = ctx_.compute_stream();
  // Relaxed: the caching allocator may still reserve memory for what escapes the step (the losses).
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
  cudaGraph_t graph = nullptr;
  // The blocks the body's kernels address: any it replaces (kept by the context), then the last one.
  std::vector<Tensor> scratch;
  ctx_.keep_replaced_workspaces(&scratch);
  try {
    NoHostSyncScope no_sync("a CUDA Graph capture of the training step");
    body();
  } catch (...) {
    ctx_.keep_replaced_workspaces(nullptr);
    cudaStreamEndCapture(stream, &graph);  // ends the (invalid) capture; the context stays usable
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  ctx_.keep_replaced_workspaces(nullptr);
  if (ctx_.workspace_block().defined()) scratch.push_back(ctx_.workspace_block());
  scratch_ = std::move(scratch);
  CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  graph_ = graph;
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  exec_ = exec;
#else
  (void)body;
#endif
}

void StepGraph::replay() {
  CMT_CHECK(exec_ != nullptr, "StepGraph::replay before capture");
#if defined(CMT_WITH_CUDA)
  CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), ctx_.compute_stream()));
#endif
}

SteadyStep::SteadyStep(Context& ctx, bool use_graph) : plan_(ctx.device()) {
  if (use_graph) graph_ = std::make_unique<StepGraph>(ctx);
}

void SteadyStep::run(const std::function<void()>& body) {
  const std::int64_t n = steps_++;
  if (n == 0) {
    body();
  } else if (n == 1) {
    MemoryPlanScope scope(plan_);
    plan_.begin_record();
    body();
    plan_.end_record();
  } else if (!graph_ || n == 2) {
    MemoryPlanScope scope(plan_);
    NoHostSyncScope no_sync("a planned training step");
    plan_.begin_replay();
    body();
    plan_.end_replay();
  } else {
    ProfileScope s("graph_replay");
    if (!graph_->captured()) {
      graph_->capture([&] {
        MemoryPlanScope scope(plan_);
        plan_.begin_replay();
        body();
        plan_.end_replay();
      });
    }
    graph_->replay();
  }
}

}  // namespace cmt
