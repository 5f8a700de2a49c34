// Chest phantoms: CT volumes in Hounsfield units and X-rays as Beer-Lambert projections of the same
// anatomy, three classes (normal, COVID-19-like, other-pneumonia-like), deterministic from a seed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/volume.h"

namespace cmt::data {

// Class order of every phantom dataset (label = index).
const std::vector<std::string>& phantom_class_names();  // {"normal", "covid19", "pneumonia"}

struct PhantomOptions {
  std::uint64_t seed = 0;
  int ct_size[3] = {32, 32, 32};  // D, H, W voxels
  int xray_size[2] = {64, 64};    // H, W pixels
  // 0 = lesions large and dense, little noise (trivial); 1 = faint, small lesions under strong noise.
  double difficulty = 0.3;
};

// Label and patient of phantom `index`: classes in turn (balanced), patient ids "P0000", ...
int phantom_label(std::int64_t index, int num_classes = 3);

// The CT of patient `index` with class `label`: (D, H, W) HU, air -1000 outside the body, with
// Gaussian-approximated Poisson noise. Spacing 300 mm field of view / size.
Volume make_ct_phantom(const PhantomOptions& opt, std::int64_t index, int label);

// The PA chest radiograph of the same patient: (1, H, W) in [0, 1], bright = dense, computed as
// -log of Poisson photon counts through the phantom.
Volume make_xray_phantom(const PhantomOptions& opt, std::int64_t index, int label);

// Where the lesions of the class lie (COVID-19-like opacities, the pneumonia-like consolidation; not
// the distractor nodules every class has at higher difficulty), on the grid of the image above:
// 1 where a lesion changed the phantom's intensity, else 0; all 0 for a normal patient.
// CT: the voxels a lesion changed. X-ray: the pixels whose ray crosses such a voxel.
Volume make_ct_lesion_mask(const PhantomOptions& opt, std::int64_t index, int label);
Volume make_xray_lesion_mask(const PhantomOptions& opt, std::int64_t index, int label);

}  // namespace cmt::data
