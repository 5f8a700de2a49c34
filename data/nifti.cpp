// NIfTI reading and reorientation to the DICOM axial layout (S, P, L along slices, rows, columns).
#include "data/nifti.h"

#include <fmt/core.h>
#include <nifti2_io.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>

#include "kernels/common/check.h"

namespace cmt::data {

namespace {

struct NiftiFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};
using NiftiPtr = std::unique_ptr<nifti_image, NiftiFree>;

NiftiPtr open_nifti(const std::string& path, bool data) {
  nifti_set_debug_level(0);  // the library's own messages would repeat ours
  NiftiPtr im(nifti_image_read(path.c_str(), data ? 1 : 0));
  CMT_CHECK(im, path << ": not a readable NIfTI file (truncated, or not NIfTI)");
  CMT_CHECK(!data || im->data, path << ": the NIfTI image data could not be read (truncated?)");
  return im;
}

template <typename T>
void widen(const void* src, std::int64_t n, std::vector<float>& out) {
  out.resize(static_cast<std::size_t>(n));
  const T* s = static_cast<const T*>(src);
  for (std::int64_t i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = static_cast<float>(s[i]);
}

std::vector<float> voxels_as_float(const nifti_image& im, const std::string& path) {
  std::vector<float> out;
  const std::int64_t n = im.nvox;
  switch (im.datatype) {
    case DT_UINT8: widen<std::uint8_t>(im.data, n, out); break;
    case DT_INT8: widen<std::int8_t>(im.data, n, out); break;
    case DT_INT16: widen<std::int16_t>(im.data, n, out); break;
    case DT_UINT16: widen<std::uint16_t>(im.data, n, out); break;
    case DT_INT32: widen<std::int32_t>(im.data, n, out); break;
    case DT_UINT32: widen<std::uint32_t>(im.data, n, out); break;
    case DT_INT64: widen<std::int64_t>(im.data, n, out); break;
    case DT_UINT64: widen<std::uint64_t>(im.data, n, out); break;
    case DT_FLOAT32: widen<float>(im.data, n, out); break;
    case DT_FLOAT64: widen<double>(im.data, n, out); break;
    default:
      CMT_THROW(path << ": NIfTI voxel type " << nifti_datatype_string(im.datatype) << " is not supported (scalar types only)");
  }
  // scl_slope 0 means "no scaling" (NIfTI-1 standard).
  if (im.scl_slope != 0.0 && std::isfinite(im.scl_slope) && (im.scl_slope != 1.0 || im.scl_inter != 0.0))
    for (float& v : out) v = static_cast<float>(v * im.scl_slope + im.scl_inter);
  return out;
}

// For each voxel axis (i, j, k): which output axis it becomes (0 slices, 1 rows, 2 cols) and whether
// it runs against that axis's direction (S for slices, P for rows, L for columns).
struct AxisMap {
  std::array<int, 3> to{2, 1, 0};
  std::array<bool, 3> flip{false, false, false};
};

AxisMap axis_map(const nifti_image& im, const std::string& path) {
  AxisMap m;
  const bool sform = im.sform_code > 0, qform = im.qform_code > 0;
  if (!sform && !qform) return m;  // no orientation: as stored
  int code[3];
  nifti_dmat44_to_orientation(sform ? im.sto_xyz : im.qto_xyz, &code[0], &code[1], &code[2]);
  std::array<bool, 3> taken{false, false, false};
  for (int a = 0; a < 3; ++a) {
    int out = -1;
    bool flip = false;
    switch (code[a]) {
      case NIFTI_R2L: out = 2; break;
      case NIFTI_L2R: out = 2, flip = true; break;
      case NIFTI_A2P: out = 1; break;
      case NIFTI_P2A: out = 1, flip = true; break;
      case NIFTI_I2S: out = 0; break;
      case NIFTI_S2I: out = 0, flip = true; break;
      default: break;
    }
    CMT_CHECK(out >= 0 && !taken[static_cast<std::size_t>(out)], path << ": the NIfTI orientation of voxel axis "
                                                                      << "ijk"[a] << " matches no anatomical direction");
    taken[static_cast<std::size_t>(out)] = true;
    m.to[static_cast<std::size_t>(a)] = out;
    m.flip[static_cast<std::size_t>(a)] = flip;
  }
  return m;
}

}  // namespace

bool is_nifti_file(const std::string& path) {
  const auto ends = [&](const char* s) {
    const std::size_t n = std::strlen(s);
    return path.size() >= n && path.compare(path.size() - n, n, s) == 0;
  };
  return ends(".nii") || ends(".nii.gz");
}

NiftiShape read_nifti_shape(const std::string& path) {
  const NiftiPtr im = open_nifti(path, false);
  return {im->nx, im->ny, im->nz, im->nt};
}

Volume read_nifti(const std::string& path) {
  const NiftiPtr im = open_nifti(path, true);
  CMT_CHECK(im->nt <= 1 && im->nu <= 1 && im->nv <= 1 && im->nw <= 1,
            path << ": a " << im->ndim << "D NIfTI image (" << im->nt << " volumes); one 2D image or 3D volume is expected");
  const std::vector<float> src = voxels_as_float(*im, path);
  const AxisMap m = axis_map(*im, path);
  const std::array<long long, 3> n{im->nx, im->ny, im->nz};
  const std::array<double, 3> pix{std::fabs(im->dx), std::fabs(im->dy), std::fabs(im->dz)};
  std::array<long long, 3> out_n{};
  Volume v;
  for (int a = 0; a < 3; ++a) {
    out_n[static_cast<std::size_t>(m.to[static_cast<std::size_t>(a)])] = n[static_cast<std::size_t>(a)];
    v.spacing[static_cast<std::size_t>(m.to[static_cast<std::size_t>(a)])] =
        pix[static_cast<std::size_t>(a)] > 0 ? pix[static_cast<std::size_t>(a)] : 1.0;
  }
  v.d = static_cast<int>(out_n[0]);
  v.h = static_cast<int>(out_n[1]);
  v.w = static_cast<int>(out_n[2]);
  v.spacing_known = im->sform_code > 0 || im->qform_code > 0;
  v.v.resize(static_cast<std::size_t>(v.numel()));
  // Source voxel (i, j, k), i fastest, to its place in (slices, rows, cols).
  std::array<long long, 3> idx{};
  std::size_t s = 0;
  for (idx[2] = 0; idx[2] < n[2]; ++idx[2])
    for (idx[1] = 0; idx[1] < n[1]; ++idx[1])
      for (idx[0] = 0; idx[0] < n[0]; ++idx[0], ++s) {
        std::array<long long, 3> o{};
        for (std::size_t a = 0; a < 3; ++a) {
          const auto to = static_cast<std::size_t>(m.to[a]);
          o[to] = m.flip[a] ? n[a] - 1 - idx[a] : idx[a];
        }
        v.v[static_cast<std::size_t>((o[0] * v.h + o[1]) * v.w + o[2])] = src[s];
      }
  return v;
}

void write_nifti_u8(const std::string& path, const Volume& v) {
  CMT_CHECK(is_nifti_file(path), path << ": a NIfTI file name ends in .nii or .nii.gz");
  CMT_CHECK(v.numel() > 0 && static_cast<std::int64_t>(v.v.size()) == v.numel(), path << ": an empty or inconsistent volume");
  const std::int64_t dims[8] = {3, v.w, v.h, v.d, 1, 1, 1, 1};
  NiftiPtr im(nifti_make_new_nim(dims, NIFTI_TYPE_UINT8, 1));
  CMT_CHECK(im && im->data, path << ": cannot make a NIfTI image");
  auto* dst = static_cast<std::uint8_t*>(im->data);
  for (std::size_t k = 0; k < v.v.size(); ++k) dst[k] = static_cast<std::uint8_t>(std::clamp(std::lround(v.v[k]), 0L, 255L));
  im->dx = im->pixdim[1] = v.spacing[2];
  im->dy = im->pixdim[2] = v.spacing[1];
  im->dz = im->pixdim[3] = v.spacing[0];
  // RAS world axes: columns run towards the patient's left (-x), rows posterior (-y), slices superior (+z).
  im->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) im->sto_xyz.m[r][c] = 0.0;
  im->sto_xyz.m[0][0] = -v.spacing[2];
  im->sto_xyz.m[1][1] = -v.spacing[1];
  im->sto_xyz.m[2][2] = v.spacing[0];
  im->sto_xyz.m[3][3] = 1.0;
  im->sto_ijk = nifti_dmat44_inverse(im->sto_xyz);
  im->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  // The library picks compression from the name: the temporary name keeps the extension.
  const std::filesystem::path final_path(path);
  const std::string ext = path.ends_with(".nii.gz") ? ".nii.gz" : ".nii";
  const std::string tmp =
      (final_path.parent_path() / fmt::format(".{}.tmp-{}{}", final_path.filename().string(), ::getpid(), ext)).string();
  CMT_CHECK(nifti_set_filenames(im.get(), tmp.c_str(), 0, 1) == 0, path << ": cannot name the NIfTI file");
  nifti_set_debug_level(0);
  nifti_image_write(im.get());  // reports nothing: the file is read back instead
  try {
    const NiftiShape got = read_nifti_shape(tmp);
    CMT_CHECK(got.nx == v.w && got.ny == v.h && got.nz == v.d, "read back with another shape");
  } catch (const Error& e) {
    std::filesystem::remove(tmp);
    CMT_THROW(path << ": cannot write the NIfTI file (" << e.what() << ")");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace cmt::data
