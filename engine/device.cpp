// Device parsing.
#include "engine/device.h"

#include "kernels/common/check.h"

namespace cmt {

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string idx = text.substr(5);
    CMT_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos,
              "bad device '" << text << "': expected cpu, cuda or cuda:N");
    return Device::cuda(std::stoi(idx));
  }
  CMT_THROW("bad device '" << text << "': expected cpu, cuda or cuda:N");
}

}  // namespace cmt
