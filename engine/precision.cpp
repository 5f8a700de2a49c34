// Precision policy names.
#include "engine/precision.h"

#include "kernels/common/check.h"

namespace cmt {

std::string PrecisionPolicy::name() const {
  switch (compute) {
    case ComputePrecision::fp32: return "fp32";
    case ComputePrecision::tf32: return "tf32";
    case ComputePrecision::bf16: return "bf16";
  }
  return "?";
}

PrecisionPolicy PrecisionPolicy::parse(const std::string& name) {
  if (name == "fp32") return {ComputePrecision::fp32};
  if (name == "tf32") return {ComputePrecision::tf32};
  if (name == "bf16") return {ComputePrecision::bf16};
  CMT_THROW("unknown precision '" << name << "': expected auto, fp32, tf32 or bf16");
}

PrecisionPolicy PrecisionPolicy::resolve(const std::string& name, bool gpu) {
  if (name == "auto") return {gpu ? ComputePrecision::tf32 : ComputePrecision::fp32};
  return parse(name);
}

}  // namespace cmt
