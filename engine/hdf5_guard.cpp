// The forked check of an HDF5 file before cmt reads it in its own process (engine/hdf5_guard.h).
#include "engine/hdf5_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <new>
#include <sstream>
#include <tuple>
#include <vector>

#include "engine/check.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define CMT_GUARD_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CMT_GUARD_SANITIZED 1
#endif
#if defined(CMT_GUARD_SANITIZED)
#include <sanitizer/common_interface_defs.h>
#endif

namespace cmt::hdf5_guard {

namespace {

std::atomic<std::int64_t> g_checks{0};

// What identifies a file's content cheaply: a rewrite or replacement changes the inode, size or
// modification time, or, within one tick of the file system's clock, the bytes at either end, where
// HDF5 keeps the superblock, the root group and the metadata written last.
using Stamp = std::tuple<dev_t, ino_t, off_t, std::int64_t, std::uint64_t>;
constexpr off_t kHashedEnd = 64 * 1024;

std::uint64_t hash_ends(int fd, off_t size) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  std::vector<unsigned char> buf(static_cast<std::size_t>(kHashedEnd));
  for (const off_t from : {off_t{0}, std::max<off_t>(0, size - kHashedEnd)}) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), from);
    for (ssize_t i = 0; i < n; ++i) h = (h ^ buf[static_cast<std::size_t>(i)]) * 1099511628211ull;
  }
  return h;
}

bool stamp_of(const std::string& path, Stamp& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  const bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok)
    out = Stamp{st.st_dev, st.st_ino, st.st_size, std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec,
                hash_ends(fd, st.st_size)};
  ::close(fd);
  return ok;
}

std::mutex& known_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Stamp>& known_good() {
  static std::map<std::string, Stamp> files;
  return files;
}
std::string key_of(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

void remember(const std::string& path) {
  Stamp s;
  if (!stamp_of(path, s)) return;
  std::lock_guard<std::mutex> lock(known_mutex());
  known_good()[key_of(path)] = s;
}

bool known(const std::string& path) {
  Stamp s;
  if (!stamp_of(path, s)) return false;
  std::lock_guard<std::mutex> lock(known_mutex());
  const auto it = known_good().find(key_of(path));
  return it != known_good().end() && it->second == s;
}

double positive_number(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  CMT_CHECK(end && *end == '\0' && std::isfinite(v) && v > 0, name << "='" << text << "' must be a positive number");
  return v;
}

// The child: limits, default signal actions (a crash kills it with its signal, which the parent
// reports), the reading, one result byte and the message, _exit. Nothing here touches CUDA, MPI,
// stdio buffers or the parent's other threads (which do not exist in the child).
[[noreturn]] void run_child(int out, const std::string& path, const std::function<void(const std::string&)>& read,
                            const Limits& limits) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGXCPU}) ::signal(sig, SIG_DFL);
#if defined(CMT_GUARD_SANITIZED)
  __sanitizer_set_death_callback(nullptr);  // a fuzzer's callback would save the input as its own crash
#endif
  const rlim_t cpu = static_cast<rlim_t>(std::ceil(limits.seconds)) + 1;  // a backstop: the parent kills at the wall-clock limit
  const rlimit cpu_limit{cpu, cpu + 1}, no_core{0, 0};
  ::setrlimit(RLIMIT_CPU, &cpu_limit);
  ::setrlimit(RLIMIT_CORE, &no_core);
  // The address space the child may add to what it inherited (CUDA and the sanitizers reserve
  // terabytes of it without using them).
  char statm[128] = {};
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    [[maybe_unused]] const ssize_t got = ::read(fd, statm, sizeof(statm) - 1);
    ::close(fd);
    const rlim_t inherited = std::strtoull(statm, nullptr, 10) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE));
    const rlimit as{inherited + (static_cast<rlim_t>(limits.memory_mb) << 20), RLIM_INFINITY};
    ::setrlimit(RLIMIT_AS, &as);
  }
  char status = 'X';
  std::string message;
  try {
    read(path);
    status = '0';
  } catch (const Error& e) {
    status = 'E';
    message = e.what();
  } catch (const std::bad_alloc&) {
    status = 'M';
  } catch (...) {
    status = 'X';  // another exception type: the process itself meets it again and shows it
  }
  std::string report = status + message;
  for (std::size_t done = 0; done < report.size();) {
    const ssize_t n = ::write(out, report.data() + done, report.size() - done);
    if (n <= 0 && errno != EINTR) break;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  ::_exit(0);
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string seconds_text(double s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

}  // namespace

Limits limits_from_env() {
  Limits l;
  l.seconds = positive_number("CMT_HDF5_GUARD_SECONDS", l.seconds);
  l.memory_mb = static_cast<std::uint64_t>(positive_number("CMT_HDF5_GUARD_MEMORY_MB", static_cast<double>(l.memory_mb)));
  return l;
}

bool enabled() {
  const char* v = std::getenv("CMT_HDF5_GUARD");
  if (!v || !*v || std::strcmp(v, "on") == 0 || std::strcmp(v, "1") == 0) return true;
  CMT_CHECK(std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0, "CMT_HDF5_GUARD='" << v << "' must be on or off");
  return false;
}

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex m;
  return m;
}

