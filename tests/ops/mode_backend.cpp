// Backend mode: the case on one backend against the CPU reference, every output element checked.
#include <cstdio>
#include <cstdlib>

#include "ops/compare.h"
#include "ops/modes.h"

namespace cmt::opcase {

Tensors copy_to(const Tensors& in, Device device) {
  Tensors out;
  for (const auto& [name, t] : in) out[name] = t.defined() ? t.to(device) : t;
  return out;
}

bool full_sweep() {
  const char* e = std::getenv("CMT_OPS_FULL");
  return e && std::string(e) == "1";
}

int run_on_backend(const OpCase& c, const Backend& b) {
  const std::string why = b.unavailable();
  if (!why.empty()) {
    std::printf("SKIPPED: %s %s\n", b.name.c_str(), why.c_str());
    return 77;
  }
  std::mt19937_64 gen(case_seed(c.id()));
  const Tensors in = c.inputs(gen);
  Context cpu(Device::cpu());
  const Tensors want = c.reference ? c.reference(in) : c.run(cpu, copy_to(in, Device::cpu()));
  Context ctx(b.device, c.precision);
  b.enter();
  Tensors got;
  try {
    got = c.run(ctx, copy_to(in, b.device));
    ctx.synchronize();
  } catch (...) {
    b.leave();
    throw;
  }
  b.leave();
  const Verdict v = compare_outputs(c, got, want);
  std::printf("%s on %s (seed %llu):\n%s", c.id().c_str(), b.name.c_str(), static_cast<unsigned long long>(run_seed()),
              v.report.c_str());
  return v.ok ? 0 : 1;
}

}  // namespace cmt::opcase
