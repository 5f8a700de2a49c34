// An LD_PRELOAD library for the fault tests: kills its process with SIGKILL, as `kill -9` would,
// in the middle of writing a chosen file, so that a test can see what a crash at that moment leaves.
//   CMT_KILL_MATCH=TEXT      a write into a file whose path contains TEXT kills the process...
//   CMT_KILL_AFTER_RENAMES=N ...once N files whose new path contains TEXT were renamed into place
//                            (N = 1: the second checkpoint written under a name dies mid-write).
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

const char* match() {
  static const char* m = std::getenv("CMT_KILL_MATCH");
  return m != nullptr && *m != '\0' ? m : nullptr;
}

int renames_seen = 0;

bool armed() {
  static const int after = std::getenv("CMT_KILL_AFTER_RENAMES") ? std::atoi(std::getenv("CMT_KILL_AFTER_RENAMES")) : 0;
  return renames_seen >= after;
}

void kill_if_target(int fd) {
  if (match() == nullptr || !armed()) return;
  char link[64], path[4096];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0) return;
  path[n] = '\0';
  if (std::strstr(path, match()) != nullptr) raise(SIGKILL);
}

template <class F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t count) {
  kill_if_target(fd);
  static auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  return real(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  kill_if_target(fd);
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  return real(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  kill_if_target(fd);
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite64");
  return real(fd, buf, count, offset);
}

int rename(const char* from, const char* to) {
  static auto real = next<int (*)(const char*, const char*)>("rename");
  const int r = real(from, to);
  if (r == 0 && match() != nullptr && std::strstr(from, match()) != nullptr) ++renames_seen;
  return r;
}

}  // extern "C"
