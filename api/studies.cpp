// InferenceModel::studies: the folder rules of predict, shared by the API and `cmt predict`.
#include <algorithm>
#include <filesystem>

#include "cmt/inference.h"
#include "data/ingest.h"

namespace cmt {

namespace fs = std::filesystem;

namespace {

void add_studies(const fs::path& dir, const std::string& modality, std::vector<Study>& out) {
  const data::Discovery found = data::discover_scans(dir.string(), modality);
  for (const auto& item : found.items) out.push_back({item.source, item.files, ""});
  for (const auto& [file, reason] : found.skipped) out.push_back({file, {}, reason});
  std::vector<fs::path> subdirs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().front() != '.') subdirs.push_back(e.path());
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& d : subdirs) add_studies(d, modality, out);
}

}  // namespace

std::vector<Study> InferenceModel::studies(const std::string& path) const {
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) return {{path, {}, "no such file or folder"}};
  if (!fs::is_directory(p, ec)) return {{path, {path}, ""}};
  std::vector<Study> out;
  try {
    add_studies(p, modality(), out);
  } catch (const std::exception& e) {  // an unreadable folder: the study is the path, with the reason
    return {{path, {}, e.what()}};
  }
  if (out.empty()) out.push_back({path, {}, "no DICOM, PNG or JPEG files in the folder or below"});
  return out;
}

}  // namespace cmt
