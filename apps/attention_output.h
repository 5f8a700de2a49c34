// The files of `cmt predict --attention-out DIR` for one study: the paper's Fig. 5 rendering (the input
// multiplied by the attention map) as PNG, one image for X-ray and the three central orthogonal slices
// for CT, and the map itself as a float32 NumPy array (D, H, W).
#pragma once
#include <string>
#include <vector>

#include "cmt/inference.h"

namespace cmt::app {

// Writes into `dir` (which must exist) under a name made from the study's source; returns the paths.
// Each file is written under a temporary name and renamed.
std::vector<std::string> write_attention(const std::string& dir, const AttentionMap& a);

}  // namespace cmt::app
