// The mid-epoch checkpoint decision.
#include "engine/checkpoint_schedule.h"

#include <utility>

namespace cmt {

CheckpointSchedule::CheckpointSchedule(std::int64_t every_steps, double every_minutes, Clock clock)
    : every_steps_(every_steps), every_minutes_(every_minutes), clock_(std::move(clock)), last_(clock_()) {}

bool CheckpointSchedule::due(std::int64_t steps_done) const {
  if (every_steps_ > 0 && steps_done > 0 && steps_done % every_steps_ == 0) return true;
  if (every_minutes_ <= 0) return false;
  return std::chrono::duration<double, std::ratio<60>>(clock_() - last_).count() >= every_minutes_;
}

void CheckpointSchedule::restart() { last_ = clock_(); }

}  // namespace cmt
