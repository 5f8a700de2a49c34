// Each subcommand of `cmt` lives in its own file and registers itself here.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace cmt::app {

// Exit codes of `cmt` (documented in docs/cli.md).
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,      // a runtime error: the message says what and where
  kUsage = 2,        // bad command line: unknown subcommand, bad flag or value
  kInterrupted = 3,  // stopped by SIGTERM/SIGUSR1 after writing a checkpoint
};

// A subcommand's action runs after parsing; it returns the process exit code.
using Action = std::function<int()>;

void add_info_command(CLI::App& app, Action& action);

}  // namespace cmt::app
