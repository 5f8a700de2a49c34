// Input kind checks for inference: header-only inspection, refusals and scale warnings.
#include "data/input_check.h"

#include <fmt/core.h>

#include <algorithm>

#include "data/dicom.h"
#include "data/image_io.h"
#include "data/modality_inference.h"
#include "data/nifti.h"
#include "kernels/common/check.h"

namespace cmt::data {

namespace {

std::string modality_word(const std::string& modality) {
  return modality == "ct" ? "CT" : modality == "xray" ? "X-ray" : "unknown modality";
}

std::string dims_word(int dims) { return dims == 3 ? "3D" : "2D"; }

constexpr double kScaleTolerance = 2.0;  // what resampling is trusted to absorb, either way
constexpr const char* kAxes[3] = {"z", "y", "x"};

}  // namespace

InputKind inspect_input(const std::vector<std::string>& files) {
  CMT_CHECK(!files.empty(), "no input files");
  const std::string& first = files.front();
  InputKind k;
  if (is_nifti_file(first)) {
    const NiftiShape n = read_nifti_shape(first);  // NIfTI does not say the modality
    return n.nz > 1 ? InputKind{"", 3, "a 3D NIfTI volume"} : InputKind{"", 2, "a 2D NIfTI image"};
  }
  const bool png = is_png_file(first), jpeg = is_jpeg_file(first);
  if (png || jpeg) {
    const std::string format = png ? "PNG" : "JPEG";
    if (files.size() == 1) {
      k = {"xray", 2, "a " + format + " image (2D X-ray)"};
    } else {
      k = {"", 3, fmt::format("a stack of {} {} slice images (3D)", files.size(), format)};
    }
    return k;
  }
  const DicomImage h = read_dicom(first, false);
  k.modality = modality_of_dicom(h.modality);
  k.dims = files.size() > 1 || h.frames > 1 ? 3 : 2;
  const std::string tag = h.modality.empty() ? "DICOM" : "DICOM " + h.modality;
  if (files.size() > 1) k.what = fmt::format("a series of {} {} slices (3D)", files.size(), tag);
  else if (h.frames > 1) k.what = fmt::format("a {}-frame {} image (3D)", h.frames, tag);
  else k.what = "a single " + tag + " image (2D)";
  return k;
}

std::string input_mismatch(const InputKind& kind, const TrainedOn& run, const std::string& source) {
  const int run_dims = run.input_size[0] == 1 ? 2 : 3;
  const bool other_modality = !kind.modality.empty() && kind.modality != run.modality;
  if (!other_modality && kind.dims == run_dims) return "";
  return fmt::format("{}: the input is {}, but the run was trained on {} {} (modality '{}', input {}x{}x{}); "
                     "give it {}",
                     source, kind.what, dims_word(run_dims), modality_word(run.modality), run.modality,
                     run.input_size[0], run.input_size[1], run.input_size[2],
                     run.modality == "ct" ? "a CT volume (a DICOM series folder, a multi-frame CT, or a folder of slice images)"
                                          : "a 2D X-ray image (DICOM CR/DX, PNG or JPEG)");
}

std::vector<std::string> input_warnings(const Volume& v, const TrainedOn& run, const std::string& source) {
  std::vector<std::string> out;
  const std::array<int, 3> have{v.d, v.h, v.w};
  const int first_axis = run.input_size[0] == 1 ? 1 : 0;  // 2D: no z axis
  for (int a = first_axis; a < 3; ++a) {
    if (have[a] * kScaleTolerance < run.input_size[a])
      out.push_back(fmt::format("{}: {} voxels along {}, under half the model input's {}: upsampling this far invents "
                                "detail the model never saw",
                                source, have[a], kAxes[a], run.input_size[a]));
  }
  if (!run.has_extent || !v.spacing_known) return out;
  for (int a = first_axis; a < 3; ++a) {
    const double extent = have[a] * v.spacing[a], trained = run.extent_mm[a];
    if (trained <= 0 || extent <= 0) continue;
    if (std::max(extent / trained, trained / extent) > kScaleTolerance)
      out.push_back(fmt::format("{}: {:.0f} mm along {}, more than 2x off the training data's {:.0f} mm: after resampling "
                                "the anatomy appears at another scale than the model learned",
                                source, extent, kAxes[a], trained));
  }
  return out;
}

}  // namespace cmt::data
