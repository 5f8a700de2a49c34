// Ingest: layout discovery, loading and preprocessing of one sample at a time.
#include "data/ingest.h"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "data/dicom.h"
#include "data/image_io.h"
#include "data/input_limits.h"
#include "data/nifti.h"
#include "engine/ops/resample.h"

namespace fs = std::filesystem;

namespace cmt::data {

namespace {

bool hidden_or_meta(const fs::path& p) {
  const std::string name = p.filename().string();
  return name.empty() || name[0] == '.' || name == "manifest.csv" || name == "manifest.json" || name.ends_with(".tmp");
}

// Files directly in `dir`, naturally sorted (slice_2 before slice_10).
std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && !hidden_or_meta(e.path())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    const auto key = [](const std::string& s) {
      const std::string stem = fs::path(s).stem().string();
      std::size_t i = stem.find_last_not_of("0123456789");
      i = i == std::string::npos ? 0 : i + 1;
      const long long num = i < stem.size() ? std::stoll(stem.substr(i, 15)) : -1;
      return std::make_pair(stem.substr(0, i), num);
    };
    const auto ka = key(a), kb = key(b);
    return ka != kb ? ka < kb : a < b;
  });
  return out;
}

// The file name without its extension; both of ".nii.gz".
std::string nifti_stem(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  return stem.ends_with(".nii") ? stem.substr(0, stem.size() - 4) : stem;
}

std::string image_format(const std::string& path) { return is_png_file(path) ? "PNG" : "JPEG"; }

// What images found together in one folder say: one image, or images lying directly in a class
// folder, are radiographs; several in a patient or scan folder are the slices of a CT.
ModalityEvidence image_evidence(const std::vector<std::string>& images, const fs::path& dir, bool class_level) {
  if (images.size() == 1) return {"xray", images.front(), "a single " + image_format(images.front()) + " image"};
  if (class_level) return {"xray", dir.string(), fmt::format("{} images directly in a class folder", images.size())};
  return {"ct", dir.string(), fmt::format("a folder of {} slice images", images.size())};
}

// A NIfTI file is one sample: a 3D volume (CT) or a 2D image (a radiograph).
ModalityEvidence nifti_evidence(const std::string& path) {
  const NiftiShape n = read_nifti_shape(path);
  return n.nz > 1 ? ModalityEvidence{"ct", path, "a 3D NIfTI volume"} : ModalityEvidence{"xray", path, "a 2D NIfTI image"};
}

ModalityEvidence dicom_evidence(const DicomImage& h, const std::string& source) {
  return {modality_of_dicom(h.modality), source, h.modality.empty() ? "DICOM without Modality" : "DICOM Modality " + h.modality};
}

// A scan folder: DICOM files are grouped by series (one item each); image slices form one item.
// class_level: `dir` is a class folder itself (files there are not one patient's).
void add_scan_folder(Discovery& d, const fs::path& dir, const std::string& label, const std::string& patient,
                     const std::string& modality, bool class_level = false) {
  const std::vector<std::string> files = files_in(dir);
  std::map<std::string, std::vector<std::string>> series;
  std::map<std::string, DicomImage> series_header;
  std::vector<std::string> images;
  for (const auto& f : files) {
    if (is_nifti_file(f)) {
      try {
        d.evidence.push_back(nifti_evidence(f));
        d.items.push_back({label, patient.empty() ? nifti_stem(f) : patient, {f}, f});
      } catch (const Error& e) {
        d.skipped.emplace_back(f, e.what());
      }
    } else if (is_png_file(f) || is_jpeg_file(f)) {
      images.push_back(f);
    } else if (looks_like_dicom(f)) {
      try {
        const DicomImage h = read_dicom(f, false);
        if (modality == "xray") {
          d.items.push_back({label, patient.empty() ? h.patient_id : patient, {f}, f});
          d.evidence.push_back(dicom_evidence(h, f));
        } else {
          series[h.series_uid].push_back(f);
          series_header.emplace(h.series_uid, h);
        }
      } catch (const Error& e) {
        d.skipped.emplace_back(f, e.what());
      }
    } else {
      d.skipped.emplace_back(f, "neither DICOM, NIfTI nor PNG/JPEG");
    }
  }
  for (auto& [uid, fl] : series) {
    const DicomImage& h = series_header.at(uid);
    const std::string source = dir.string() + (series.size() > 1 ? " series " + uid : "");
    d.items.push_back({label, patient.empty() ? h.patient_id : patient, fl, source});
    d.evidence.push_back(dicom_evidence(h, source));
  }
  if (!images.empty()) d.evidence.push_back(image_evidence(images, dir, class_level));
  if (modality == "xray") {
    for (const auto& f : images) d.items.push_back({label, patient.empty() ? fs::path(f).stem().string() : patient, {f}, f});
  } else if (!images.empty()) {
    d.items.push_back({label, patient, images, dir.string()});
  }
}

