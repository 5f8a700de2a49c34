// Progress output.
#include "engine/progress.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace cmt {

std::string wall_clock_text(const char* format, bool utc) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  if (utc) gmtime_r(&t, &tm);
  else localtime_r(&t, &tm);
  char text[64];
  return std::string(text, std::strftime(text, sizeof text, format, &tm));
}

namespace {
// "[2026-03-01 14:05:09] ": lines in a log file (not a terminal) say when they were written.
std::string log_time() { return wall_clock_text("[%Y-%m-%d %H:%M:%S] ", false); }
}  // namespace

Progress::Progress(std::string label, std::int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {}

void Progress::update(std::int64_t done, const std::string& status) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
  if (tty_) {
    if (since < 0.1 && done < total_) return;
    constexpr int kWidth = 28;
    const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %.2f it/s ETA %.0fs %s\033[K", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), rate, eta, status.c_str());
  } else {
    if (since < 10.0 && done < total_) return;  // a line every 10 s in logs
    std::fprintf(stderr, "%s%s %lld/%lld %.2f it/s ETA %.0fs %s\n", log_time().c_str(), label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), rate, eta, status.c_str());
  }
  last_print_ = now;
  std::fflush(stderr);
}

void Progress::finish(const std::string& summary) {
  // The summary line is printed even without the bar: it is the record of the phase.
  if (enabled_ && tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s%s %s\n", tty_ ? "" : log_time().c_str(), label_.c_str(), summary.c_str());
  std::fflush(stderr);
}

}  // namespace cmt
