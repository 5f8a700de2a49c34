#include "apps/paired_folds.h"

#include <cmath>
#include <cstdio>

#include "kernels/common/check.h"

namespace cmt::app {

// Folds are paired by position, so both runs must have held out the same samples in the same
// order: same fold ids, same held-out digest per fold (apps/run_setup.cpp, summarize_folds).
void check_same_folds(const nlohmann::json& a, const nlohmann::json& b, const std::string& a_dir, const std::string& b_dir) {
  for (const auto* run : {&a, &b})
    CMT_CHECK(run->contains("held_out") && run->contains("fold_ids"),
              (run == &a ? a_dir : b_dir) << "/cv.json: no record of its held-out samples; re-evaluate it with `cmt eval --cv "
                                          << (run == &a ? a_dir : b_dir) << "` before comparing");
  CMT_CHECK(a["fold_ids"] == b["fold_ids"], "cannot pair the folds: " << a_dir << " has folds " << a["fold_ids"].dump() << ", "
                                                                      << b_dir << " has " << b["fold_ids"].dump());
  for (std::size_t i = 0; i < a["held_out"].size(); ++i)
    CMT_CHECK(a["held_out"][i] == b["held_out"][i], "cannot pair fold "
                                                        << a["fold_ids"][i].dump() << ": " << a_dir << " and " << b_dir
                                                        << " held out different samples (another dataset or other folds)");
  const std::string da = a.contains("config") ? a["config"].value("dataset", "") : "";
  const std::string db = b.contains("config") ? b["config"].value("dataset", "") : "";
  if (!da.empty() && !db.empty() && da != db)
    std::fprintf(stderr, "cmt compare: note: the runs name different dataset files (%s, %s) but held out the same samples\n",
                 da.c_str(), db.c_str());
}

std::vector<double> per_fold(const nlohmann::json& run, const std::string& dir, const char* key) {
  std::vector<double> v;
  for (const auto& x : run["per_fold"][key]) {
    CMT_CHECK(x.is_number() && std::isfinite(x.get<double>()), dir << "/cv.json: fold " << run["fold_ids"][v.size()].dump()
                                                                   << " has '" << key << "' = " << x.dump() << ", not a number");
    v.push_back(x.get<double>());
  }
  return v;
}

}  // namespace cmt::app
