// Run folder hygiene for `cmt train` and `cmt cv`.
#include "apps/run_folder.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <vector>

#include <fmt/core.h>

#include "apps/usage_error.h"

namespace cmt::app {

namespace fs = std::filesystem;

bool is_run_file(const std::string& file_name) {
  static const std::set<std::string> names = {"config.json", "data.json", "last.h5",         "best.h5",
                                              "steps.csv",   "metrics.csv", "metrics.jsonl", "eval.json",
                                              "roc.svg",     "confusion.svg", "predictions.csv"};
  std::string n = file_name;
  if (n.size() > 4 && n.ends_with(".tmp")) n.resize(n.size() - 4);  // a write that a kill cut short
  if (names.count(n)) return true;
  // Evaluations of the run on another dataset (eval-NAME.json, predictions-NAME.csv, ...) describe it too.
  for (const auto& [prefix, suffix] : {std::pair{"eval-", ".json"}, {"predictions-", ".csv"}, {"roc-", ".svg"}, {"confusion-", ".svg"}})
    if (n.starts_with(prefix) && n.ends_with(suffix)) return true;
  return n.starts_with("epoch") && n.ends_with(".h5") && n.size() > 8 &&
         std::all_of(n.begin() + 5, n.end() - 3, [](char ch) { return ch >= '0' && ch <= '9'; });
}

void prepare_run_folder(const std::string& dir, RunFolderUse use) {
  if (!fs::exists(dir)) return;
  if (!fs::is_directory(dir)) throw UsageError(fmt::format("--out {} exists and is not a folder", dir));
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path().filename().string());
  if (entries.empty() || use == RunFolderUse::resume) return;
  std::sort(entries.begin(), entries.end());
  if (use == RunFolderUse::fresh) {
    std::string shown;
    for (std::size_t i = 0; i < entries.size() && i < 4; ++i) shown += (i ? ", " : "") + entries[i];
    if (entries.size() > 4) shown += fmt::format(" and {} more", entries.size() - 4);
    const bool has_last = fs::exists(fs::path(dir) / "last.h5");
    throw UsageError(
        fmt::format("--out {} is not empty ({}): a new run would mix with what is there. {}--overwrite replaces "
                    "the run, or give another --out",
                    dir, shown, has_last ? fmt::format("--resume {}/last.h5 continues it, ", dir) : ""));
  }
  std::vector<std::string> kept;
  for (const auto& name : entries) {
    if (is_run_file(name)) fs::remove(fs::path(dir) / name);
    else kept.push_back(name);
  }
  if (!kept.empty()) {
    std::string list;
    for (const auto& k : kept) list += (list.empty() ? "" : ", ") + k;
    fmt::print(stderr, "cmt: --overwrite: removed the previous run's files from {}; kept the others ({})\n", dir, list);
  }
}

}  // namespace cmt::app