std::int64_t checks_run() { return g_checks.load(); }

void trust_written(const std::string& path) { remember(path); }

void check(const std::string& path, const std::function<void(const std::string&)>& read_structure) {
  if (!enabled()) return;
  check(path, read_structure, limits_from_env());
}

void check(const std::string& path, const std::function<void(const std::string&)>& read_structure, const Limits& limits) {
  if (known(path)) return;
  Stamp before;
  if (!stamp_of(path, before)) return;  // missing or not a file: the reader itself says so
  // The pipe is made, the child forked and the writing end closed under one lock: a check in
  // another thread cannot fork a child of its own that keeps a copy of this pipe open.
  int pipe_fds[2] = {-1, -1};
  pid_t child = -1;
  int fork_error = 0;
  {
    std::lock_guard<std::recursive_mutex> lock(library_mutex());
    CMT_CHECK(::pipe2(pipe_fds, O_CLOEXEC) == 0, "cannot check the file in a separate process first (pipe: "
                                                     << std::strerror(errno) << "); CMT_HDF5_GUARD=off reads trusted files without it");
    child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      run_child(pipe_fds[1], path, read_structure, limits);
    }
    fork_error = errno;
    ::close(pipe_fds[1]);
  }
  if (child < 0) {
    ::close(pipe_fds[0]);
    CMT_THROW("cannot check the file in a separate process first (fork: " << std::strerror(fork_error)
                                                                         << "); CMT_HDF5_GUARD=off reads trusted files without it");
  }
  ++g_checks;
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(limits.seconds);
  // The result is read until the pipe's end of file, or until the child has exited (should any
  // other child hold a copy of the pipe's writing end).
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  std::string report;
  auto drain = [&] {  // false at the end of file
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
      if (n > 0 && report.size() < (std::size_t{1} << 16)) report.append(buf, static_cast<std::size_t>(n));
      if (n > 0) continue;
      return !(n == 0 || (errno != EINTR && errno != EAGAIN));
    }
  };
  bool timed_out = false, reaped = false;
  int status = 0;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 20)));  // EINTR (a fuzzer's or profiler's timer) is fine
    if (!drain()) break;
    if (::waitpid(child, &status, WNOHANG) == child) {
      reaped = true;
      drain();
      break;
    }
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(child, SIGKILL);
  while (!reaped && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string limit_hint = " (a corrupt file can make HDF5 loop forever; CMT_HDF5_GUARD_SECONDS sets the limit)";
  if (timed_out) CMT_THROW("HDF5 did not finish reading the file's structure within " << seconds_text(limits.seconds) << " s" << limit_hint);
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGXCPU) CMT_THROW("HDF5 did not finish reading the file's structure within its CPU time of " << seconds_text(limits.seconds) << " s" << limit_hint);
    CMT_THROW("HDF5 crashed (" << signal_name(sig) << ") while reading the file's structure; the file is corrupt");
  }
  if (report.empty())  // a sanitizer's report ends the child with an exit status instead of a signal
    CMT_THROW("HDF5 crashed (exit status " << WEXITSTATUS(status) << ", no result) while reading the file's structure; the file is corrupt");
  switch (report[0]) {
    case '0': {
      Stamp after;
      if (stamp_of(path, after) && after == before) remember(path);
      return;
    }
    case 'E':
      throw Error(report.substr(1));
    case 'M':
      CMT_THROW("reading the file's structure needed more than " << limits.memory_mb
                << " MiB of memory (CMT_HDF5_GUARD_MEMORY_MB sets the limit); the file is corrupt or claims more than it holds");
    default:
      return;  // another exception type: the process meets it itself
  }
}

}  // namespace cmt::hdf5_guard
