// The cross-validation of `cmt cv`, for the commands that run several (`cmt study`).
#pragma once
#include "apps/run_config.h"

namespace cmt::app {

// Before any work: every fold of base.dataset (the first `folds`, 0: all) holds a batch, and
// base.out holds no cross-validation configured otherwise. Returns the number of folds.
int check_cross_validation(const RunConfig& base, int folds, bool probe);
// Trains fold 0..k-1 into base.out/foldK, skipping the finished ones and resuming an interrupted
// one from last.h5, then writes base.out/cv.json and prints the table. `probe`: Table 4's
// contrastive pre-training and linear probe per fold. Returns kInterrupted when stopped by a signal.
int run_cross_validation(const RunConfig& base, int k, bool probe);

}  // namespace cmt::app
