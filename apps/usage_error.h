// A bad command line (a flag's value, a key of the configuration it names): `cmt` exits 2 for it,
// as for a parse error, and 1 only for failures at run time (README.md).
#pragma once
#include <utility>

#include "kernels/common/check.h"

namespace cmt::app {

class UsageError : public Error {
 public:
  using Error::Error;
};

// Runs `check`; a cmt::Error it throws becomes a UsageError with the same message.
template <class Check>
decltype(auto) as_usage_error(Check&& check) {
  try {
    return std::forward<Check>(check)();
  } catch (const UsageError&) {
    throw;
  } catch (const OutOfMemory&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

}  // namespace cmt::app
