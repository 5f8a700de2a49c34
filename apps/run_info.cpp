// run_info: what reproducing a run needs beyond its configuration.
#include "apps/run_info.h"

#include "cmt/build_info.h"
#include "cmt/inference.h"
#include "cmt_git_commit.h"
#include "engine/progress.h"

namespace cmt::app {

namespace {
std::string& command_line() {
  static std::string line;
  return line;
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
  return {{"cmt_version", CMT_VERSION},
          {"git_commit", CMT_GIT_COMMIT},
          {"build_features", build_features()},
          {"device", device},
          {"start_time", wall_clock_text("%Y-%m-%dT%H:%M:%SZ", true)},
          {"command_line", command_line()}};
}

}  // namespace cmt::app
