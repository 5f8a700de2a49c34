// Contrastive-only pre-training followed by a linear probe on one fold.
#include "apps/probe.h"

#include <filesystem>

namespace cmt::app {

RunConfig contrastive_pretraining(const RunConfig& base, const std::string& out) {
  RunConfig c = base;
  c.out = out;
  c.cls_weight = 0.f;
  if (c.lambda <= 0) c.lambda = 1.f;
  c.init_from.clear();
  c.freeze_features = false;
  return c;
}

RunConfig linear_probe(const RunConfig& base, const std::string& checkpoint, const std::string& out) {
  RunConfig c = base;
  c.out = out;
  c.init_from = checkpoint;
  c.freeze_features = true;
  c.lambda = 0.f;
  c.cls_weight = 1.f;
  c.augment = "none";
  return c;
}

FoldResult pretrain_and_probe(const RunConfig& base, const std::string& pretrain_out, const std::string& probe_out) {
  const FoldResult pre = train_fold(contrastive_pretraining(base, pretrain_out), "");
  if (pre.status == TrainStatus::interrupted) return pre;  // its head never learned: the probe's score is the one that matters
  return train_fold(linear_probe(base, (std::filesystem::path(pretrain_out) / "last.h5").string(), probe_out), "");
}

}  // namespace cmt::app
