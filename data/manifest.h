// CSV manifests of `cmt prepare`: a header naming the columns (in any order), one sample a row.
// Rows that cannot be a sample (no path, an empty label, a path listed again) are set aside with
// the reason; a manifest without patient IDs is read but warned about, since every image then
// counts as its own patient and one patient's images can fall into different folds.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace cmt::data {

// Column names to use; "" finds the column by its usual names (case-insensitive): path (path,
// file, filename, image), label (label, class), patient (patient_id, patient, subject_id, subject),
// mask (mask, mask_path, lesion_mask, segmentation; optional: a lesion mask per sample).
struct ManifestColumns {
  std::string path, label, patient, mask;
};

struct ManifestRow {
  int line = 0;      // 1-based line in the file
  std::string path;  // as written (relative to the manifest's folder unless absolute)
  std::string label;
  std::string patient;  // "" when there is no patient column or the cell is empty
  std::string mask;     // "" when there is no mask column or the cell is empty (no mask)
};

struct Manifest {
  std::vector<ManifestRow> rows;
  std::vector<std::pair<std::string, std::string>> skipped;  // ("file.csv:LINE", reason)
  std::vector<std::string> warnings;
};

// Throws cmt::Error naming the file when it cannot be read or lacks the path or label column.
Manifest read_manifest_file(const std::string& csv, const ManifestColumns& columns);

// One CSV line split into cells: commas outside double quotes; "" inside quotes is a quote;
// surrounding spaces and a trailing CR are dropped.
std::vector<std::string> split_csv_line(const std::string& line);

}  // namespace cmt::data
