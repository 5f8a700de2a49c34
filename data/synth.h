// Writes phantom datasets to disk (`cmt synth`): DICOM and/or PNG, one folder per class, manifests.
#pragma once
#include <cstdint>
#include <string>

#include "data/phantom.h"

namespace cmt::data {

struct SynthOptions {
  PhantomOptions phantom;
  std::string modality = "both";  // ct | xray | both
  std::string format = "both";    // dicom | png | both
  std::int64_t count = 30;
};

// Layout: OUT/<ct|xray>/<dicom|png>/<class>/<patient>/... plus manifest.csv (path,label,patient_id)
// in each OUT/<modality>/<format>/. Returns the number of files written.
std::int64_t write_synthetic(const std::string& out, const SynthOptions& opt);

}  // namespace cmt::data
