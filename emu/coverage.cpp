// Kernel coverage of the emulated test suite: with CMT_EMU_COVERAGE_DIR set, every process appends
// the demangled names of the kernels it launched, with their launch counts, to
// $CMT_EMU_COVERAGE_DIR/<pid>.txt at exit; tests/emu/kernel_coverage.py reads them all. A process
// that aborts records nothing (it is a failing test anyway).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "emu/counters.h"

namespace cmt::emu {

namespace {

void write_coverage() {
  const char* dir = std::getenv("CMT_EMU_COVERAGE_DIR");
  if (!dir || !*dir) return;
  const auto table = kernel_counters();
  if (table.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // parallel tests may race to create it: fine
  const std::string path = std::string(dir) + "/" + std::to_string(::getpid()) + ".txt";
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) {
    std::fprintf(stderr, "cmt emulator: cannot write kernel coverage to %s\n", path.c_str());
    return;
  }
  // "<launches>\t<demangled name>", one kernel a line (a demangled name holds no newline).
  for (const auto& [name, c] : table)
    if (c.launches > 0) std::fprintf(f, "%llu\t%s\n", static_cast<unsigned long long>(c.launches), name.c_str());
  std::fclose(f);
}

}  // namespace

void record_coverage_at_exit() {
  // Registered at the first launch, after the counters' own statics exist, so it runs before
  // their destructors.
  static const bool registered = std::atexit(write_coverage) == 0;
  (void)registered;
}

}  // namespace cmt::emu
