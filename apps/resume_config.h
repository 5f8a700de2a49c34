// The configuration of a resumed run comes from its checkpoint: `cmt train --resume RUN/last.h5`
// alone continues the run as it was configured. Flags and a config file may change only what does
// not alter the training itself (epochs, steps, out, device, checkpoints, logging); any other
// difference is refused, naming the keys, since the resumed run could not continue exactly.
#pragma once
#include <string>

#include "apps/run_config.h"
#include "data/dataset_identity.h"

namespace cmt::app {

// The checkpoint's configuration with the allowed overrides of `options`. A checkpoint that does
// not open is a runtime error; a refused change is a UsageError. Without --out, the run continues
// in the checkpoint's folder.
RunConfig resumed_config(const std::string& checkpoint, const RunConfigOptions& options);

// The keys of `now` that differ from `saved` and may not change on resume, one line each
// ("key: SAVED <where>, NOW now"); empty when the run may continue.
std::string changes_refused_on_resume(const nlohmann::json& saved, const nlohmann::json& now, const std::string& where);

// Refuses (cmt::Error) resuming `checkpoint` on a dataset whose identity (data/dataset_identity.h:
// size and header hash, the path aside) differs from the one the run recorded in its run_info: the
// file at `dataset` was replaced or rewritten. Runs recorded before identities were kept resume
// unchecked.
void check_resumed_dataset(const std::string& checkpoint, const std::string& dataset, const data::DatasetIdentity& identity);

}  // namespace cmt::app