void walk_class(Discovery& d, const fs::path& class_dir, const std::string& label, const std::string& modality) {
  // Files right in the class folder; every folder below that holds files is a scan (or radiographs).
  add_scan_folder(d, class_dir, label, "", modality, true);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::recursive_directory_iterator(class_dir))
    if (e.is_directory() && !hidden_or_meta(e.path())) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    // The patient is the first folder below the class (CC-CCII: class/patient/scan/slices).
    const std::string patient = *fs::relative(dir, class_dir).begin();
    add_scan_folder(d, dir, label, patient, modality);
  }
}

// A file listed on its own: an image is a radiograph; a DICOM file says in its header. Unreadable
// files say nothing here (loading them names the problem).
void add_file_evidence(Discovery& d, const std::string& path) {
  if (is_nifti_file(path)) {
    try {
      d.evidence.push_back(nifti_evidence(path));
    } catch (const Error&) {
    }
    return;
  }
  if (is_png_file(path) || is_jpeg_file(path)) {
    d.evidence.push_back({"xray", path, "a single " + image_format(path) + " image"});
    return;
  }
  try {
    const DicomImage h = read_dicom(path, false);
    d.evidence.push_back(h.frames > 1 && h.modality.empty() ? ModalityEvidence{"ct", path, "a multi-frame DICOM"}
                                                            : dicom_evidence(h, path));
  } catch (const Error&) {
  }
}

void read_manifest(Discovery& d, const fs::path& csv, const std::string& modality, const ManifestColumns& columns) {
  Manifest m = read_manifest_file(csv.string(), columns);
  d.skipped.insert(d.skipped.end(), m.skipped.begin(), m.skipped.end());
  d.warnings.insert(d.warnings.end(), m.warnings.begin(), m.warnings.end());
  for (const auto& row : m.rows) {
    const fs::path p = csv.parent_path() / row.path;
    if (std::find(d.class_names.begin(), d.class_names.end(), row.label) == d.class_names.end())
      d.class_names.push_back(row.label);
    const std::string mask = row.mask.empty() ? "" : (csv.parent_path() / row.mask).string();
    if (!mask.empty() && !fs::exists(mask)) {
      d.skipped.emplace_back(p.string(),
                             "its mask " + mask + " (" + csv.string() + ":" + std::to_string(row.line) + ") is missing");
      continue;
    }
    const std::size_t first = d.items.size();
    if (fs::is_directory(p)) {
      add_scan_folder(d, p, row.label, row.patient, modality);
    } else if (fs::is_regular_file(p)) {
      d.items.push_back({row.label, row.patient.empty() ? nifti_stem(p.string()) : row.patient, {p.string()}, p.string()});
      add_file_evidence(d, p.string());
    } else {
      d.skipped.emplace_back(p.string(), "listed in the manifest but missing");
    }
    if (mask.empty()) continue;
    if (d.items.size() - first > 1) {  // one mask cannot belong to several series
      for (std::size_t k = first; k < d.items.size(); ++k)
        d.skipped.emplace_back(d.items[k].source, fmt::format("{} holds {} samples but one mask ({}) is given", p.string(),
                                                              d.items.size() - first, mask));
      d.items.resize(first);
      continue;
    }
    for (std::size_t k = first; k < d.items.size(); ++k) d.items[k].mask = mask;
  }
}

Discovery discover_as(const std::string& input, const std::string& modality, const ManifestColumns& columns) {
  Discovery d;
  d.modality = modality;
  const fs::path in(input);
  CMT_CHECK(fs::exists(in), input << ": no such file or folder");
  if (fs::is_regular_file(in) && in.extension() == ".csv") {
    read_manifest(d, in, modality, columns);
  } else if (fs::is_regular_file(in / "manifest.csv")) {
    read_manifest(d, in / "manifest.csv", modality, columns);
  } else {
    CMT_CHECK(fs::is_directory(in), input << ": expected a folder of class folders or a manifest .csv");
    for (const auto& e : fs::directory_iterator(in))
      if (e.is_directory() && !hidden_or_meta(e.path())) d.class_names.push_back(e.path().filename().string());
    std::sort(d.class_names.begin(), d.class_names.end());
    CMT_CHECK(!d.class_names.empty(), input << ": no class folders and no manifest.csv");
    for (const auto& c : d.class_names) walk_class(d, in / c, c, modality);
  }
  return d;
}

}  // namespace

Discovery discover_scans(const std::string& dir, const std::string& modality) {
  Discovery d;
  d.modality = modality;
  add_scan_folder(d, dir, "", "", modality);
  return d;
}

