// How a run was made, recorded beside its configuration (config.json "run_info" and the
// checkpoints): cmt version, commit, build features, device, start time, command line. A record
// only: reading a configuration ignores it.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace cmt::app {

void record_command_line(int argc, char** argv);  // main() calls it first
nlohmann::json run_info(const std::string& device);

}  // namespace cmt::app
