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

  // Lesion masks (format version 2): whether the file holds them at all; per sample whether it has
  // one (1) and how many lesion voxels it marks (0 for a sample without a mask, or an empty one).
  bool has_masks() const;
  std::vector<std::uint8_t> mask_flags() const;
  std::vector<std::int64_t> mask_voxels() const;
  // Sample i's mask as D*H*W values 0/1 (1 = lesion), on the grid of read_sample; false, and `dst`
  // untouched, when the sample has no mask. Thread-safe.
  bool read_mask(std::int64_t i, std::uint8_t* dst) const;

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
  // Opens `path`.tmp-<pid> for writing; nothing appears under `path` until finish(). with_masks:
  // the samples may carry lesion masks (format version 2; without, version 1).
  DatasetWriter(const std::string& path, const std::string& modality, const std::vector<std::string>& class_names,
                Shape sample_shape /* (D, H, W) */, int compression_level /* 0 = none, 1-9 gzip */, bool with_masks = false);
  ~DatasetWriter();  // without finish(): closes and deletes the temporary file
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // mask: D*H*W values 0/1 on the sample's grid, or nullptr for a sample without a mask.
  void add(const float* sample /* D*H*W in [0, 1] */, const SampleMeta& meta, const std::uint8_t* mask = nullptr);
  std::int64_t count() const { return static_cast<std::int64_t>(meta_.size()); }
  void set_attribute(const std::string& name, const std::string& value);
  // Writes labels, ids, folds (stratified by patient, k folds, from seed) and renames into place.
  void finish(int num_folds, std::uint64_t fold_seed);

 private:
  void write_index(const std::vector<std::int32_t>& labels, const std::vector<std::int32_t>& folds,
                   const std::vector<std::string>& patients, const std::vector<std::string>& sources,
                   const std::vector<double>& spacing, const std::vector<std::int32_t>& shapes, int num_folds,
                   std::uint64_t fold_seed);
  [[noreturn]] void fail(const Error& e);

  std::string path_, tmp_;
  Shape shape_;
  std::vector<SampleMeta> meta_;
  std::vector<std::uint8_t> has_mask_;
  std::vector<std::int64_t> mask_voxels_;
  std::vector<std::pair<std::string, std::string>> attrs_;
  std::vector<std::string> class_names_;
  std::string modality_;
  long long file_ = -1, images_ = -1, masks_ = -1;  // hid_t
  bool finished_ = false;
};

}  // namespace cmt::data
