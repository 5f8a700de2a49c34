// Whether an input study is of the kind a model was trained on. Resampling to the model's input
// size fixes a different matrix size, but not a 2D image given to a 3D model, a CT given to an
// X-ray model, or anatomy at another physical scale.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "data/volume.h"

namespace cmt::data {

// What a study is, from its file headers (no pixels read).
struct InputKind {
  std::string modality;  // "ct", "xray", or "" where the files do not say (slice images, other DICOM modalities)
  int dims = 2;          // 2: one image; 3: a volume (several files, or a multi-frame DICOM)
  std::string what;      // for messages, naming modality and dims: "a single DICOM DX image (2D)", "a PNG image (2D X-ray)"
};

// Reads the first file's header only. Throws cmt::Error naming the file when it is unreadable.
InputKind inspect_input(const std::vector<std::string>& files);

// What a model was trained on (RUN/data.json).
struct TrainedOn {
  std::string modality;            // "ct" or "xray"
  std::array<int, 3> input_size{};  // (D, H, W); D = 1 for 2D
  bool has_extent = false;         // the training data had spacing from DICOM headers
  std::array<double, 3> extent_mm{};  // median physical extent (z, y, x) of the training samples
};

// Empty when `kind` fits; otherwise why not, naming `source`, the input's kind and the run's.
std::string input_mismatch(const InputKind& kind, const TrainedOn& run, const std::string& source);

// Warnings (not errors) for a loaded study: an axis with under half the model input's voxels
// (upsampling further invents detail), or a physical extent off by more than 2x from the
// training data's (the anatomy appears at another scale than the model learned).
std::vector<std::string> input_warnings(const Volume& v, const TrainedOn& run, const std::string& source);

}  // namespace cmt::data
