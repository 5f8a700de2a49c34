// cmt_op_tests: the op-case table's drivers.
//   list                         every test id: <backend>.<family>.<case>, fd.<family>.<case>, torch.<family>
//   run ID                       one case in one mode (exit 0 pass, 1 fail, 77 backend absent)
//   all BACKEND|fd [--filter S]  every case of a mode in one process (for sanitizers), a summary last
//   dump FAMILY DIR [--device D] the family's oracle cases for tests/ops/torch_oracle.py
//   perf [--filter S] [--repeat N] [--json FILE]   median times per case and backend
//   selfcheck                    the comparisons can fail (perturbed, missing, reshaped outputs)
// CMT_TEST_SEED=<n> replays a run's inputs; CMT_OPS_FULL=1 adds the cases kept for long sweeps.
#include <cstdio>
#include <cstring>
#include <set>
#include <string>

#include "ops/modes.h"

using namespace cmt;
using namespace cmt::opcase;

namespace {

bool listed(const OpCase& c) { return !c.full_only || full_sweep(); }

std::vector<std::string> ids() {
  std::vector<std::string> out;
  std::set<std::string> oracle_families;
  for (const Backend& b : backends())
    for (const OpCase& c : table())
      if (b.covers(c) && listed(c)) out.push_back(b.name + "." + c.id());
  for (const OpCase& c : table()) {
    if (has_gradients(c) && listed(c)) out.push_back("fd." + c.id());
    if (!c.oracle.empty()) oracle_families.insert(c.family);
  }
  for (const std::string& f : oracle_families) out.push_back("torch." + f);
  return out;
}

int run_id(const std::string& id) {
  const auto dot = id.find('.');
  const std::string mode = id.substr(0, dot), case_id = dot == std::string::npos ? "" : id.substr(dot + 1);
  for (const OpCase& c : table()) {
    if (c.id() != case_id) continue;
    if (mode == "fd") return run_finite_differences(c);
    const Backend* b = find_backend(mode);
    if (b && b->covers(c)) return run_on_backend(c, *b);
  }
  std::fprintf(stderr, "cmt_op_tests: no test '%s' (see: cmt_op_tests list)\n", id.c_str());
  return 2;
}

int run_all(const std::string& mode, const std::string& filter) {
  int passed = 0, failed = 0, skipped = 0;
  for (const std::string& id : ids()) {
    if (id.rfind(mode + ".", 0) != 0 || id.find(filter) == std::string::npos || id.rfind("torch.", 0) == 0) continue;
    const int rc = run_id(id);
    (rc == 0 ? passed : rc == 77 ? skipped : failed)++;
    if (rc == 77) break;  // the backend is absent: every case would say so
  }
  std::printf("%s: %d cases passed, %d failed%s\n", mode.c_str(), passed, failed, skipped ? ", backend absent (skipped)" : "");
  if (skipped && passed + failed == 0) return 77;
  return failed ? 1 : 0;
}

std::string flag(int argc, char** argv, const char* name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "list") {
      for (const std::string& id : ids()) std::printf("%s\n", id.c_str());
      return 0;
    }
    if (cmd == "selfcheck") return self_check();
    if (cmd == "run" && argc == 3) return run_id(argv[2]);
    if (cmd == "all" && argc >= 3) return run_all(argv[2], flag(argc, argv, "--filter", ""));
    if (cmd == "dump" && argc >= 4)
      return dump_for_torch(argv[2], argv[3], parse_device(flag(argc, argv, "--device", "cpu"))) > 0 ? 0 : 1;
    if (cmd == "perf")
      return time_cases(flag(argc, argv, "--filter", ""), std::stoi(flag(argc, argv, "--repeat", "5")), flag(argc, argv, "--json", ""));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_op_tests %s: %s\n", cmd.c_str(), e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: cmt_op_tests list | run ID | all MODE [--filter S] | dump FAMILY DIR [--device D] | "
               "perf [--filter S] [--repeat N] [--json FILE] | selfcheck\n");
  return 2;
}
