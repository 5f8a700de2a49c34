// Output comparison for the op-case drivers (every element checked).
#include "ops/compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#define DOCTEST_CONFIG_DISABLE  // only the comparison helpers of testing.h; no doctest runner here
#include "support/testing.h"

namespace cmt::opcase {

std::uint64_t run_seed() { return test::run_seed(); }

std::uint64_t case_seed(const std::string& id) { return run_seed() ^ std::hash<std::string>{}(id); }

namespace {

bool is_float(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::f16; }

std::string check_one(const Check& check, const Tensor& got_any, const Tensor& want_any, bool& ok) {
  const Tensor got = got_any.to(Device::cpu()), want = want_any.to(Device::cpu());
  if (got.shape() != want.shape() || got.dtype() != want.dtype()) {
    ok = false;
    return "got " + got.describe() + ", want " + want.describe();
  }
  if (check.kind == Check::Kind::equal_bytes || !is_float(want.dtype())) {
    std::int64_t differ = 0;
    const std::size_t es = dtype_size(want.dtype());
    for (std::int64_t i = 0; i < want.numel(); ++i)
      differ += std::memcmp(static_cast<const char*>(got.raw()) + i * es, static_cast<const char*>(want.raw()) + i * es, es) != 0;
    ok = differ == 0;
    return std::to_string(want.numel()) + " elements, " + std::to_string(differ) + " differ (bytes)";
  }
  const std::vector<float> g = got.to_float_vector(), w = want.to_float_vector();
  if (check.kind == Check::Kind::near_counts) {
    std::int64_t differ = 0, too_far = 0;
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i] != w[i]) ++differ, too_far += std::fabs(g[i] - w[i]) > check.atol;
    ok = too_far == 0 && static_cast<double>(differ) <= check.max_fraction * static_cast<double>(g.size());
    std::ostringstream os;
    os << g.size() << " elements, " << differ << " differ (at most " << check.max_fraction * 100 << "% may), " << too_far
       << " by more than " << check.atol << ", seed " << run_seed();
    return os.str();
  }
  double atol = check.atol, rtol = check.rtol;
  if (check.kind == Check::Kind::scaled) {
    float m = 0.f;
    for (float v : w) m = std::max(m, std::fabs(v));
    atol = check.atol * m + 1e-7, rtol = check.atol * 10;
  }
  const test::CompareResult r = test::compare(g, w, atol, rtol);
  ok = r.ok;
  return r.report;
}

}  // namespace

Verdict compare_outputs(const OpCase& c, const Tensors& got, const Tensors& want) {
  Verdict v;
  std::ostringstream os;
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    bool ok = true;
    std::string line;
    if (it == got.end()) {
      ok = false;
      line = "missing from the backend's outputs";
    } else {
      line = check_one(c.check_for(name), it->second, w, ok);
    }
    v.ok = v.ok && ok;
    os << (ok ? "ok   " : "FAIL ") << name << ": " << line << "\n";
  }
  if (want.empty()) {
    v.ok = false;
    os << "FAIL the reference gave no outputs\n";
  }
  v.report = os.str();
  return v;
}

}  // namespace cmt::opcase
