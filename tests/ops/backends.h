// The backends every op case runs on, each against the CPU reference. A new backend (a CPU
// library path, another device) is one entry here; the case table does not change.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ops/op_case.h"

namespace cmt::opcase {

struct Backend {
  std::string name;
  Device device;
  std::vector<std::string> families;  // the families it implements differently (empty: all)
  bool separate_reference_only = false;  // the CPU itself: only cases whose reference is another code path
  std::function<std::string()> unavailable;  // why it cannot run here ("" when it can)
  std::function<void()> enter, leave;        // select it (a process-wide conv backend, say) and restore

  bool covers(const OpCase& c) const;
};

const std::vector<Backend>& backends();
const Backend* find_backend(const std::string& name);

}  // namespace cmt::opcase
