// StepMemoryPlan: record a step's allocations, pack them into one arena, serve them by index.
#include "engine/memory_plan.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "engine/allocator.h"
#include "kernels/common/check.h"

namespace cmt {

namespace {
constexpr std::size_t kAlign = 256;  // the caching allocator's and cuBLAS's alignment
std::size_t align_up(std::size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

struct ActivePlan {
  detail::PlanState* state = nullptr;
};
thread_local ActivePlan t_active;

std::uint64_t make_token(std::uint32_t generation, std::size_t index) {
  return (static_cast<std::uint64_t>(generation) << 32) | static_cast<std::uint32_t>(index);
}
}  // namespace

namespace detail {

PlanState* active_plan(Device device) {
  PlanState* s = t_active.state;
  return s != nullptr && s->mode != PlanState::Mode::idle && s->device == device ? s : nullptr;
}

PlanState::~PlanState() {
  if (arena != nullptr) allocator_for(device).deallocate(arena, arena_bytes);
}

bool PlanState::allocate(std::size_t bytes, void** ptr, std::uint64_t* token) {
  if (mode == Mode::record) {
    Request r;
    r.bytes = bytes;
    r.begin = clock++;
    *token = make_token(generation, requests.size());
    requests.push_back(r);
    return false;  // the caching allocator serves the recorded step
  }
  // Replay: the request must be the one recorded at this index.
  CMT_CHECK(next < requests.size() && requests[next].bytes == bytes,
            "memory plan: the step's allocation #" << next << " asks for " << bytes << " bytes but the recorded step "
                                                   << (next < requests.size() ? "asked for " + std::to_string(requests[next].bytes) + " bytes"
                                                                              : std::string("had no such allocation"))
                                                   << " (the step changed its allocation pattern; record a new plan)");
  const std::size_t i = next++;
  *token = make_token(generation, i);
  const Request& r = requests[i];
  if (!r.planned) return false;
  // No block alive now may share bytes with this one: a lifetime longer than recorded would show here.
  for (const std::uint32_t j : live) {
    const Request& o = requests[j];
    CMT_CHECK(o.offset + align_up(o.bytes) <= r.offset || r.offset + align_up(r.bytes) <= o.offset,
              "memory plan: allocation #" << i << " would overlap #" << j << ", which is still alive (a tensor outlived its "
                                          << "recorded lifetime)");
  }
  live.push_back(static_cast<std::uint32_t>(i));
  *ptr = static_cast<char*>(arena) + r.offset;
  return true;
}

void PlanState::release(std::uint64_t token, bool was_planned) {
  if (static_cast<std::uint32_t>(token >> 32) != generation) return;  // from an earlier step
  const auto i = static_cast<std::uint32_t>(token & 0xffffffffu);
  if (mode == Mode::record) {
    if (i < requests.size()) requests[i].end = clock++;
    return;
  }
  if (was_planned) {
    const auto it = std::find(live.begin(), live.end(), i);
    if (it != live.end()) live.erase(it);
  }
}

}  // namespace detail

StepMemoryPlan::StepMemoryPlan(Device device) : state_(std::make_shared<detail::PlanState>(device)) {}

void StepMemoryPlan::begin_record() {
  detail::PlanState& s = *state_;
  CMT_CHECK(s.mode == detail::PlanState::Mode::idle, "memory plan: begin_record inside a step");
  if (s.arena != nullptr) {
    allocator_for(s.device).deallocate(s.arena, s.arena_bytes);
    s.arena = nullptr;
    s.arena_bytes = 0;
  }
  s.planned = false;
  s.requests.clear();
  s.clock = 0;
  ++s.generation;
  s.mode = detail::PlanState::Mode::record;
}

void StepMemoryPlan::end_record() {
  detail::PlanState& s = *state_;
  CMT_CHECK(s.mode == detail::PlanState::Mode::record, "memory plan: end_record without begin_record");
  s.mode = detail::PlanState::Mode::idle;
  assign_offsets();
  if (s.arena_bytes > 0) s.arena = allocator_for(s.device).allocate(s.arena_bytes);
  s.planned = true;
}

void StepMemoryPlan::begin_replay() {
  detail::PlanState& s = *state_;
  CMT_CHECK(s.planned, "memory plan: replay before a step was recorded");
  CMT_CHECK(s.mode == detail::PlanState::Mode::idle, "memory plan: begin_replay inside a step");
  s.next = 0;
  s.live.clear();
  ++s.generation;
  s.mode = detail::PlanState::Mode::replay;
}

void StepMemoryPlan::end_replay() {
  detail::PlanState& s = *state_;
  CMT_CHECK(s.mode == detail::PlanState::Mode::replay, "memory plan: end_replay without begin_replay");
  s.mode = detail::PlanState::Mode::idle;
  CMT_CHECK(s.next == s.requests.size(), "memory plan: the step made " << s.next << " allocations, the recorded one "
                                                                       << s.requests.size());
  CMT_CHECK(s.live.empty(), "memory plan: " << s.live.size() << " arena block(s) outlive the step (first: allocation #"
                                            << s.live.front() << ")");
}

void StepMemoryPlan::abandon() {
  detail::PlanState& s = *state_;
  if (s.mode == detail::PlanState::Mode::record) s.requests.clear();
  s.mode = detail::PlanState::Mode::idle;
  s.live.clear();
  ++s.generation;  // tokens of the abandoned step are ignored from now on
}

void StepMemoryPlan::assign_offsets() {
  using Request = detail::PlanState::Request;
  detail::PlanState& s = *state_;
  auto& req = s.requests;
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < req.size(); ++i) {
    req[i].planned = req[i].end != UINT64_MAX;  // what escapes the step stays with the caching allocator
    if (req[i].planned) order.push_back(i);
  }
  // Largest first, then earliest: each goes to the lowest offset that no overlapping-in-time block uses.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return req[a].bytes != req[b].bytes ? req[a].bytes > req[b].bytes : req[a].begin < req[b].begin;
  });
  std::vector<std::size_t> placed;
  std::size_t top = 0;
  for (const std::size_t i : order) {
    Request& r = req[i];
    std::vector<std::pair<std::size_t, std::size_t>> busy;  // [offset, offset + size) of time-overlapping blocks
    for (const std::size_t j : placed) {
      const Request& o = req[j];
      if (o.begin < r.end && r.begin < o.end) busy.emplace_back(o.offset, o.offset + align_up(o.bytes));
    }
    std::sort(busy.begin(), busy.end());
    std::size_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + align_up(r.bytes) <= lo) break;
      offset = std::max(offset, hi);
    }
    r.offset = offset;
    top = std::max(top, offset + align_up(r.bytes));
    placed.push_back(i);
  }
  s.arena_bytes = top;
}

std::size_t StepMemoryPlan::requested_bytes() const {
  std::size_t sum = 0;
  for (const auto& r : state_->requests)
    if (r.planned) sum += align_up(r.bytes);
  return sum;
}

std::size_t StepMemoryPlan::planned_requests() const {
  return static_cast<std::size_t>(
      std::count_if(state_->requests.begin(), state_->requests.end(), [](const auto& r) { return r.planned; }));
}

std::string StepMemoryPlan::summary() const {
  std::ostringstream os;
  os << planned_requests() << " of " << requests() << " allocations planned into a " << arena_bytes() / (1024.0 * 1024.0)
     << " MiB arena (" << requested_bytes() / (1024.0 * 1024.0) << " MiB without reuse)";
  return os.str();
}

MemoryPlanScope::MemoryPlanScope(StepMemoryPlan& plan) : previous_(t_active.state) { t_active.state = &plan.state(); }
MemoryPlanScope::~MemoryPlanScope() { t_active.state = previous_; }

}  // namespace cmt
