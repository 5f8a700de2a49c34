// StepMemoryPlan: the activation memory of a training step, planned once.
//
// A training step makes the same sequence of tensor allocations every time (same shapes, same
// order). The plan records that sequence once (sizes and lifetimes), assigns every request an
// offset in one arena so that requests alive at the same time never overlap (greedy by size, the
// usual offline interval packing), and from then on serves the step's requests by their index:
// no allocator call, one reservation, and fixed addresses, which is what CUDA Graph capture needs.
// Requests still alive when the recorded step ends (the losses, the class probabilities) are left
// to the caching allocator. Every replayed request is checked against the record (index, size) and
// against the blocks it could overlap, so a step that changes its allocation pattern fails loudly
// instead of corrupting memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"

namespace cmt {

namespace detail {
// The plan's state, shared with the storages it served, so a tensor that outlives its plan (or a
// plan destroyed before its tensors) is never left with a dangling pointer or a freed arena.
class PlanState : public std::enable_shared_from_this<PlanState> {
 public:
  struct Request {
    std::size_t bytes = 0;
    std::uint64_t begin = 0, end = UINT64_MAX;  // event clock; UINT64_MAX: alive when the step ended
    std::size_t offset = 0;
    bool planned = false;
  };
  enum class Mode { idle, record, replay };

  explicit PlanState(Device on) : device(on) {}
  ~PlanState();
  // Storage's hooks. allocate() returns true when it served the request from the arena; the token
  // names the request for release(), which is called when that storage is destroyed.
  bool allocate(std::size_t bytes, void** ptr, std::uint64_t* token);
  void release(std::uint64_t token, bool planned);

  Device device;
  Mode mode = Mode::idle;
  bool planned = false;
  std::uint32_t generation = 0;          // one per recorded or replayed step; older tokens are ignored
  std::vector<Request> requests;
  std::vector<std::uint32_t> live;       // replay: planned request indices alive now
  std::uint64_t clock = 0;
  std::size_t next = 0;                  // replay: index of the next request
  void* arena = nullptr;
  std::size_t arena_bytes = 0;
};
PlanState* active_plan(Device device);  // this thread's plan for device, or null
}  // namespace detail

class StepMemoryPlan {
 public:
  explicit StepMemoryPlan(Device device);
  StepMemoryPlan(const StepMemoryPlan&) = delete;
  StepMemoryPlan& operator=(const StepMemoryPlan&) = delete;

  // The first step: runs on the caching allocator while its requests are logged; end_record()
  // computes the offsets and reserves the arena.
  void begin_record();
  void end_record();
  // Later steps: the same requests, served from the arena. end_replay() checks that every request
  // came as recorded and that no arena block outlives the step.
  void begin_replay();
  void end_replay();

  // Ends a record or replay without its checks (after an error inside the step); the plan stays.
  void abandon();

  bool planned() const { return state_->planned; }
  Device device() const { return state_->device; }
  std::size_t arena_bytes() const { return state_->arena_bytes; }
  std::size_t requested_bytes() const;   // sum of the planned requests (what no reuse would need)
  std::size_t requests() const { return state_->requests.size(); }
  std::size_t planned_requests() const;  // those served from the arena
  std::string summary() const;
  detail::PlanState& state() { return *state_; }

 private:
  void assign_offsets();
  std::shared_ptr<detail::PlanState> state_;
};

// RAII: the plan serves this thread's allocations while the scope lives (begin_record/begin_replay
// say how).
class MemoryPlanScope {
 public:
  explicit MemoryPlanScope(StepMemoryPlan& plan);
  ~MemoryPlanScope();
  MemoryPlanScope(const MemoryPlanScope&) = delete;
  MemoryPlanScope& operator=(const MemoryPlanScope&) = delete;

 private:
  detail::PlanState* previous_;
};

}  // namespace cmt
