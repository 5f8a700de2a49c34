// Test helpers: random tensors (never zeros), element-by-element comparison with a clear report.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/common/float16.h"
#include "support/emulated.h"

namespace cmt::test {

// A seed that differs per run (fresh inputs each run) but is printed so a failure can be replayed:
// CMT_TEST_SEED=<n> fixes it.
inline std::uint64_t run_seed() {
  static const std::uint64_t seed = [] {
    if (const char* env = std::getenv("CMT_TEST_SEED")) return static_cast<std::uint64_t>(std::stoull(env));
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  return seed;
}

// An empty folder of its own under the system's temporary folder, named after the test and the run seed.
inline std::filesystem::path temp_dir(const std::string& name) {
  const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("cmt-test-" + name + "-" + std::to_string(run_seed()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// A (shape) f32 tensor on the CPU, each element a draw of `dist`.
template <class Distribution>
Tensor random_tensor(const Shape& shape, std::mt19937_64& gen, Distribution dist) {
  Tensor t = Tensor::empty(shape, DType::f32);
  float* p = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(dist(gen));
  return t;
}

// Gaussian values (mean 0, stddev 1), uniform values in [lo, hi), or small integers in [-k, k]
// (exact in fp32 sums), on the CPU.
inline Tensor random_normal(const Shape& shape, std::mt19937_64& gen, float scale = 1.f) {
  return random_tensor(shape, gen, std::normal_distribution<float>(0.f, scale));
}
inline Tensor random_uniform(const Shape& shape, std::mt19937_64& gen, float lo = 0.f, float hi = 1.f) {
  return random_tensor(shape, gen, std::uniform_real_distribution<float>(lo, hi));
}
inline Tensor random_small_ints(const Shape& shape, std::mt19937_64& gen, int k = 3) {
  return random_tensor(shape, gen, std::uniform_int_distribution<int>(-k, k));
}

struct CompareResult {
  bool ok = true;
  std::int64_t mismatches = 0;
  std::int64_t first_bad = -1;
  double max_abs = 0, max_rel = 0;
  std::string report;
};

// |a - b| <= atol + rtol * |b| for every element; b is the reference. Checks every element.
inline CompareResult compare(const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol) {
  CompareResult r;
  std::ostringstream os;
  if (got.size() != want.size()) {
    r.ok = false;
    os << "size mismatch: got " << got.size() << " elements, want " << want.size();
    r.report = os.str();
    return r;
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    const double diff = std::fabs(g - w);
    const bool bad = !(diff <= atol + rtol * std::fabs(w)) || (std::isnan(g) != std::isnan(w));
    if (std::isfinite(diff)) {
      r.max_abs = std::max(r.max_abs, diff);
      if (w != 0) r.max_rel = std::max(r.max_rel, diff / std::fabs(w));
    }
    if (bad) {
      if (r.first_bad < 0) r.first_bad = static_cast<std::int64_t>(i);
      ++r.mismatches;
    }
  }
  r.ok = r.mismatches == 0;
  os << got.size() << " elements, " << r.mismatches << " mismatches (atol " << atol << ", rtol " << rtol
     << "), max abs diff " << r.max_abs << ", max rel diff " << r.max_rel << ", seed " << run_seed();
  if (r.first_bad >= 0)
    os << "; first at " << r.first_bad << ": got " << got[static_cast<std::size_t>(r.first_bad)] << " want "
       << want[static_cast<std::size_t>(r.first_bad)];
  r.report = os.str();
  return r;
}

inline CompareResult compare(const Tensor& got, const Tensor& want, double atol, double rtol) {
  if (got.shape() != want.shape()) {
    CompareResult r;
    r.ok = false;
    r.report = "shape mismatch: got " + got.describe() + ", want " + want.describe();
    return r;
  }
  return compare(got.to_float_vector(), want.to_float_vector(), atol, rtol);
}

// The bf16 rule of the CPU backend: a bf16 result must be its f32 reference rounded once to nearest
// even, element by element (the f32 math with one rounding at the end; never two roundings).
inline CompareResult compare_bf16_rounding(const Tensor& got, const Tensor& want_f32) {
  if (got.dtype() != DType::bf16 || want_f32.dtype() != DType::f32) {
    CompareResult r;
    r.ok = false;
    r.report = "dtypes: got " + got.describe() + " (want bf16), reference " + want_f32.describe() + " (want f32)";
    return r;
  }
  std::vector<float> want = want_f32.to_vector<float>();
  for (float& v : want) v = num::bf16_to_float(num::float_to_bf16(v));
  if (got.shape() != want_f32.shape()) return compare(got, want_f32, 0, 0);  // reports the shape mismatch
  return compare(got.to_float_vector(), want, 0, 0);
}

}  // namespace cmt::test

#define CHECK_BF16_ROUNDING(got, want_f32)                                              \
  do {                                                                                  \
    const auto cmt_cmp_ = ::cmt::test::compare_bf16_rounding((got), (want_f32));        \
    INFO(cmt_cmp_.report);                                                              \
    CHECK(cmt_cmp_.ok);                                                                 \
  } while (0)

// CHECK_ALLCLOSE(got, want, atol, rtol) on float vectors or tensors.
#define CHECK_ALLCLOSE(got, want, atol, rtol)                                           \
  do {                                                                                  \
    const auto cmt_cmp_ = ::cmt::test::compare((got), (want), (atol), (rtol));          \
    INFO(cmt_cmp_.report);                                                              \
    CHECK(cmt_cmp_.ok);                                                                 \
  } while (0)
