// The attention-map file: one map per scored sample, on the grid of the dataset's samples, written by
// whatever computes the maps (`cmt explain`, or any tool that follows docs/dataset-format.md) and read
// by the scorer (data/map_scores.h). HDF5: /maps f32 (N, D, H, W), /sample_index i64 (N), attributes
// format "cmt-maps", version 1, run, method, dataset.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/shape.h"

namespace cmt::data {

struct MapsInfo {
  std::string run;      // the model the maps explain (a run folder, a checkpoint)
  std::string method;   // how they were computed ("grad-cam", "attention", ...)
  std::string dataset;  // the dataset file whose samples they cover
};

// Writes a maps file under a temporary name (`path`.tmp-<pid>); finish() renames it into place.
class MapsWriter {
 public:
  MapsWriter(const std::string& path, Shape sample_shape /* (D, H, W) */, const MapsInfo& info);
  ~MapsWriter();  // without finish(): the temporary file is deleted
  MapsWriter(const MapsWriter&) = delete;
  MapsWriter& operator=(const MapsWriter&) = delete;

  void add(std::int64_t sample_index, const float* map /* D*H*W */);  // a sample listed twice is an error
  std::int64_t count() const { return static_cast<std::int64_t>(index_.size()); }
  void finish();

 private:
  std::string path_, tmp_;
  Shape shape_;
  MapsInfo info_;
  std::vector<std::int64_t> index_;
  long long file_ = -1, maps_ = -1;  // hid_t
  bool finished_ = false;
};

// An opened maps file (read-only). Errors name the file and the problem.
class MapsFile {
 public:
  static MapsFile open(const std::string& path);
  MapsFile(MapsFile&&) noexcept;
  MapsFile& operator=(MapsFile&&) noexcept;
  ~MapsFile();

  const std::string& path() const;
  const MapsInfo& info() const;
  std::int64_t size() const;
  Shape sample_shape() const;                             // (D, H, W)
  const std::vector<std::int64_t>& sample_index() const;  // the dataset row of each map
  void read_map(std::int64_t k, float* dst) const;        // map k (not sample k) as D*H*W floats

 private:
  struct Impl;
  explicit MapsFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmt::data
