// The phantom dataset writer.
#include "data/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/dicom.h"
#include "data/nifti.h"
#include "data/png_write.h"
#include "kernels/common/check.h"
#include "kernels/common/philox.h"

namespace fs = std::filesystem;

namespace cmt::data {

namespace {

std::string uid(std::uint64_t seed, std::int64_t patient, std::uint32_t what, std::uint32_t k) {
  const rng::Stream s = rng::Stream::make(seed, what, static_cast<std::uint32_t>(patient), 0x2100);
  const rng::Words4 w = s.draw(k);
  return uid_from_bits((std::uint64_t{w.w[0]} << 32) | w.w[1], (std::uint64_t{w.w[2]} << 32) | w.w[3]);
}

std::string patient_name(std::int64_t index) {
  char pid[24];
  std::snprintf(pid, sizeof(pid), "P%04lld", static_cast<long long>(index));
  return pid;
}

std::uint8_t to_u8(float v01) { return static_cast<std::uint8_t>(std::lround(std::clamp(v01, 0.f, 1.f) * 255.f)); }

// The lesion masks of one modality, shared by its DICOM and PNG copies: OUT/<modality>/masks/<patient>
// (.nii.gz for CT, 0/1; .png for X-ray, 0/255). Outside the class folders, so that a folder layout
// read without the manifest does not take them for samples.
void write_masks(const fs::path& dir, const std::string& modality, const SynthOptions& opt) {
  fs::create_directories(dir);
  for (std::int64_t i = 0; i < opt.count; ++i) {
    const int label = phantom_label(i);
    if (modality == "ct") {
      write_nifti_u8((dir / mask_file_name(modality, i)).string(), make_ct_lesion_mask(opt.phantom, i, label));
    } else {
      const Volume m = make_xray_lesion_mask(opt.phantom, i, label);
      std::vector<std::uint8_t> px(m.v.size());
      for (std::size_t k = 0; k < px.size(); ++k) px[k] = m.v[k] > 0.5f ? 255 : 0;
      write_png((dir / mask_file_name(modality, i)).string(), m.w, m.h, 1, px);
    }
  }
}

}  // namespace

std::string mask_file_name(const std::string& modality, std::int64_t index) {
  return patient_name(index) + (modality == "ct" ? ".nii.gz" : ".png");
}

std::int64_t write_synthetic(const std::string& out, const SynthOptions& opt) {
  CMT_CHECK(opt.modality == "ct" || opt.modality == "xray" || opt.modality == "both", "synth: bad modality '" << opt.modality << "'");
  CMT_CHECK(opt.format == "dicom" || opt.format == "png" || opt.format == "both", "synth: bad format '" << opt.format << "'");
  CMT_CHECK(opt.count > 0, "synth: count must be positive");
  const auto& classes = phantom_class_names();
  std::int64_t files = 0;
  for (const std::string mod : {"ct", "xray"}) {
    if (opt.modality != "both" && opt.modality != mod) continue;
    write_masks(fs::path(out) / mod / "masks", mod, opt);
    files += opt.count;
    for (const std::string fmt : {"dicom", "png"}) {
      if (opt.format != "both" && opt.format != fmt) continue;
      const fs::path root = fs::path(out) / mod / fmt;
      fs::create_directories(root);
      std::ofstream manifest(root / "manifest.csv.tmp");
      manifest << "path,label,patient_id,mask\n";
      for (std::int64_t i = 0; i < opt.count; ++i) {
        const int label = phantom_label(i);
        const std::string pid = patient_name(i);
        const std::string mask = ",../masks/" + mask_file_name(mod, i);
        const fs::path cls = root / classes[static_cast<std::size_t>(label)];
        fs::create_directories(cls);
        DicomWriteInfo info;
        info.patient_id = pid;
        info.patient_name = "Phantom^" + pid;
        info.study_uid = uid(opt.phantom.seed, i, 1, 0);
        info.description = "cmt phantom " + classes[static_cast<std::size_t>(label)];
        if (mod == "ct") {
          const Volume v = make_ct_phantom(opt.phantom, i, label);
          const fs::path dir = cls / pid;
          fs::create_directories(dir);
          info.series_uid = uid(opt.phantom.seed, i, 2, 0);
          info.frame_of_reference_uid = uid(opt.phantom.seed, i, 6, 0);
          info.pixel_spacing = {v.spacing[1], v.spacing[2]};
          info.slice_thickness = v.spacing[0];
          const std::size_t plane = static_cast<std::size_t>(v.h) * v.w;
          for (int z = 0; z < v.d; ++z) {
            char name[32];
            if (fmt == "dicom") {
              info.sop_uid = uid(opt.phantom.seed, i, 3, static_cast<std::uint32_t>(z));
              info.instance_number = z + 1;
              info.position = {-150.0 + 0.5 * v.spacing[2], -150.0 + 0.5 * v.spacing[1], z * v.spacing[0]};
              std::snprintf(name, sizeof(name), "IM%04d.dcm", z + 1);
              write_ct_slice((dir / name).string(), info, v.h, v.w, v.v.data() + z * plane);
            } else {  // CC-CCII style: 8-bit slices of the lung window in class/patient/scan/
              fs::create_directories(dir / "scan0");
              std::vector<std::uint8_t> px(plane);
              for (std::size_t k = 0; k < plane; ++k) px[k] = to_u8((v.v[z * plane + k] + 1000.f) / 1400.f);
              std::snprintf(name, sizeof(name), "%04d.png", z);
              write_png((dir / "scan0" / name).string(), v.w, v.h, 1, px);
            }
            ++files;
          }
          manifest << classes[static_cast<std::size_t>(label)] << "/" << pid << (fmt == "png" ? "/scan0" : "") << ","
                   << classes[static_cast<std::size_t>(label)] << "," << pid << mask << "\n";
        } else {
          const Volume v = make_xray_phantom(opt.phantom, i, label);
          const std::string name = pid + (fmt == "dicom" ? ".dcm" : ".png");
          if (fmt == "dicom") {
            info.series_uid = uid(opt.phantom.seed, i, 4, 0);
            info.sop_uid = uid(opt.phantom.seed, i, 5, 0);
            info.pixel_spacing = {v.spacing[1], v.spacing[2]};
            write_dx((cls / name).string(), info, v.h, v.w, v.v.data());
          } else {
            std::vector<std::uint8_t> px(v.v.size());
            for (std::size_t k = 0; k < px.size(); ++k) px[k] = to_u8(v.v[k]);
            write_png((cls / name).string(), v.w, v.h, 1, px);
          }
          ++files;
          manifest << classes[static_cast<std::size_t>(label)] << "/" << name << "," << classes[static_cast<std::size_t>(label)]
                   << "," << pid << mask << "\n";
        }
      }
      manifest.close();
      CMT_CHECK(manifest, (root / "manifest.csv").string() << ": cannot write the manifest");
      fs::rename(root / "manifest.csv.tmp", root / "manifest.csv");
    }
  }
  return files;
}

}  // namespace cmt::data
