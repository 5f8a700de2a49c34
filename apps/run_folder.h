// A run folder holds one run: `cmt train` into a folder that already holds files refuses, unless
// the run resumes (--resume) or replaces the old one (--overwrite), so two runs never mix.
#pragma once
#include <string>

namespace cmt::app {

enum class RunFolderUse { fresh, resume, overwrite };

// Throws a UsageError when `dir` exists and is not empty and `use` is fresh. With overwrite, removes
// the files a run writes (checkpoints, logs, evaluation); other files stay and are named on stderr.
void prepare_run_folder(const std::string& dir, RunFolderUse use);

// True when `name` is a file that a run writes into its folder (or its temporary name).
bool is_run_file(const std::string& name);

}  // namespace cmt::app
