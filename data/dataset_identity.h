// Which dataset file a run was trained on: its absolute path, its size and a hash of its first
// bytes (the HDF5 superblock and metadata that prepare writes up front). A run moved to another
// machine, or started from another directory, finds its dataset again and knows it is the same one.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmt::data {

struct DatasetIdentity {
  std::string path;         // absolute, normalised
  std::uintmax_t size = 0;  // bytes
  std::string header_hash;  // 16 hex digits: FNV-1a 64 of the first 64 KiB
  bool operator==(const DatasetIdentity& o) const { return size == o.size && header_hash == o.header_hash; }  // path aside
  nlohmann::json to_json() const;
  static DatasetIdentity from_json(const nlohmann::json& j);
};

// Throws cmt::Error naming the file when it cannot be read.
DatasetIdentity identify_dataset(const std::string& path);

// The dataset a run means: the first of `candidates` (paths as recorded: typed, absolute, relative
// to the run) that exists and, when `recorded` is known, has its size and hash. Throws cmt::Error
// naming what was tried and why each failed; `hint` ends the message (what to give instead).
std::string resolve_dataset(const std::vector<std::string>& candidates, const std::optional<DatasetIdentity>& recorded,
                            const std::string& hint);

}  // namespace cmt::data
