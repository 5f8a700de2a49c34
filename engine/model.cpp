// StepLosses: the device-to-host read of a step's losses.
#include "engine/model.h"

#include "kernels/common/check.h"

namespace cmt {

HostLosses StepLosses::fetch() const {
  CMT_CHECK(values.defined() && values.numel() == slots, "StepLosses::fetch: no losses (" << values.describe() << ")");
  const std::vector<float> v = values.to_vector<float>();
  return HostLosses{v[total], v[classification], v[contrastive], v[positive_similarity]};
}

}  // namespace cmt
