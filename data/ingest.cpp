// Ingest: layout discovery, loading and preprocessing of one sample at a time.
#include "data/ingest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/dicom.h"
#include "data/image_io.h"
#include "data/input_limits.h"
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

// A scan folder: DICOM files are grouped by series (one item each); image slices form one item.
void add_scan_folder(Discovery& d, const fs::path& dir, const std::string& label, const std::string& patient,
                     const std::string& modality) {
  const std::vector<std::string> files = files_in(dir);
  std::map<std::string, std::vector<std::string>> series;
  std::vector<std::string> images;
  for (const auto& f : files) {
    if (is_png_file(f) || is_jpeg_file(f)) {
      images.push_back(f);
    } else if (looks_like_dicom(f)) {
      try {
        const DicomImage h = read_dicom(f, false);
        if (modality == "xray") {
          d.items.push_back({label, patient.empty() ? h.patient_id : patient, {f}, f});
        } else {
          series[h.series_uid].push_back(f);
        }
      } catch (const Error& e) {
        d.skipped.emplace_back(f, e.what());
      }
    } else {
      d.skipped.emplace_back(f, "neither DICOM nor PNG/JPEG");
    }
  }
  for (auto& [uid, fl] : series) {
    const std::string pid = patient.empty() ? read_dicom(fl.front(), false).patient_id : patient;
    d.items.push_back({label, pid, fl, dir.string() + (series.size() > 1 ? " series " + uid : "")});
  }
  if (modality == "xray") {
    for (const auto& f : images) d.items.push_back({label, patient.empty() ? fs::path(f).stem().string() : patient, {f}, f});
  } else if (!images.empty()) {
    d.items.push_back({label, patient, images, dir.string()});
  }
}

void walk_class(Discovery& d, const fs::path& class_dir, const std::string& label, const std::string& modality) {
  // Files right in the class folder; every folder below that holds files is a scan (or radiographs).
  add_scan_folder(d, class_dir, label, "", modality);
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

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    while (!cell.empty() && (cell.back() == '\r' || cell.back() == ' ')) cell.pop_back();
    while (!cell.empty() && cell.front() == ' ') cell.erase(cell.begin());
    out.push_back(cell);
  }
  return out;
}

void read_manifest(Discovery& d, const fs::path& csv, const std::string& modality) {
  std::ifstream in(csv);
  CMT_CHECK(in, csv.string() << ": cannot open the manifest");
  std::string line;
  std::getline(in, line);
  const auto header = split_csv(line);
  CMT_CHECK(header.size() >= 2 && header[0] == "path" && header[1] == "label",
            csv.string() << ": the first line must be 'path,label[,patient_id]'");
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    const auto cells = split_csv(line);
    if (cells.empty() || cells[0].empty()) continue;
    if (cells.size() < 2) {
      d.skipped.emplace_back(csv.string() + ":" + std::to_string(row), "fewer than two columns");
      continue;
    }
    const fs::path p = csv.parent_path() / cells[0];
    const std::string patient = cells.size() > 2 ? cells[2] : "";
    if (std::find(d.class_names.begin(), d.class_names.end(), cells[1]) == d.class_names.end()) d.class_names.push_back(cells[1]);
    if (fs::is_directory(p)) {
      add_scan_folder(d, p, cells[1], patient, modality);
    } else if (fs::is_regular_file(p)) {
      d.items.push_back({cells[1], patient.empty() ? p.stem().string() : patient, {p.string()}, p.string()});
    } else {
      d.skipped.emplace_back(p.string(), "listed in the manifest but missing");
    }
  }
}

}  // namespace

Discovery discover_scans(const std::string& dir, const std::string& modality) {
  Discovery d;
  add_scan_folder(d, dir, "", "", modality);
  return d;
}

Discovery discover(const std::string& input, const std::string& modality) {
  CMT_CHECK(modality == "ct" || modality == "xray", "modality must be 'ct' or 'xray', got '" << modality << "'");
  Discovery d;
  const fs::path in(input);
  CMT_CHECK(fs::exists(in), input << ": no such file or folder");
  if (fs::is_regular_file(in) && in.extension() == ".csv") {
    read_manifest(d, in, modality);
  } else if (fs::is_regular_file(in / "manifest.csv")) {
    read_manifest(d, in / "manifest.csv", modality);
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

Volume load_item(const SourceItem& item, const std::string& modality, bool& hu) {
  CMT_CHECK(!item.files.empty(), item.source << ": no files");
  const std::string& first = item.files.front();
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

std::vector<float> preprocess(Context& ctx, const Volume& v, bool hu, const Preprocess& p) {
  Tensor x = Tensor::from_vector(v.v, Shape{1, v.d, v.h, v.w, 1});
  x = hu ? ops::hu_window(ctx, x, p.window_lo, p.window_hi) : ops::minmax_scale(ctx, x);
  Tensor y = ops::resample(ctx, x, p.size[0], p.size[1], p.size[2], true);
  return y.to_vector<float>();
}

}  // namespace cmt::data
