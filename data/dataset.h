// The HDF5 dataset (schema in docs/data.md): an opened, read-only Dataset and the DatasetWriter
// that `cmt prepare` uses (temporary file, renamed only when complete).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/shape.h"
#include "kernels/common/check.h"

namespace cmt::data {

class Dataset {
 public:
  static Dataset open(const std::string& path);  // clear errors naming the file and the problem
  Dataset(Dataset&&) noexcept;
  Dataset& operator=(Dataset&&) noexcept;
  ~Dataset();

  const std::string& path() const;
  std::int64_t size() const;
  Shape sample_shape() const;  // (D, H, W) with D = 1 for 2D
  std::vector<std::string> class_names() const;
  std::string modality() const;
  std::vector<std::int32_t> labels() const;
  std::vector<std::string> patient_ids() const;
  std::vector<std::string> source_paths() const;
  std::vector<std::array<double, 3>> spacings() const;       // original voxel spacing (z, y, x) mm
  std::vector<std::array<std::int32_t, 3>> original_shapes() const;  // original (D, H, W)
  int num_folds() const;
  std::vector<std::int32_t> folds() const;  // fold of each sample
  std::vector<std::int64_t> fold_indices(int fold, bool held_out) const;  // train = not held_out
  std::string attribute(const std::string& name) const;  // a root string attribute ("" if absent)
  // Regroups the classes in memory (the file is untouched): label l becomes old_to_new[l], and the
  // classes are named `names`. The binary task merges every class but COVID-19 this way.
  void relabel(const std::vector<std::string>& names, const std::vector<std::int32_t>& old_to_new);

  // Sample i as D*H*W floats in [0, 1]. Thread-safe (HDF5 calls are serialised).
  void read_sample(std::int64_t i, float* dst) const;

 private:
  struct Impl;
  explicit Dataset(std::unique_ptr<Impl> impl);
  static std::unique_ptr<Impl> read_index(const std::string& path);
  std::unique_ptr<Impl> impl_;
};

struct SampleMeta {
  std::int32_t label = 0;
  std::string patient_id, source_path;
  std::array<double, 3> spacing{1, 1, 1};
  std::array<std::int32_t, 3> original_shape{0, 0, 0};
};

class DatasetWriter {
 public:
  // Opens `path`.tmp-<pid> for writing; nothing appears under `path` until finish().
  DatasetWriter(const std::string& path, const std::string& modality, const std::vector<std::string>& class_names,
                Shape sample_shape /* (D, H, W) */, int compression_level /* 0 = none, 1-9 gzip */);
  ~DatasetWriter();  // without finish(): closes and deletes the temporary file
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  void add(const float* sample /* D*H*W in [0, 1] */, const SampleMeta& meta);
  std::int64_t count() const { return static_cast<std::int64_t>(meta_.size()); }
  void set_attribute(const std::string& name, const std::string& value);
  // Writes labels, ids, folds (stratified by patient, k folds, from seed) and renames into place.
  void finish(int num_folds, std::uint64_t fold_seed);

 private:
  void append(const std::uint16_t* quantised);
  void write_index(const std::vector<std::int32_t>& labels, const std::vector<std::int32_t>& folds,
                   const std::vector<std::string>& patients, const std::vector<std::string>& sources,
                   const std::vector<double>& spacing, const std::vector<std::int32_t>& shapes, int num_folds,
                   std::uint64_t fold_seed);
  [[noreturn]] void fail(const Error& e);

  std::string path_, tmp_;
  Shape shape_;
  std::vector<SampleMeta> meta_;
  std::vector<std::pair<std::string, std::string>> attrs_;
  std::vector<std::string> class_names_;
  std::string modality_;
  long long file_ = -1, images_ = -1;  // hid_t
  bool finished_ = false;
};

}  // namespace cmt::data
