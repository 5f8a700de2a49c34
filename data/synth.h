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

// Layout: OUT/<ct|xray>/<dicom|png>/<class>/<patient>/... plus manifest.csv (path,label,patient_id,mask)
// in each OUT/<modality>/<format>/, and each patient's lesion mask (data/phantom.h) in
// OUT/<modality>/masks/ (mask_file_name). Returns the number of files written.
std::int64_t write_synthetic(const std::string& out, const SynthOptions& opt);

// The lesion mask of phantom `index`: "P0007.nii.gz" (CT, 0/1) or "P0007.png" (X-ray, 0/255).
std::string mask_file_name(const std::string& modality, std::int64_t index);

}  // namespace cmt::data
