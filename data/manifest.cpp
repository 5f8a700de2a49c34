// Manifest reading: columns by name, row checks, duplicate and patient-ID warnings.
#include "data/manifest.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include "kernels/common/check.h"

namespace fs = std::filesystem;

namespace cmt::data {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

// The index of the column named `given` (exactly), else of the first of `usual` present; -1 if none.
int find_column(const std::vector<std::string>& header, const std::string& given, const std::vector<std::string>& usual) {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (!given.empty() && header[i] == given) return static_cast<int>(i);
  }
  if (!given.empty()) return -1;
  for (const auto& name : usual)
    for (std::size_t i = 0; i < header.size(); ++i)
      if (lower(header[i]) == name) return static_cast<int>(i);
  return -1;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(trim(cell));
      cell.clear();
    } else {
      cell.push_back(c);
    }
  }
  out.push_back(trim(cell));
  return out;
}

Manifest read_manifest_file(const std::string& csv, const ManifestColumns& columns) {
  std::ifstream in(csv);
  CMT_CHECK(in, csv << ": cannot open the manifest");
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split_csv_line(line);
  const int path_col = find_column(header, columns.path, {"path", "file", "filename", "image"});
  const int label_col = find_column(header, columns.label, {"label", "class"});
  const int patient_col = find_column(header, columns.patient, {"patient_id", "patient", "subject_id", "subject"});
  const std::string have = "the header has: " + joined(header);
  CMT_CHECK(path_col >= 0,
            csv << ": no "
                << (columns.path.empty() ? "path column (path, file, filename or image)" : "column '" + columns.path + "'")
                << "; " << have << ". Name it with --path-col");
  CMT_CHECK(label_col >= 0, csv << ": no "
                                << (columns.label.empty() ? "label column (label or class)" : "column '" + columns.label + "'")
                                << "; " << have << ". Name it with --label-col");
  CMT_CHECK(patient_col >= 0 || columns.patient.empty(), csv << ": no column '" << columns.patient << "'; " << have);
  const int mask_col = find_column(header, columns.mask, {"mask", "mask_path", "lesion_mask", "segmentation"});
  CMT_CHECK(mask_col >= 0 || columns.mask.empty(), csv << ": no column '" << columns.mask << "'; " << have);
  Manifest m;
  std::map<std::string, const ManifestRow*> first_listing;  // normalised path -> its first row
  int number = 1, no_patient = 0;
  const auto cell = [](const std::vector<std::string>& cells, int col) {
    return col >= 0 && col < static_cast<int>(cells.size()) ? cells[static_cast<std::size_t>(col)] : std::string();
  };
  while (std::getline(in, line)) {
    ++number;
    if (trim(line).empty()) continue;
    const std::vector<std::string> cells = split_csv_line(line);
    const std::string where = fmt::format("{}:{}", csv, number);
    ManifestRow r{number, cell(cells, path_col), cell(cells, label_col), cell(cells, patient_col), cell(cells, mask_col)};
    if (r.path.empty()) {
      m.skipped.emplace_back(where, "no path");
    } else if (r.label.empty()) {
      m.skipped.emplace_back(where, r.path + ": empty label");
    } else {
      if (r.patient.empty()) ++no_patient;
      m.rows.push_back(r);
    }
  }
  // Duplicates: a path listed again is one sample counted twice (or with two labels): keep the first.
  std::vector<ManifestRow> kept;
  for (const auto& r : m.rows) {
    const std::string key = (fs::path(csv).parent_path() / r.path).lexically_normal().string();
    const auto [it, fresh] = first_listing.emplace(key, &r);
    if (fresh) {
      kept.push_back(r);
      continue;
    }
    const ManifestRow& first = *it->second;
    m.skipped.emplace_back(fmt::format("{}:{}", csv, r.line),
                           fmt::format("{}: listed again (first on line {}{})", r.path, first.line,
                                       first.label == r.label ? ""
                                                              : ", there as '" + first.label + "', here as '" + r.label + "'"));
  }
  m.rows = std::move(kept);
  if (patient_col < 0)
    m.warnings.push_back(
        fmt::format("{} has no patient column (patient_id): every image counts as its own patient, so images of one patient can "
                    "fall into different folds, training and test, and inflate the metrics. Add a patient_id column or name it "
                    "with --patient-col",
                    csv));
  else if (no_patient > 0)
    m.warnings.push_back(
        fmt::format("{}: {} rows have an empty patient cell; each of them counts as its own patient", csv, no_patient));
  return m;
}

}  // namespace cmt::data
