// The backend list: the engine's CPU fast paths (against direct references), oneDNN's CPU
// convolutions, CUDA (a GPU or the emulated device) and the cuDNN convolution baseline.
#include "ops/backends.h"

#include <algorithm>

#include "engine/cuda_runtime.h"
#include "engine/ops/conv.h"

namespace cmt::opcase {

bool Backend::covers(const OpCase& c) const {
  if (separate_reference_only && !c.reference) return false;
  if (!c.backends.empty() && std::find(c.backends.begin(), c.backends.end(), name) == c.backends.end()) return false;
  return families.empty() || std::find(families.begin(), families.end(), c.family) != families.end();
}

namespace {

std::string cuda_missing() { return cuda_status().available ? "" : "needs a GPU: " + cuda_status().reason; }

#if defined(CMT_WITH_CUDNN) && !defined(CMT_EMULATED_DEVICE)
// The conv backend is process-wide: select it for the case, then restore the previous one.
Backend conv_backend_entry(const std::string& name, ops::ConvBackend which, std::function<std::string()> unavailable) {
  static ops::ConvBackend saved = ops::ConvBackend::native;
  Backend b{name, Device::cuda(0), {"conv"}, false, std::move(unavailable), nullptr, nullptr};
  b.enter = [which] {
    saved = ops::conv_backend();
    ops::set_conv_backend(which);
  };
  b.leave = [] { ops::set_conv_backend(saved); };
  return b;
}
#endif

// The CPU conv path is process-wide too: "cpu" runs cmt's own fast path, "onednn" oneDNN's.
Backend cpu_conv_entry(const std::string& name, std::vector<std::string> families, ops::CpuConvBackend which) {
  static ops::CpuConvBackend saved = ops::CpuConvBackend::native;
  Backend b{name, Device::cpu(), std::move(families), true, [] { return std::string(); }, nullptr, nullptr};
  b.enter = [which] {
    saved = ops::cpu_conv_backend();
    ops::set_cpu_conv_backend(which);
  };
  b.leave = [] { ops::set_cpu_conv_backend(saved); };
  return b;
}

std::vector<Backend> make_backends() {
  std::vector<Backend> list;
  list.push_back(cpu_conv_entry("cpu", {}, ops::CpuConvBackend::native));
#if defined(CMT_WITH_ONEDNN)
  list.push_back(cpu_conv_entry("onednn", {"conv"}, ops::CpuConvBackend::onednn));
#endif
#if defined(CMT_WITH_CUDA)
  list.push_back({"cuda", Device::cuda(0), {}, false, cuda_missing, [] {}, [] {}});
#endif
#if defined(CMT_WITH_CUDNN) && !defined(CMT_EMULATED_DEVICE)
  list.push_back(conv_backend_entry("cudnn", ops::ConvBackend::cudnn, cuda_missing));
#endif
  return list;
}

}  // namespace

const std::vector<Backend>& backends() {
  static const std::vector<Backend> list = make_backends();
  return list;
}

const Backend* find_backend(const std::string& name) {
  for (const Backend& b : backends())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace cmt::opcase