Discovery discover(const std::string& input, const std::string& modality, const ManifestColumns& columns) {
  CMT_CHECK(modality.empty() || modality == "ct" || modality == "xray",
            "modality must be 'ct' or 'xray', got '" << modality << "'");
  if (!modality.empty()) return discover_as(input, modality, columns);
  // The walk as CT reads every DICOM header once; X-ray groups the same files into other samples.
  Discovery d = discover_as(input, "ct", columns);
  const std::string inferred = infer_modality(d.evidence, input);
  if (inferred == "ct") return d;
  std::vector<ModalityEvidence> evidence = std::move(d.evidence);
  d = discover_as(input, inferred, columns);
  d.evidence = std::move(evidence);
  return d;
}

Volume load_item(const SourceItem& item, const std::string& modality, bool& hu) {
  CMT_CHECK(!item.files.empty(), item.source << ": no files");
  const std::string& first = item.files.front();
  if (is_nifti_file(first)) {
    Volume v = read_nifti(first);
    CMT_CHECK(modality == "ct" || v.d == 1, first << ": a 3D NIfTI volume (" << v.d << " slices) is not a radiograph");
    hu = modality == "ct";  // NIfTI CT (dcm2niix, MONAI data sets) holds Hounsfield units
    return v;
  }
  const bool dicom = !is_png_file(first) && !is_jpeg_file(first);
  if (dicom) {
    if (modality == "ct" && item.files.size() > 1) {
      hu = true;
      return assemble_series(item.files);
    }
    DicomImage im = read_dicom(first, true);
    Volume v;
    v.d = modality == "ct" ? im.frames : 1;  // a multi-frame CT is a volume; a radiograph keeps frame 0
    v.h = im.rows;
    v.w = im.cols;
    v.spacing = {im.slice_thickness > 0 ? im.slice_thickness : 1.0, im.pixel_spacing[0], im.pixel_spacing[1]};
    v.spacing_known = true;
    im.pixels.resize(static_cast<std::size_t>(v.numel()));
    v.v = std::move(im.pixels);
    hu = modality == "ct" && im.modality == "CT";
    return v;
  }
  hu = false;
  check_slice_count(item.source, item.files.size());
  Volume v;
  for (const auto& f : item.files) {
    Volume s = read_image(f);
    if (v.v.empty()) {
      v = std::move(s);
      continue;
    }
    CMT_CHECK(s.h == v.h && s.w == v.w, f << ": slice size " << s.h << "x" << s.w << " differs from " << v.h << "x" << v.w
                                          << " of " << item.files.front());
    v.v.insert(v.v.end(), s.v.begin(), s.v.end());
    ++v.d;
  }
  return v;
}

Volume load_mask(const SourceItem& item, const std::string& modality, const Volume& image) {
  const std::string& path = item.mask;
  CMT_CHECK(!path.empty(), item.source << ": no mask");
  SourceItem as_image{item.label, item.patient_id, {}, path, ""};
  as_image.files = fs::is_directory(path) ? files_in(path) : std::vector<std::string>{path};
  CMT_CHECK(!as_image.files.empty(), path << ": an empty mask folder");
  bool hu = false;
  Volume m;
  try {
    m = load_item(as_image, modality, hu);
  } catch (const Error& e) {
    CMT_THROW("mask " << path << ": " << e.what());
  }
  CMT_CHECK(m.d == image.d && m.h == image.h && m.w == image.w,
            "mask " << path << ": size " << m.d << "x" << m.h << "x" << m.w << " (D, H, W) differs from the image's " << image.d
                    << "x" << image.h << "x" << image.w << " (" << item.source << ")");
  float fg = 0.f;
  for (float& v : m.v) {
    if (v == 0.f) continue;
    CMT_CHECK(v > 0.f,
              "mask " << path << ": not a binary mask (a value " << v << "); give 0 for background and one value for lesion");
    if (fg == 0.f) fg = v;
    CMT_CHECK(v == fg, "mask " << path << ": not a binary mask (values 0, " << fg << " and " << v
                               << ": a label map, or a lossy JPEG?); give 0 for background and one value for lesion");
    v = 1.f;
  }
  return m;
}

std::vector<float> preprocess(Context& ctx, const Volume& v, bool hu, const Preprocess& p) {
  Tensor x = Tensor::from_vector(v.v, Shape{1, v.d, v.h, v.w, 1});
  x = hu ? ops::hu_window(ctx, x, p.window_lo, p.window_hi) : ops::minmax_scale(ctx, x);
  Tensor y = ops::resample(ctx, x, p.size[0], p.size[1], p.size[2], true);
  return y.to_vector<float>();
}

std::vector<std::uint8_t> preprocess_mask(Context& ctx, const Volume& mask, const Preprocess& p) {
  const Tensor x = Tensor::from_vector(mask.v, Shape{1, mask.d, mask.h, mask.w, 1});
  const std::vector<float> y = ops::resample(ctx, x, p.size[0], p.size[1], p.size[2], true).to_vector<float>();
  std::vector<std::uint8_t> out(y.size());
  for (std::size_t k = 0; k < y.size(); ++k) out[k] = y[k] >= 0.5f ? 1 : 0;
  return out;
}

}  // namespace cmt::data
