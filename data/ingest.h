// Ingest for `cmt prepare`: finds the samples of a folder (class folders, a CSV manifest, the
// CC-CCII tree), loads each (DICOM series or image, slice folder, radiograph) and preprocesses it.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/manifest.h"
#include "data/modality_inference.h"
#include "data/volume.h"
#include "engine/context.h"

namespace cmt::data {

struct SourceItem {
  std::string label;                // class name
  std::string patient_id;           // from the layout; DICOM PatientID replaces an empty one
  std::vector<std::string> files;   // one file, or the slices of a scan
  std::string source;               // what the summary and the dataset call it
  std::string mask{};               // its lesion mask (a manifest's mask column), "" for none
};

struct Discovery {
  std::string modality;                  // "ct" or "xray": given, or inferred from `evidence`
  std::vector<std::string> class_names;  // label order
  std::vector<SourceItem> items;
  std::vector<std::pair<std::string, std::string>> skipped;  // (path, reason)
  std::vector<ModalityEvidence> evidence;                    // what each sample's files say about the modality
  std::vector<std::string> warnings;                         // e.g. a manifest without patient IDs
};

// input: a folder with manifest.csv (columns path, label, patient_id and optionally mask, in any
// order, data/manifest.h; paths relative to it; a row whose mask file is missing is skipped), a .csv file, or a folder of class
// folders (class/[patient/[scan/]]files). modality: "ct", "xray", or "" to infer it (data/modality_inference.h); inputs that mix
// modalities are then refused.
Discovery discover(const std::string& input, const std::string& modality, const ManifestColumns& columns = {});

// The studies of the files right in `dir` (no class or patient): as for a scan folder of
// discover(), DICOM files one study per series (CT) or per file (X-ray), image files one slice
// stack (CT) or one study each (X-ray); files that do not read are in `skipped`.
Discovery discover_scans(const std::string& dir, const std::string& modality);

// Loads one item: CT as HU (DICOM) or grey values (slice images), X-ray as grey values.
// `hu` says whether the values are Hounsfield units. Throws cmt::Error naming the file.
Volume load_item(const SourceItem& item, const std::string& modality, bool& hu);

// The lesion mask of `item` (item.mask: a NIfTI, PNG or DICOM file, or a folder of slice images,
// read as load_item reads images) as 0/1 on the grid of `image`, the item's loaded image. Throws
// cmt::Error naming the mask file when it cannot be read, its size differs from the image's, or it
// is not binary (values other than 0 and one foreground value, e.g. a label map).
Volume load_mask(const SourceItem& item, const std::string& modality, const Volume& image);

struct Preprocess {
  std::array<int, 3> size{128, 128, 128};  // (D, H, W); D = 1 for X-ray
  float window_lo = -1000.f, window_hi = 400.f;
};

// To `size` floats in [0, 1]: HU data through the window, others min-max scaled, then resampled
// (antialiased) on the CPU with ops::resample.
std::vector<float> preprocess(Context& ctx, const Volume& v, bool hu, const Preprocess& p);

// A 0/1 mask to `size` by the image's resampling (antialiased linear), then thresholded at 0.5: a
// voxel is lesion when at least half of what it covers was lesion.
std::vector<std::uint8_t> preprocess_mask(Context& ctx, const Volume& mask, const Preprocess& p);

}  // namespace cmt::data
