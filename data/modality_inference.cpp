// Modality inference: counts what the samples' files say and refuses a mixture.
#include "data/modality_inference.h"

#include <fmt/core.h>

#include <map>

#include "kernels/common/check.h"

namespace cmt::data {

namespace {

struct Tally {
  int count = 0;
  const ModalityEvidence* example = nullptr;
};

std::map<std::string, Tally> tally(const std::vector<ModalityEvidence>& evidence) {
  std::map<std::string, Tally> t;
  for (const auto& e : evidence) {
    Tally& slot = t[e.modality];
    if (++slot.count == 1) slot.example = &e;
  }
  return t;
}

std::string example(const Tally& t) { return fmt::format("{} ({})", t.example->source, t.example->why); }

}  // namespace

std::string modality_of_dicom(const std::string& tag) {
  if (tag == "CT") return "ct";
  if (tag == "CR" || tag == "DX" || tag == "DR") return "xray";
  return "";
}

std::string infer_modality(const std::vector<ModalityEvidence>& evidence, const std::string& input) {
  const auto t = tally(evidence);
  const bool ct = t.count("ct") > 0, xray = t.count("xray") > 0;
  CMT_CHECK(!(ct && xray), input << ": the inputs mix modalities: " << t.at("xray").count << " look like X-ray, e.g. "
                                 << example(t.at("xray")) << ", and " << t.at("ct").count << " like CT, e.g. "
                                 << example(t.at("ct")) << "; split them, or give --modality ct or --modality xray");
  if (ct) return "ct";
  if (xray) return "xray";
  CMT_CHECK(t.count("") > 0, input << ": no samples found to tell the modality from");
  CMT_THROW(input << ": cannot tell whether the inputs are CT or X-ray, e.g. " << example(t.at(""))
                  << "; give --modality ct or --modality xray");
}

std::string describe_inference(const std::vector<ModalityEvidence>& evidence, const std::string& modality) {
  const auto t = tally(evidence);
  const auto it = t.find(modality);
  if (it == t.end()) return modality;
  return fmt::format("{} (inferred from {} samples, e.g. {}; --modality overrides)", modality, it->second.count,
                     example(it->second));
}

}  // namespace cmt::data
