// `cmt_bench_hdf5_guard [--reps N] [--rss-mb M] [--dataset F] [--checkpoint F] [--structure F] [--fork-only F]`:
// what the HDF5 guard (engine/hdf5_guard.h) adds to opening a file: each opener timed with the
// guard off and on (the file's modification time bumped before every repetition, so that every
// open is checked), optionally in a process that first fills M MiB of memory (fork copies its
// page tables). --structure times the check alone (the walk every kind's child runs), --fork-only
// a check whose child does nothing.
#include <fmt/core.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/checkpoint.h"
#include "engine/hdf5_guard.h"
#include "engine/hdf5_structure.h"

using namespace cmt;

namespace {

void bump_mtime(const std::string& path) {
  const timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  ::utimensat(AT_FDCWD, path.c_str(), now, 0);
}

double cpu_ms() {  // this process and its waited-for children, user and system
  double total = 0;
  for (const int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u {};
    ::getrusage(who, &u);
    total += (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-3;
  }
  return total;
}

// Median wall milliseconds of `open` over `reps` repetitions, and the mean CPU milliseconds (which
// a loaded machine does not inflate as it does the wall time).
std::pair<double, double> median_ms(int reps, const std::string& path, const std::function<void()>& open) {
  std::vector<double> ms;
  const double cpu0 = cpu_ms();
  for (int i = 0; i < reps; ++i) {
    bump_mtime(path);
    const auto t0 = std::chrono::steady_clock::now();
    open();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  const double cpu = (cpu_ms() - cpu0) / reps;
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], cpu};
}

void report(const char* kind, const std::string& path, int reps, const std::function<void()>& open) {
  ::setenv("CMT_HDF5_GUARD", "off", 1);
  const auto [off, off_cpu] = median_ms(reps, path, open);
  ::setenv("CMT_HDF5_GUARD", "on", 1);
  const auto [on, on_cpu] = median_ms(reps, path, open);
  fmt::print("{:<11} wall {:>8.2f} ms off {:>8.2f} ms on (+{:.2f})  cpu {:>7.2f} ms off {:>7.2f} ms on (+{:.2f})  {}\n", kind, off,
             on, on - off, off_cpu, on_cpu, on_cpu - off_cpu, path);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 21;
  std::size_t rss_mb = 0;
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--rss-mb") rss_mb = static_cast<std::size_t>(std::atoll(argv[i + 1]));
    else files.emplace_back(a, argv[i + 1]);
  }
  std::vector<char> ballast(rss_mb << 20);
  std::memset(ballast.data(), 1, ballast.size());  // touched: resident, with page tables to copy
  fmt::print("process holding {} MiB of touched memory, median of {} opens\n", rss_mb, reps);
  for (const auto& [flag, path] : files) {
    if (flag == "--dataset") report("dataset", path, reps, [&] { data::Dataset::open(path); });
    if (flag == "--checkpoint") report("checkpoint", path, reps, [&] { read_checkpoint_state(path); });
    if (flag == "--fork-only")  // the child does nothing: the cost of fork, wait and exit alone
      report("fork only", path, reps, [&] {
        if (hdf5_guard::enabled()) hdf5_guard::check(path, [](const std::string&) {});
      });
    if (flag == "--structure")
      report("check only", path, reps, [&] {
        if (hdf5_guard::enabled()) hdf5_guard::check(path, hdf5_structure::read_all);
      });
  }
  return static_cast<int>(!ballast.empty() && ballast[0] != 1);
}
