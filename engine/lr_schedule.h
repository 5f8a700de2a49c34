// Learning-rate schedules: constant, step decay, cosine; each with an optional linear warm-up.
#pragma once
#include <cstdint>
#include <string>

namespace cmt {

struct LrSchedule {
  enum class Kind { constant, step, cosine };
  Kind kind = Kind::constant;
  float base_lr = 1e-3f;
  std::int64_t warmup_steps = 0;  // lr rises linearly from base_lr/warmup_steps to base_lr over these steps
  std::int64_t total_steps = 0;   // cosine: decays to min_lr at total_steps
  std::int64_t step_size = 1;     // step: multiply by gamma every step_size steps (after warm-up)
  float gamma = 0.1f;
  float min_lr = 0.f;             // cosine floor

  // The learning rate for optimizer step `step` (0-based).
  float at(std::int64_t step) const;

  // "constant:lr=1e-3", "step:lr=1e-3,step_size=1000,gamma=0.5,warmup=100",
  // "cosine:lr=1e-3,total=10000,warmup=500,min_lr=0"; throws cmt::Error on anything else.
  static LrSchedule parse(const std::string& spec);
  std::string str() const;
};

}  // namespace cmt
