// Table 4 (contrastive loss only, then a linear probe): the two runs of one fold. The pre-training
// sees only the fold's training part, so the probe's held-out evaluation stays a clean test.
#pragma once
#include <string>

#include "apps/run_setup.h"

namespace cmt::app {

// F trained by the contrastive loss alone (cls_weight 0; lambda 1 unless the run sets one), into `out`.
RunConfig contrastive_pretraining(const RunConfig& base, const std::string& out);
// G trained on the frozen features of `checkpoint` (no augmentation, no contrastive loss), into `out`.
RunConfig linear_probe(const RunConfig& base, const std::string& checkpoint, const std::string& out);
// Both on fold base.fold: pre-training into pretrain_out, then the probe into probe_out; the
// probe's held-out evaluation.
FoldResult pretrain_and_probe(const RunConfig& base, const std::string& pretrain_out, const std::string& probe_out);

}  // namespace cmt::app
