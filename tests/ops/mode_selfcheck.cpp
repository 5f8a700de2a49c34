// The driver's own check: each comparison passes on equal outputs and fails on a perturbed one (one
// element), a missing output, or a shape change; so a row can fail, and a broken backend is seen.
#include <cmath>
#include <cstdio>

#include "ops/compare.h"
#include "ops/modes.h"

namespace cmt::opcase {

int self_check() {
  std::mt19937_64 gen(run_seed());
  const Tensor want = normal(Shape{4, 33}, gen);
  struct Trial {
    const char* what;
    Check check;
    float delta;  // added to one element
  };
  const Trial trials[] = {{"exact", Check::exact(), 1e-6f},          {"close", Check::close(1e-4, 1e-4), 1e-2f},
                          {"scaled", Check::scaled(1e-4), 1e-2f},    {"bytes", Check::bytes(), 1e-6f},
                          {"counts", Check::counts(0.05, 0.0), 1e-2f}};
  int wrong = 0;
  for (const Trial& t : trials) {
    OpCase c{.family = "selfcheck", .name = t.what, .check = t.check};
    Tensor off = clone(want);
    off.data<float>()[77] += t.delta * std::max(1.f, std::fabs(off.data<float>()[77]));
    const bool equal_passes = compare_outputs(c, {{"y", clone(want)}}, {{"y", want}}).ok;
    const bool perturbed_fails = !compare_outputs(c, {{"y", off}}, {{"y", want}}).ok;
    const bool missing_fails = !compare_outputs(c, {{"z", clone(want)}}, {{"y", want}}).ok;
    const bool shape_fails = !compare_outputs(c, {{"y", want.view(Shape{33, 4})}}, {{"y", want}}).ok;
    const bool ok = equal_passes && perturbed_fails && missing_fails && shape_fails;
    std::printf("%s %s: equal passes %d, one element off fails %d, a missing output fails %d, another shape fails %d\n",
                ok ? "ok  " : "FAIL", t.what, equal_passes, perturbed_fails, missing_fails, shape_fails);
    wrong += !ok;
  }
  const bool empty_fails = !compare_outputs(OpCase{}, {}, {}).ok;
  std::printf("%s a reference without outputs fails\n", empty_fails ? "ok  " : "FAIL");
  return wrong == 0 && empty_fails ? 0 : 1;
}

}  // namespace cmt::opcase
