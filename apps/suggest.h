// "Did you mean": the closest known name to a mistyped subcommand or flag.
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cmt::app {

// The candidate nearest to `word` by edit distance, when it is near enough to be a typo of it (at
// most 2 edits, and fewer than half the word's length); empty otherwise.
std::string closest_name(const std::string& word, const std::vector<std::string>& candidates);

// One line per unknown "--flag" of argv[first..] that `cmd` would take under a near name:
// "did you mean --dataset (not --datset)?"; empty when there is none.
std::string flag_suggestions(const CLI::App& cmd, int argc, char** argv, int first);

}  // namespace cmt::app
