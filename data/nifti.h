// NIfTI-1 and NIfTI-2 input (.nii, .nii.gz) through Debian's NIfTI library (libnifti2): volumes
// are turned to the layout of a DICOM axial series, so that a CT reaches the model the same way
// whichever format it came in.
#pragma once
#include <string>

#include "data/volume.h"

namespace cmt::data {

bool is_nifti_file(const std::string& path);  // by name: .nii or .nii.gz

struct NiftiShape {
  long long nx = 0, ny = 0, nz = 0, nt = 0;  // voxels along i, j, k and volumes along t
};

// The header only. Throws cmt::Error naming the file when it is not a readable NIfTI file.
NiftiShape read_nifti_shape(const std::string& path);

// The whole image, scaled by scl_slope/scl_inter, as (slices, rows, cols) with slices from inferior
// to superior, rows from anterior to posterior and columns from the patient's right to left (as
// DICOM's LPS axial series), using the sform (else the qform) to find each voxel axis's direction;
// spacing (z, row, col) in mm from pixdim. Without either transform the axes are taken as stored
// (i = columns, j = rows, k = slices). Throws cmt::Error naming the file: unreadable, a 4D time
// series, an unsupported voxel type, an oblique axis that belongs to no anatomical direction.
Volume read_nifti(const std::string& path);

// Writes `v` (laid out as read_nifti returns volumes) as unsigned 8-bit NIfTI-1 (a mask or label
// map; values rounded and clamped to 0..255) with an sform that says so, spacing from v.spacing;
// .nii.gz is gzipped. Atomic: a temporary name in the same folder, renamed when read back whole.
void write_nifti_u8(const std::string& path, const Volume& v);

}  // namespace cmt::data
