// StepGraph: a training step captured once into a CUDA Graph and replayed.
//
// What the captured body may do: launch kernels and library calls on the context's compute stream,
// with every tensor it allocates served by a StepMemoryPlan in replay mode (fixed addresses, no
// allocator call). What it may not do: wait for or read from the device (a NoHostSyncScope turns
// that into an error naming the call), or depend on host values that change per step (those go
// through device memory written before replay(): Adam::prepare, the input buffers).
#pragma once
#include <functional>
#include <vector>

#include "engine/context.h"
#include "engine/memory_plan.h"

namespace cmt {

class StepGraph {
 public:
  explicit StepGraph(Context& ctx);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // True where graphs can run: a CUDA context in a CUDA build.
  static bool supported(const Context& ctx);
  // Records body's work on the compute stream (nothing runs yet) and instantiates the graph. On any
  // error the capture is ended, the context stays usable, and the error is rethrown.
  void capture(const std::function<void()>& body);
  bool captured() const { return exec_ != nullptr; }
  void replay();  // launches the captured step on the compute stream (asynchronous)

 private:
  Context& ctx_;
  // The context's scratch blocks the captured kernels address: a later growth of the workspace
  // replaces the context's block, and without this the allocator would hand this one out again
  // while every replay still writes to it.
  std::vector<Tensor> scratch_;
  void* graph_ = nullptr;  // cudaGraph_t / cudaGraphExec_t, opaque here so that CPU builds need no CUDA headers
  void* exec_ = nullptr;
};

// The sequence that takes a training step to its steady state, shared by the Trainer and the bench's
// StepRunner: step 0 plain (creates lazy resources: workspaces, cached tensors), step 1 recorded into
// the memory plan, step 2 replayed from the plan eagerly under a NoHostSyncScope (validates both),
// then, with a graph, captured once and replayed. The body must read its per-step inputs from fixed
// buffers once a graph is used (what the caller copies there before run()).
class SteadyStep {
 public:
  SteadyStep(Context& ctx, bool use_graph);  // use_graph needs StepGraph::supported(ctx)
  // Runs this step's body in the mode the sequence has reached.
  void run(const std::function<void()>& body);
  bool uses_graph() const { return graph_ != nullptr; }
  bool captured() const { return graph_ && graph_->captured(); }
  const StepMemoryPlan& plan() const { return plan_; }

 private:
  StepMemoryPlan plan_;
  std::unique_ptr<StepGraph> graph_;
  std::int64_t steps_ = 0;
};

}  // namespace cmt
