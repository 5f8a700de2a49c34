// Each subcommand of `cmt` lives in its own file and registers itself here, so adding a
// subcommand never edits main.cpp.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace cmt::app {

// Exit codes of `cmt` (README.md, docs/training.md).
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,      // a runtime error: the message says what and where
  kUsage = 2,        // bad command line: unknown subcommand, bad flag or value
  kInterrupted = 3,  // stopped by SIGTERM/SIGUSR1 after writing a checkpoint
};

// A subcommand's action runs after parsing; it returns the process exit code.
using Action = std::function<int()>;
// Adds the subcommand to `app`; its callback stores the work to do in `action`.
using CommandSetup = std::function<void(CLI::App& app, Action& action)>;

struct CommandEntry {
  int order;  // position in `cmt --help`
  std::string name;
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(int order, std::string name, CommandSetup setup) {
    command_registry().push_back({order, std::move(name), std::move(setup)});
  }
};

}  // namespace cmt::app

// In a subcommand's file: CMT_REGISTER_COMMAND(10, "info", setup_function);
#define CMT_REGISTER_COMMAND(order, name, setup) \
  static ::cmt::app::CommandRegistrar cmt_command_registrar_##setup(order, name, setup)
