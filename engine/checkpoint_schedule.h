// When the trainer writes a mid-epoch checkpoint (checkpoint_steps, checkpoint_minutes), so that a
// crash or a node failure loses at most that much work, not a whole epoch.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>

namespace cmt {

class CheckpointSchedule {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // every_steps > 0: due after every step whose global count is a multiple of it (counted from the
  // start of training, so a resumed run checkpoints at the same steps as an uninterrupted one).
  // every_minutes > 0: due once that much wall-clock time has passed since the last checkpoint.
  // 0 turns either off. The clock is injectable for tests.
  CheckpointSchedule(std::int64_t every_steps, double every_minutes, Clock clock = &std::chrono::steady_clock::now);

  bool enabled() const { return every_steps_ > 0 || every_minutes_ > 0; }
  bool due(std::int64_t steps_done) const;  // after the step that made steps_done steps in all
  void restart();                           // a checkpoint was just written: the minutes count from now

 private:
  std::int64_t every_steps_;
  double every_minutes_;
  Clock clock_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace cmt
