// run_info: what reproducing a run needs beyond its configuration.
#include "apps/run_info.h"

#include <chrono>
#include <ctime>

#include "cmt/build_info.h"
#include "cmt/inference.h"
#include "cmt_git_commit.h"

namespace cmt::app {

namespace {
std::string& command_line() {
  static std::string line;
  return line;
}

// The time in UTC, ISO 8601 to the second.
std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}
}  // namespace

void record_command_line(int argc, char** argv) {
  std::string& line = command_line();
  line.clear();
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool plain = !arg.empty() && arg.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    std::string quoted;  // for the shell: ' closes, an escaped quote, ' opens again
    for (char ch : arg) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    line += (i ? " " : "") + (plain ? arg : "'" + quoted + "'");
  }
}

nlohmann::json run_info(const std::string& device) {
  return {{"cmt_version", CMT_VERSION}, {"git_commit", CMT_GIT_COMMIT}, {"build_features", build_features()},
          {"device", device},           {"start_time", utc_now()},      {"command_line", command_line()}};
}

}  // namespace cmt::app
