// Compares a case's outputs with the reference's, output by output, with the case's checks.
#pragma once
#include <string>

#include "ops/op_case.h"

namespace cmt::opcase {

struct Verdict {
  bool ok = true;
  std::string report;  // a line per output
};

// Every output of `want` must be in `got` with the same shape and dtype, and pass its check.
Verdict compare_outputs(const OpCase& c, const Tensors& got, const Tensors& want);

// The per-row seed: the run's seed (CMT_TEST_SEED replays it) mixed with the case's id.
std::uint64_t case_seed(const std::string& id);
std::uint64_t run_seed();

}  // namespace cmt::opcase
