// The folds of a cross-validation folder (fold0/, fold1/, ... of `cmt cv`) and whether each was
// trained to the end: a CV summary over missing or cut-short folds is a wrong number that looks final.
#pragma once
#include <string>
#include <vector>

namespace cmt::app {

struct CvFolds {
  int expected = 0;                   // the dataset's number of folds
  std::vector<int> ready;             // folds trained to their last epoch or step
  std::vector<std::string> problems;  // one line per fold that is missing or unfinished
};

// Throws cmt::Error when `cv_dir` holds no fold run at all.
CvFolds find_cv_folds(const std::string& cv_dir);

// Whether `run_dir`'s last.h5 is at the end its config asks for; "" when it is, else why not.
std::string unfinished_reason(const std::string& run_dir);

}  // namespace cmt::app
