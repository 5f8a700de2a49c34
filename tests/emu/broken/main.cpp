// cmt_emu_broken <case> runs a deliberately broken case, which the emulator must stop (or whose
// wrong result this program reports, exiting 1); <case>-fixed runs the corrected code, which must
// exit 0. Without arguments it lists the cases.
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "broken.h"

namespace cmt::emu_broken {

namespace {
std::map<std::string, CaseFn>& cases() {
  static std::map<std::string, CaseFn> m;
  return m;
}
}  // namespace

Register::Register(const char* name, CaseFn fn) { cases()[name] = fn; }

void expect_equal(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  CMT_CHECK(got.size() == want.size(), what << ": " << got.size() << " elements, expected " << want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    CMT_CHECK(got[i] == want[i], what << ": element " << i << " is " << got[i] << ", expected " << want[i]);
}

}  // namespace cmt::emu_broken

int main(int argc, char** argv) {
  using cmt::emu_broken::cases;
  if (argc != 2) {
    std::fprintf(stderr, "usage: cmt_emu_broken <case>[-fixed]; cases:\n");
    for (const auto& [name, fn] : cases()) std::fprintf(stderr, "  %s\n", name.c_str());
    return 2;
  }
  std::string name = argv[1];
  const std::string suffix = "-fixed";
  const bool fixed = name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  if (fixed) name.resize(name.size() - suffix.size());
  const auto it = cases().find(name);
  if (it == cases().end()) {
    std::fprintf(stderr, "cmt_emu_broken: no case '%s'\n", name.c_str());
    return 2;
  }
  try {
    it->second(fixed);
    CUDA_CHECK(cudaDeviceSynchronize());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_emu_broken %s: %s\n", argv[1], e.what());
    return 1;
  }
  std::fprintf(stderr, "cmt_emu_broken %s: ran clean\n", argv[1]);
  return 0;
}
