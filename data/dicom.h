// DICOM ingest and writing through DCMTK: single images (CT slice, CR/DX, multi-frame), CT series
// assembled from a folder, and the writers the phantom generator uses.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/volume.h"

namespace cmt::data {

struct DicomImage {
  std::string path;
  std::string modality, patient_id, study_uid, series_uid, sop_class_uid, photometric, transfer_syntax;
  int frames = 1, rows = 0, cols = 0, samples_per_pixel = 1;
  int bits_allocated = 0, bits_stored = 0, pixel_representation = 0;
  double slope = 1.0, intercept = 0.0;
  bool has_position = false;
  std::array<double, 3> position{};                    // ImagePositionPatient (mm)
  std::array<double, 6> orientation{1, 0, 0, 0, 1, 0};  // ImageOrientationPatient (row, column cosines)
  std::array<double, 2> pixel_spacing{1.0, 1.0};        // (row spacing, column spacing) mm
  double slice_thickness = 0.0;
  int instance_number = 0;
  // frames * rows * cols values after Rescale Slope/Intercept (Hounsfield units for CT); colour
  // images become grey; MONOCHROME1 is inverted (min + max - value) so bright means dense.
  std::vector<float> pixels;
};

// Reads one file. With pixels = false only the header is parsed (fast folder scans). Throws
// cmt::Error naming the file and the problem: unreadable or truncated file, no pixel data
// (a report, a plan), an unsupported encoding.
DicomImage read_dicom(const std::string& path, bool pixels = true);

// True when the file carries the DICM preamble or a .dcm extension (cheap pre-filter).
bool looks_like_dicom(const std::string& path);

// A CT series from its slices (headers or full images): all must share the SeriesInstanceUID and
// size; they are ordered by ImagePositionPatient projected on the slice normal, the z spacing is
// the median step between positions (SliceThickness is ignored). Duplicate positions and
// inconsistent sizes throw. Result: (slices, rows, cols) in HU, spacing (z, row, col).
Volume assemble_series(const std::vector<std::string>& files);

// The slice normal (cross product of the orientation cosines).
std::array<double, 3> slice_normal(const std::array<double, 6>& orientation);

struct DicomWriteInfo {
  std::string patient_id, patient_name, study_uid, series_uid, sop_uid, description;
  std::string frame_of_reference_uid;  // required for CT (the slices of a series share it)
  std::array<double, 3> position{};
  std::array<double, 2> pixel_spacing{1.0, 1.0};
  double slice_thickness = 1.0;
  int instance_number = 1;
};

// One CT slice: rows x cols HU values stored as unsigned 12-bit with intercept -1024, explicit VR
// little endian, with the tags a scanner writes. Atomic (temporary name + rename).
void write_ct_slice(const std::string& path, const DicomWriteInfo& info, int rows, int cols, const float* hu);

// A DX radiograph "for presentation": rows x cols values in [0, 1] stored as 12-bit MONOCHROME2.
void write_dx(const std::string& path, const DicomWriteInfo& info, int rows, int cols, const float* image);

// A UID under the UUID-derived root 2.25 from 128 bits (deterministic from the phantom seed).
std::string uid_from_bits(std::uint64_t hi, std::uint64_t lo);

}  // namespace cmt::data
