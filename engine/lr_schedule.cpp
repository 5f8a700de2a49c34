// Learning-rate schedules and their "kind:key=value,..." spelling.
#include "engine/lr_schedule.h"

#include <cmath>
#include <sstream>

#include "kernels/common/check.h"

namespace cmt {

float LrSchedule::at(std::int64_t step) const {
  if (step < warmup_steps) return base_lr * static_cast<float>(step + 1) / static_cast<float>(warmup_steps);
  const std::int64_t t = step - warmup_steps;
  switch (kind) {
    case Kind::constant: return base_lr;
    case Kind::step: return base_lr * std::pow(gamma, static_cast<float>(t / step_size));
    case Kind::cosine: {
      const std::int64_t span = total_steps - warmup_steps;
      const double frac = span <= 0 ? 1.0 : std::min<double>(1.0, static_cast<double>(t) / static_cast<double>(span));
      return static_cast<float>(min_lr + (base_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * frac)));
    }
  }
  return base_lr;
}

LrSchedule LrSchedule::parse(const std::string& spec) {
  LrSchedule s;
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  if (kind == "constant") s.kind = Kind::constant;
  else if (kind == "step") s.kind = Kind::step;
  else if (kind == "cosine") s.kind = Kind::cosine;
  else CMT_THROW("lr schedule '" << spec << "': unknown kind '" << kind << "' (constant, step or cosine)");
  std::istringstream rest(colon == std::string::npos ? "" : spec.substr(colon + 1));
  std::string item;
  while (std::getline(rest, item, ',')) {
    const auto eq = item.find('=');
    CMT_CHECK(eq != std::string::npos, "lr schedule '" << spec << "': expected key=value, got '" << item << "'");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    double v = 0;
    try {
      std::size_t used = 0;
      v = std::stod(value, &used);
      CMT_CHECK(used == value.size(), "");
    } catch (const std::exception&) {
      CMT_THROW("lr schedule '" << spec << "': '" << key << "' needs a number, got '" << value << "'");
    }
    if (key == "lr") s.base_lr = static_cast<float>(v);
    else if (key == "warmup") s.warmup_steps = static_cast<std::int64_t>(v);
    else if (key == "total") s.total_steps = static_cast<std::int64_t>(v);
    else if (key == "step_size") s.step_size = static_cast<std::int64_t>(v);
    else if (key == "gamma") s.gamma = static_cast<float>(v);
    else if (key == "min_lr") s.min_lr = static_cast<float>(v);
    else CMT_THROW("lr schedule '" << spec << "': unknown key '" << key << "'");
  }
  CMT_CHECK(s.base_lr > 0 && s.warmup_steps >= 0 && s.step_size >= 1 && s.min_lr >= 0,
            "lr schedule '" << spec << "': need lr > 0, warmup >= 0, step_size >= 1, min_lr >= 0");
  CMT_CHECK(s.kind != Kind::cosine || s.total_steps > s.warmup_steps,
            "lr schedule '" << spec << "': cosine needs total > warmup");
  return s;
}

std::string LrSchedule::str() const {
  std::ostringstream os;
  os << (kind == Kind::constant ? "constant" : kind == Kind::step ? "step" : "cosine") << ":lr=" << base_lr
     << ",warmup=" << warmup_steps;
  if (kind == Kind::step) os << ",step_size=" << step_size << ",gamma=" << gamma;
  if (kind == Kind::cosine) os << ",total=" << total_steps << ",min_lr=" << min_lr;
  return os.str();
}

}  // namespace cmt
