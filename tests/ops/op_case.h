// The op-case table: each op family lists its cases once (inputs, the op, tolerances, gradients),
// and the drivers of tests/ops/driver.cpp run every case in every mode: each backend against the
// CPU reference (CUDA, the emulated device, cuDNN, the CPU's fast paths against a direct reference),
// finite-difference gradients, the PyTorch oracle (tests/ops/torch_oracle.py) and timing.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/context.h"
#include "engine/tensor.h"
#include "support/emulated.h"

namespace cmt::opcase {

using Tensors = std::map<std::string, Tensor>;

// How one output is compared with its reference, element by element.
struct Check {
  enum class Kind {
    close,        // |got - want| <= atol + rtol * |want|
    scaled,       // the same with atol = tol * max|want| + 1e-7, rtol = 10 * tol (outputs spanning magnitudes)
    equal_bytes,  // identical bytes (masks, indices, casts, every dtype)
    near_counts,  // Poisson samples: at most max_fraction of the elements differ, each by at most atol
  };
  Kind kind = Kind::close;
  double atol = 0, rtol = 0, max_fraction = 0;

  static Check close(double atol, double rtol) { return {Kind::close, atol, rtol, 0}; }
  static Check exact() { return close(0, 0); }
  static Check scaled(double tol) { return {Kind::scaled, tol, 0, 0}; }
  static Check bytes() { return {Kind::equal_bytes, 0, 0, 0}; }
  static Check counts(double step, double fraction) { return {Kind::near_counts, step, 0, fraction}; }
};

// d(scale * sum(out[output] * in[weight])) / d in[input] must equal out[grad]; no weight: all ones.
struct Gradient {
  std::string input{}, output{}, weight{}, grad{};
  double scale = 1;
};

struct OpCase {
  std::string family{}, name{};  // "<family>.<name>" is unique
  // Fresh random inputs on the CPU (never all zeros); the driver copies them to the backend's device.
  std::function<Tensors(std::mt19937_64&)> inputs{};
  // The op on ctx's device, on (copies of) the inputs; returns every output to compare.
  std::function<Tensors(Context&, const Tensors&)> run{};
  // A separate CPU reference (the direct convolution, say); without one, `run` on the CPU is the reference.
  std::function<Tensors(const Tensors&)> reference{};
  Check check = Check::exact();           // for every output ...
  std::map<std::string, Check> checks{};  // ... unless named here
  PrecisionPolicy precision{};            // the backend context's policy (tf32 cases)
  std::vector<Gradient> gradients{};      // finite-difference mode (f32 inputs only)
  std::string oracle{};                   // the PyTorch function of tests/ops/torch_oracle.py, if any
  nlohmann::json args = nlohmann::json::object();  // its arguments (the op's parameters)
  std::vector<std::string> backends{};    // restrict to these backends (empty: every backend)
  bool full_only = false;                 // only with CMT_OPS_FULL=1 where the emulated device is slow

  std::string id() const { return family + "." + name; }
  const Check& check_for(const std::string& output) const {
    auto it = checks.find(output);
    return it == checks.end() ? check : it->second;
  }
};

std::vector<OpCase>& table();

// A family file registers its cases at static initialisation: `static Rows rows([] { ... });`.
struct Rows {
  explicit Rows(const std::function<std::vector<OpCase>()>& make);
};

// Input helpers (CPU tensors): Gaussian, small integers in [-k, k] (exact fp32 sums), uniform in [lo, hi).
Tensor normal(const Shape& shape, std::mt19937_64& gen, float scale = 1.f);
Tensor small_ints(const Shape& shape, std::mt19937_64& gen, int k = 3);
Tensor uniform(const Shape& shape, std::mt19937_64& gen, float lo, float hi);
Tensor bf16(const Tensor& f32);  // rounded to bf16 on the CPU
Tensor labels(std::int64_t n, std::int64_t classes, std::mt19937_64& gen);  // i32 class indices
Tensor clone(const Tensor& t);   // a deep copy on the same device
// A random seed travels as an input (i64 [1], named "seed"), so a replayed run draws the same masks.
Tensor seed_tensor(std::mt19937_64& gen);
std::uint64_t seed_of(const Tensors& in);
std::string dims(const Shape& s);  // "2x1x7x7x3": a shape in a case name

// A case name from parts: text("n", 7, " p", 0.5) is "n7 p0.5".
template <typename... Parts>
std::string text(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

// Shapes keep their cases everywhere but shrink on the emulated device (tests/support/emulated.h).
using test::emulated;
using test::on_emulator;

}  // namespace cmt::opcase
