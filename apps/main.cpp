// The `cmt` command: parses the command line and runs one subcommand; the only place where an
// exception becomes an exit code.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "apps/commands.h"
#include "apps/run_info.h"
#include "apps/suggest.h"
#include "apps/usage_error.h"
#include "cmt/build_info.h"
#include "data/dicom_log.h"
#include "engine/signals.h"
#include "kernels/common/check.h"

namespace cmt::app {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> entries;
  return entries;
}
}  // namespace cmt::app

int main(int argc, char** argv) {
  using namespace cmt::app;
  cmt::route_stop_signals();  // before any thread starts (engine/signals.h says why)
  record_command_line(argc, argv);
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG, which is reported with the
  // file's name and its temporary file removed, instead of the process dying mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"cmt " CMT_VERSION ": contrastive multi-task CNN training engine for CT and X-ray", "cmt"};
  app.option_defaults()->always_capture_default();  // --help shows every option's default
  app.set_version_flag("--version", CMT_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  Action action;
  auto& commands = command_registry();
  std::sort(commands.begin(), commands.end(), [](const CommandEntry& a, const CommandEntry& b) { return a.order < b.order; });
  for (const CommandEntry& c : commands) c.setup(app, action);
  // --verbose on every subcommand: library diagnostics (DCMTK's parser detail) that stay quiet otherwise.
  bool verbose = false;
  for (CLI::App* sub : app.get_subcommands({}))
    sub->add_flag("--verbose", verbose, "also print library diagnostics (DICOM parser detail) on stderr");

  // An unknown first word is an unknown subcommand, not "an extra argument": say so plainly.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->check_name(word);
    if (!known) {
      std::vector<std::string> names;
      for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
      const std::string near = closest_name(word, names);
      std::fprintf(stderr, "cmt: unknown subcommand '%s'%s (run 'cmt --help' for the list)\n", word.c_str(),
                   near.empty() ? "" : (": did you mean '" + near + "'?").c_str());
      return kUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "cmt: %s\n", e.what());
    if (!app.get_subcommands().empty())
      std::fprintf(stderr, "%s", flag_suggestions(*app.get_subcommands().front(), argc, argv, 2).c_str());
    std::fprintf(stderr, "run 'cmt %s--help' for usage\n",
                 app.get_subcommands().empty() ? "" : (app.get_subcommands().front()->get_name() + " ").c_str());
    return kUsage;
  }
  cmt::data::configure_dicom_log(verbose);
  try {
    return action ? action() : kOk;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "cmt: error: %s\n", e.what());
    return kUsage;
  } catch (const cmt::Error& e) {
    std::fprintf(stderr, "cmt: error: %s\n", e.what());
    return kFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt: unexpected error: %s\n", e.what());
    return kFailure;
  }
}
