// One flag name per concept across subcommands (--batch-size, --size, --device ...). Older spellings
// stay accepted as hidden aliases, so scripts that use them keep working; --help shows one name.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

namespace cmt::app {

inline constexpr const char* kDeviceHelp = "auto | cpu | cuda[:N]";

// `name` sets the same variable as the option it stands for, and is left out of --help.
template <class T>
CLI::Option* add_hidden_alias(CLI::App& cmd, const std::string& name, T& variable) {
  return cmd.add_option(name, variable)->group("");
}

}  // namespace cmt::app
