// One flag name per concept across subcommands (--batch-size, --size, --device ...). Older spellings
// stay accepted as hidden aliases, so scripts that use them keep working; --help shows one name.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

namespace cmt::app {

inline constexpr const char* kDeviceHelp = "auto | cpu | cuda[:N]";

// A --device value is checked where it is parsed: a bad one is a bad command line (exit 2).
inline const CLI::Validator& device_check() {
  static const CLI::Validator check(
      [](std::string& v) {
        const bool indexed = v.rfind("cuda:", 0) == 0 && v.size() > 5 && v.find_first_not_of("0123456789", 5) == std::string::npos;
        return v == "auto" || v == "cpu" || v == "cuda" || indexed ? std::string() : "expected " + std::string(kDeviceHelp) + ", got '" + v + "'";
      },
      "DEVICE");
  return check;
}

// `name` sets the same variable as the option it stands for, and is left out of --help.
template <class T>
CLI::Option* add_hidden_alias(CLI::App& cmd, const std::string& name, T& variable) {
  return cmd.add_option(name, variable)->group("");
}

}  // namespace cmt::app
