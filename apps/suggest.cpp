// Typos of subcommands and flags: Levenshtein distance over the known names.
#include "apps/suggest.h"

#include <algorithm>
#include <numeric>

namespace cmt::app {

namespace {
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::min<std::size_t>(3, (word.size() + 1) / 2);  // must be below this
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string flag_suggestions(const CLI::App& cmd, int argc, char** argv, int first) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : cmd.get_options())
    for (const auto& n : opt->get_lnames()) names.push_back(n);
  std::string lines;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() < 3) continue;
    arg = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
    const std::string near = closest_name(arg, names);
    if (!near.empty()) lines += "did you mean --" + near + " (not --" + arg + ")?\n";
  }
  return lines;
}

}  // namespace cmt::app
