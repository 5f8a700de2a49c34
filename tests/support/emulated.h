// Whether the tests run on the emulated device, and the sizes they shrink to there.
#pragma once
#include <cstdint>

namespace cmt::test {

// True in the emulated build (docs/emulation.md), where every CUDA thread is a fiber checked by
// ThreadSanitizer: about a million emulated threads a second. Tests keep their cases there but run
// fewer or smaller ones where a real GPU would take them in milliseconds.
constexpr bool emulated() {
#if defined(CMT_EMULATED_DEVICE)
  return true;
#else
  return false;
#endif
}
// n on a GPU or the CPU; n / divisor (at least minimum) on the emulated device.
constexpr std::int64_t on_emulator(std::int64_t n, std::int64_t divisor, std::int64_t minimum = 1) {
  return emulated() ? (n / divisor > minimum ? n / divisor : minimum) : n;
}

}  // namespace cmt::test
