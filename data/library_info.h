// Versions of the data-path libraries (DCMTK, libpng, libjpeg) for `cmt info`.
#pragma once
#include <vector>

#include "engine/runtime_info.h"

namespace cmt::data {

std::vector<NamedValue> library_versions();

}  // namespace cmt::data
