// Training progress: a bar with rate and ETA on a terminal, plain periodic lines with a timestamp
// otherwise (the logs of batch jobs).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace cmt {

// The time now as strftime's `format` writes it, in UTC or the local time zone.
std::string wall_clock_text(const char* format, bool utc);

class Progress {
 public:
  // total: steps in this phase; label: e.g. "epoch 3/10".
  Progress(std::string label, std::int64_t total, bool enabled = true);
  void update(std::int64_t done, const std::string& status);  // status: "loss 0.693 acc 0.51"
  void finish(const std::string& summary);

 private:
  std::string label_;
  std::int64_t total_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace cmt
